"""Model files: round trips, no pickle, every kind of broken file refused with a clear message."""
import json
import os
import zipfile

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import io
from deltaprop.data import load_iris
from deltaprop.model import Model


@pytest.fixture(scope="module")
def iris_model():
    ds = load_iris()
    model = Model(hidden=(6,), activation="tanh")
    model.fit(ds.X, ds.y, epochs=30, seed=0, verbose=0, validation_fraction=0.2)
    return model, ds


def test_round_trip_predicts_identically(iris_model, tmp_path):
    model, ds = iris_model
    path = tmp_path / "m.npz"
    io.save(model, path)
    loaded = io.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(ds.X), model.predict_proba(ds.X))
    assert list(loaded.predict(ds.X)) == list(model.predict(ds.X))
    assert loaded.classes == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    assert loaded.feature_names == model.feature_names and loaded.loss == "cross_entropy"
    assert loaded.scaler.kind == "standard"
    np.testing.assert_array_equal(loaded.scaler.scale, model.scaler.scale)


def test_the_file_is_npz_with_a_json_description_and_no_pickle(iris_model, tmp_path):
    model, _ = iris_model
    path = tmp_path / "m.npz"
    io.save(model, path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == sorted(["meta.npy", "W0.npy", "b0.npy", "W1.npy", "b1.npy",
                                                "scaler_scale.npy", "scaler_offset.npy"])
    with np.load(path, allow_pickle=False) as npz:  # would raise if anything needed pickle
        meta = json.loads(npz["meta"].tobytes())
    assert meta["format"] == "deltaprop-model" and meta["format_version"] == 1
    assert meta["network"]["sizes"] == [4, 6, 3] and meta["deltaprop_version"] == dp.__version__
    assert meta["settings"]["epochs"] == 30


def test_network_round_trip_keeps_dtype_and_frozen(tmp_path):
    net = dp.Network([3, 5, 2], activation="relu", output_activation="softmax", seed=1, dtype="float32").freeze([2], "b")
    io.save(net, tmp_path / "n.npz")
    back = io.load(tmp_path / "n.npz")
    assert back.dtype == np.float32 and back.layers[1].frozen == {"b"} and back.activations == ["relu", "softmax"]
    for a, b in zip(net.weights, back.weights):
        np.testing.assert_array_equal(a, b)


def _rewrite(path, meta_change=None, arrays_change=None):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    if meta_change:
        meta_change(meta)
    if arrays_change:
        arrays_change(arrays)
    blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, meta=blob, **arrays)


@pytest.mark.parametrize("damage,words", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "truncated or from another program"),
    (lambda p: p.write_text("5.1,3.5,1.4,0.2,Iris-setosa\n"), "not a deltaprop model file"),
    (lambda p: p.write_bytes(b""), "not a deltaprop model file"),
    (lambda p: np.savez(p, W0=np.ones((2, 2))), "no description inside"),
    (lambda p: _rewrite(p, lambda m: m.update(format_version=99)), "format version 99"),
    (lambda p: _rewrite(p, lambda m: m.update(format="keras")), "not a deltaprop model file"),
    (lambda p: _rewrite(p, arrays_change=lambda a: a.update(W1=np.ones((3, 7)))), "layer 2 arrays"),
    (lambda p: _rewrite(p, arrays_change=lambda a: a.pop("b0")), "layer 1 arrays"),
    (lambda p: _rewrite(p, arrays_change=lambda a: a.update(W0=np.ones((6, 4), dtype=np.int64))), "floating point"),
    (lambda p: _rewrite(p, arrays_change=lambda a: a.update(W0=np.full((6, 4), np.nan))), "finite"),
    (lambda p: _rewrite(p, lambda m: m["network"].update(activations=["tanh", "swish"])), "unknown activation 'swish'"),
    (lambda p: _rewrite(p, lambda m: m.update(classes=["a", "b"])), "class names do not match"),
    (lambda p: _rewrite(p, lambda m: m.update(feature_names=["a"])), "feature names do not match"),
    (lambda p: _rewrite(p, lambda m: m.update(loss="hinge")), "unknown loss 'hinge'"),
    (lambda p: _rewrite(p, lambda m: m.update(format_version=True)), "format version True"),
    (lambda p: _rewrite(p, lambda m: m.update(hidden=[100, 100])), "does not match its network"),
    (lambda p: _rewrite(p, lambda m: m.update(activation="swish")), "does not match its network"),
    (lambda p: _rewrite(p, lambda m: m.update(activation="relu")), "does not match its network"),
    (lambda p: _rewrite(p, lambda m: m.update(output_activation="sigmoid")), "does not match its network"),
    (lambda p: _rewrite(p, lambda m: m.update(feature_names=["a", "b", "a", "c"])), "repeat a name"),
    (lambda p: _rewrite(p, lambda m: m.update(label_name=["a"])), "wrong type"),
    (lambda p: _rewrite(p, lambda m: m.update(task="regression")), "a regression model with class names"),
    (lambda p: _rewrite(p, lambda m: m.update(classes=["a", 1, True])), "class names do not match"),
])
def test_broken_model_files_are_refused_clearly(iris_model, tmp_path, damage, words):
    model, _ = iris_model
    path = tmp_path / "m.npz"
    io.save(model, path)
    damage(path)
    with pytest.raises(dp.ModelFileError) as info:
        io.load(path)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_description_nested_past_pythons_limit_is_refused(iris_model, tmp_path):
    model, _ = iris_model
    path = tmp_path / "m.npz"
    io.save(model, path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "meta"}
    np.savez(path, meta=np.frombuffer(b"[" * 100_000 + b"]" * 100_000, dtype=np.uint8), **arrays)
    with pytest.raises(dp.ModelFileError, match="not valid JSON"):
        io.load(path)
    assert io.file_kind(path) is None


def test_a_model_with_an_activation_for_each_hidden_layer_round_trips(tmp_path):
    ds = load_iris()
    for activation, hidden in ((["tanh", "relu"], (4, 3)), ("relu", ())):
        model = Model(hidden=hidden, activation=activation)
        model.fit(ds.X, ds.y, epochs=2, seed=0, verbose=0)
        io.save(model, tmp_path / "m.npz")
        loaded = io.load(tmp_path / "m.npz")
        assert loaded.network.activations == model.network.activations and loaded.activation == activation
        np.testing.assert_array_equal(loaded.predict_proba(ds.X), model.predict_proba(ds.X))


def test_a_model_of_a_boolean_label_column_round_trips(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 3))
    model = Model(hidden=(4,))
    model.fit(X, X[:, 0] > 0, epochs=20, seed=0, verbose=0)
    io.save(model, tmp_path / "b.npz")
    loaded = io.load(tmp_path / "b.npz")
    assert loaded.classes == [False, True] and list(loaded.predict(X[:3])) == list(model.predict(X[:3]))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def _price_model():
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(80, 2)) * [100, 10]
    model = Model(hidden=(4,))
    model.fit(X, 5000 + 40 * X[:, 0] - 90 * X[:, 1], epochs=5, seed=0, verbose=0)
    return model, X


def test_a_regression_models_target_scaling_round_trips(tmp_path):
    model, X = _price_model()
    io.save(model, tmp_path / "r.npz")
    loaded = io.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.scale_targets
    np.testing.assert_array_equal(loaded.target_spread, model.target_spread)
    np.testing.assert_array_equal(loaded.target_mean, model.target_mean)
    # a file without target scaling (written before it existed) answers with the network's outputs
    _rewrite(tmp_path / "r.npz", arrays_change=lambda a: (a.pop("target_mean"), a.pop("target_spread")))
    old = io.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(old.predict(X), model.network.predict(model.prepare_X(X))[:, 0])


@pytest.mark.parametrize("change", [lambda a: a.pop("target_spread"), lambda a: a.update(target_spread=np.array([0.0])),
                                    lambda a: a.update(target_mean=np.array([1.0, 2.0])),
                                    lambda a: a.update(target_spread=np.array([np.inf]))])
def test_bad_target_scaling_is_refused(tmp_path, change):
    model, _ = _price_model()
    io.save(model, tmp_path / "r.npz")
    _rewrite(tmp_path / "r.npz", arrays_change=change)
    with pytest.raises(dp.ModelFileError, match="the target scaling does not match the network's 1 outputs"):
        io.load(tmp_path / "r.npz")


def test_save_refuses_what_it_cannot_save(tmp_path):
    with pytest.raises(dp.ConfigError, match="not trained yet"):
        io.save(Model(), tmp_path / "m.npz")
    with pytest.raises(dp.ConfigError, match="save takes a deltaprop Model or Network; received dict"):
        io.save({}, tmp_path / "m.npz")
    assert not os.path.exists(tmp_path / "m.npz")


def test_the_umask_is_read_without_changing_it():
    mask = os.umask(0o027)
    try:
        assert io._umask() == 0o027 and os.umask(0o027) == 0o027
    finally:
        os.umask(mask)


def test_an_object_array_is_refused_without_unpickling(iris_model, tmp_path):
    model, _ = iris_model
    path = tmp_path / "m.npz"
    io.save(model, path)
    _rewrite(path, arrays_change=lambda a: a.update(W0=np.array([{"evil": 1}], dtype=object)))
    with pytest.raises(dp.ModelFileError, match="corrupt model file"):
        io.load(path)


def test_size_limit(iris_model, tmp_path):
    model, _ = iris_model
    io.save(model, tmp_path / "m.npz")
    with pytest.raises(dp.ModelFileError, match="over the 100-byte limit"):
        io.load(tmp_path / "m.npz", max_bytes=100)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(dp.ModelFileError, match="no such model file"):
        io.load(tmp_path / "nope.npz")
    with pytest.raises(dp.ModelFileError, match="received a folder"):
        io.load(tmp_path)


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("precious")

    def broken(fh):
        fh.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        io.atomic_write(path, broken)
    assert path.read_text() == "precious"
    assert os.listdir(tmp_path) == ["keep.txt"]  # no temporary file left behind


def test_a_full_disk_is_reported_with_the_users_file_name(tmp_path):
    import errno

    def full(fh):
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OSError) as info:
        io.atomic_write(tmp_path / "model.npz", full)
    assert info.value.filename == str(tmp_path / "model.npz") and info.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []


def _locked(real_open, locked):
    """``open`` as it behaves for a user who may not read ``locked`` (mode 000, not root)."""
    def fake(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(locked):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)
    return fake


def test_an_unreadable_model_file_says_permission_denied(iris_model, tmp_path, monkeypatch, capsys):
    from deltaprop.cli import main
    model, _ = iris_model
    path = tmp_path / "locked.npz"
    io.save(model, path)
    monkeypatch.setattr(io, "open", _locked(open, path), raising=False)  # the module's own open()
    with pytest.raises(PermissionError):
        io.load(path)
    (tmp_path / "x.csv").write_text("1,2,3,4\n")
    assert main(["predict", str(path), str(tmp_path / "x.csv")]) == 2
    assert capsys.readouterr().err == f"deltaprop: error: cannot use file {str(path)!r}: Permission denied\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file")
def test_a_mode_000_model_file_says_permission_denied(iris_model, tmp_path):
    model, _ = iris_model
    path = tmp_path / "locked.npz"
    io.save(model, path)
    path.chmod(0)
    with pytest.raises(PermissionError):
        io.load(path)


def test_file_kind_tells_deltaprops_files_from_others(iris_model, tmp_path):
    model, ds = iris_model
    io.save(model, tmp_path / "m.npz")
    io.save(dp.Network([2, 2]), tmp_path / "n.npz")
    net = dp.Network([4, 3], output_activation="softmax", seed=0)
    net.fit(ds.X, np.unique(ds.y, return_inverse=True)[1], epochs=1, verbose=0,
            callbacks=[dp.Checkpoint(tmp_path / "c.npz")])
    (tmp_path / "d.csv").write_text("1,2,a\n")
    np.savez(tmp_path / "other.npz", x=np.ones(3))
    kinds = {name: io.file_kind(tmp_path / name) for name in ("m.npz", "n.npz", "c.npz", "d.csv", "other.npz", "none")}
    assert kinds == {"m.npz": "model", "n.npz": "network", "c.npz": "checkpoint", "d.csv": None,
                     "other.npz": None, "none": None}


def test_png_text_entries_round_trip_and_keep_the_image_valid(tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    PIL.new("RGB", (3, 2), "red").save(tmp_path / "a.png")
    assert io.png_text(tmp_path / "a.png") == {}
    io.mark_png(tmp_path / "a.png", "deltaprop", "demo learning curves")
    assert io.png_text(tmp_path / "a.png") == {"deltaprop": "demo learning curves"}
    with PIL.open(tmp_path / "a.png") as image:  # an independent reader: checks every chunk's CRC
        image.load()
        assert image.text == {"deltaprop": "demo learning curves"} and image.size == (3, 2)
    (tmp_path / "b.csv").write_text("1,2\n")
    assert io.png_text(tmp_path / "b.csv") == {}
    with pytest.raises(dp.ConfigError, match="expected a PNG image"):
        io.mark_png(tmp_path / "b.csv", "k", "v")
