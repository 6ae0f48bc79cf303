"""Integrated Gradients: attributions add up to f(x) - f(baseline) (completeness), checked against
a float64 reference, on a tiny network and on a real preset."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("captum")

from float_truth import EPS32  # noqa: E402
from voxprospect.errors import VoxprospectError  # noqa: E402
from voxprospect.learn import RandomForestModel  # noqa: E402
from voxprospect.learn.attribution import integrated_gradients, network_of, window_attributions  # noqa: E402
from voxprospect.learn.network import build_model  # noqa: E402


def tiny_net(channels=3, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv3d(channels, 4, 3, padding=1), torch.nn.Tanh(),
                               torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))


def log_odds64(net, X):
    with torch.no_grad():
        z = net(torch.from_numpy(np.array(X, np.float64)))
    return (z[:, 1] - z[:, 0]).numpy()


def test_completeness_on_a_tiny_float64_network():
    net = tiny_net().double().eval()
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (16, 3, 3, 3, 3))
    base = np.array([0.1, -0.2, 0.3])
    ref = log_odds64(net, X) - log_odds64(net, np.broadcast_to(base[:, None, None, None], (1, 3, 3, 3, 3)))
    deltas = []
    for steps in (2, 8, 64):
        attr, delta, f_x, f_b = integrated_gradients(net, X, base, n_steps=steps)
        total = attr.sum(axis=1)
        # captum's delta is exactly how far the sum misses f(x) - f(b) (float64 rounding only)
        scale = np.abs(ref).max()
        assert np.allclose(total - ref, delta, rtol=0, atol=1e3 * np.finfo(np.float64).eps * scale)
        assert np.allclose(f_x - f_b[0], ref, rtol=0, atol=1e3 * np.finfo(np.float64).eps * scale)
        deltas.append(np.abs(delta).max())
    # the quadrature converges: more steps, a smaller miss, and at 64 a negligible one
    assert deltas[0] > deltas[1] > deltas[2]
    assert deltas[2] <= 1e-6 * scale


def test_float32_preset_sums_to_the_float64_output_difference():
    net = build_model("DL1", 3).eval()
    rng = np.random.default_rng(1)
    X = rng.normal(0, 1, (8, 3, 3, 3, 3)).astype(np.float32)
    base = np.zeros(3)
    attr, delta, f_x = window_attributions(net, X, base, n_steps=32, batch_size=4)
    assert attr.shape == (8, 3) and attr.dtype == np.float32
    net64 = build_model("DL1", 3)
    net64.load_state_dict(net.state_dict())
    net64 = net64.double().eval()
    ref = log_odds64(net64, X) - log_odds64(net64, np.zeros((1, 3, 3, 3, 3)))
    # the float32 sum misses the float64 truth by captum's own delta plus float32 rounding
    scale = max(np.abs(ref).max(), np.abs(attr).max())
    bound = np.abs(delta) + 2 ** 7 * EPS32 * scale
    assert np.all(np.abs(attr.astype(np.float64).sum(axis=1) - ref) <= bound)
    # and the delta itself is small against the output difference it integrates
    assert np.abs(delta).max() <= 0.05 * np.abs(ref).max()


def test_a_forest_has_no_network():
    X = np.random.default_rng(0).normal(0, 1, (20, 2, 3, 3, 3)).astype(np.float32)
    rf = RandomForestModel(n_estimators=3, random_state=0).fit(X, np.r_[np.zeros(10), np.ones(10)].astype(int))
    assert network_of(rf) is None
    with pytest.raises(VoxprospectError, match="needs a CNN"):
        window_attributions(rf, X, np.zeros(2))


def test_an_ensemble_is_attributed_as_its_members_mean():
    """Integrated Gradients is linear in the function: the ensemble's (mean log-odds) attributions
    are the mean of its members' attributions, in float64."""
    class Members:  # what a DeepEnsemble or a loaded ensemble checkpoint offers: .members
        members = [tiny_net(seed=s).double().eval() for s in (0, 1, 2)]

    rng = np.random.default_rng(2)
    X = rng.normal(0, 1, (6, 3, 3, 3, 3))
    base = np.zeros(3)
    net = network_of(Members())
    assert net is not None
    together, _, f_x, _ = integrated_gradients(net, X, base, n_steps=16)
    each = [integrated_gradients(m, X, base, n_steps=16) for m in Members.members]
    scale = np.abs(together).max()
    assert np.allclose(together, np.mean([a for a, *_ in each], axis=0), rtol=0,
                       atol=1e3 * np.finfo(np.float64).eps * scale)
    assert np.allclose(f_x, np.mean([fx for _, _, fx, _ in each], axis=0), rtol=0,
                       atol=1e3 * np.finfo(np.float64).eps * np.abs(f_x).max())
