"""explain: the Trace against the seeds' and Mazur's published numbers and a scalar hand-worked
reference; the renderers against the equations those numbers give; the CLI in-process."""
import json
import math
import re

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli import main
from deltaprop.examples import EXAMPLES, get_example
from deltaprop.explain import explain, render


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def reference_step(Ws, bs, x, y, lr, update_biases=True):
    """One SGD step on a sigmoid network with ½-squared error, neuron by neuron in plain Python,
    exactly as seed 04's code does it (forward_propagate, backward_propagate_error, update)."""
    acts = [list(x)]
    for W, b in zip(Ws, bs):
        acts.append([sigmoid(sum(w * a for w, a in zip(row, acts[-1])) + bj) for row, bj in zip(W, b)])
    loss = 0.5 * sum((a - t) ** 2 for a, t in zip(acts[-1], y))
    deltas = [None] * len(Ws)
    out = acts[-1]
    deltas[-1] = [a * (1 - a) * (a - t) for a, t in zip(out, y)]  # case 1
    for l in range(len(Ws) - 2, -1, -1):  # case 2: the reverse network
        a, nxt, Wn = acts[l + 1], deltas[l + 1], Ws[l + 1]
        deltas[l] = [a[k] * (1 - a[k]) * sum(Wn[j][k] * nxt[j] for j in range(len(nxt))) for k in range(len(a))]
    newW = [[[w - lr * acts[l][k] * deltas[l][j] for k, w in enumerate(row)] for j, row in enumerate(W)]
            for l, W in enumerate(Ws)]
    newb = [[bj - lr * d if update_biases else bj for bj, d in zip(b, deltas[l])] for l, b in enumerate(bs)]
    return {"acts": acts, "loss": loss, "deltas": deltas, "W": newW, "b": newb}


def reference_loss(Ws, bs, x, y):
    return reference_step(Ws, bs, x, y, 0.0)["loss"]


def check_against_reference(example, update_biases=True):
    net = example.network
    Ws, bs = [l.W.tolist() for l in net.layers], [l.b.tolist() for l in net.layers]
    ref = reference_step(Ws, bs, example.x, example.y, example.lr, update_biases)
    trace = example.explain()
    for l, t in enumerate(trace.layers):
        np.testing.assert_allclose(t.a, ref["acts"][l + 1], rtol=1e-12)
        np.testing.assert_allclose(t.delta, ref["deltas"][l], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(t.dW, np.outer(ref["deltas"][l], ref["acts"][l]), rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(t.W_after, ref["W"][l], rtol=1e-12)
        np.testing.assert_allclose(t.b_after, ref["b"][l], rtol=1e-12)
    assert trace.loss_before == pytest.approx(ref["loss"], rel=1e-12)
    assert trace.loss_after == pytest.approx(reference_loss(ref["W"], ref["b"], example.x, example.y), rel=1e-12)
    return trace


# ---- the Trace ---------------------------------------------------------------------------------
def test_lee_forward_pass_is_the_lectures():
    trace = get_example("lee").explain()
    np.testing.assert_array_equal(trace.layers[0].z, [4.0, -2.0])  # 1·1 + (−2)(−1) + 1, (−1)·1 + 1·(−1) + 0
    assert np.round(trace.layers[0].a, 2).tolist() == [0.98, 0.12]
    assert np.round(trace.layers[1].a, 2).tolist() == [0.86, 0.11]
    assert np.round(trace.output, 2).tolist() == [0.62, 0.83]
    assert trace.y.tolist() == [0.0, 1.0] and trace.lr == 0.1  # the target and η we chose
    assert "(0, 1)" in " ".join(trace.notes["en"]) and "(0, 1)" in " ".join(trace.notes["zh"])


@pytest.mark.parametrize("name", ["lee", "chain", "three-layer"])
def test_examples_match_a_hand_worked_reference(name):
    check_against_reference(get_example(name))


def test_mazur_numbers_from_the_post():
    trace = check_against_reference(get_example("mazur"), update_biases=False)
    assert trace.loss_before == pytest.approx(0.298371109, abs=5e-10)
    assert trace.layers[1].W_after[0, 0] == pytest.approx(0.35891648, abs=5e-9)  # w5+
    assert trace.layers[0].W_after[0, 0] == pytest.approx(0.149780716, abs=5e-10)  # w1+
    assert trace.layers[1].W_after[0, 1] == pytest.approx(0.408666186, abs=5e-10)  # w6+
    assert trace.layers[0].W_after[1, 1] == pytest.approx(0.29950229, abs=5e-9)  # w4+
    # The post prints 0.291027924 after the update; unrounded arithmetic gives 0.29102777.
    assert trace.loss_after == pytest.approx(0.291027774, abs=5e-10)
    assert abs(trace.loss_after - 0.291027924) > 1e-7
    for t in trace.layers:  # biases held fixed, as in the post
        np.testing.assert_array_equal(t.b_after, t.b)
        assert t.frozen == ("b",)


def test_explain_leaves_the_users_network_alone():
    net = get_example("lee").network
    before = [l.W.copy() for l in net.layers]
    trace = net.explain([1, -1], [0, 1], lr=0.5)
    assert all(np.array_equal(l.W, W) for l, W in zip(net.layers, before))
    assert all(l.z is None for l in net.layers)  # not even a forward pass recorded on it
    assert not np.array_equal(trace.layers[0].W_after, before[0])


def test_explain_takes_one_sample_and_checks_its_arguments():
    net = get_example("lee").network
    with pytest.raises(dp.ShapeError, match="one sample"):
        explain(net, [[1, -1], [0, 0]], [[0, 1], [1, 0]])
    with pytest.raises(dp.ShapeError):
        explain(net, [1, -1, 0], [0, 1])
    with pytest.raises(dp.ConfigError, match="learning_rate"):
        explain(net, [1, -1], [0, 1], lr=-1)
    for l2 in (-5, float("nan"), float("inf")):  # a negative λ would make C negative
        with pytest.raises(dp.ConfigError, match="l2 must be a finite number >= 0"):
            explain(net, [1, -1], [0, 1], l2=l2)
    trace = explain(net, [1, -1], [0, 1])
    with pytest.raises(dp.ConfigError, match="expected one of: html, json, markdown, text"):
        render(trace, format="pdf")
    with pytest.raises(dp.ConfigError, match="language"):
        render(trace, lang="fr")


def test_l2_adds_lambda_w_to_each_weight_gradient():
    net = get_example("lee").network
    plain, penalised = explain(net, [1, -1], [0, 1]), explain(net, [1, -1], [0, 1], l2=0.01)
    for p, q in zip(plain.layers, penalised.layers):
        np.testing.assert_allclose(q.dW, p.dW + 0.01 * p.W, rtol=1e-12)
    weights = sum(float((t.W ** 2).sum()) for t in plain.layers)
    assert penalised.loss_before == pytest.approx(plain.loss_before + 0.005 * weights, rel=1e-12)


# ---- the renderers -----------------------------------------------------------------------------
def test_text_writes_every_equation_with_its_numbers():
    text = render(get_example("lee").explain())
    assert "z₁⁽¹⁾ = w₁₁⁽¹⁾x₁ + w₁₂⁽¹⁾x₂ + b₁⁽¹⁾ = 1·1 + (−2)·(−1) + 1 = 4" in text
    assert "z₂⁽¹⁾ = w₂₁⁽¹⁾x₁ + w₂₂⁽¹⁾x₂ + b₂⁽¹⁾ = (−1)·1 + 1·(−1) + 0 = −2" in text
    assert "a₁⁽¹⁾ = σ(z₁⁽¹⁾) = σ(4) = 0.982" in text
    # δ₁⁽³⁾ = σ'(z)(a − y) = 0.6177·0.3823·0.6177 = 0.1459 (σ' = a(1 − a) = 0.2361456); at four
    # digits 0.2361·0.6177 = 0.1458, so σ' gets the fifth digit that makes the line check out
    assert "δ₁⁽³⁾ = σ'(z₁⁽³⁾)·(a₁⁽³⁾ − y₁) = 0.23615·(0.6177 − 0) = 0.1459" in text
    assert "δ₁⁽²⁾ = σ'(z₁⁽²⁾)·[w₁₁⁽³⁾δ₁⁽³⁾ + w₂₁⁽³⁾δ₂⁽³⁾]" in text
    assert "∂C/∂w₁₁⁽³⁾ = a₁⁽²⁾·δ₁⁽³⁾" in text
    assert "w₁₁⁽³⁾ ← w₁₁⁽³⁾ − η·∂C/∂w₁₁⁽³⁾ = 3 − 0.1·0.126" in text
    two = render(get_example("lee").explain(), digits=2)
    for number in ("0.98", "0.12", "0.86", "0.11", "= 0.62", "= 0.83"):
        assert number in two


def test_text_follows_the_seeds_order():
    text = render(get_example("lee").explain())
    marks = ["Forward pass", "case 1", "case 2", "Gradients", "Update", "Loss after"]
    positions = [text.index(m) for m in marks]
    assert positions == sorted(positions)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_mazur_numbers_in_the_rendered_text(lang):
    text = render(get_example("mazur").explain(), lang=lang, digits=9)
    for number in ("0.298371109", "0.35891648", "0.149780716", "0.291027774", "0.408666186"):
        assert number in text
    assert "0.291027924" in text  # the post's rounded value is quoted in the notes
    assert "w₁₁⁽²⁾ ← w₁₁⁽²⁾ − η·∂C/∂w₁₁⁽²⁾ = 0.4 − 0.5·0.0821670406 = 0.35891648" in text
    assert "b₁⁽²⁾ ←" not in text  # held fixed: no update line for a bias


def test_chinese_punctuation_is_full_width():
    net = dp.Network([20, 12, 3], seed=0)
    trace = explain(net, np.linspace(0, 1, 20), [0, 1, 0], l2=0.01)
    trace.input_names, trace.output_names = [f"f{i}" for i in range(20)], ["A", "B", "C"]
    text = render(trace, lang="zh")
    prose = [line for line in text.splitlines() if re.search(r"[\u4e00-\u9fff]", line)]
    half_width = r"[:;]| \([a-z_]+\)|[A-Za-z\d]{2,}, [A-Za-z]"  # "损失函数: …", "交叉熵 (cross_entropy)", "relu, relu"
    assert len(prose) > 15 and not [line for line in prose if re.search(half_width, line)]
    assert "  损失函数：½ 平方误差（squared_error）" in text and "激活函数：sigmoid、sigmoid。" in text
    assert "学习率 η = 0.1，L2 正则化 λ = 0.01。" in text and "输出：a₁⁽²⁾ = A、a₂⁽²⁾ = B、a₃⁽²⁾ = C。" in text


def test_loss_after_the_update_then_its_change():
    trace = get_example("lee").explain()
    lines = render(trace).split("Loss after the update\n")[1].splitlines()
    assert lines[0] == "    C  = 0.2008" and lines[1].startswith("    ΔC = ")
    (expr, result), = check_printed_arithmetic(lines[1], 4)
    after, before = (float(v) for v in expr.split(" - "))
    assert after == pytest.approx(trace.loss_after, rel=1e-5) and before == pytest.approx(trace.loss_before, rel=1e-5)
    assert float(result) == pytest.approx(trace.loss_after - trace.loss_before, rel=1e-3)


def test_chinese_uses_the_seeds_terms():
    text = render(get_example("lee").explain(), lang="zh")
    for term in ("正向传播", "前向传播", "反向传播", "误差项 δ", "链式法则", "学习率 η", "损失函数", "偏置", "权重", "激活函数"):
        assert term in text, term
    assert "情形一" in text and "情形二" in text
    assert "z₁⁽¹⁾ = w₁₁⁽¹⁾x₁ + w₁₂⁽¹⁾x₂ + b₁⁽¹⁾ = 1·1 + (−2)·(−1) + 1 = 4" in text


_SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
_FUNCTIONS = {"σ": "sigmoid", "ReLU": "relu", "tanh": "tanh", "id": "identity", "ln": "log"}


def printed_arithmetic(text):
    """(expression, result) of every printed line whose last step is arithmetic on numbers:
    "… = 0.99998551 − 1 = −1.449×10⁻⁵" gives ("0.99998551 - 1", "-1.449e-5"), both as Python."""
    out = []
    for line in text.splitlines():
        pieces = [p.strip() for p in line.replace(" ← ", " = ").split(" = ")]
        if len(pieces) < 3 or "…" in line:
            continue
        expr, result = (_as_python(p) for p in pieces[-2:])
        if expr and result and re.search(r"[-+*(]", expr.lstrip("-")):
            out.append((expr, result))
    return out


def _as_python(piece):
    s = re.sub(r"×10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", lambda m: "e" + m.group(1).translate(_SUPERSCRIPT), piece)
    s = re.sub(r"ln (\(?[-−0-9.e]+\)?)", r"ln(\1)", s)
    for name, py in _FUNCTIONS.items():
        s = s.replace(name + "(", py + "(")
    s = s.replace("−", "-").replace("·", "*").replace("[", "(").replace("]", ")").replace("½", "0.5*").replace("²", "**2")
    return None if re.search(r"[^-+*/().0-9e ]", re.sub(r"sigmoid|relu|tanh|identity|log", "", s)) else s


def check_printed_arithmetic(text, digits):
    """Each line's printed numbers give its printed result, to half a unit of the result's last
    printed digit (and of its digits-th significant digit): a reader redoing the sum agrees."""
    names = {"sigmoid": sigmoid, "relu": lambda z: max(z, 0.0), "tanh": math.tanh, "identity": lambda z: z,
             "log": math.log}
    lines = printed_arithmetic(text)
    for expr, result in lines:
        value, shown = eval(expr, {"__builtins__": {}}, names), float(result)
        mantissa, _, exponent = result.lstrip("-").partition("e")
        last = 10.0 ** (int(exponent or 0) - len(mantissa.partition(".")[2]))
        if shown:
            last = min(last, 10.0 ** (math.floor(math.log10(abs(shown))) - digits + 1))
        assert abs(value - shown) <= 0.5000001 * last, f"{expr} = {value!r}, printed {result}"
    return lines


def confident_network():
    """A 4-6-5-3 ReLU/softmax network so sure of its answer that a rounds to 1 and every
    weight step is far below four significant digits: the lines rounding would spoil."""
    net = dp.Network([4, 6, 5, 3], activation="relu", output_activation="softmax", seed=3)
    x = np.array([1.0, 0.5, -0.3, 2.0])
    while net.forward(x)[0].max() < 1 - 2e-5:  # sharpen the output layer until it is sure
        net.layers[-1].W *= 1.3
        net.layers[-1].b *= 1.3
    return net, x, np.eye(3)[int(np.argmax(net.forward(x)[0]))]


def test_confident_network_really_is():
    net, x, y = confident_network()
    a = net.forward(x)[0]
    assert f"{a.max():.4g}" == "1" and 1e-7 < 1 - a.max() < 2e-5


@pytest.mark.parametrize("case", ["lee", "mazur", "chain", "three-layer", "confident", "confident-l2", "sigmoid-ce"])
@pytest.mark.parametrize("digits", [2, 4, 9])
def test_every_printed_line_checks_out_at_the_digits_shown(case, digits):
    if case.startswith("confident"):
        net, x, y = confident_network()
        trace = explain(net, x, y, loss="cross_entropy", l2=0.01 if case.endswith("l2") else 0.0)
    elif case == "sigmoid-ce":  # δ = (a − 1)·y
        trace = explain(dp.Network([3, 4, 2], seed=1), [0.2, -1.0, 3.0], [1, 0], loss="cross_entropy")
    else:
        trace = get_example(case).explain()
    for lang in ("en", "zh"):
        assert len(check_printed_arithmetic(render(trace, lang=lang, digits=digits), digits)) >= 16


def test_rounding_never_hides_what_a_line_computes():
    net, x, y = confident_network()
    trace = explain(net, x, y, loss="cross_entropy")
    text = render(trace, lang="zh")
    assert " = 1 − 1 = " not in text and "ln 1 " not in text  # a rounded to 1 would hide δ and C
    j = int(np.argmax(y))
    a = next(v for v in re.findall(r"= ([0-9.]+) − 1 = ", text))
    assert float(a) == pytest.approx(trace.output[j], abs=1e-7) and float(a) != 1
    # every weight that moved prints a new value different from the old one it subtracts from
    for expr, result in printed_arithmetic(text):
        old = re.match(r"(-?[0-9.e-]+) - [0-9.e-]+\*", expr)
        if old and "e" not in result:
            moved = float(result) != float(old.group(1))
            steps = [float(v) for v in re.findall(r"\*\(?(-?[0-9.e-]+)\)?$", expr)]
            assert moved or steps == [0.0], (expr, result)


def test_markdown_has_latex_with_the_numbers_substituted():
    md = render(get_example("lee").explain(), format="markdown")
    assert r"z_{1}^{(1)} &= w_{11}^{(1)}x_{1}+w_{12}^{(1)}x_{2}+b_{1}^{(1)} = 1\cdot 1+(-2)\cdot (-1)+1 = 4" in md
    assert r"\delta_{1}^{(3)} &= \sigma'\left(z_{1}^{(3)}\right)\cdot \left(a_{1}^{(3)}-y_{1}\right)" in md
    assert md.count("$$") % 2 == 0 and md.count(r"\begin{aligned}") == md.count(r"\end{aligned}")
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert [h.split(".")[0] for h in headings[1:]] == ["## 1", "## 2", "## 3", "## 4", "## 5"]


def test_markdown_equations_parse_as_tex():
    """Each equation line, split at its alignment mark, is valid TeX for matplotlib's parser."""
    pytest.importorskip("matplotlib")
    from matplotlib.mathtext import MathTextParser
    parser = MathTextParser("path")
    md = render(get_example("mazur").explain(), format="markdown")
    lines = [l.rstrip(" \\") for l in md.splitlines() if "&=" in l or r"&\leftarrow" in l]
    assert len(lines) > 20
    for line in lines:
        tex = line.replace("&", "").replace(r"\tfrac", r"\frac")
        parser.parse(f"${tex}$")


def test_json_is_the_trace():
    trace = get_example("mazur").explain()
    data = json.loads(render(trace, format="json"))
    assert data["loss_before"] == trace.loss_before and data["lr"] == 0.5
    assert data["layers"][0]["z"] == pytest.approx([0.3775, 0.3925], abs=1e-15)  # 0.15·0.05 + 0.2·0.1 + 0.35
    assert data["layers"][1]["W_after"][0][0] == pytest.approx(0.35891648, abs=5e-9)
    assert data["layers"][0]["frozen"] == ["b"]


def test_html_is_one_self_contained_page():
    page = render(get_example("lee").explain(), format="html", lang="zh")
    assert page.startswith("<!DOCTYPE html>") and "<math>" in page and page.count("<svg") == 2
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "正向传播" in page and "<mn>4</mn>" in page


def test_large_layers_switch_to_matrix_form_and_say_what_was_left_out():
    net = dp.Network([20, 12, 3], seed=0)
    trace = explain(net, np.linspace(0, 1, 20), [0, 1, 0])
    text = render(trace)
    assert "z⁽¹⁾ = W⁽¹⁾x + b⁽¹⁾ = [" in text  # layer 1 (20 inputs) in matrix form
    assert "z⁽²⁾ = W⁽²⁾a⁽¹⁾ + b⁽²⁾ = [" in text  # 12 inputs: matrix form too
    assert "Left out" in text and "layer 1: ∂C/∂W is 12×20; shows 7×7" in text
    left_out = text.split("Left out\n")[1].split("\n\n")[0].splitlines()
    assert left_out[0] == "  Too big to print in full; left out:"  # a sentence, not one of the items
    assert "  - the sample's x has 20 entries; shows the first 7" in left_out  # not "layer 0"
    layers = [int(re.match(r"  - layer (\d+)", line).group(1)) for line in left_out[2:]]
    assert layers == sorted(layers) and len(set(layers)) == 2  # layer 1's lines, then layer 2's
    assert f"{trace.layers[0].z[0]:.4g}".replace("-", "−") in text
    neurons = render(trace, detail="neurons")
    assert "layer 1: 5 of 12 neurons not shown" in neurons
    assert "layer 1: sums of 20 terms show the first 7" in neurons
    assert "z₁⁽²⁾ = w₁₁⁽²⁾a₁⁽¹⁾ + w₁₂⁽²⁾a₂⁽¹⁾" in neurons and "… (5 more)" in neurons
    matrix = render(get_example("lee").explain(), detail="matrix")
    assert "δ⁽³⁾ = σ'(z⁽³⁾) ⊙ (a⁽³⁾ − y) = [0.1459, −0.02421]" in matrix
    assert "δ⁽²⁾ = σ'(z⁽²⁾) ⊙ (W⁽³⁾)ᵀδ⁽³⁾ = [0.05443, −0.0239]" in matrix


def test_softmax_with_cross_entropy_writes_delta_as_a_minus_y():
    net = dp.Network.from_weights([[[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]]], [[0, 0, 0]], "softmax")
    trace = explain(net, [1.0, 0.5], [0, 1, 0], loss="cross_entropy")
    z = [0.5, 1.5, 0.5]
    a = [math.exp(v) / sum(math.exp(u) for u in z) for v in z]
    np.testing.assert_allclose(trace.layers[0].delta, np.subtract(a, [0, 1, 0]), rtol=1e-12)
    text = render(trace)
    assert "δ₂⁽¹⁾ = a₂⁽¹⁾ − y₂" in text and "There is no hidden layer" in text
    assert "C = −[y₁·ln a₁⁽¹⁾" in text


# ---- the diagram -------------------------------------------------------------------------------
def test_diagram_draws_every_neuron_and_colours_edges_by_sign(monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Circle
    from deltaprop import diagram
    trace = get_example("lee").explain()
    fig = diagram.draw(trace, view="backward", show_grads=True)
    ax = fig.axes[0]
    assert sum(isinstance(p, Circle) for p in ax.patches) == 8
    arrows = [t.arrow_patch for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    blue = sum(np.allclose(a.get_edgecolor()[:3], to_rgb(diagram.POSITIVE)) for a in arrows)
    assert len(arrows) == 12 and blue == sum(int((t.W > 0).sum()) for t in trace.layers)  # 5 positive weights
    labels = " ".join(t.get_text() for t in ax.texts)
    assert "δ = 0.1459" in labels and "∂C/∂w = 0.126" in labels
    monkeypatch.setattr(diagram, "cjk_font", lambda: None)  # no Chinese font: English, not boxes
    zh = " ".join(t.get_text() for t in diagram.draw(trace, lang="zh").axes[0].texts)
    assert "Forward pass" in zh and "z = 4" in zh


# ---- the CLI -----------------------------------------------------------------------------------
def test_cli_example_text_and_formats(capsys, tmp_path):
    assert main(["explain", "--example", "mazur", "--digits", "9"]) == 0
    out = capsys.readouterr().out
    assert "0.298371109" in out and "0.35891648" in out and "0.149780716" in out
    assert main(["explain", "--example", "lee", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][0]["z"] == [4.0, -2.0]
    assert main(["explain", "--example", "lee", "--lang", "zh", "--format", "markdown", "--lr", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "反向传播" in out and "学习率 η = 0.5" in out


def test_cli_writes_files_and_diagrams(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    png, svg, html = tmp_path / "d.png", tmp_path / "d.svg", tmp_path / "lee.html"
    assert main(["explain", "--example", "chain", "--diagram", str(png), "--out", str(html), "--format", "html"]) == 0
    assert main(["explain", "--example", "chain", "--diagram", str(svg), "--view", "backward", "--grads"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "<svg" in svg.read_text()
    assert "<math>" in html.read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["--example", "lee", "--sample", "1,2"], "--sample and --target go with --model"),
    (["--model", "m.npz"], "--model needs --sample and --target"),
    (["--example", "lee", "--diagram", "x.pdf"], "must end in .png or .svg"),
    (["--example", "lee", "--digits", "0"], "digits must be an integer from 1 to 17"),
    (["--example", "lee", "--l2", "-5"], "l2 must be a finite number >= 0; received -5.0"),  # as train says it
    (["--example", "lee", "--l2", "nan"], "l2 must be a finite number >= 0; received nan"),
])
def test_cli_refuses_mistakes_with_a_message(capsys, argv, message):
    assert main(["explain", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deltaprop: error:") and message in err


@pytest.mark.parametrize("command", [["explain", "--example", "lee"], ["train", "data.csv"]])
@pytest.mark.parametrize("lr", ["0", "nan", "-1"])
def test_cli_refuses_a_bad_learning_rate_in_the_same_words_as_train(capsys, command, lr):
    with pytest.raises(SystemExit) as info:
        main([*command, f"--lr={lr}"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and f"argument --lr: expected a finite number > 0; received '{lr}'" in err


def test_cli_model_sample_and_class_name(capsys, tmp_path):
    from deltaprop.data import load_iris
    from deltaprop.io import save
    from deltaprop.model import Model
    data = load_iris()
    model = Model(hidden=(5,), scale="minmax")
    model.fit(data.X, data.y, epochs=3, seed=0, verbose=False)
    path = tmp_path / "iris.npz"
    save(model, path)
    argv = ["explain", "--model", str(path), "--sample", "5.1,3.5,1.4,0.2", "--target", "Iris-setosa"]
    assert main(argv + ["--format", "json"]) == 0
    data_out = json.loads(capsys.readouterr().out)
    assert data_out["y"] == [1.0, 0.0, 0.0] and data_out["output_names"][0] == "Iris-setosa"
    np.testing.assert_allclose(data_out["x"], model.prepare_X([[5.1, 3.5, 1.4, 0.2]])[0], rtol=1e-12)
    assert main(argv[:-1] + ["Iris-rose"]) == 2
    assert "Iris-setosa, Iris-versicolor, Iris-virginica" in capsys.readouterr().err
    before = path.read_bytes()  # the model read is never the file written, even with --force
    assert main(argv + ["--out", str(path), "--force"]) == 2
    assert "iris.npz" in capsys.readouterr().err and path.read_bytes() == before


def _saved(tmp_path, name, obj):
    from deltaprop.io import save
    path = tmp_path / name
    save(obj, path)
    return str(path)


def test_cli_model_names_the_option_for_a_bad_sample_or_target(capsys, tmp_path):
    from deltaprop.model import Model
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    regression = Model(hidden=(4,), task="regression")
    regression.fit(X, X @ [1.0, -2.0, 0.5], epochs=2, seed=0, verbose=False)
    files = {"reg": _saved(tmp_path, "reg.npz", regression),
             "net": _saved(tmp_path, "net.npz", dp.Network([2, 3, 2], seed=0))}
    cases = [
        ("reg", "nan,1,2", "1", "--sample expects 3 finite comma-separated numbers (one per feature: "),
        ("reg", "1,2", "1", "--sample expects 3 finite"),
        ("reg", "1,2,3", "1,2", "--target expects 1 finite number (one per output of the model); received '1,2'"),
        ("reg", "1,2,3", "inf", "--target expects 1 finite number"),
        ("net", "1,1e400", "0,1", "--sample expects 2 finite comma-separated numbers (one per input of the network)"),
        ("net", "1,2", "1", "--target expects 2 finite comma-separated numbers (one per output of the network); "
                            "received '1'"),
    ]
    for file, sample, target, message in cases:
        assert main(["explain", "--model", files[file], "--sample", sample, "--target", target]) == 2
        err = capsys.readouterr().err
        assert err.startswith("deltaprop: error: ") and message in err and "Traceback" not in err, err
    assert main(["explain", "--model", files["reg"], "--sample", "1,2,3", "--target", "0.5", "--format", "json"]) == 0
    y = (0.5 - regression.target_mean[0]) / regression.target_spread[0]  # the network's target: standardized
    assert json.loads(capsys.readouterr().out)["y"] == [pytest.approx(y, rel=1e-15)]
    assert main(["explain", "--model", files["net"], "--sample", "1,2", "--target", "0,1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["x"] == [1.0, 2.0]


def test_every_example_renders_in_both_languages():
    for name in EXAMPLES:
        trace = get_example(name).explain()
        for lang in ("en", "zh"):
            for fmt in ("text", "markdown"):
                assert trace.title[lang] in render(trace, format=fmt, lang=lang)


def test_a_regression_model_says_its_targets_are_standardized(capsys, tmp_path):
    from deltaprop.model import Model
    X = np.random.default_rng(0).normal(size=(40, 2))
    model = Model(hidden=(3,), task="regression")
    model.fit(X, 1000 + 300 * X[:, 0], epochs=2, seed=0, verbose=False)
    path = _saved(tmp_path, "price.npz", model)
    for lang, words in (("en", "the network's y is (target − mean) / spread with mean ("), ("zh", "网络的 y =（目标值 − 均值）/ 离散度")):
        assert main(["explain", "--model", path, "--sample", "0.5,1", "--target", "1200", "--lang", lang]) == 0
        out = capsys.readouterr().out
        assert words in out and f"{model.target_spread[0]:.6g}" in out
    y = (1200 - model.target_mean[0]) / model.target_spread[0]
    assert main(["explain", "--model", path, "--sample", "0.5,1", "--target", "1200", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["y"] == [pytest.approx(y, rel=1e-15)]


def test_a_negative_target_is_subtracted_in_parentheses():
    """a − (−0.67567), as every other negative operand is written (it read a − −0.67567)."""
    from deltaprop.explain import render
    net = dp.Network.from_weights([[[0.5, -0.3]], [[1.2]]], [[0.1], [-0.2]], ["tanh", "identity"])
    trace = net.explain([0.4, -1.0], [-0.67567], loss="squared_error", lr=0.1)
    text = render(trace)
    assert "½[(0.44446 − (−0.67567))²]" in text and "1·(0.4445 − (−0.6757)) = 1.12" in text
    assert "− −" not in text and "- -" not in render(trace, format="markdown")
