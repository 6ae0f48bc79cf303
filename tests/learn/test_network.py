"""RCNN-LAM blocks: output shapes, parameter counts derived by hand, FLOPs, attention."""

import pytest
import torch

from voxprospect.learn.network import (PRESETS,
                                       RCNNLAM,
                                       ChannelAttention,
                                       LightweightAttention,
                                       ResBlock,
                                       SpatialAttention,
                                       Stem,
                                       build_model,
                                       count_flops,
                                       count_parameters)

torch.set_num_threads(1)


def conv_params(cin, cout, k):
    """Weights cin*cout*k^3 plus one bias per output channel."""
    return cin * cout * k ** 3 + cout


def linear_params(cin, cout):
    return cin * cout + cout


def expected_parameters(in_channels, n_blocks, attention):
    stem = conv_params(in_channels, 64, 3)
    block = (conv_params(64, 128, 3)        # Conv1
             + conv_params(128, 128, 3)     # Conv2
             + conv_params(64, 128, 1)      # shortcut 1x1x1 on the 64-channel input
             + conv_params(128, 64, 1))     # pointwise projection back to 64
    lam = (linear_params(128, 8) + linear_params(8, 128)   # shared channel FC
           + 2 * 27 + 2                                     # depthwise 3x3x3, groups=2
           + conv_params(2, 1, 1))                          # pointwise 2 -> 1
    head = linear_params(64, 2)
    return stem + n_blocks * (block + (lam if attention else 0)) + head


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("window", [3, 5])
def test_preset_output_shape_and_parameter_count(preset, window):
    model = build_model(preset, in_channels=7)
    out = model(torch.randn(4, 7, window, window, window))
    assert out.shape == (4, 2)
    n_blocks, attention = PRESETS[preset]
    assert len(model.blocks) == n_blocks
    assert count_parameters(model) == expected_parameters(7, n_blocks, attention)


def test_paper_preset_sizes_by_hand():
    # 7 channels: stem 12,160; block 680,384; LAM 2,243; head 130
    assert count_parameters(build_model("DL1", 7)) == 12160 + 680384 + 130
    assert count_parameters(build_model("DL4", 7)) == 12160 + 2 * (680384 + 2243) + 130


def test_blocks_have_the_paper_sizes():
    assert count_parameters(Stem(7)) == conv_params(7, 64, 3)
    assert count_parameters(ChannelAttention()) == linear_params(128, 8) + linear_params(8, 128)
    assert count_parameters(SpatialAttention()) == 2 * 27 + 2 + 3
    block = ResBlock(attention=False)
    y = block(torch.randn(2, 64, 3, 3, 3))
    assert y.shape == (2, 64, 3, 3, 3)
    assert block.shortcut.in_channels == 64 and block.shortcut.out_channels == 128
    y = LightweightAttention()(torch.randn(2, 128, 5, 5, 5))
    assert y.shape == (2, 128, 5, 5, 5)


def test_flops_follow_the_layer_sizes():
    # torch counts 2 FLOPs per multiply-accumulate; every 3x3x3 conv (padding 1)
    # runs its full kernel at each of the k^3 output positions.
    k3 = 27
    macs_per_position = 7 * 64 * 27 + 64 * 128 * 27 + 128 * 128 * 27 + 64 * 128 + 128 * 64
    dl1 = 2 * k3 * macs_per_position + 2 * 64 * 2
    assert count_flops(build_model("DL1", 7), 7, 3) == dl1
    # LAM: two FC branches (2 x (128*8 + 8*128) MACs), depthwise (2 maps x 27 taps)
    # and pointwise (2 -> 1) convolutions per position
    lam = 2 * 2 * (128 * 8 + 8 * 128) + 2 * k3 * (2 * 27 + 2)
    assert count_flops(build_model("DL3", 7), 7, 3) == dl1 + lam
    assert count_flops(build_model("DL4", 7), 7, 5) > count_flops(build_model("DL4", 7), 7, 3)


def test_attention_changes_output_and_receives_gradients():
    torch.manual_seed(0)
    with_lam = build_model("DL3", 3)
    without = build_model("DL1", 3)
    # copy every shared weight so the only difference is the attention
    shared = {k: v for k, v in with_lam.state_dict().items() if "attention" not in k}
    without.load_state_dict(shared, strict=True)
    x = torch.randn(8, 3, 3, 3, 3)
    assert not torch.allclose(with_lam(x), without(x))

    loss = torch.nn.functional.cross_entropy(with_lam(x), torch.tensor([0, 1] * 4))
    loss.backward()
    att = with_lam.blocks[0].attention
    for name, p in att.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_config_round_trip_rebuilds_same_architecture():
    model = build_model("DL4", 5)
    clone = RCNNLAM.from_config(model.config)
    assert clone.config == model.config
    clone.load_state_dict(model.state_dict())
    x = torch.randn(2, 5, 3, 3, 3)
    model.eval()
    clone.eval()
    assert torch.equal(model(x), clone(x))


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="DL9"):
        build_model("DL9", 7)
