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
    code, out, _ = run(capsys, "train", path, "--label", "answer", "--epochs", 80, "--out", model)
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


# ---- outputs: what may be written where ---------------------------------------------------------
def test_force_writes_through_a_symlink_and_refuses_a_fifo(iris_csv, tmp_path, capsys):
    real, link, fifo = tmp_path / "real.json", tmp_path / "link.json", tmp_path / "fifo.json"
    real.write_text("old")
    link.symlink_to(real)
    os.mkfifo(fifo)
    code, _, _ = run(capsys, "train", iris_csv, "--epochs", 3, "--metrics-json", link, "--force", "-q")
    assert code == 0 and link.is_symlink() and json.loads(real.read_text())["epoch"] == [1, 2, 3]
    code, out, err = run(capsys, "train", iris_csv, "--epochs", 3, "--metrics-json", fifo, "--force")
    assert code == 2 and "not a regular file" in err and err.count("\n") == 1 and out == ""
    assert os.path.exists(fifo) and not os.path.isfile(fifo)


def test_the_default_demo_plot_is_replaced_only_if_the_demo_drew_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plot = tmp_path / "deltaprop-demo.png"
    for _ in range(2):  # the README's quick start, run twice: the second run replaces its own plot
        code, _, _ = run(capsys, "demo", "--epochs", 3)
        assert code == 0 and plot.read_bytes()[:4] == b"\x89PNG"
    plot.write_bytes(b"\x89PNG a picture of the user's")
    code, _, err = run(capsys, "demo", "--epochs", 3)
    assert code == 2 and "not a plot that 'deltaprop demo' drew" in err and "--plot NAME" in err
    assert plot.read_bytes() == b"\x89PNG a picture of the user's"
    assert run(capsys, "demo", "--epochs", 3, "--force")[0] == 0 and plot.stat().st_size > 1000


@pytest.mark.parametrize("argv,words", [
    (["train", "{csv}", "--out", "same.npz", "--metrics-json", "same.npz"], "--out and --metrics-json both name 'same.npz'"),
    (["train", "{csv}", "--out", "x.png", "--plot", "x.png"], "--out and --plot both name 'x.png'"),
    (["train", "{csv}", "--out", "m.npz", "--checkpoint", "m.npz"], "--out and --checkpoint both name 'm.npz'"),
    (["train", "{csv}", "--out", "m.png", "--plot", "./m.png"], "--out and --plot name the same file ('m.png', './m.png')"),
    (["train", "{csv}", "--metrics-json", "alias.csv"], "same file as the input"),  # a symlink to the data
    (["train", "{csv}", "--out", "{csv}", "--force"], "same file as the input"),
    (["evaluate", "model.npz", "{csv}", "--json", "model.npz", "--force"], "same file as the input 'model.npz'"),
    (["predict", "model.npz", "{csv}", "--out", "{csv}", "--force"], "same file as the input"),
])
def test_outputs_on_one_file_or_on_an_input_are_refused(iris_csv, tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alias.csv").symlink_to(iris_csv)
    run(capsys, "train", iris_csv, "--epochs", 2, "--out", "model.npz", "-q")
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    code, out, err = run(capsys, *[a.format(csv=iris_csv) for a in argv])
    assert code == 2 and words in err and err.count("\n") == 1 and "deltaprop train:" not in out
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_an_unwritable_folder_is_refused_before_training(iris_csv, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: real_access(p, mode) and os.fspath(p) != str(folder))
    code, out, err = run(capsys, "train", iris_csv, "--epochs", 2, "--plot", folder / "c.png")
    assert code == 2 and out == "" and f"cannot write {str(folder / 'c.png')!r}: folder" in err
    assert "is not writable" in err and ".tmp" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_folder_is_refused_before_training(iris_csv, tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    code, out, err = run(capsys, "train", iris_csv, "--epochs", 2, "--out", folder / "m.npz")
    assert code == 2 and out == "" and "is not writable" in err


def test_outputs_get_the_usual_permissions_and_keep_old_ones(iris_csv, tmp_path, capsys):
    old = os.umask(0o022)
    try:
        model, metrics = tmp_path / "m.npz", tmp_path / "h.json"
        metrics.write_text("{}")
        metrics.chmod(0o640)
        code, _, _ = run(capsys, "train", iris_csv, "--epochs", 2, "--out", model, "--metrics-json", metrics, "--force", "-q")
    finally:
        os.umask(old)
    assert code == 0 and oct(model.stat().st_mode & 0o777) == oct(0o644) and oct(metrics.stat().st_mode & 0o777) == oct(0o640)


def test_evaluate_json_dash_is_standard_output(iris_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run(capsys, "train", iris_csv, "--epochs", 2, "--out", "m.npz", "-q")
    code, out, err = run(capsys, "evaluate", "m.npz", iris_csv, "--json", "-")
    assert code == 0 and json.loads(out)["n"] == 150 and "accuracy" in err
    assert not os.path.exists("-")


# ---- what is drawn and printed --------------------------------------------------------------------
def _regression_csv(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(60, 2))
    path = tmp_path / "r.csv"
    path.write_text("u,v,t\n" + "".join(f"{a:.5f},{b:.5f},{a - b:.5f}\n" for a, b in X))
    return path


@pytest.mark.parametrize("argv,words", [
    (["demo", "--seeds", "0-2", "--epochs", 2, "--plot", "{tmp}/seeds.png"], "--seeds runs several"),
    (["train", "{reg}", "--epochs", 2, "--regions", "{tmp}/rr.png"], "expected a classification task"),
    (["evaluate", "{tmp}/reg.npz", "{reg}", "--plot", "{tmp}/cm.png"], "expected a classification model"),
])
def test_a_picture_that_cannot_be_drawn_is_refused_up_front(tmp_path, capsys, argv, words):
    reg = _regression_csv(tmp_path)
    run(capsys, "train", reg, "--epochs", 2, "--out", tmp_path / "reg.npz", "-q")
    code, out, err = run(capsys, *[str(a).format(tmp=tmp_path, reg=reg) for a in argv])
    assert code == 2 and words in err and err.count("\n") == 1 and out == ""
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".png"]


def test_final_line_describes_the_restored_best_epoch(iris_csv, tmp_path, capsys):
    from deltaprop.io import load
    code, out, _ = run(capsys, "train", iris_csv, "--epochs", 60, "--patience", 3, "--val-fraction", 0.3, "--lr", 0.3,
                       "--metrics-json", tmp_path / "h.json", "--out", tmp_path / "m.npz")
    h = json.loads((tmp_path / "h.json").read_text())
    best, last = h["best_epoch"], h["epoch"][-1]
    assert code == 0 and best < last and h["stopped_early"]
    i = h["epoch"].index(best)
    assert f"final: val_accuracy {h['val_accuracy'][i]:.4f}, accuracy {h['accuracy'][i]:.4f} " \
           f"(best epoch {best} restored; training ran {last} epochs)" in out
    # the saved model is the one those numbers describe: its validation loss is the best epoch's
    assert min(h["val_loss"]) == h["val_loss"][i] and load(tmp_path / "m.npz").settings["patience"] == 3


def test_evaluate_picks_the_models_columns_by_name_like_predict(tmp_path, capsys):
    iris = load_iris()
    rows = [list(map(str, x)) + [c] for x, c in zip(iris.X.tolist(), iris.y)]
    (tmp_path / "iris.csv").write_text("sl,sw,pl,pw,species\n" + "".join(",".join(r) + "\n" for r in rows))
    (tmp_path / "iris6b.csv").write_text("pw,sl,extra,sw,pl,species\n" + "".join(
        f"{r[3]},{r[0]},7,{r[1]},{r[2]},{r[4]}\n" for r in rows))
    model = tmp_path / "lf.npz"
    run(capsys, "train", tmp_path / "iris.csv", "--epochs", 30, "--out", model, "-q")
    _, reference, _ = run(capsys, "evaluate", model, tmp_path / "iris.csv")
    code, out, _ = run(capsys, "evaluate", model, tmp_path / "iris6b.csv")
    assert code == 0 and out.split("\n", 1)[1] == reference.split("\n", 1)[1]
    (tmp_path / "plain.csv").write_text("".join(f"{','.join(r[:4])},7,{r[4]}\n" for r in rows))  # no header: by position
    code, _, err = run(capsys, "evaluate", model, tmp_path / "plain.csv")
    assert code == 2 and "plain.csv: 5 feature columns" in err and "the model needs 4 (sl, sw, pl, pw)" in err


def test_evaluate_tables_line_up_chinese_class_names(tmp_path, capsys):
    """A Chinese character takes two columns of a terminal: the tables pad by columns, not characters."""
    import unicodedata
    iris = load_iris()
    names = {"Iris-setosa": "山鸢尾", "Iris-versicolor": "变色鸢尾", "Iris-virginica": "维吉尼亚鸢尾"}
    (tmp_path / "zh.csv").write_text("花萼长度,花萼宽度,花瓣长度,花瓣宽度,品种\n" + "".join(
        ",".join(map(str, x)) + f",{names[c]}\n" for x, c in zip(iris.X.tolist(), iris.y)), encoding="utf-8")
    run(capsys, "train", tmp_path / "zh.csv", "--epochs", 20, "--out", tmp_path / "zh.npz", "-q")
    code, out, _ = run(capsys, "evaluate", tmp_path / "zh.npz", tmp_path / "zh.csv")

    def columns(text):
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    lines = out.splitlines()
    table = lines[lines.index(next(l for l in lines if l.startswith("class"))):]
    report, matrix = table[:4], table[6:10]
    assert code == 0 and {columns(l) for l in report} == {columns(report[0])}
    assert {columns(l) for l in matrix} == {columns(matrix[0])} and "维吉尼亚鸢尾" in matrix[0]


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in ("passes over the training rows (default: 200)", "hidden layer sizes (default: 5)",
                  "(default: adam)", "(default: 0.2)", "shuffling) (default: 0)", "weights (default: 0.0)",
                  ".png, .svg or .pdf"):
        assert words in text


def test_quiet_demo_prints_only_the_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "demo", "--epochs", 3, "--no-plot", "-q")
    assert code == 0 and err == "" and out.startswith("final validation accuracy") and out.count("\n") == 1


def test_counts_are_singular_for_one_and_an_unsaved_model_is_said(iris_csv, tmp_path, capsys):
    code, out, _ = run(capsys, "train", iris_csv, "--epochs", 2)
    assert code == 0 and "150 rows, 4 features" in out and "model was not saved (pass --out MODEL" in out
    run(capsys, "train", iris_csv, "--epochs", 2, "--out", tmp_path / "m.npz", "-q")
    (tmp_path / "one.csv").write_text(",".join(IRIS_ROWS[0]) + "\n")
    code, out, err = run(capsys, "predict", tmp_path / "m.npz", tmp_path / "one.csv", "--out", tmp_path / "p.csv")
    assert code == 0 and "wrote 1 prediction to" in err
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.npz", tmp_path / "one.csv")
    assert code == 0 and ": 1 row, Model(" in out


# ---- columns that are not features ----------------------------------------------------------------
def _iris_with_names(tmp_path):
    header = "sepal_length,sepal_width,petal_length,petal_width,species"
    (tmp_path / "ih.csv").write_text(header + "\n" + "".join(",".join(r) + "\n" for r in IRIS_ROWS))
    (tmp_path / "withid.csv").write_text(f"name,{header}\n" + "".join(f"flower{i}," + ",".join(r) + "\n"
                                                                     for i, r in enumerate(IRIS_ROWS)))
    return tmp_path / "ih.csv", tmp_path / "withid.csv"


def test_evaluate_ignores_a_text_column_the_model_does_not_use(tmp_path, capsys):
    plain, withid = _iris_with_names(tmp_path)
    run(capsys, "train", plain, "--epochs", 20, "--out", tmp_path / "ih.npz", "-q")
    _, reference, _ = run(capsys, "evaluate", tmp_path / "ih.npz", plain)
    code, out, err = run(capsys, "evaluate", tmp_path / "ih.npz", withid)
    assert code == 0 and err == "" and out.split("\n", 1)[1] == reference.split("\n", 1)[1]
    (tmp_path / "nolabel.csv").write_text(withid.read_text().replace(",species\n", ",kind\n", 1))
    code, _, err = run(capsys, "evaluate", tmp_path / "ih.npz", tmp_path / "nolabel.csv")
    assert code == 2 and "no label column 'species' (the model's label); columns are: name, sepal_length" in err


def test_train_drops_columns_and_a_text_column_hints_at_drop(tmp_path, capsys):
    plain, withid = _iris_with_names(tmp_path)
    code, _, err = run(capsys, "train", withid, "--epochs", 2)
    assert code == 2 and "column 'name': 'flower0' is not a number" in err and "leave it out with --drop name" in err
    code, out, _ = run(capsys, "train", withid, "--epochs", 2, "--drop", "name")
    assert code == 0 and "150 rows, 4 features, label 'species'" in out
    code, _, err = run(capsys, "train", plain, "--epochs", 2, "--label", 0)  # a numeric label: the text is a feature now
    assert code == 2 and "the label is column 'sepal_length' (--label 0)" in err and "--drop species" in err


# ---- standard output: '-', a closed pipe ------------------------------------------------------------
def test_dash_is_standard_output_for_text_and_refused_for_binary_files(iris_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "train", iris_csv, "--epochs", 3, "--metrics-json", "-")
    assert code == 0 and json.loads(out)["epoch"] == [1, 2, 3] and "final: val_accuracy" in err
    code, out, err = run(capsys, "demo", "--epochs", 3, "--no-plot", "--metrics-json", "-")
    assert code == 0 and len(json.loads(out)["loss"]) == 3 and "final validation accuracy" in err
    code, out, err = run(capsys, "explain", "--example", "lee", "--out", "-")
    assert code == 0 and out.startswith("Hung-yi Lee") and err == ""
    for argv in (["train", iris_csv, "--out", "-"], ["train", iris_csv, "--plot", "-"], ["train", iris_csv, "--checkpoint", "-"],
                 ["demo", "--plot", "-"], ["explain", "--example", "lee", "--diagram", "-"]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and "writes a binary file, which cannot go to standard output" in err, argv
    assert os.listdir(tmp_path) == ["iris.csv"]  # no file named "-"


def test_a_closed_pipe_ends_quietly_and_the_work_is_done(iris_csv, tmp_path):
    import subprocess
    import sys
    for argv in (["train", iris_csv, "--epochs", 3, "--out", tmp_path / "m.npz"], ["demo", "--seeds", "0-2", "--epochs", 2],
                 ["evaluate", tmp_path / "m.npz", iris_csv], ["predict", tmp_path / "m.npz", iris_csv]):
        p = subprocess.Popen([sys.executable, "-m", "deltaprop", *map(str, argv)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=tmp_path)
        p.stdout.close()  # as `| head -0` would: every write to standard output meets EPIPE
        err = p.stderr.read().decode()
        assert p.wait() == 0 and "error" not in err and "Exception" not in err, (argv, err)
    assert (tmp_path / "m.npz").exists()


def test_the_pipe_guard_drops_writes_after_epipe():
    from deltaprop.cli import _PipeGuard

    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")
        flush = write
    guard = _PipeGuard(Closed())
    assert guard.write("x") == 1 and guard.closed_pipe
    guard.write("more"), guard.flush()  # no second error


# ---- what auto, classification and early stopping do with numbers ------------------------------------
def test_integer_labels_taken_for_regression_get_a_note(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    (tmp_path / "s.csv").write_text("a,b,y\n" + "".join(f"{a},{b},{i % 3}\n" for i, (a, b) in enumerate(X)))
    code, out, _ = run(capsys, "train", tmp_path / "s.csv", "--epochs", 2, "-q")
    assert code == 0 and "note: label 'y' has 3 distinct integer values: treated as regression; " \
                          "pass --task classification for classes" in out
    code, out, _ = run(capsys, "train", tmp_path / "s.csv", "--epochs", 2, "-q", "--task", "regression")
    assert code == 0 and "note:" not in out
    X = rng.normal(size=(300, 2))  # whole-number prices: hundreds of values are no classes, no note
    (tmp_path / "p.csv").write_text("a,b,price\n" + "".join(f"{a},{b},{20000 + 100 * i}\n" for i, (a, b) in enumerate(X)))
    code, out, _ = run(capsys, "train", tmp_path / "p.csv", "--epochs", 2, "-q")
    assert code == 0 and "note:" not in out


def test_classification_of_measured_numbers_and_patience_without_validation_are_refused(tmp_path, capsys):
    reg = _regression_csv(tmp_path)
    code, out, err = run(capsys, "train", reg, "--epochs", 2, "--task", "classification")
    assert code == 2 and "label 't' holds 60 distinct numbers, not all integers; expected class labels" in err
    code, out, err = run(capsys, "train", reg, "--epochs", 2, "--patience", 3, "--val-fraction", 0)
    assert code == 2 and "--patience 3 stops when the validation loss stops improving; expected --val-fraction above 0" in err


def test_an_undefined_r2_is_null_in_json_and_said_on_the_terminal(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    (tmp_path / "r.csv").write_text("a,b,y\n" + "".join(f"{a},{b},{a + b:.4f}\n" for a, b in X))
    (tmp_path / "c.csv").write_text("a,b,y\n" + "".join(f"{a},{b},5.5\n" for a, b in X))
    code, out, _ = run(capsys, "train", tmp_path / "r.csv", "--epochs", 2, "--val-fraction", 0.05, "--out", tmp_path / "r.npz",
                       "--metrics-json", tmp_path / "h.json")  # one validation row: its R² is undefined
    text = (tmp_path / "h.json").read_text()
    assert code == 0 and "NaN" not in text and json.loads(text)["val_r2"] == [None, None]
    assert "val_r2 undefined (the validation targets are all equal)" in out
    code, out, _ = run(capsys, "evaluate", tmp_path / "r.npz", tmp_path / "c.csv", "--json", tmp_path / "m.json")
    assert code == 0 and "R² undefined (the targets are all equal)" in out and "nan" not in out
    assert json.loads((tmp_path / "m.json").read_text())["r2"] is None


# ---- tables -------------------------------------------------------------------------------------------
def _classes_csv(tmp_path, name, labels, m=60):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(m, 2))
    path = tmp_path / name
    path.write_text("a,b,y\n" + "".join(f"{a:.4f},{b:.4f},{labels[i % len(labels)]}\n" for i, (a, b) in enumerate(X)))
    return path


def test_the_evaluate_table_lines_up_with_short_class_names(tmp_path, capsys):
    path = _classes_csv(tmp_path, "b.csv", [0, 1])
    run(capsys, "train", path, "--epochs", 2, "--out", tmp_path / "b.npz", "-q")
    code, out, _ = run(capsys, "evaluate", tmp_path / "b.npz", path)
    lines = out.splitlines()
    head = lines.index(next(l for l in lines if l.startswith("class")))
    assert code == 0 and lines[head].startswith("class  ") and len({len(l) for l in lines[head:head + 3]}) == 1


def test_a_confusion_matrix_too_wide_to_print_is_left_to_json_and_plot(tmp_path, capsys):
    path = _classes_csv(tmp_path, "c.csv", list(range(13)), m=260)
    run(capsys, "train", path, "--epochs", 2, "--task", "classification", "--out", tmp_path / "c.npz", "-q")
    code, out, _ = run(capsys, "evaluate", tmp_path / "c.npz", path, "--json", tmp_path / "m.json")
    assert code == 0 and "confusion matrix: 13 classes, too wide to print; it is in --json, and --plot draws it" in out
    assert "rows: true" not in out and len(json.loads((tmp_path / "m.json").read_text())["confusion_matrix"]) == 13


@pytest.mark.parametrize("labels,given,expected", [([1.0, 2.0, 3.0], "1", "1.0"), ([-1, 1], "1.0", "1"), ([-1, 1], "-1", "-1")])
def test_explain_matches_numeric_classes_by_value(tmp_path, capsys, labels, given, expected):
    path = _classes_csv(tmp_path, "n.csv", labels)
    run(capsys, "train", path, "--epochs", 2, "--task", "classification", "--out", tmp_path / "n.npz", "-q")
    code, out, err = run(capsys, "explain", "--model", tmp_path / "n.npz", "--sample", "0.1,0.2", "--target", given,
                         "--format", "json")
    assert code == 0, err
    assert json.loads(out)["y"] == [1.0 if str(c) == expected else 0.0 for c in sorted(labels)]
    code, _, err = run(capsys, "explain", "--model", tmp_path / "n.npz", "--sample", "0.1,0.2", "--target", "7")
    assert code == 2 and "--target must be one of the model's classes" in err


# ---- messages ---------------------------------------------------------------------------------------
def test_output_names_that_cannot_be_files_are_said_plainly(iris_csv, tmp_path, capsys):
    code, _, err = run(capsys, "train", iris_csv, "--out", f"{iris_csv}/m.npz")
    assert code == 2 and f"cannot write '{iris_csv}/m.npz': '{iris_csv}' is a file, not a folder" in err
    with pytest.raises(SystemExit):
        main(["train", iris_csv, "--out", ""])
    assert "argument --out: expected a file name; received ''" in capsys.readouterr().err


def test_an_unknown_option_points_to_the_commands_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "x.csv", "--bogus"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err == "deltaprop: error: unrecognized arguments: --bogus (see 'deltaprop train --help')\n"


def test_a_missing_checkpoint_is_called_a_checkpoint(iris_csv, tmp_path, capsys):
    code, _, err = run(capsys, "train", iris_csv, "--resume", tmp_path / "nope.npz")
    assert code == 2 and "nope.npz: no such checkpoint file" in err


def test_a_full_disk_names_the_file(iris_csv, tmp_path, capsys, monkeypatch):
    import errno
    from deltaprop import io
    run(capsys, "train", iris_csv, "--epochs", 2, "--out", tmp_path / "m.npz", "-q")

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(io, "atomic_write_text", full)
    code, _, err = run(capsys, "predict", tmp_path / "m.npz", iris_csv, "--out", tmp_path / "p.csv")
    assert code == 2 and err == f"deltaprop: error: cannot write '{tmp_path / 'p.csv'}': No space left on device\n"


# ---- what is printed ------------------------------------------------------------------------------------
def test_regression_predictions_keep_every_digit(tmp_path, capsys):
    """A predicted value is written as Python writes a float (it reads back as the same number): a
    price in the millions must not come out rounded to 5.01032e+06."""
    from deltaprop.data import load_csv
    from deltaprop.io import load
    reg = _regression_csv(tmp_path)
    run(capsys, "train", reg, "--epochs", 2, "--out", tmp_path / "r.npz", "-q")
    code, out, _ = run(capsys, "predict", tmp_path / "r.npz", reg)
    rows = out.splitlines()
    expected = load(tmp_path / "r.npz").predict(load_csv(reg).X)
    assert code == 0 and rows[0] == "t" and [float(v) for v in rows[1:]] == list(expected)


def test_files_written_are_said_in_the_same_words(iris_csv, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    run(capsys, "train", iris_csv, "--epochs", 2, "--out", tmp_path / "m.npz", "-q")
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.npz", iris_csv, "--plot", tmp_path / "cm.png")
    assert code == 0 and f"drew the confusion matrix to {tmp_path / 'cm.png'}" in out
    code, out, err = run(capsys, "explain", "--example", "lee", "--diagram", tmp_path / "d.png")
    assert code == 0 and out.startswith("Hung-yi Lee") and err == f"drew the network to {tmp_path / 'd.png'}\n"
    code, out, err = run(capsys, "explain", "--example", "lee", "--out", tmp_path / "e.txt")
    assert code == 0 and out == f"wrote the explanation to {tmp_path / 'e.txt'}\n" and err == ""


def test_resuming_prints_the_header_first(iris_csv, tmp_path, capsys):
    ck = tmp_path / "ck.npz"
    run(capsys, "train", iris_csv, "--epochs", 2, "--checkpoint", ck, "--checkpoint-every", 1, "-q")
    code, out, _ = run(capsys, "train", iris_csv, "--resume", ck)
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("deltaprop train:") and lines[1].startswith("nothing left to train")


@pytest.mark.parametrize("argv,words", [
    (["--seed", 3, "--seeds", "0-2"], "--seed 3 picks one run; --seeds runs several"),
    (["--seeds", "0,0,1"], "argument --seeds: expected each seed once; received '0,0,1' (seed 0 twice)"),
    (["--seeds", "0-999999"], "argument --seeds: expected at most 1000 seeds; received '0-999999' (1,000,000 seeds)"),
])
def test_demo_seed_mistakes_are_refused(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["demo", "--no-plot", *map(str, argv)])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and words in err and err.count("\n") == 1


def _named_model(tmp_path, capsys, header="a,b,c,label"):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    rows = [f"{a},{b},{c},{int(a + b > 0)}" for a, b, c in X]
    data = tmp_path / "train.csv"
    data.write_text((header + "\n" if header else "") + "\n".join(rows) + "\n")
    assert run(capsys, "train", data, "--epochs", 30, "--out", tmp_path / "m.npz", "-q")[0] == 0
    return tmp_path / "m.npz", X


@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.parametrize("header,missing", [("c,b,zzz", "a"), ("a,b,label", "c"), ("p,q,r", "a, b, c")])
def test_a_header_without_the_models_feature_names_is_refused_not_read_by_position(tmp_path, capsys, command, header,
                                                                                 missing):
    """A file whose header does not name every feature of the model: an error (its columns had
    been taken by position when their number matched: renamed or reordered columns, or the label
    read as a feature, gave wrong answers with exit code 0)."""
    model, X = _named_model(tmp_path, capsys)
    labelled = command == "evaluate" and "label" not in header  # a,b,label: the label column is there (for predict, in c's place)
    cells = header + (",label" if labelled else "")
    path = tmp_path / "new.csv"
    path.write_text(cells + "\n" + "\n".join(f"{a},{b},{int(c > 0)}" + (",1" if labelled else "") for a, b, c in X[:5]) + "\n")
    code, out, err = run(capsys, command, model, path)
    assert code == 2 and out == ""
    assert err == (f"deltaprop: error: {path}: no column(s) {missing}; the model needs: a, b, c; "
                   f"columns are: {cells.replace(',', ', ')}\n")


def test_columns_are_matched_by_name_in_any_order_and_by_position_without_names(tmp_path, capsys):
    model, X = _named_model(tmp_path, capsys)
    rows = "\n".join(f"{a},{b},{c}" for a, b, c in X[:6]) + "\n"
    (tmp_path / "abc.csv").write_text("a,b,c\n" + rows)
    (tmp_path / "cab.csv").write_text("id,c,a,b\n" + "\n".join(f"{i},{c},{a},{b}" for i, (a, b, c) in enumerate(X[:6])) + "\n")
    (tmp_path / "pqr.csv").write_text("p,q,r\n" + rows)
    (tmp_path / "bare.csv").write_text(rows)
    outs = [run(capsys, "predict", model, tmp_path / f)[1] for f in ("abc.csv", "cab.csv", "bare.csv")]
    assert outs[0].count("\n") == 7 and outs[0] == outs[1] == outs[2]
    (tmp_path / "unnamed").mkdir()
    unnamed, _ = _named_model(tmp_path / "unnamed", capsys, header=None)  # trained without a header: x1, x2, x3
    outs = [run(capsys, "predict", unnamed, tmp_path / f) for f in ("pqr.csv", "bare.csv")]
    assert outs[0][0] == outs[1][0] == 0 and outs[0][1] == outs[1][1]  # its columns can only go by position


@pytest.mark.parametrize("bad,task", [("NA", []), ('"4,720,111"', []), ("n/a", ["--task", "regression"])])
def test_a_few_text_cells_in_a_numeric_label_are_refused_not_made_classes(tmp_path, capsys, bad, task):
    """One 'NA' among 60 prices made the label column text, and 'auto' then trained a classifier
    with one class per price (exit code 0)."""
    rows = [f"{i},{i % 7},{1000 * i + 17 * (i % 7)}" for i in range(60)]
    path = tmp_path / "prices.csv"
    path.write_text("area,age,price\n" + "\n".join(rows[:30] + [f"5,5,{bad}"] + rows[30:]) + "\n")
    code, _, err = run(capsys, "train", path, *task, "--epochs", 1)
    shown = bad.strip('"')
    assert code == 2 and err == (f"deltaprop: error: {path}: label 'price' holds numbers in 60 of 61 rows and text in 1 "
                                 f"(the first: {shown!r}, data row 31); expected a number in every row (fill in or remove "
                                 f"those rows), or --task classification if the labels are class names\n")
    assert run(capsys, "train", path, "--task", "classification", "--epochs", 1, "-q")[0] == 0  # as asked


def test_class_names_with_a_few_numbers_among_them_stay_classes(tmp_path, capsys):
    path = tmp_path / "kinds.csv"
    path.write_text("a,kind\n" + "\n".join(f"{i},{['cat', 'dog', '1', '2'][i % 4]}" for i in range(40)) + "\n")
    code, out, _ = run(capsys, "train", path, "--epochs", 1, "-q")
    assert code == 0 and "network 1-5-4 (classification" in out


def test_small_wordings(tmp_path, capsys):
    """--drop names are stripped like header names; one epoch is "1 epoch"; an empty default is
    not shown in the help; evaluate gives RMSE in the data's units, as train does, without an exponent."""
    rows = [f"{i},{i % 5},note{i},{1_000_000 * (i % 7) + 17 * i}" for i in range(50)]
    path = tmp_path / "d.csv"
    path.write_text(" id , b ,note,price\n" + "\n".join(rows) + "\n")
    code, _, err = run(capsys, "train", path, "--drop", "id, note", "--epochs", 1, "--out", tmp_path / "m.npz")
    assert code == 0 and err.startswith("trained 1 epoch in ")
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.npz", path)
    line = out.splitlines()[1]
    assert code == 0 and line.startswith("RMSE ") and "e+" not in line and line.endswith("(of the standardized targets)")
    assert float(line.split()[1]) > 1000  # in the data's units
    from deltaprop.cli import build_parser
    assert "(default: )" not in build_parser().commands["train"].format_help()


def test_no_header_on_a_file_with_a_header_says_to_leave_it_out(tmp_path, capsys):
    path = tmp_path / "h.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n")
    code, _, err = run(capsys, "train", path, "--no-header", "--epochs", 1)
    assert code == 2 and err == (f"deltaprop: error: {path}, line 1, column 'x1': 'a' is not a number; expected a finite "
                                 f"number; the first line looks like a header: leave out --no-header\n")
    (tmp_path / "t.csv").write_text("1,2,x\nfoo,3,y\n4,5,x\n")  # text below the first line: the --drop hint
    code, _, err = run(capsys, "train", tmp_path / "t.csv", "--no-header", "--epochs", 1)
    assert code == 2 and err.endswith("if this column is not a feature, leave it out with --drop 0\n")


def test_evaluate_names_the_file_and_row_of_a_label_the_model_cannot_take(tmp_path, capsys, iris_csv):
    assert run(capsys, "train", iris_csv, "--epochs", 2, "--out", tmp_path / "m.npz", "-q")[0] == 0
    path = tmp_path / "new.csv"
    path.write_text("5.1,3.5,1.4,0.2,Iris-setosa\n5.0,3.4,1.5,0.2,Iris-unknown\n")
    code, _, err = run(capsys, "evaluate", tmp_path / "m.npz", path)
    assert code == 2 and err == (f"deltaprop: error: {path}: unknown class label(s) Iris-unknown (the first in data row 2); "
                                 f"the model knows: Iris-setosa, Iris-versicolor, Iris-virginica\n")


def test_classes_left_without_a_training_row_are_warned_of_in_one_line(tmp_path, capsys):
    path = tmp_path / "many.csv"
    path.write_text("a,label\n" + "\n".join(f"{i % 30}.5,c{i % 30:02d}" for i in range(120)) + "\n")
    code, out, err = run(capsys, "train", path, "--val-fraction", "0.9", "--epochs", 1, "-q")
    assert code == 0 and err.startswith("deltaprop: warning: 18 of 30 classes have no training row after 108 of 120 rows "
                                        "were held out for validation (c")
    assert err.splitlines()[0].endswith("the network cannot learn them: hold out fewer rows")
    code, out, err = run(capsys, "train", path, "--val-fraction", "0.2", "--epochs", 1, "-q")
    assert code == 0 and "warning" not in err


def test_a_header_of_the_models_own_names_is_a_header_even_when_they_are_numbers(tmp_path, capsys):
    """A model trained on pd.DataFrame(X) has features '0', '1', ...: a file whose first line is
    0,1,2 (df.to_csv) has a header, in any order (its first line had been read as a sample)."""
    pd = pytest.importorskip("pandas")
    from deltaprop import Model, save
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    model = Model(hidden=(4,))
    model.fit(pd.DataFrame(X), (X[:, 0] > 0).astype(int), epochs=5, seed=0, verbose=0)
    save(model, tmp_path / "m.npz")
    pd.DataFrame(X).to_csv(tmp_path / "f.csv", index=False)
    pd.DataFrame(X)[[2, 0, 1]].to_csv(tmp_path / "g.csv", index=False)
    outs = [run(capsys, "predict", tmp_path / "m.npz", tmp_path / f) for f in ("f.csv", "g.csv")]
    assert outs[0][0] == outs[1][0] == 0 and outs[0][1].count("\n") == 41 and outs[0][1] == outs[1][1]
    expected = model.predict(X)
    assert [line.split(",")[0] for line in outs[0][1].splitlines()[1:]] == [str(v) for v in expected]


def test_a_first_row_that_may_be_numeric_feature_names_or_data_is_asked_about(tmp_path, capsys):
    """Features named '0', '1' (a DataFrame's) above 0/1 data: the first row 1,0 may be a header or
    a sample (it had been taken for a header, dropped, and the rest read with the columns swapped);
    the command asks, and takes --no-header or --header."""
    pd = pytest.importorskip("pandas")
    from deltaprop import Model, save
    X = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 10, dtype=float)
    model = Model(hidden=(3,))
    model.fit(pd.DataFrame(X), (X[:, 0] > X[:, 1]).astype(int), epochs=3, seed=0, verbose=0)
    save(model, tmp_path / "m.npz")
    (tmp_path / "rows.csv").write_text("1,0\n0,1\n1,1\n")
    code, out, err = run(capsys, "predict", tmp_path / "m.npz", tmp_path / "rows.csv")
    assert code == 2 and err == (f"deltaprop: error: {tmp_path / 'rows.csv'}: the first line (1, 0) holds the model's "
                                 f"feature names, which are whole numbers, above whole numbers: it may be the column "
                                 f"names or a row of data; say which with --header or --no-header (header=True or False)\n")
    code, out, _ = run(capsys, "predict", tmp_path / "m.npz", tmp_path / "rows.csv", "--no-header")
    assert code == 0 and [line.split(",")[0] for line in out.splitlines()[1:]] == \
        [str(v) for v in model.predict(np.array([[1, 0], [0, 1], [1, 1]], dtype=float))]
    code, out, _ = run(capsys, "predict", tmp_path / "m.npz", tmp_path / "rows.csv", "--header")  # 1,0: by name
    assert code == 0 and [line.split(",")[0] for line in out.splitlines()[1:]] == \
        [str(v) for v in model.predict(np.array([[1, 0], [1, 1]], dtype=float))]


def test_evaluate_refuses_a_file_without_header_with_more_features(tmp_path, capsys):
    (tmp_path / "two.csv").write_text("".join(f"{i},{i % 3},{'ab'[i % 2]}\n" for i in range(12)))
    assert run(capsys, "train", tmp_path / "two.csv", "--epochs", 1, "--out", tmp_path / "m.npz", "-q")[0] == 0
    (tmp_path / "three.csv").write_text("1,2,9,a\n2,3,9,b\n")
    code, _, err = run(capsys, "evaluate", tmp_path / "m.npz", tmp_path / "three.csv")
    assert code == 2 and "3 feature columns (x1, x2, x3) besides the label 'label'; the model needs 2 (x1, x2)" in err
