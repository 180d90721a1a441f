"""The Python examples of the README and docs/ run as printed, and the values their comments show
are the values they give (a comment that opens with a literal: `net.forward(x)  # [[0.6177, 0.8291]]`).

A file's blocks run one after another in one namespace, in a fresh folder, after a preamble that
gives them the data the prose says they use (X, y; X_train, ...). A block right after the line
`<!-- not run: REASON -->` is left out (the cluster examples of docs/sklearn.md).

The tutorials' `$ deltaprop explain ...` commands run too, and the output they show (```text
blocks after the command, '…' marking lines left out) is what they print, digit for digit.
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


def console_examples(name):
    """The `$ deltaprop ...` commands of a file, each with the text blocks shown after it (its output)."""
    parts = re.split(r"^```console\n\$ (deltaprop .*?)\n```", (ROOT / name).read_text(encoding="utf-8"), flags=re.M)
    return [(cmd, re.findall(r"^```text\n(.*?)^```", after, re.S | re.M)) for cmd, after in zip(parts[1::2], parts[2::2])]


def shown_in(block, out):
    """Whether a shown output appears in the real one: its lines in a row, where a line '  …' stands
    for lines left out."""
    pieces = re.split(r"^\s*…\s*$", block, flags=re.M)
    lines, at = [line.rstrip() for line in out.splitlines()], 0
    for piece in pieces:
        want = [line.rstrip() for line in piece.strip("\n").splitlines()]
        found = next((k for k in range(at, len(lines) - len(want) + 1) if lines[k:k + len(want)] == want), None)
        if found is None:
            return False
        at = found + len(want)
    return True


@pytest.mark.parametrize("name", ["docs/tutorial.en.md", "docs/tutorial.zh.md"])
def test_the_tutorials_commands_print_what_they_show(name, tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")  # the commands draw their diagrams
    import shlex

    import deltaprop as dp
    from deltaprop.cli import main
    monkeypatch.chdir(tmp_path)
    iris = dp.load_iris()
    model = dp.Model(hidden=(5,))
    model.fit(iris.X, iris.y, epochs=20, seed=0, verbose=0)
    dp.save(model, "iris.npz")  # the tutorial's "your own model"
    examples = console_examples(name)
    assert len(examples) == 5 and sum(len(shown) for _, shown in examples) == 7
    for cmd, shown in examples:
        capsys.readouterr()
        assert main(shlex.split(cmd)[1:]) == 0, cmd
        out = capsys.readouterr().out
        for block in shown:
            assert shown_in(block, out), f"{name}: `{cmd}` no longer prints\n{block}\nIt prints:\n{out}"
    drawn = [cmd.split("--diagram ")[1].split()[0] for cmd, _ in examples if "--diagram" in cmd]
    assert len(drawn) == 2 and all((tmp_path / f).read_bytes()[:4] == b"\x89PNG" for f in drawn)


def test_shown_output_may_leave_lines_out_but_not_change_them():
    out = "a\nb\nc\nd\n"
    assert shown_in("a\nb\n", out) and shown_in("b\n  …\nd\n", out)
    assert not shown_in("a\nc\n", out) and not shown_in("c\n  …\na\n", out) and not shown_in("b\nx\n", out)


def test_the_reliability_tables_are_what_the_code_answers(capsys):
    """Every row of docs/reliability.md's bad-input tables is the row bench/bad_inputs_table.py
    prints from real runs now (a changed message must change the doc)."""
    import runpy
    runpy.run_path(str(ROOT / "bench" / "bad_inputs_table.py"), run_name="table").get("main")([])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    doc = set((ROOT / "docs" / "reliability.md").read_text(encoding="utf-8").splitlines())
    assert len(rows) > 100 and [row for row in rows if row not in doc] == []
