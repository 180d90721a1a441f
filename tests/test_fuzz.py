"""Property-based fuzzing of the two loaders a stranger's file reaches: the CSV reader and the
model-file reader. Whatever the bytes, the only allowed outcomes are a successful load or one of
deltaprop's own errors (a :class:`~deltaprop.errors.DeltapropError`), never a crash of another kind.

Profiles: the quick one (default, about 200 cases per test) runs with the suite;
``DELTAPROP_FUZZ=long`` runs 10,000 cases per test (``python bench/fuzz_long.py``).
"""
import io as _io
import json
import os
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deltaprop as dp
from deltaprop import io
from deltaprop.data import load_csv, load_features

settings.register_profile("quick", max_examples=200, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("DELTAPROP_FUZZ", "quick"))

FOLDER = tempfile.mkdtemp(prefix="deltaprop-fuzz-")


def _file(name, data):
    path = os.path.join(FOLDER, name)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def _allowed(call):
    """Run ``call``; a DeltapropError is an answer, anything else fails the property."""
    try:
        return call()
    except dp.DeltapropError as exc:
        assert str(exc) and "\n" not in str(exc), f"error message is not one line: {exc!r}"
        return exc


# ---- CSV ------------------------------------------------------------------------------------------
CELLS = st.one_of(
    st.sampled_from(["1", "-2.5", "3e4", "nan", "inf", "-inf", "1e400", "", " ", "0x1F", "1_000", "a", "Iris-setosa",
                     "\"", "\"\"", "\"1,2\"", "é", "中文", "\ufeff", "\x00", "\r", "\t5", "1;2"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**30, 10**30).map(str),
    st.text(max_size=12),
)
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=6), min_size=0, max_size=12)
NEWLINES = st.sampled_from(["\n", "\r\n", "\r", "\n\n"])


def _csv_text(rows, newline):
    return newline.join(",".join(r) for r in rows)


@given(st.binary(max_size=2000))
def test_csv_loader_on_arbitrary_bytes(data):
    path = _file("bytes.csv", data)
    _allowed(lambda: load_csv(path))


@given(ROWS, NEWLINES, st.sampled_from([None, 0, -1, "label", "x1", 7]), st.sampled_from(["auto", True, False]),
       st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
def test_csv_loader_on_almost_valid_text(rows, newline, label, header, encoding):
    data = _csv_text(rows, newline).encode(encoding, errors="replace")
    path = _file("almost.csv", data)
    result = _allowed(lambda: load_csv(path, label=label, header=header))
    if isinstance(result, dp.Dataset):  # a successful load is a consistent one
        assert result.X.ndim == 2 and len(result.X) == len(result.y) >= 1
        assert np.isfinite(result.X).all() and len(result.feature_names) == result.X.shape[1]


@given(st.integers(1, 3), st.integers(1, 4), st.sampled_from(["quote", "field", "blank", "ragged", "bom"]))
def test_csv_loader_on_structural_damage(kind_seed, n_features, kind):
    rows = [[str(i + j) for j in range(n_features)] + ["a" if i % 2 else "b"] for i in range(6)]
    text = _csv_text(rows, "\n")
    text = {"quote": text.replace(",", ",\"", kind_seed),
            "field": text + "\n1," + "9" * (1_000_000 + kind_seed) + ",a",
            "blank": text.replace("\n", "\n\n\n" * kind_seed),
            "ragged": text + "\n" + "1," * (n_features + kind_seed) + "a",
            "bom": "\ufeff" * kind_seed + text}[kind]
    path = _file("damaged.csv", text.encode("utf-8"))
    _allowed(lambda: load_csv(path))


@given(ROWS, NEWLINES, st.lists(st.sampled_from(["x1", "x2", "x3", "a", "é"]), min_size=1, max_size=4, unique=True))
def test_feature_loader_on_almost_valid_text(rows, newline, names):
    path = _file("features.csv", _csv_text(rows, newline).encode("utf-8"))
    result = _allowed(lambda: load_features(path, names))
    if isinstance(result, np.ndarray):
        assert result.shape[1] == len(names) and np.isfinite(result).all()


# ---- model files ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_bytes():
    iris = dp.load_iris()
    model = dp.Model(hidden=(3,))
    model.fit(iris.X, iris.y, epochs=2, seed=0, verbose=0)
    path = os.path.join(FOLDER, "good.npz")
    io.save(model, path)
    with open(path, "rb") as fh:
        return fh.read()


def _load_bytes(data, name="fuzz.npz"):
    path = _file(name, data)
    result = _allowed(lambda: io.load(path))
    if not isinstance(result, Exception):  # a model that loads must also predict
        X = np.zeros((2, result.network.sizes[0] if hasattr(result, "network") else result.sizes[0]))
        _allowed(lambda: result.predict(X) if hasattr(result, "predict") and hasattr(result, "classes") else result.forward(X))
    return result


@given(st.binary(max_size=3000))
def test_model_loader_on_arbitrary_bytes(data):
    _load_bytes(data)


@given(st.data())
def test_model_loader_on_bit_flips_and_truncations(model_bytes, data):
    blob = bytearray(model_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] ^= 1 << data.draw(st.integers(0, 7))
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(blob))))
    _load_bytes(bytes(blob if cut is None else blob[:cut]))


JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
KEYS = ["format", "format_version", "kind", "network", "task", "loss", "classes", "feature_names", "hidden",
        "activation", "output_activation", "scaler", "init", "settings", "label_name", "checkpoint"]
NET_KEYS = ["sizes", "activations", "dtype", "frozen"]


def _parts(model_bytes):
    with np.load(_io.BytesIO(model_bytes), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return json.loads(arrays.pop("meta").tobytes()), arrays


def _npz(meta, arrays):
    buf = _io.BytesIO()
    blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8) if not isinstance(meta, bytes) else np.frombuffer(meta, np.uint8)
    np.savez(buf, meta=blob, **arrays)
    return buf.getvalue()


@given(st.data())
def test_model_loader_on_edited_descriptions(model_bytes, data):
    meta, arrays = _parts(model_bytes)
    for _ in range(data.draw(st.integers(1, 4))):
        if data.draw(st.booleans()):
            meta[data.draw(st.sampled_from(KEYS))] = data.draw(JSON)
        else:
            net = meta["network"] if isinstance(meta.get("network"), dict) else {}
            net[data.draw(st.sampled_from(NET_KEYS))] = data.draw(JSON)
            meta["network"] = net
    _load_bytes(_npz(meta, arrays))


ARRAYS = st.sampled_from(["W0", "b0", "W1", "b1", "scaler_scale", "scaler_offset", "opt0_0", "meta"])
DTYPES = st.sampled_from(["f8", "f4", "f2", "i8", "u1", "b1", "c16", "U3", "S2", "V4", "M8[s]", "<f8,<i4"])
SHAPES = st.lists(st.integers(0, 7), min_size=0, max_size=3).map(tuple)


@given(st.data())
def test_model_loader_on_wrong_arrays(model_bytes, data):
    meta, arrays = _parts(model_bytes)
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(ARRAYS)
        if data.draw(st.integers(0, 4)) == 0:
            arrays.pop(name, None)
            continue
        shape, dtype = data.draw(SHAPES), np.dtype(data.draw(DTYPES))
        fill = data.draw(st.sampled_from([0.0, 1.0, np.nan, np.inf, -1e308]))
        arr = np.zeros(shape, dtype=dtype)
        if dtype.kind in "fc":
            with np.errstate(over="ignore"):  # -1e308 in float16 is -inf, which is what we want
                arr[...] = fill
        arrays[name] = arr
    meta_blob = arrays.pop("meta", None)
    raw = bytes(meta_blob.tobytes()) if meta_blob is not None else meta
    _load_bytes(_npz(raw, arrays))
