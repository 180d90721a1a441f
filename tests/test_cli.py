"""The command line, run in-process as a user would: real files, good and bad."""
import csv
import json
import os

import numpy as np
import pytest

from deltaprop.cli import main
from deltaprop.data import load_iris

IRIS_ROWS = [list(map(str, x)) + [c] for x, c in zip(load_iris().X.tolist(), load_iris().y)]


@pytest.fixture
def iris_csv(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text("\n".join(",".join(r) for r in IRIS_ROWS) + "\n")
    return str(path)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_default_writes_plot_and_metrics(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "demo", "--epochs", 20, "--metrics-json", "h.json")
    assert code == 0 and "final validation accuracy" in out
    history = json.loads((tmp_path / "h.json").read_text())
    assert len(history["val_accuracy"]) == 20 and history["epoch"][-1] == 20
    assert (tmp_path / "deltaprop-demo.png").read_bytes()[:4] == b"\x89PNG"
    assert err.count("\n") == 1 and err.startswith("trained 20 epochs")  # not a terminal: one summary line


def test_demo_faithful_prints_the_seed_programs_accuracy(tmp_path, capsys, monkeypatch):
    from deltaprop.recipes import faithful
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "demo", "--faithful", "--seed", 2, "--epochs", 30, "--no-plot", "-q")
    acc = faithful(seed=2, epochs=30).val_accuracy
    assert code == 0 and f"final validation accuracy: {acc:.1%}" in out
    assert not os.listdir(tmp_path)


def test_demo_seeds_table(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "demo", "--seeds", "0-2", "--epochs", 5, "--no-plot")
    assert code == 0 and out.count("%") == 4 and "mean" in out


def test_train_evaluate_predict_round_trip_on_iris(iris_csv, tmp_path, capsys):
    model, plot = tmp_path / "iris.npz", tmp_path / "curves.png"
    code, out, _ = run(capsys, "train", iris_csv, "--hidden", 8, "--epochs", 60, "--out", model, "--plot", plot, "-q")
    assert code == 0 and model.exists() and plot.read_bytes()[:4] == b"\x89PNG"
    code, out, _ = run(capsys, "evaluate", model, iris_csv, "--json", tmp_path / "m.json", "--plot", tmp_path / "cm.png")
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert code == 0 and metrics["accuracy"] > 0.9 and np.sum(metrics["confusion_matrix"]) == 150
    assert f"accuracy {metrics['accuracy']:.2%}" in out and "Iris-versicolor" in out
    code, out, _ = run(capsys, "predict", model, iris_csv)
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["prediction", "p(Iris-setosa)", "p(Iris-versicolor)", "p(Iris-virginica)"]
    predicted = [r[0] for r in rows[1:]]
    assert np.mean([p == r[-1] for p, r in zip(predicted, IRIS_ROWS)]) == pytest.approx(metrics["accuracy"])
    assert all(abs(sum(map(float, r[1:])) - 1) < 1e-5 for r in rows[1:])


def test_header_csv_with_string_labels_in_the_first_column(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    labels = np.where(X[:, 0] + X[:, 2] > 0, "yes", "no")
    path = tmp_path / "h.csv"
    path.write_text("answer,a,b,c\n" + "".join(f"{l},{x[0]:.5f},{x[1]:.5f},{x[2]:.5f}\n" for l, x in zip(labels, X)))
    model = tmp_path / "h.npz"
    code, out, _ = run(capsys, "train", path, "--label", "answer", "--epochs", 80, "--out", model, "-q")
    assert code == 0 and "label 'answer'" in out
    code, out, _ = run(capsys, "evaluate", model, path)  # the label column is found by its name
    assert code == 0 and float(out.split("accuracy ")[1].split("%")[0]) > 90
    # predict picks the features by name, whatever the column order
    shuffled = tmp_path / "s.csv"
    shuffled.write_text("c,b,a\n" + "".join(f"{x[2]:.5f},{x[1]:.5f},{x[0]:.5f}\n" for x in X[:5]))
    _, out_a, _ = run(capsys, "predict", model, shuffled)
    _, out_b, _ = run(capsys, "predict", model, path)
    assert out_a.splitlines()[1:6] == out_b.splitlines()[1:6]


def test_regression_csv(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(200, 2))
    y = 3 * X[:, 0] - 2 * X[:, 1] ** 2 + 0.5
    path = tmp_path / "r.csv"
    path.write_text("u,v,target\n" + "".join(f"{a:.6f},{b:.6f},{t:.6f}\n" for (a, b), t in zip(X, y)))
    model = tmp_path / "r.npz"
    code, out, _ = run(capsys, "train", path, "--hidden", 16, "--activation", "tanh", "--epochs", 150, "--out", model, "-q")
    assert code == 0 and "regression, identity + squared_error" in out
    code, out, _ = run(capsys, "evaluate", model, path)
    assert code == 0 and float(out.split("R² ")[1].split()[0]) > 0.9
    code, out, _ = run(capsys, "predict", model, path)
    pred = np.array([float(r) for r in out.splitlines()[1:]])
    assert np.sqrt(np.mean((pred - y) ** 2)) < 0.4


@pytest.mark.parametrize("content,words", [
    (None, "cannot use file"),
    ("", "the file is empty"),
    ("a,b,label\n", "only a header"),
    ("1,2,x\n3,4\n", "line 2: 2 fields"),
    ("1,2,x\n3,zz,y\n", "line 2, column 'x2': 'zz' is not a number"),
    ("1,2,x\n3,4,x\n5,6,x\n", "at least 2 classes"),
])
def test_train_errors_are_one_line_and_exit_nonzero(tmp_path, capsys, content, words):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "train", path, "--epochs", 2, "--out", tmp_path / "m.npz")
    assert code == 2 and err.startswith("deltaprop: error:") and words in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "m.npz").exists()


def test_unknown_label_column(iris_csv, capsys, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("a,b,kind\n1,2,x\n3,4,y\n")
    code, _, err = run(capsys, "train", path, "--label", "species")
    assert code == 2 and "no label column 'species'; columns are: a, b, kind" in err


def test_existing_outputs_are_never_replaced_without_force(iris_csv, tmp_path, capsys):
    out = tmp_path / "model.npz"
    out.write_bytes(b"precious")
    code, _, err = run(capsys, "train", iris_csv, "--epochs", 2, "--out", out)
    assert code == 2 and "already exists; pass --force" in err and out.read_bytes() == b"precious"
    code, _, _ = run(capsys, "train", iris_csv, "--epochs", 2, "--out", out, "--force", "-q")
    assert code == 0 and out.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize("content,words", [
    (b"", "not a deltaprop model file"),
    (b"PK\x03\x04garbage", "not a deltaprop model file"),
    (b"5.1,3.5,1.4,0.2,Iris-setosa\n", "not a deltaprop model file"),
])
def test_bad_model_files_at_evaluate_and_predict(iris_csv, tmp_path, capsys, content, words):
    model = tmp_path / "m.npz"
    model.write_bytes(content)
    for command in ("evaluate", "predict"):
        code, _, err = run(capsys, command, model, iris_csv)
        assert code == 2 and words in err and "Traceback" not in err


def test_truncated_model_file(iris_csv, tmp_path, capsys):
    model = tmp_path / "m.npz"
    run(capsys, "train", iris_csv, "--epochs", 2, "--out", model, "-q")
    model.write_bytes(model.read_bytes()[:-200])
    code, _, err = run(capsys, "predict", model, iris_csv)
    assert code == 2 and "m.npz" in err


def test_unseen_label_and_wrong_feature_count(iris_csv, tmp_path, capsys):
    model = tmp_path / "m.npz"
    run(capsys, "train", iris_csv, "--epochs", 2, "--out", model, "-q")
    other = tmp_path / "o.csv"
    other.write_text("5.1,3.5,1.4,0.2,Iris-unknown\n")
    code, _, err = run(capsys, "evaluate", model, other)
    assert code == 2 and "unknown class label(s) Iris-unknown" in err
    other.write_text("5.1,3.5\n")
    code, _, err = run(capsys, "predict", model, other)
    assert code == 2 and "the model needs 4 features" in err


def test_bad_arguments_exit_nonzero(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "x.csv", "--epochs", "0"])
    assert info.value.code == 2 and "expected a positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "x.csv", "--activation", "swish"])
