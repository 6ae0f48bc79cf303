"""The deep ensemble and the forest's per-tree spread: seeds, determinism, checkpoints,
whole-grid prediction of mean, std and q10 with the window gathering shared."""

import json
import struct

import numpy as np
import pytest
import torch

from voxprospect import Volume, VoxelGrid
from voxprospect.errors import InputFileError
from voxprospect.learn.checkpoint import load, save_checkpoint
from voxprospect.learn.ensemble import (QUANTILE, DeepEnsemble, member_probabilities, member_seeds,
                                        predict_uncertainty, summarise_members)
from voxprospect.learn.estimators import CNNClassifier, RandomForestModel
from voxprospect.mapping.predict import predict_volume

torch.set_num_threads(1)


def separable_windows(n=96, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, (n, channels, 3, 3, 3)).astype(np.float32)
    y = np.tile([0, 1], n // 2)
    X[y == 1, 0] += 1.0
    return X, y


def template(**kw):
    params = dict(preset="DL1", epochs=2, batch_size=32, num_threads=1)
    params.update(kw)
    return CNNClassifier(**params)


@pytest.fixture(scope="module")
def data():
    return separable_windows()


@pytest.fixture(scope="module")
def ensemble(data):
    X, y = data
    return DeepEnsemble(template(), n_members=3, seed=5).fit(X, y)


def test_member_seeds_keep_the_seed_first_and_are_distinct_and_reproducible():
    seeds = member_seeds(7, 5)
    assert seeds[0] == 7 and len(set(seeds)) == 5
    assert seeds == member_seeds(7, 5)
    assert member_seeds(7, 3) == seeds[:3]  # a larger ensemble extends a smaller one
    assert member_seeds(8, 5)[1:] != seeds[1:]
    assert all(0 <= s < 2 ** 32 for s in seeds)
    for bad in (0, -1, 65, 2.5, True):
        with pytest.raises(ValueError):
            member_seeds(7, bad)


def test_same_seed_gives_a_bit_identical_ensemble(data, ensemble):
    X, y = data
    again = DeepEnsemble(template(), n_members=3, seed=5).fit(X, y)
    assert again.member_seeds_ == ensemble.member_seeds_
    for a, b in zip(ensemble.estimators_, again.estimators_):
        sa, sb = a.model_.state_dict(), b.model_.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert np.array_equal(again.predict_members(X), ensemble.predict_members(X))
    # the members really differ: different seeds, different weights and probabilities
    P = ensemble.predict_members(X)
    assert np.abs(P[0] - P[1]).max() > 1e-4


def test_one_member_is_the_single_model(data):
    X, y = data
    single = template(seed=5).fit(X, y)
    one = DeepEnsemble(template(), n_members=1, seed=5).fit(X, y)
    assert np.array_equal(one.predict_proba(X), single.predict_proba(X))
    u = one.predict_uncertainty(X)
    assert np.all(u["std"] == 0) and np.array_equal(u["q10"], u["mean"])


def test_summary_matches_float64_reference():
    rng = np.random.default_rng(1)
    P = rng.random((7, 50))
    u = summarise_members(P)
    assert np.allclose(u["mean"], P.mean(axis=0), rtol=0, atol=1e-15)
    assert np.allclose(u["std"], P.std(axis=0), rtol=0, atol=1e-15)
    # q10 by hand: linear interpolation between order statistics at position 0.1 * (M - 1)
    srt = np.sort(P, axis=0)
    pos = QUANTILE * (P.shape[0] - 1)
    lo = int(np.floor(pos))
    ref = srt[lo] + (pos - lo) * (srt[lo + 1] - srt[lo])
    assert np.allclose(u["q10"], ref, rtol=0, atol=1e-15)
    assert np.all(u["q10"] <= u["mean"] + 1e-15)


def test_forest_spread_is_its_trees_and_the_mean_its_own_probability(data, tmp_path):
    X, y = data
    rf = RandomForestModel(n_estimators=20, random_state=0).fit(X, y)
    P = member_probabilities(rf, X)
    assert P.shape == (20, len(X))
    u = predict_uncertainty(rf, X, batch_size=17)  # batches change nothing
    assert np.array_equal(u["mean"], rf.predict_proba(X)[:, 1])
    assert u["std"].max() > 0.05
    path = save_checkpoint(rf, tmp_path / "rf.vxp.safetensors", channels=["a", "b"])
    assert np.array_equal(member_probabilities(load(path), X), P)


def test_ensemble_checkpoint_holds_every_member(data, ensemble, tmp_path):
    X, _ = data
    path = save_checkpoint(ensemble, tmp_path / "ens.vxp.safetensors", channels=["a", "b"])
    loaded = load(path)
    assert len(loaded.members) == 3 and loaded.module is None
    assert loaded.metadata["member_seeds"] == ensemble.member_seeds_
    assert loaded.metadata["format_version"] == 2
    assert [m["seed"] for m in loaded.metadata["member_training"]] == ensemble.member_seeds_
    assert np.array_equal(member_probabilities(loaded, X), ensemble.predict_members(X))
    assert np.array_equal(loaded.predict_proba(X)[:, 1], ensemble.predict_proba(X)[:, 1])
    # a single CNN is still written as format 1, readable by older voxprospect
    single = save_checkpoint(ensemble.estimators_[0], tmp_path / "one.vxp.safetensors", channels=["a", "b"])
    assert load(single).metadata["format_version"] == 1 and len(load(single).members) == 1


def _rewrite(src, dst, meta_change=None, rename=None):
    """Copy a checkpoint, editing its JSON metadata or renaming one tensor (offsets unchanged)."""
    raw = src.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    if meta_change:
        meta = json.loads(header["__metadata__"]["voxprospect"])
        meta_change(meta)
        header["__metadata__"]["voxprospect"] = json.dumps(meta)
    if rename:
        old, new = rename
        header[new] = header.pop(old)
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    dst.write_bytes(struct.pack("<Q", len(blob)) + blob + raw[8 + n:])
    return dst


@pytest.mark.parametrize("case, change, rename, words", [
    ("more-members-than-stored", lambda m: m.update(members=4, member_seeds=[1, 2, 3, 4]), None, ["member"]),
    ("fewer-members-than-stored", lambda m: m.update(members=2, member_seeds=[1, 2]), None, ["member2"]),
    ("no-seeds", lambda m: m.pop("member_seeds"), None, ["member_seeds"]),
    ("seed-text", lambda m: m.update(member_seeds=[1, "two", 3]), None, ["member_seeds"]),
    ("members-bool", lambda m: m.update(members=True), None, ["members"]),
    ("members-too-many", lambda m: m.update(members=1000), None, ["members"]),
    ("old-format", lambda m: m.update(format_version=1), None, ["format_version"]),
    ("stray-tensor", None, ("member1.head.bias", "member9.head.bias"), ["member9"]),
    ("unprefixed", None, ("member0.head.bias", "head.bias"), ["head.bias"]),
])
def test_ensemble_checkpoint_validation_is_strict(ensemble, tmp_path, case, change, rename, words):
    src = save_checkpoint(ensemble, tmp_path / "ens.vxp.safetensors", channels=["a", "b"])
    bad = _rewrite(src, tmp_path / f"{case}.vxp.safetensors", change, rename)
    with pytest.raises(InputFileError) as err:
        load(bad)
    assert all(w in str(err.value) for w in words), str(err.value)


def _evidence():
    grid = VoxelGrid((0.0, 0.0, 0.0), (10.0, 10.0, 10.0), (9, 8, 7))
    rng = np.random.default_rng(3)
    active = np.ones(grid.shape, bool)
    active[:, :, -1] = False
    layers = {c: rng.normal(size=grid.shape).astype(np.float32) for c in ("a", "b")}
    return Volume(grid, layers, active)


def test_whole_grid_prediction_writes_mean_std_q10_on_both_paths(ensemble, tmp_path):
    ev = _evidence()
    loaded = load(save_checkpoint(ensemble, tmp_path / "ens.vxp.safetensors", channels=["a", "b"]))
    fast = predict_volume(loaded, ev)
    assert fast.meta["prediction"]["method"] == "zero-skip"
    assert fast.meta["prediction"]["uncertainty"]["members"] == 3
    slow = predict_volume(loaded, ev, method="windows")
    on = ev.active
    for name in ("prospectivity", "prospectivity_std", "prospectivity_q10"):
        assert np.isnan(fast[name][~on]).all()
        # float32 rounding of the zero-skip sums, probabilities of order 1
        assert np.abs(fast[name][on] - slow[name][on]).max() < 1e-5
    assert fast["prospectivity_std"][on].max() > 1e-4
    assert (fast["prospectivity_q10"][on] <= fast["prospectivity"][on] + 1e-6).all()
    # the shared gathering computes what each member's own prediction computes
    each = [predict_volume(m, ev, uncertainty=False)["prospectivity"] for m in ensemble.estimators_]
    ref = summarise_members(np.stack([e[on] for e in each]))
    assert np.abs(fast["prospectivity"][on] - ref["mean"]).max() < 1e-6
    assert np.abs(fast["prospectivity_std"][on] - ref["std"]).max() < 1e-6


def test_single_model_prediction_has_no_spread_and_keeps_its_values(data):
    X, y = data
    ev = _evidence()
    rf = RandomForestModel(n_estimators=10, random_state=0).fit(X, y)
    vol = predict_volume(rf, ev)
    assert vol.meta["prediction"]["uncertainty"]["members"] == 10
    plain = predict_volume(rf, ev, uncertainty=False)
    assert plain.names == ["prospectivity"]
    assert np.array_equal(vol["prospectivity"], plain["prospectivity"], equal_nan=True)
    one = template(seed=1).fit(X, y)
    vol = predict_volume(one, ev)
    on = ev.active
    assert (vol["prospectivity_std"][on] == 0).all()
    assert np.array_equal(vol["prospectivity_q10"], vol["prospectivity"], equal_nan=True)
