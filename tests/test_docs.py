"""The Python examples of the README and docs/ run as printed, and the values their comments show
are the values they give (a comment that opens with a literal: `net.forward(x)  # [[0.6177, 0.8291]]`).

A file's blocks run one after another in one namespace, in a fresh folder, after a preamble that
gives them the data the prose says they use (X, y; X_train, ...). A block right after the line
`<!-- not run: REASON -->` is left out (the cluster examples of docs/sklearn.md).
"""
import ast
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^(<!-- not run: [^>]*-->\n)?```python\n(.*?)^```", re.S | re.M)
IRIS = ("import numpy as np, deltaprop as dp\n"
        "_iris = dp.load_iris()\n"
        "X = (_iris.X - _iris.X.mean(0)) / _iris.X.std(0)\n"
        "y = np.unique(_iris.y, return_inverse=True)[1]\n")
PREAMBLES = {
    "README.md": IRIS,
    "docs/sklearn.md": IRIS + ("from sklearn.model_selection import train_test_split\n"
                               "X_train, X_test, y_train, y_test = train_test_split(_iris.X, _iris.y, random_state=0)\n"),
}
FILES = ["README.md"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))


def blocks(name):
    """The Python blocks of a file that are meant to run, each as (line number, code)."""
    text = (ROOT / name).read_text(encoding="utf-8")
    return [(text[:m.start(2)].count("\n") + 1, m.group(2)) for m in BLOCK.finditer(text) if not m.group(1)]


def shown_value(comment):
    """The literal a comment opens with ('[[0.6177, 0.8291]]: the slide's ...'), or None."""
    head = comment.split(": ")[0].strip()
    try:
        return ast.literal_eval(head.replace("...", ""))
    except (ValueError, SyntaxError):
        return None


def digits(comment):
    """Each number's decimals as printed, and whether '...' follows it (then the value is within one
    unit of the last digit shown, cut or rounded; else within half a unit, rounded)."""
    return [(len(frac), bool(dots)) for frac, dots in re.findall(r"\d\.(\d+)(\.\.\.)?", comment.split(": ")[0])]


def agrees(value, shown, places):
    if isinstance(shown, (list, tuple)):
        value = np.asarray(value, dtype=object).tolist() if isinstance(value, np.ndarray) else list(value)
        return len(value) == len(shown) and all(agrees(v, s, places) for v, s in zip(value, shown))
    if isinstance(shown, str):
        return value == shown
    d, cut = places.pop(0) if isinstance(shown, float) else (0, False)
    return abs(float(value) - shown) <= (10.0 ** -d if cut else 0.5 * 10.0 ** -d) * (1 + 1e-9)


def run(name, namespace):
    """Runs the file's blocks; returns how many value comments were checked."""
    checked = 0
    for line, code in blocks(name):
        tree = ast.parse(code, filename=f"{name}:{line}")
        lines = code.splitlines()
        for stmt in tree.body:
            text = lines[stmt.end_lineno - 1]
            where = f"{name}:{line + stmt.lineno - 1}"
            if isinstance(stmt, ast.Expr) and "  # " in text:
                comment = text.split("  # ", 1)[1]
                value = eval(compile(ast.Expression(stmt.value), where, "eval"), namespace)
                shown = shown_value(comment)
                if shown is not None:
                    assert agrees(value, shown, digits(comment)), f"{where}: the comment shows {comment!r}, the code gives {value!r}"
                    checked += 1
                continue
            exec(compile(ast.Module([stmt], []), where, "exec"), namespace)
    return checked


@pytest.mark.parametrize("name", [f for f in FILES if blocks(f)])
def test_the_python_examples_run_as_printed(name, tmp_path, monkeypatch, capsys):
    if "sklearn" in name:
        pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__docs__"}
    exec(PREAMBLES.get(name, ""), namespace)
    run(name, namespace)


def test_the_value_comments_are_checked():
    """The checker finds the shown values (so a changed number in a doc cannot go unnoticed), and
    the comparison fails on a wrong one."""
    found = [(f, c) for f in FILES for _, code in blocks(f) for c in re.findall(r"  # (.*)", code) if shown_value(c) is not None]
    assert len(found) >= 4, found
    assert agrees([[0.61774, 0.8291]], [[0.6177, 0.8291]], [(4, False), (4, False)])
    assert not agrees([[0.61776, 0.8291]], [[0.6177, 0.8291]], [(4, False), (4, False)])
    assert agrees((0.2983711099, 1), (0.298371109, 1), [(9, True)])
    assert not agrees((0.2983711, 1), (0.298371109, 1), [(9, True)])
    assert not agrees(["Iris-setosa", "Iris-virginica"], ["Iris-setosa", "Iris-setosa"], [])


def test_the_cluster_examples_are_the_only_ones_left_out():
    text = (ROOT / "docs/sklearn.md").read_text(encoding="utf-8")
    skipped = re.findall(r"<!-- not run: [^>]*-->\n```python\n(.*?)```", text, re.S)
    assert len(skipped) == 2 and all("parallel_backend" in code for code in skipped)
    for name in FILES:
        assert (ROOT / name).read_text(encoding="utf-8").count("<!-- not run:") == (2 if name == "docs/sklearn.md" else 0)
