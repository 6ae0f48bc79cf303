"""The RCNN-LAM network: a 3D residual CNN with a lightweight attention module.

Built from the blocks the paper names (Zhang et al., Table 2), with the
inconsistencies settled as METHOD.md ("Model (RCNN-LAM)") says:

* :class:`Stem` -- Conv3d(C -> 64, 3x3x3, padding 1) + ReLU.
* :class:`ResBlock` -- F(x) = Conv2(ReLU(Conv1(x))) with Conv1 64 -> 128 and
  Conv2 128 -> 128 (3x3x3, padding 1); shortcut S(x) = Conv3d 1x1x1 64 -> 128;
  Y = ReLU(F(x) + S(x)); optional :class:`LightweightAttention` on Y; then a
  pointwise Conv3d 128 -> 64 so that blocks chain 64 -> 64.
* :class:`LightweightAttention` -- :class:`ChannelAttention` (a shared reduced
  fully connected layer 128 -> 8 -> 128 over the average- and max-pooled
  features, eq. 7) followed by :class:`SpatialAttention` (channel mean and max
  -> depthwise 3x3x3 + pointwise convolution -> one map, eq. 8).
* Head: global average pooling -> Linear(64 -> 2), returning logits.

The network is fully convolutional up to the global pooling, so any odd window
size ``k >= 3`` and any number of evidence channels work. Presets DL1-DL4 are the
paper's ablation (Table 1). ``torch`` is imported when this module is imported;
``voxprospect.learn`` imports it lazily.
"""

from __future__ import annotations

import torch
from torch import nn

STEM_CHANNELS = 64
BLOCK_CHANNELS = 128
ATTENTION_REDUCED = 8

#: Table 1's ablation: preset -> (number of ResBlocks, lightweight attention on?).
PRESETS = {
    "DL1": (1, False),
    "DL2": (2, False),
    "DL3": (1, True),
    "DL4": (2, True),
}


class Stem(nn.Module):
    """First convolution: evidence channels -> 64 feature maps, same size.

    Parameters
    ----------
    in_channels : int
        Number of evidence channels ``C``.
    out_channels : int
        Feature maps produced (64 in the paper).
    """

    def __init__(self, in_channels: int, out_channels: int = STEM_CHANNELS):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x))


class ChannelAttention(nn.Module):
    """Channel attention, eq. (7): ``M_LC = sigmoid(FC(AvgPool(Y)) + FC(MaxPool(Y)))``.

    One reduced fully connected stack (``channels -> reduced -> channels`` with a
    ReLU between) is shared by the average- and the max-pooled branch; that
    sharing and the reduction are what make it lightweight.

    Parameters
    ----------
    channels : int
        Channels of ``Y`` (128).
    reduced : int
        Width of the bottleneck (8).
    """

    def __init__(self, channels: int = BLOCK_CHANNELS, reduced: int = ATTENTION_REDUCED):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, reduced), nn.ReLU(inplace=False),
                                nn.Linear(reduced, channels))

    def weights(self, y: torch.Tensor) -> torch.Tensor:
        """The attention map ``M_LC``, shape ``(B, channels, 1, 1, 1)``."""
        avg = y.mean(dim=(2, 3, 4))
        mx = y.amax(dim=(2, 3, 4))
        m = torch.sigmoid(self.fc(avg) + self.fc(mx))
        return m[:, :, None, None, None]

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.weights(y)


class SpatialAttention(nn.Module):
    """Spatial attention, eq. (8), by depthwise-separable convolution.

    The feature maps are pooled over channels (mean and max) into two maps; a
    depthwise 3x3x3 convolution (one kernel per map, ``groups=2``) and a pointwise
    convolution (2 -> 1) give one map; its sigmoid weights every voxel.

    Parameters
    ----------
    kernel_size : int
        Size of the depthwise kernel (3).
    """

    def __init__(self, kernel_size: int = 3):
        super().__init__()
        self.depthwise = nn.Conv3d(2, 2, kernel_size=kernel_size, padding=kernel_size // 2, groups=2)
        self.pointwise = nn.Conv3d(2, 1, kernel_size=1)

    def weights(self, y: torch.Tensor) -> torch.Tensor:
        """The attention map ``M_LS``, shape ``(B, 1, D, H, W)``."""
        pooled = torch.cat([y.mean(dim=1, keepdim=True), y.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.pointwise(self.depthwise(pooled)))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.weights(y)


class LightweightAttention(nn.Module):
    """The LAM: channel attention, then spatial attention on its output.

    Parameters
    ----------
    channels : int
        Channels of the block's feature maps (128).
    reduced : int
        Bottleneck width of the channel attention (8).
    """

    def __init__(self, channels: int = BLOCK_CHANNELS, reduced: int = ATTENTION_REDUCED):
        super().__init__()
        self.channel = ChannelAttention(channels, reduced)
        self.spatial = SpatialAttention()

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(y))


class ResBlock(nn.Module):
    """Residual block ``64 -> 128 -> 64`` with optional lightweight attention.

    Parameters
    ----------
    in_channels : int
        Channels entering the block (64).
    block_channels : int
        Width inside the block (128).
    out_channels : int
        Channels leaving the block through the pointwise projection (64).
    attention : bool
        Apply :class:`LightweightAttention` to ``Y`` before the projection.
    reduced : int
        Bottleneck width of the channel attention.
    """

    def __init__(self, in_channels: int = STEM_CHANNELS, block_channels: int = BLOCK_CHANNELS,
                 out_channels: int = STEM_CHANNELS, attention: bool = True,
                 reduced: int = ATTENTION_REDUCED):
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, block_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv3d(block_channels, block_channels, kernel_size=3, padding=1)
        # Table 2 prints 128 input channels for the shortcut; it must read the
        # 64-channel block input, so 64 -> 128 (METHOD.md).
        self.shortcut = nn.Conv3d(in_channels, block_channels, kernel_size=1)
        self.relu = nn.ReLU(inplace=False)
        self.attention = LightweightAttention(block_channels, reduced) if attention else None
        self.project = nn.Conv3d(block_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.conv2(self.relu(self.conv1(x)))
        y = self.relu(residual + self.shortcut(x))
        if self.attention is not None:
            y = self.attention(y)
        return self.project(y)


class RCNNLAM(nn.Module):
    """Stem, ``n_blocks`` residual blocks, global average pooling, linear head.

    Parameters
    ----------
    in_channels : int
        Evidence channels ``C``.
    n_blocks : int
        Number of :class:`ResBlock` (1 or 2 in the paper).
    attention : bool
        Whether each block carries :class:`LightweightAttention`.
    n_classes : int
        Output logits (2: barren, mineralised).

    Notes
    -----
    Input ``(B, C, k, k, k)`` float32, output logits ``(B, n_classes)``; the
    probability of mineralisation is ``softmax(logits)[:, 1]``.
    """

    def __init__(self, in_channels: int, n_blocks: int = 2, attention: bool = True, n_classes: int = 2):
        super().__init__()
        if int(in_channels) < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        if int(n_blocks) < 1:
            raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
        self.in_channels = int(in_channels)
        self.n_blocks = int(n_blocks)
        self.use_attention = bool(attention)
        self.n_classes = int(n_classes)
        self.stem = Stem(self.in_channels)
        self.blocks = nn.Sequential(*[ResBlock(attention=self.use_attention) for _ in range(self.n_blocks)])
        self.head = nn.Linear(STEM_CHANNELS, self.n_classes)

    @property
    def config(self) -> dict:
        """JSON-able architecture description; :meth:`from_config` rebuilds the module."""
        return {"architecture": "RCNNLAM", "in_channels": self.in_channels, "n_blocks": self.n_blocks,
                "attention": self.use_attention, "n_classes": self.n_classes}

    @classmethod
    def from_config(cls, config: dict) -> "RCNNLAM":
        """Build an (untrained) network from :attr:`config`."""
        if config.get("architecture", "RCNNLAM") != "RCNNLAM":
            raise ValueError(f"not an RCNNLAM config: {config.get('architecture')!r}")
        return cls(in_channels=int(config["in_channels"]), n_blocks=int(config["n_blocks"]),
                   attention=bool(config["attention"]), n_classes=int(config.get("n_classes", 2)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled 64-value feature vector per window, before the head."""
        return self.blocks(self.stem(x)).mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_model(preset: str, in_channels: int) -> RCNNLAM:
    """Build one of the paper's ablation presets.

    Parameters
    ----------
    preset : {"DL1", "DL2", "DL3", "DL4"}
        DL1 = stem + 1 ResBlock; DL2 = stem + 2 ResBlocks; DL3 and DL4 the same
        with lightweight attention.
    in_channels : int
        Evidence channels.

    Returns
    -------
    RCNNLAM

    Raises
    ------
    ValueError
        If the preset is unknown.
    """
    key = str(preset).upper()
    if key not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; use one of {sorted(PRESETS)}")
    n_blocks, attention = PRESETS[key]
    return RCNNLAM(in_channels, n_blocks=n_blocks, attention=attention)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (weights and biases) held by ``model``."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


def count_flops(model: nn.Module, in_channels: int, window: int) -> int:
    """Floating-point operations of one forward pass on a single window.

    Counted with :class:`torch.utils.flop_counter.FlopCounterMode`, which counts
    convolutions and matrix products as 2 FLOPs per multiply-accumulate
    (FLOPs = 2 x MACs). Element-wise operations (ReLU, sigmoid, the attention
    products, pooling) are not counted by torch and are small beside the
    convolutions.

    Parameters
    ----------
    model : nn.Module
        Takes ``(B, in_channels, window, window, window)``.
    in_channels, window : int

    Returns
    -------
    int
    """
    from torch.utils.flop_counter import FlopCounterMode

    p = next(model.parameters(), None)
    x = torch.zeros((1, int(in_channels), int(window), int(window), int(window)),
                    dtype=torch.float32, device=p.device if p is not None else "cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())
