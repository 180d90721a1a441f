"""Every kind of bad input a user can hand deltaprop, run for real, and what deltaprop answers.

Each CLI case runs ``deltaprop.cli.main`` in-process in a fresh folder holding a good Iris CSV, a
good model file and pre-existing output files (replaced with ``--force`` only on success), and
checks the contract: exit code 2, exactly one line on stderr starting ``deltaprop: error:`` that
names the problem, no traceback, and every file in the folder byte-identical afterwards (no
output written, no stray temporary file). Python API cases check that deltaprop raises its own
errors. ``python bench/bad_inputs_table.py`` prints the same cases as the table in
docs/reliability.md.
"""
import contextlib
import io as _io
import json
import os
import re
import struct
import sys
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli import main

IRIS = dp.load_iris()
IRIS_CSV = "".join(",".join(map(str, x)) + f",{c}\n" for x, c in zip(IRIS.X.tolist(), IRIS.y))
ROW = "5.1,3.5,1.4,0.2,Iris-setosa\n"
EXISTING = {"out.npz": b"precious model", "preds.csv": b"precious predictions", "metrics.json": b"{\"precious\": 1}"}
TRAIN = ("train", "data.csv", "--epochs", "2", "-q", "--out", "out.npz", "--force")


# ---- model files: good, and damaged in every way -----------------------------------------------
def _good_model():
    model = dp.Model(hidden=(3,))
    model.fit(IRIS.X, IRIS.y, epochs=2, seed=0, verbose=0)
    return model


def _model_bytes(model):
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"deltaprop-good-{os.getpid()}.npz")
    dp.io.save(model, path)
    with open(path, "rb") as fh:
        data = fh.read()
    os.unlink(path)
    return data


GOOD = _model_bytes(_good_model())


def _parts():
    with np.load(_io.BytesIO(GOOD), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return json.loads(arrays.pop("meta").tobytes()), arrays


def _npz(meta=None, arrays=None, meta_change=None, arrays_change=None):
    m, a = _parts()
    if meta_change:
        meta_change(m)
    if arrays_change:
        arrays_change(a)
    buf = _io.BytesIO()
    blob = np.frombuffer(json.dumps(m).encode() if meta is None else meta, dtype=np.uint8)
    np.savez(buf, meta=blob, **a)
    return buf.getvalue()


def _npy(header, data=b""):
    buf = _io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


def _zip(members):
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _bomb():
    """A tiny zip whose directory says its entry unpacks to 2 GiB: refused before decompressing."""
    blob = bytearray(_zip({"meta.npy": b"\0" * 1000}))
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = blob.index(sig)
        blob[i + offset:i + offset + 4] = struct.pack("<I", 2 * 1024**3)
    return bytes(blob)


def _pickled():
    """An npz whose W0 is an object array: loading it with pickle would run Evil.__reduce__."""
    buf = _io.BytesIO()
    np.lib.format.write_array(buf, np.array([Evil()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(_io.BytesIO(GOOD)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["W0.npy"] = buf.getvalue()
    return _zip(members)


class Evil:
    def __reduce__(self):  # what unpickling would call: create the marker file
        return (open, ("PWNED", "w"))


def _flip(data, at):
    blob = bytearray(data)
    blob[at] ^= 0xFF
    return bytes(blob)


def _network_file():
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"deltaprop-net-{os.getpid()}.npz")
    dp.io.save(dp.Network([4, 3]), path)
    with open(path, "rb") as fh:
        data = fh.read()
    os.unlink(path)
    return data


# ---- the cases -----------------------------------------------------------------------------------
@dataclass
class Case:
    kind: str          # what is wrong
    argv: tuple        # the command line (in a folder with data.csv, model.npz and the EXISTING files)
    words: str         # what the message must say
    files: dict = field(default_factory=dict)  # extra or replaced files: name -> bytes or str
    stdin: bytes = None
    group: str = "CSV data"


def _c(group, kind, argv, words, files=None, stdin=None):
    return Case(kind, tuple(argv), words, files or {}, stdin, group)


CSV, ARG, MOD = "CSV data", "arguments", "model files"
CASES = [
    _c(CSV, "data file does not exist", ("train", "nope.csv"), "cannot use file 'nope.csv'"),
    _c(CSV, "data path is a folder", ("train", "sub"), "expected a CSV file; received a folder", {"sub/": None}),
    _c(CSV, "empty file", TRAIN, "the file is empty", {"data.csv": ""}),
    _c(CSV, "only blank lines", TRAIN, "the file is empty", {"data.csv": "\n  \n\n"}),
    _c(CSV, "header only", TRAIN, "only a header line", {"data.csv": "a,b,label\n"}),
    _c(CSV, "a single column", TRAIN, "expected at least 2 columns", {"data.csv": "1\n2\n3\n"}),
    _c(CSV, "ragged rows", TRAIN, "data.csv, line 3: 4 fields; expected 5", {"data.csv": ROW * 2 + "1,2,3,x\n" + ROW}),
    _c(CSV, "non-numeric feature", TRAIN, "line 2, column 'x2': 'abc' is not a number",
       {"data.csv": ROW + "5.0,abc,1.4,0.2,Iris-setosa\n"}),
    _c(CSV, "NaN feature", TRAIN, "line 2, column 'x1': 'nan' is not finite", {"data.csv": ROW + "nan,3,1,0.2,Iris-setosa\n"}),
    _c(CSV, "inf feature", TRAIN, "line 2, column 'x3': '-inf' is not finite", {"data.csv": ROW + "5,3,-inf,0.2,Iris-setosa\n"}),
    _c(CSV, "number that overflows float64", TRAIN, "'1e400' is not finite", {"data.csv": ROW + "1e400,3,1,0.2,Iris-setosa\n"}),
    _c(CSV, "NaN in a numeric label column", TRAIN, "the label column holds NaN or inf", {"data.csv": "1,2,0\n3,4,nan\n5,6,1\n"}),
    _c(CSV, "empty label cell", TRAIN, "the label column has empty cells", {"data.csv": ROW + "5,3,1,0.2,\n"}),
    _c(CSV, "label column that does not exist", (*TRAIN, "--label", "species"), "no label column 'species'; columns are: a, b, kind",
       {"data.csv": "a,b,kind\n1,2,x\n3,4,y\n"}),
    _c(CSV, "label column index out of range", (*TRAIN, "--label", "9"), "label column index 9 is out of range"),
    _c(CSV, "label name but the file has no header", (*TRAIN, "--label", "species"), "no header line, so the label column must be given by index"),
    _c(CSV, "duplicate column names", (*TRAIN, "--label", "a"), "line 1: the header names column 'a' twice",
       {"data.csv": "a,a,label\n1,2,x\n3,4,y\n"}),
    _c(CSV, "one class only", TRAIN, "needs at least 2 classes; the label column holds only 'x'", {"data.csv": "1,2,x\n3,4,x\n5,6,x\n"}),
    _c(CSV, "too few rows to hold any out for validation", TRAIN, "leaves 0 of 2 rows for validation", {"data.csv": "1,2,x\n3,4,y\n"}),
    _c(CSV, "class names with --task regression", (*TRAIN, "--task", "regression"), "regression needs numeric targets; received 'Iris-"),
    _c(CSV, "non-UTF-8 bytes (Latin-1)", TRAIN, "data.csv, line 2: not UTF-8 text (byte 0xe9)",
       {"data.csv": ROW.encode() + "5,3,1,0.2,caf\xe9\n".encode("latin-1")}),
    _c(CSV, "binary file (NUL bytes)", TRAIN, "contains NUL bytes", {"data.csv": b"1,2,x\n\x00\x01\x02\n"}),
    _c(CSV, "a huge line (a 2 MB field)", TRAIN, "line 2: unreadable CSV (field larger than field limit",
       {"data.csv": ROW + "5," + "9" * 2_000_000 + ",1,0.2,Iris-setosa\n"}),
    _c(CSV, "a quote that is never closed", TRAIN, "line 2: unreadable CSV (unexpected end of data); a quoted field",
       {"data.csv": ROW + "5,\"3,1,0.2,Iris-setosa\n" + ROW}),
    _c(CSV, "unseen label at evaluate", ("evaluate", "model.npz", "new.csv", "--json", "metrics.json", "--force"),
       "unknown class label(s) Iris-unknown", {"new.csv": "5.1,3.5,1.4,0.2,Iris-unknown\n"}),
    _c(CSV, "wrong feature count at predict", ("predict", "model.npz", "two.csv", "--out", "preds.csv", "--force"),
       "two.csv: 2 columns; the model needs 4 features", {"two.csv": "5.1,3.5\n"}),
    _c(CSV, "header without the model's feature names", ("predict", "model.npz", "h.csv", "--out", "preds.csv", "--force"),
       "no column(s) x1, x2, x3, x4", {"h.csv": "a,b\n1,2\n"}),
    _c(CSV, "a text column among the features", TRAIN, "column 'id': 'r1' is not a number; expected a finite number; "
       "if this column is not a feature, leave it out with --drop id", {"data.csv": "id,a,b,kind\nr1,1,2,x\nr2,3,4,y\n"}),
    _c(CSV, "an empty feature cell", TRAIN, "line 2, column 'x2': an empty cell (a missing value)",
       {"data.csv": ROW + "5.0,,1.4,0.2,Iris-setosa\n"}),
    _c(CSV, "evaluate data without the model's label column", ("evaluate", "model.npz", "h.csv"),
       "h.csv: no label column 'label' (the model's label); columns are: x1, x2, x3, x4, kind",
       {"h.csv": "x1,x2,x3,x4,kind\n" + ROW}),
    _c(CSV, "classes asked of measured numbers", (*TRAIN, "--task", "classification"),
       "label 'y' holds 30 distinct numbers, not all integers; expected class labels",
       {"data.csv": "a,y\n" + "".join(f"{i},{i / 7:.4f}\n" for i in range(30))}),
    _c(CSV, "non-number on standard input", ("predict", "model.npz", "-"), "<stdin>, line 1, column 'x2': 'oops' is not a number",
       stdin=b"5.1,oops,1.4,0.2\n"),

    _c(ARG, "unknown command", ("fly",), "invalid choice: 'fly'"),
    _c(ARG, "zero hidden neurons", (*TRAIN, "--hidden", "0"), "argument --hidden: expected a positive integer; received '0'"),
    _c(ARG, "negative layer size", (*TRAIN, "--hidden", "-3"), "argument --hidden: expected a positive integer; received '-3'"),
    _c(ARG, "the data file after --hidden", ("train", "--hidden", "8", "data.csv"),
       "argument --hidden: expected a positive integer; received 'data.csv' (the data file goes before --hidden)"),
    _c(ARG, "a network too large to train", (*TRAIN, "--hidden", "100000", "100000"), "gives 10,000,500,000 weights; expected at most 50,000,000"),
    _c(ARG, "zero epochs", ("train", "data.csv", "--epochs", "0"), "argument --epochs: expected a positive integer"),
    _c(ARG, "learning rate 0", (*TRAIN, "--lr", "0"), "argument --lr: expected a finite number > 0; received '0'"),
    _c(ARG, "negative learning rate", (*TRAIN, "--lr=-0.1"), "argument --lr: expected a finite number > 0; received '-0.1'"),
    _c(ARG, "learning rate NaN", (*TRAIN, "--lr", "nan"), "argument --lr: expected a finite number > 0; received 'nan'"),
    _c(ARG, "batch size 0", (*TRAIN, "--batch-size", "0"), "argument --batch-size: expected a positive integer"),
    _c(ARG, "batch size larger than the data", (*TRAIN, "--batch-size", "1000"), "--batch-size 1000 is larger than the 120 training rows"),
    _c(ARG, "validation fraction 1", (*TRAIN, "--val-fraction", "1"), "argument --val-fraction: expected a number in [0, 1)"),
    _c(ARG, "negative L2 penalty", (*TRAIN, "--l2=-1"), "l2 must be a finite number >= 0; received -1.0"),
    _c(ARG, "negative seed", (*TRAIN, "--seed=-1"), "argument --seed: expected a non-negative integer seed"),
    _c(ARG, "empty seed range", ("demo", "--seeds", "5-1", "--no-plot"), "argument --seeds: expected non-negative seeds"),
    _c(ARG, "unknown activation", (*TRAIN, "--activation", "swish"), "argument --activation: invalid choice: 'swish'"),
    _c(ARG, "loss undefined on the output's range", (*TRAIN, "--output-activation", "relu"), "loss 'cross_entropy' takes log of the output"),
    _c(ARG, "plot with an unknown format", (*TRAIN, "--plot", "curves.txt"), "plot file must end in .png, .svg or .pdf"),
    _c(ARG, "decision regions for 4 features", (*TRAIN, "--regions", "r.png"), "--regions needs data with exactly 2 features"),
    _c(ARG, "output in a folder that does not exist", ("train", "data.csv", "--out", "no/m.npz"), "cannot write 'no/m.npz': folder"),
    _c(ARG, "output is a folder", ("train", "data.csv", "--out", "sub"), "output 'sub' is a folder", {"sub/": None}),
    _c(ARG, "a binary output to standard output", ("train", "data.csv", "--out", "-"),
       "--out writes a binary file, which cannot go to standard output; expected a file name; received '-'"),
    _c(ARG, "an empty output name", ("train", "data.csv", "--out", ""), "argument --out: expected a file name; received ''"),
    _c(ARG, "output inside a file", ("train", "data.csv", "--out", "data.csv/m.npz"), "'data.csv' is a file, not a folder"),
    _c(ARG, "two outputs on one file", ("train", "data.csv", "--out", "a.npz", "--metrics-json", "a.npz"),
       "--out and --metrics-json both name 'a.npz'; expected a different file for each output"),
    _c(ARG, "early stopping without validation rows", (*TRAIN, "--patience", "3", "--val-fraction", "0"),
       "expected --val-fraction above 0 to hold out validation rows; received 0"),
    _c(ARG, "a seed given twice", ("demo", "--seeds", "0,0,1"), "expected each seed once; received '0,0,1' (seed 0 twice)"),
    _c(ARG, "--seed with --seeds", ("demo", "--seed", "3", "--seeds", "0-2"), "--seed 3 picks one run; --seeds runs several"),
    _c(ARG, "an unknown option", (*TRAIN, "--bogus"), "unrecognized arguments: --bogus (see 'deltaprop train --help')"),
    _c(ARG, "existing output without --force", ("train", "data.csv", "--out", "out.npz"), "output file 'out.npz' already exists; pass --force"),

    _c(MOD, "model file does not exist", ("predict", "nope.npz", "data.csv"), "nope.npz: no such model file"),
    _c(MOD, "checkpoint file does not exist", ("train", "data.csv", "--resume", "nope.npz"), "nope.npz: no such checkpoint file"),
    _c(MOD, "model path is a folder", ("predict", "sub", "data.csv"), "sub: expected a model file; received a folder", {"sub/": None}),
    _c(MOD, "empty model file", ("predict", "model.npz", "data.csv"), "not a deltaprop model file", {"model.npz": b""}),
    _c(MOD, "truncated model file", ("predict", "model.npz", "data.csv"), "not a deltaprop model file (expected a .npz archive; is it truncated",
       {"model.npz": GOOD[: len(GOOD) // 2]}),
    _c(MOD, "corrupt model file (bytes flipped)", ("predict", "model.npz", "data.csv"), "corrupt model file",
       {"model.npz": _flip(GOOD, GOOD.index(b"W0.npy") + 200)}),
    _c(MOD, "a CSV renamed to .npz", ("evaluate", "model.npz", "data.csv"), "not a deltaprop model file", {"model.npz": IRIS_CSV}),
    _c(MOD, "a zip from another program", ("evaluate", "model.npz", "data.csv"), "entry 'README.txt' is not a NumPy array",
       {"model.npz": _zip({"README.txt": b"hello"})}),
    _c(MOD, "an npz from another program", ("evaluate", "model.npz", "data.csv"), "not a deltaprop model file (no description inside)",
       {"model.npz": _zip({"W0.npy": _npy({"descr": "<f8", "fortran_order": False, "shape": (0,)})})}),
    _c(MOD, "description that is not JSON", ("evaluate", "model.npz", "data.csv"), "the model description is not valid JSON",
       {"model.npz": _npz(meta=b"{not json")}),
    _c(MOD, "another format version", ("evaluate", "model.npz", "data.csv"), "model file format version 99; this deltaprop",
       {"model.npz": _npz(meta_change=lambda m: m.update(format_version=99))}),
    _c(MOD, "another program's description", ("evaluate", "model.npz", "data.csv"), "not a deltaprop model file (format 'keras')",
       {"model.npz": _npz(meta_change=lambda m: m.update(format="keras"))}),
    _c(MOD, "arrays that do not match the description", ("evaluate", "model.npz", "data.csv"),
       "layer 2 arrays ((3, 7), (3,)) do not match the description (expected W (3, 3)",
       {"model.npz": _npz(arrays_change=lambda a: a.update(W1=np.ones((3, 7))))}),
    _c(MOD, "a missing weight array", ("evaluate", "model.npz", "data.csv"), "layer 1 arrays ((3, 4), None) do not match",
       {"model.npz": _npz(arrays_change=lambda a: a.pop("b0"))}),
    _c(MOD, "NaN weights", ("evaluate", "model.npz", "data.csv"), "finite",
       {"model.npz": _npz(arrays_change=lambda a: a.update(W0=np.full((3, 4), np.nan)))}),
    _c(MOD, "class names that do not match the outputs", ("evaluate", "model.npz", "data.csv"), "the class names do not match the network's 3 outputs",
       {"model.npz": _npz(meta_change=lambda m: m.update(classes=["a", "b", "a"]))}),
    _c(MOD, "sizes of the wrong type in the description", ("evaluate", "model.npz", "data.csv"), "inconsistent network description",
       {"model.npz": _npz(meta_change=lambda m: m["network"].update(sizes=[4, "3", 3]))}),
    _c(MOD, "an object array (pickle payload)", ("predict", "model.npz", "data.csv"), "entry 'W0.npy' holds object data",
       {"model.npz": _pickled()}),
    _c(MOD, "an entry claiming a huge shape", ("predict", "model.npz", "data.csv"), "claims shape (1000000000000,) (8000000000000 bytes) but holds 64",
       {"model.npz": _zip({"meta.npy": _npy({"descr": "<f8", "fortran_order": False, "shape": (10**12,)}, b"\0" * 64)})}),
    _c(MOD, "a decompression bomb (claims 2 GiB)", ("predict", "model.npz", "data.csv"), "unpacks to 2147483648 bytes, over the 1073741824-byte limit",
       {"model.npz": _bomb()}),
    _c(MOD, "a bare network where a model is needed", ("predict", "model.npz", "data.csv"), "holds a bare network without class names",
       {"model.npz": _network_file()}),
]


def _snapshot(folder):
    state = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as fh:
                state[os.path.relpath(path, folder)] = fh.read()
    return state


def prepare(case, folder):
    """Fill ``folder`` with the good files, the pre-existing outputs and the case's own files."""
    files = {"data.csv": IRIS_CSV, "model.npz": GOOD, **EXISTING, **case.files}
    for name, content in files.items():
        path = os.path.join(folder, name)
        if content is None:
            os.makedirs(path, exist_ok=True)
            continue
        with open(path, "wb") as fh:
            fh.write(content.encode("utf-8") if isinstance(content, str) else content)


def run_case(case, folder):
    """Run the case's command in ``folder``; (exit code, stdout, stderr)."""
    prepare(case, folder)
    out, err, old = _io.StringIO(), _io.StringIO(), os.getcwd()
    stdin = sys.stdin
    try:
        os.chdir(folder)
        if case.stdin is not None:
            sys.stdin = _io.TextIOWrapper(_io.BytesIO(case.stdin))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(case.argv))
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code
    finally:
        os.chdir(old)
        sys.stdin = stdin
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_cli_bad_input_gets_one_line_and_touches_nothing(case, tmp_path):
    prepare(case, tmp_path)
    before = _snapshot(tmp_path)
    code, _, err = run_case(case, tmp_path)
    assert code == 2
    assert err.startswith("deltaprop: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and case.words in err, err
    assert _snapshot(tmp_path) == before  # nothing written, replaced or deleted; no temporary file left


def test_there_are_enough_kinds():
    assert len({c.kind for c in CASES}) == len(CASES) >= 25


def test_a_pickle_payload_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.npz").write_bytes(_pickled())
    with pytest.raises(dp.ModelFileError, match="would need pickle|pickled"):
        dp.load("evil.npz")
    assert not (tmp_path / "PWNED").exists()
    with pytest.raises(ValueError):  # the payload is real: only allow_pickle=False stands between it and us
        np.load("evil.npz", allow_pickle=False)["W0"]
    assert not (tmp_path / "PWNED").exists()


def test_a_lying_entry_size_is_not_trusted(tmp_path):
    """The directory says 1,128 bytes but the entry inflates to 10 MB: zipfile inflates at most the
    claimed size, and the checksum then shows the file is corrupt."""
    blob = bytearray(_zip({"meta.npy": _npy({"descr": "|u1", "fortran_order": False, "shape": (10**7,)}, b"\0" * 10**7)}))
    header = len(_npy({"descr": "|u1", "fortran_order": False, "shape": (10**7,)}))
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = blob.index(sig)
        blob[i + offset:i + offset + 4] = struct.pack("<I", header + 1000)
    (tmp_path / "m.npz").write_bytes(bytes(blob))
    with pytest.raises(dp.ModelFileError, match="corrupt model file .*(Bad CRC|claims shape)"):
        dp.load(tmp_path / "m.npz")


def test_no_pickle_anywhere_in_the_source():
    src = os.path.join(os.path.dirname(dp.__file__))
    for root, _, names in os.walk(src):
        for name in names:
            if name.endswith(".py"):
                text = open(os.path.join(root, name), encoding="utf-8").read()
                for bad in ("allow_pickle=True", "pickle.load", "pickle.loads", "import pickle", "np.load(", "numpy.load("):
                    if bad.startswith("np.load") and name == "io.py":
                        assert text.count("np.load(") == text.count("np.load(path, allow_pickle=False)")
                        continue
                    assert bad not in text, f"{name} uses {bad}"


# ---- the Python API ------------------------------------------------------------------------------
X4 = IRIS.X[:20]
Y2 = np.array([0, 1] * 10)


def _fit(**kw):
    return dp.Network([4, 3, 2], output_activation="softmax", seed=0).fit(X4, Y2, epochs=1, verbose=0, **kw)


def _fitted():
    model = dp.Model(hidden=(3,))
    model.fit(IRIS.X, IRIS.y, epochs=1, seed=0, verbose=0)
    return model


API_CASES = [
    ("zero layer size", lambda: dp.Network([4, 0, 3]), dp.ConfigError, "every layer size must be a positive integer"),
    ("one layer only", lambda: dp.Network([4]), dp.ConfigError, "at least 2 layer sizes"),
    ("unknown activation", lambda: dp.Network([4, 3], activation="swish"), dp.ConfigError, "unknown activation 'swish'"),
    ("learning rate 0", lambda: dp.SGD(0), dp.ConfigError, "learning_rate must be a number in (0, inf); received 0"),
    ("learning rate NaN", lambda: dp.Adam(float("nan")), dp.ConfigError, "received nan"),
    ("momentum 1.5", lambda: dp.Momentum(0.1, momentum=1.5), dp.ConfigError, "momentum must be a number in [0, 1)"),
    ("batch size larger than the data", lambda: _fit(batch_size=10**6), dp.ConfigError, "batch_size 1000000 is larger than the 20 training rows"),
    ("epochs 0", lambda: dp.Network([4, 2]).fit(X4, Y2, epochs=0, verbose=0), dp.ConfigError, "epochs must be a positive integer"),
    ("negative learning rate in fit", lambda: _fit(learning_rate=-1), dp.ConfigError, "learning_rate must be a number in (0, inf)"),
    ("NaN features", lambda: dp.Network([4, 2]).forward(np.full((1, 4), np.nan)), dp.DataError, "X contains NaN or inf"),
    ("wrong feature count", lambda: dp.Network([4, 2]).forward(np.ones((2, 3))), dp.ShapeError, "expected X of shape (m, 4); received (2, 3)"),
    ("no samples", lambda: dp.Network([4, 2]).fit(np.empty((0, 4)), np.empty(0), epochs=1, verbose=0), dp.ShapeError, "at least one sample"),
    ("unknown optimizer", lambda: _fit(optimizer="rmsprop"), dp.ConfigError, "unknown optimizer 'rmsprop'; expected one of"),
    ("hidden sizes not numbers", lambda: dp.Model(hidden="abc"), dp.ConfigError, "hidden must be positive layer sizes"),
    ("negative hidden size", lambda: dp.Model(hidden=-3), dp.ConfigError, "hidden must be positive layer sizes"),
    ("unknown scaler", lambda: dp.Model(scale="robust"), dp.ConfigError, "unknown scaler 'robust'"),
    ("untrained model", lambda: dp.Model().predict(X4), dp.ConfigError, "not trained yet"),
    ("one class only", lambda: dp.Model().fit(X4, ["a"] * 20, epochs=1, verbose=0), dp.DataError, "at least 2 classes"),
    ("regression on class names", lambda: dp.Model(task="regression").fit(IRIS.X, IRIS.y, epochs=1, verbose=0), dp.DataError,
     "regression needs numeric targets"),
    ("predict with 3 features", lambda: _fitted().predict(X4[:, :3]), dp.DataError, "expected 4 features"),
    ("unseen label at evaluate", lambda: _fitted().evaluate(X4, ["Iris-unknown"] * 20), dp.DataError, "unknown class label(s) Iris-unknown"),
    ("validation fraction 1.5", lambda: _fit(validation_fraction=1.5), dp.ConfigError, "validation_fraction must be a number in [0, 1) (0 holds out no rows); received 1.5"),
    ("missing labels", lambda: dp.Model().fit(X4, ["a", None] * 10, epochs=1, verbose=0), dp.DataError,
     "the label column holds 10 missing value(s) (the first at row 1)"),
    ("labels mixing numbers and text", lambda: dp.Model().fit(X4, [1, "b"] * 10, epochs=1, verbose=0), dp.DataError,
     "labels mix numbers and text (1 at row 0, 'b' at row 1)"),
    ("class names in Network.fit", lambda: dp.Network([4, 3, 2]).fit(X4, np.array(["a", "b"] * 10), epochs=1, verbose=0),
     dp.DataError, "Network.fit needs numeric targets"),
    ("labels 0..2 on one sigmoid output", lambda: dp.Network([4, 3, 1]).fit(X4, np.arange(20) % 3, loss="binary_cross_entropy",
                                                                            epochs=1, verbose=0),
     dp.DataError, "needs targets between 0 and 1"),
    ("negative rate from lr_schedule", lambda: _fit(lr_schedule=lambda epoch, lr0: -1.0), dp.ConfigError,
     "lr_schedule(0, 0.1) returned a bad learning rate: learning_rate must be a number in (0, inf); received -1.0"),
    ("custom activation", lambda: dp.Network([4, 3], activation=dp.Activation("swish", np.tanh, lambda z, a: 1 - a * a, -1, 1)),
     dp.ConfigError, "custom activations are not supported"),
    ("softmax on one output", lambda: dp.Network([4, 3, 1], output_activation="softmax"), dp.ConfigError,
     "softmax over a single neuron"),
]


@pytest.mark.parametrize("call,error,words", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_python_api_raises_its_own_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("labels,words", [
    (["a", "b", float("nan")] * 10, "10 missing value(s) (the first at row 2)"),  # what pandas gives for a gap in text
    (np.array([1.0, np.nan, 2.0] * 10), "10 missing value(s) (the first at row 1)"),
    (np.array(["x", 2, 3] * 10, dtype=object), "labels mix text and numbers ('x' at row 0, 2 at row 1)"),
])
def test_model_labels_that_cannot_be_sorted_get_one_line(labels, words):
    with pytest.raises(dp.DataError) as info:
        dp.Model(hidden=(3,)).fit(IRIS.X[:30], labels, epochs=1, verbose=0, validation_fraction=0.2)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_pandas_label_column_with_gaps():
    pd = pytest.importorskip("pandas")
    for gap in (np.nan, None, pd.NA):
        y = pd.Series(["a", "b", gap] * 10, dtype="string" if gap is pd.NA else object, name="kind")
        with pytest.raises(dp.DataError, match=re.escape("the label column holds 10 missing value(s) (the first at row 2)")):
            dp.Model(hidden=(3,)).fit(IRIS.X[:30], y, epochs=1, verbose=0)
