"""Explain one step of backpropagation: the seeds' ledger, every number written out.

:func:`explain` runs the engine's own ``train_step`` (forward, backward, SGD update) on a *copy*
of the network and then reads the state every layer already keeps (``a_prev``, ``z``, ``a``,
``delta``, ``dW``, ``db``), as micrograd's graph drawing reads its engine from outside. Nothing
here recomputes the math: f'(z) comes from the activation's own ``derivative`` and every result
printed is the engine's number; the renderers only *write* the seeds' equations around them.

The notation is the seeds' (W[j, k] = w_jk, neuron j of layer l, input k):

    z_j^(l) = sum_k w_jk^(l) a_k^(l-1) + b_j^(l)          a_j^(l) = f(z_j^(l))        (forward)
    delta_j^(L) = f'(z_j^(L)) (a_j^(L) - y_j)                                       (case 1)
    delta_k^(l) = f'(z_k^(l)) sum_j w_jk^(l+1) delta_j^(l+1)                          (case 2)
    dC/dw_jk^(l) = a_k^(l-1) delta_j^(l)    dC/db_j^(l) = delta_j^(l)                 (gradients)
    w <- w - eta dC/dw                                                               (update)

For one sample the engine's delta (dC/dz of the batch-mean loss) is exactly the seeds' delta.
"""
import json
from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, ShapeError, choose
from .activations import get_activation
from .losses import get_loss
from .optimizers import SGD
from .network import check_l2


# ---- the Trace: plain data ---------------------------------------------------------------------
@dataclass
class LayerTrace:
    """One layer's numbers for one sample. Vectors are (n,), matrices (n_out, n_in)."""

    layer: int  # 1-based, as in the seeds' superscript (l)
    activation: str
    a_prev: np.ndarray  # a^(l-1); for layer 1 the input x
    W: np.ndarray  # before the update
    b: np.ndarray
    z: np.ndarray
    a: np.ndarray
    fprime: np.ndarray  # f'(z), from the activation itself (softmax: the Jacobian's diagonal)
    delta: np.ndarray  # dC/dz, the error term
    dW: np.ndarray  # dC/dW = delta a_prev^T (+ l2 W)
    db: np.ndarray
    W_after: np.ndarray
    b_after: np.ndarray
    frozen: tuple = ()  # parameters held fixed: ("b",) keeps the bias

    @property
    def n_in(self):
        return self.W.shape[1]

    @property
    def n_out(self):
        return self.W.shape[0]


@dataclass
class Trace:
    """Everything one forward/backward/update step computed, for one sample (x, y)."""

    x: np.ndarray
    y: np.ndarray
    loss: str
    lr: float
    l2: float
    layers: list
    loss_before: float
    loss_after: float
    notes: dict = field(default_factory=dict)  # {"en": [...], "zh": [...]}, shown by renderers
    title: dict = field(default_factory=dict)  # {"en": "...", "zh": "..."}
    input_names: list = None
    output_names: list = None

    @property
    def output(self):
        return self.layers[-1].a

    def to_dict(self):
        """The Trace as JSON-ready lists and numbers (floats at full precision)."""
        out = {k: _plain(v) for k, v in self.__dict__.items() if k != "layers"}
        out["layers"] = [{k: _plain(v) for k, v in t.__dict__.items()} for t in self.layers]
        return out


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


def explain(net, x, y, loss="squared_error", lr=0.1, l2=0.0):
    """One SGD step on a copy of ``net`` for the sample (x, y), every number kept: a :class:`Trace`.

    ``x`` is one sample (n_in,) and ``y`` its target (n_out,). Parameters frozen on ``net``
    (``net.freeze(params="b")``) stay fixed in the update, as in Mazur's worked example.
    """
    l2 = check_l2(l2)  # as fit checks it: a negative or NaN λ would print a meaningless ledger
    work = net.copy()  # the user's network is never touched
    X = work.check_X(x)
    if len(X) != 1:
        raise ShapeError(f"explain takes one sample, x of shape ({work.sizes[0]},); received {len(X)} rows")
    Y = work.check_Y(y, 1)
    before = [(layer.W.copy(), layer.b.copy()) for layer in work.layers]
    loss_before = work.train_step(X, Y, SGD(lr), loss=loss, l2=l2)
    layers = [_layer_trace(l, layer, W, b) for l, (layer, (W, b)) in enumerate(zip(work.layers, before), 1)]
    loss_after = work.loss(X, Y, loss=loss, l2=l2)  # overwrites the recorded state: read it first
    return Trace(X[0].copy(), Y[0].copy(), get_loss(loss).name, float(lr), float(l2), layers,
                 float(loss_before), float(loss_after))


def _layer_trace(number, layer, W, b):
    z, a = layer.z, layer.a
    return LayerTrace(
        number, layer.activation.name, layer.a_prev[0].copy(), W, b, z[0].copy(), a[0].copy(),
        layer.activation.derivative(z, a)[0].copy(), layer.delta[0].copy(), layer.dW.copy(),
        layer.db.copy(), layer.W.copy(), layer.b.copy(), tuple(sorted(layer.frozen)))


# ---- notation: one piece of math, written three ways at once -------------------------------------
class M:
    """A piece of math as plain text (terminal), LaTeX (Markdown) and MathML (HTML)."""

    __slots__ = ("text", "tex", "mml")

    def __init__(self, text, tex, mml):
        self.text, self.tex, self.mml = text, tex, mml

    def __add__(self, other):
        return M(self.text + other.text, self.tex + other.tex, self.mml + other.mml)


def _cat(parts, sep=None):
    out = M("", "", "")
    for i, part in enumerate(parts):
        out = out + sep + part if (sep is not None and i) else out + part
    return out


def _op(text, tex=None, mml=None):
    return M(text, tex if tex is not None else text.strip(), f"<mo>{mml or text.strip()}</mo>")


PLUS, MINUS, TIMES = _op(" + ", "+", "+"), _op(" − ", "-", "−"), _op("·", r"\cdot ", "·")
HADAMARD, ARROW = _op(" ⊙ ", r"\odot ", "⊙"), _op(" ← ", r"\leftarrow ", "←")
_SUB = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")
_SUP = str.maketrans("0123456789()−+T", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾⁻⁺ᵀ")
DELTA_C = M("ΔC", r"\Delta C", "<mrow><mi>Δ</mi><mi>C</mi></mrow>")  # the change of the loss over the step
GREEK = {"delta": ("δ", r"\delta", "δ"), "eta": ("η", r"\eta", "η"), "lambda": ("λ", r"\lambda", "λ")}


def _sym(base, sub="", layer=None):
    """A symbol like z_1^(1): ``base`` is a letter or a GREEK name, ``layer`` the superscript."""
    text, tex, mml = GREEK.get(base, (base, base, base))
    sup = "" if layer is None else f"({layer})"
    t = text + str(sub).translate(_SUB) + sup.translate(_SUP)
    x = tex + (f"_{{{sub}}}" if sub != "" else "") + (f"^{{{sup}}}" if sup else "")
    m = f"<mi>{mml}</mi>"
    if sub != "":
        m = f"<msub>{m}<mn>{sub}</mn></msub>" if not sup else f"<msubsup>{m}<mn>{sub}</mn><mn>{sup}</mn></msubsup>"
    elif sup:
        m = f"<msup>{m}<mn>{sup}</mn></msup>"
    return M(t, x, f"<mrow>{m}</mrow>")


def _idx(*indices):
    """Subscript of w_jk: "12", or "1,12" once an index has two digits."""
    return ("," if any(i > 9 for i in indices) else "").join(str(i) for i in indices)


def _num(value, digits, paren=True):
    """A number to ``digits`` significant digits; negative ones in brackets when multiplied."""
    s = f"{float(value):.{digits}g}"
    mant, _, exp = s.partition("e")
    mant = "0" if mant in ("-0", "0") else mant
    neg, mant = mant.startswith("-"), mant.lstrip("-")
    text, tex, mml = mant, mant, f"<mn>{mant}</mn>"
    if exp:
        e = int(exp)
        text += "×10" + str(e).replace("-", "−").translate(_SUP)
        tex += rf"\times 10^{{{e}}}"
        mml += f"<mo>×</mo><msup><mn>10</mn><mn>{str(e).replace('-', '−')}</mn></msup>"
    if neg:  # in MathML the sign stays inside <mn>: a prefix <mo>−</mo> gets operator spacing
        text, tex, mml = "−" + text, "-" + tex, mml.replace("<mn>", "<mn>−", 1)
        if paren:
            text, tex, mml = f"({text})", f"({tex})", f"<mo>(</mo>{mml}<mo>)</mo>"
    return M(text, tex, f"<mrow>{mml}</mrow>")


def _shown(value, digits):
    """The number a reader sees when ``value`` is printed to ``digits`` significant digits."""
    return float(f"{float(value):.{digits}g}")


def _fit(operands, compute, result, digits, result_digits=None):
    """Digits for each operand so that the line's arithmetic, done on the numbers as printed,
    gives the printed result: 0.99998551 − 1 = −1.449×10⁻⁵, where 4 digits would show 1 − 1.

    The operand whose rounding moves the result most gets one more digit, until the line checks
    out; an exact operand (1, 0, 0.1) never grows. A line that cannot check out (a float32 network,
    a value float64 cannot hold) keeps ``digits``: explaining never fails over a last digit.
    """
    want = _num(result, result_digits or digits, False).text
    ds = [digits] * len(operands)
    while True:
        shown = [_shown(v, d) for v, d in zip(operands, ds)]
        if _num(compute(shown), result_digits or digits, False).text == want:
            return ds
        rounded = [i for i, (v, d) in enumerate(zip(operands, ds)) if d < 17 and _shown(v, d) != float(v)]
        if not rounded:
            return [digits] * len(operands)
        ds[max(rounded, key=lambda i: _miss(compute, shown, i, operands[i]))] += 1


def _miss(compute, shown, i, exact):
    """How far the result moves when operand i is taken exactly instead of as printed."""
    moved = compute(shown[:i] + [float(exact)] + shown[i + 1:]) - compute(shown)
    return abs(moved) if np.isfinite(moved) else np.inf


def _word(text, tex=None):
    return M(text, tex or rf"\text{{{text}}}", f"<mtext>{text}</mtext>")


def _fence(inner, left="(", right=")"):
    tex_l, tex_r = (r"\left[", r"\right]") if left == "[" else (r"\left(", r"\right)")
    return M(left + inner.text + right, tex_l + inner.tex + tex_r,
             f"<mrow><mo>{left}</mo>{inner.mml}<mo>{right}</mo></mrow>")


def _half():
    return M("½", r"\tfrac{1}{2}", "<mfrac><mn>1</mn><mn>2</mn></mfrac>")


def _partial(top, bottom):
    """∂top/∂bottom: a fraction in LaTeX and MathML, a slash in text."""
    return M(f"∂{top.text}/∂{bottom.text}", rf"\frac{{\partial {top.tex}}}{{\partial {bottom.tex}}}",
             f"<mfrac><mrow><mo>∂</mo>{top.mml}</mrow><mrow><mo>∂</mo>{bottom.mml}</mrow></mfrac>")


def _square(inner):
    return M(f"({inner.text})²", rf"\left({inner.tex}\right)^{{2}}",
             f"<msup><mrow><mo>(</mo>{inner.mml}<mo>)</mo></mrow><mn>2</mn></msup>")


# f(z) and f'(z) of each activation, as the seeds write them
FUNCS = {
    "sigmoid": ("σ", r"\sigma"), "tanh": ("tanh", r"\tanh"), "relu": ("ReLU", r"\mathrm{ReLU}"),
    "leaky_relu": ("LeakyReLU", r"\mathrm{LeakyReLU}"), "identity": ("id", r"\mathrm{id}"),
    "softmax": ("softmax", r"\mathrm{softmax}"),
}


def _call(activation, arg, prime=False):
    text, tex = FUNCS[activation]
    p = "'" if prime else ""
    mml_name = f"<mi>{text}</mi>" + ("<mo>′</mo>" if prime else "")
    return M(f"{text}{p}({arg.text})", rf"{tex}{p}\left({arg.tex}\right)",
             f"<mrow>{mml_name}<mo>(</mo>{arg.mml}<mo>)</mo></mrow>")


def _transpose(m):
    return M(f"({m.text})ᵀ", rf"\left({m.tex}\right)^{{\mathsf{{T}}}}",
             f"<msup><mrow><mo>(</mo>{m.mml}<mo>)</mo></mrow><mi>T</mi></msup>")


def _ellipsis(count, lang):
    text = f"… ({count} {'more' if lang == 'en' else '项从略'})"
    return M(text, rf"\cdots\ (\text{{+{count}}})", f"<mo>…</mo><mtext>(+{count})</mtext>")


def _clip(n, limit):
    """How many of n items to show: all of them, or limit - 1 and a mark for the rest."""
    return n if n <= limit else limit - 1


def _vector(values, digits, lang, limit):
    shown = _clip(len(values), limit)
    parts = [_num(v, digits, paren=False) for v in values[:shown]]
    if shown < len(values):
        parts.append(_ellipsis(len(values) - shown, lang))
    inner = _cat(parts, _op(", ", ",\\ ", ","))
    return M(f"[{inner.text}]", rf"\left({inner.tex}\right)", f"<mrow><mo>(</mo>{inner.mml}<mo>)</mo></mrow>")


def _matrix(rows, digits, lang, limit):
    """A matrix, at most ``limit`` rows and columns shown; the rest marked with their count."""
    r, c = _clip(rows.shape[0], limit), _clip(rows.shape[1], limit)
    cells = [[_num(v, digits, paren=False) for v in row[:c]] for row in rows[:r]]
    more_c, more_r = rows.shape[1] - c, rows.shape[0] - r
    text = "[" + ", ".join("[" + ", ".join(x.text for x in row) + (", …" if more_c else "") + "]"
                           for row in cells) + (", …" if more_r else "") + "]"
    tex_rows = [" & ".join(x.tex for x in row) + (r" & \cdots" if more_c else "") for row in cells]
    tex_rows += [r"\vdots"] if more_r else []
    mml_rows = ["<mtr>" + "".join(f"<mtd>{x.mml}</mtd>" for x in row)
                + ("<mtd><mo>⋯</mo></mtd>" if more_c else "") + "</mtr>" for row in cells]
    mml_rows += ["<mtr><mtd><mo>⋮</mo></mtd></mtr>"] if more_r else []
    return M(text, r"\begin{pmatrix}" + r" \\ ".join(tex_rows) + r"\end{pmatrix}",
             "<mrow><mo>(</mo><mtable>" + "".join(mml_rows) + "</mtable><mo>)</mo></mrow>")


# ---- the ledger: the seeds' equations around the Trace's numbers ---------------------------------
LIMIT = 8  # neurons per layer, terms per sum, rows and columns per matrix shown in full
DETAILS = ("auto", "neurons", "matrix")
FORMATS = ("text", "markdown", "json", "html")
LANGS = ("en", "zh")

TERMS = {
    "en": {
        "title": "Backpropagation, step by step",
        "setup": "Setup",
        "network": "Network {sizes}, activation functions: {acts}.",
        "sample": "One sample: input x = {x}, target y = {y}; loss function: {loss}; learning rate η = {lr}{l2}.",
        "notation": "Notation: w_jk^(l) = W[j, k] is the weight from input k to neuron j of layer l; "
                    "b is the bias, z the weighted sum, a = f(z) the output of the activation function, "
                    "δ = ∂C/∂z the error term.",
        "frozen_note": "Held fixed during the update: {what}.",
        "forward": "1. Forward pass",
        "forward_why": "Each neuron computes z = Σ w·a + b and a = f(z), layer by layer from the input.",
        "loss_block": "Loss function: {loss}",
        "loss_name": "{name} ({key})",
        "sep": ", ",
        "l2": ", L2 penalty λ = {l2}",
        "case1": "2. Output-layer error term δ (case 1: the output layer)",
        "case1_why": "Chain rule: δ = ∂C/∂z = ∂a/∂z · ∂C/∂a, and the output a is right there in C.",
        "case1_other": "The {act} output with loss {loss} has no elementwise formula here; δ is the engine's value.",
        "case2": "3. Hidden-layer error terms δ (case 2: the reverse network)",
        "case2_why": "Run the network backwards: each neuron sums the δ of the next layer weighted by "
                     "the same w, then multiplies by f'(z), a constant known from the forward pass.",
        "case2_none": "There is no hidden layer: case 2 does not arise.",
        "grads": "4. Gradients (chain rule: ∂C/∂w = ∂z/∂w · ∂C/∂z = a·δ)",
        "update": "5. Update (gradient descent with learning rate η)",
        "layer": "Layer {l} ({act}, {n_in} → {n_out})",
        "held": "{what} of layer {l} held fixed: not updated.",
        "weights": "weights W", "biases": "biases b",
        "loss_after": "Loss after the update",
        "left_out": "Left out",
        "left_out_intro": "Too big to print in full; left out:",
        "neurons_hidden": "layer {l}: {k} of {n} neurons not shown",
        "terms_hidden": "layer {l}: sums of {n} terms show the first {k}",
        "matrix_hidden": "layer {l}: {name} is {r}×{c}; shows {sr}×{sc}",
        "vector_hidden": "layer {l}: vectors of {n} entries show the first {k}",
        "sample_hidden": "the sample's {name} has {n} entries; shows the first {k}",
        "notes": "Notes",
        "inputs": "Inputs (after the model's scaler): {names}.",
        "outputs": "Outputs: {names}.",
        "losses": {"squared_error": "½-squared error", "cross_entropy": "cross-entropy",
                   "binary_cross_entropy": "binary cross-entropy"},
        "diagram_forward": "Forward view: z and a of every neuron; edges are weights (blue +, red −, width |w|).",
        "diagram_backward": "Backward view (the reverse network): δ of every neuron; edges carry ∂C/∂w.",
        "no_diagram": "(diagram left out: matplotlib is not installed)",
    },
    "zh": {
        "title": "反向传播，一步一步",
        "setup": "设定",
        "network": "网络结构 {sizes}，激活函数：{acts}。",
        "sample": "一个样本：输入 x = {x}，真实值 y = {y}；损失函数：{loss}；学习率 η = {lr}{l2}。",
        "notation": "记号：w_jk^(l) = W[j, k] 是第 l 层第 j 个神经元对输入 k 的权重；b 是偏置，"
                    "z 是加权和，a = f(z) 是激活函数的输出，δ = ∂C/∂z 是误差项。",
        "frozen_note": "更新时保持不变：{what}。",
        "forward": "1. 正向传播（前向传播）",
        "forward_why": "从输入开始逐层计算：每个神经元先算 z = Σ w·a + b，再算 a = f(z)。",
        "loss_block": "损失函数：{loss}",
        "loss_name": "{name}（{key}）",
        "sep": "、",
        "l2": "，L2 正则化 λ = {l2}",
        "case1": "2. 输出层的误差项 δ（情形一：输出层）",
        "case1_why": "链式法则：δ = ∂C/∂z = ∂a/∂z · ∂C/∂a，输出 a 直接出现在损失函数 C 中。",
        "case1_other": "输出层 {act} 配合损失函数 {loss} 没有逐元素的公式；δ 取引擎算出的值。",
        "case2": "3. 隐藏层的误差项 δ（情形二：反向的神经网络）",
        "case2_why": "把网络反过来运行：每个神经元把下一层的 δ 按同样的权重 w 加权求和，"
                     "再乘以 f'(z)（正向传播时已知，是一个常数）。",
        "case2_none": "没有隐藏层：不出现情形二。",
        "grads": "4. 梯度（链式法则：∂C/∂w = ∂z/∂w · ∂C/∂z = a·δ）",
        "update": "5. 更新参数（梯度下降，学习率 η）",
        "layer": "第 {l} 层（{act}，{n_in} → {n_out}）",
        "held": "第 {l} 层的{what}保持不变，不更新。",
        "weights": "权重 W", "biases": "偏置 b",
        "loss_after": "更新后的损失函数",
        "left_out": "省略的内容",
        "left_out_intro": "网络太大，无法全部列出；省略了：",
        "neurons_hidden": "第 {l} 层：{n} 个神经元中有 {k} 个未列出",
        "terms_hidden": "第 {l} 层：{n} 项的求和只列出前 {k} 项",
        "matrix_hidden": "第 {l} 层：{name} 是 {r}×{c} 矩阵，只列出 {sr}×{sc}",
        "vector_hidden": "第 {l} 层：{n} 个元素的向量只列出前 {k} 个",
        "sample_hidden": "样本的 {name} 有 {n} 个元素，只列出前 {k} 个",
        "notes": "说明",
        "inputs": "输入（经过模型的缩放）：{names}。",
        "outputs": "输出：{names}。",
        "losses": {"squared_error": "½ 平方误差", "cross_entropy": "交叉熵", "binary_cross_entropy": "二元交叉熵"},
        "diagram_forward": "正向视图：每个神经元的 z 和 a；连线是权重（蓝色为正，红色为负，粗细为 |w|）。",
        "diagram_backward": "反向视图（反向的神经网络）：每个神经元的误差项 δ；连线标出 ∂C/∂w。",
        "no_diagram": "（未画网络图：没有安装 matplotlib）",
    },
}


class Eq:
    """lhs = rhs[0] = rhs[1] = ...; with ``arrow`` the first sign is ← (an assignment)."""

    def __init__(self, lhs, *rhs, arrow=False):
        self.lhs, self.rhs, self.arrow = lhs, list(rhs), arrow


class Block:
    """A heading, a few sentences and a group of aligned equations."""

    def __init__(self, heading=None, prose=(), eqs=()):
        self.heading, self.prose, self.eqs = heading, list(prose), list(eqs)


class _Ctx:
    """What every ledger function needs: the trace, the language, the digits, what was left out."""

    def __init__(self, trace, lang, detail, digits):
        self.trace, self.lang, self.digits = trace, lang, digits
        self.t = TERMS[lang]
        self.modes = [_mode(layer, detail) for layer in trace.layers]
        self.omitted = []

    def num(self, value, paren=True):
        return _num(value, self.digits, paren)

    def fitted(self, operands, compute, result, check=True, **kw):
        """show(i, paren=True): operand i printed with the digits that make ``compute`` on the
        printed operands give the printed result (``check=False``: a line with terms left out)."""
        operands = [float(v) for v in operands]
        ds = _fit(operands, compute, result, self.digits, **kw) if check else [self.digits] * len(operands)
        return lambda i, paren=True: _num(operands[i], ds[i], paren)

    def vec(self, values, l, name=None):
        """A vector of layer l, or (l = 0) the sample's x or y, ``name``."""
        if len(values) > LIMIT:
            self.leave_out("sample_hidden" if l == 0 else "vector_hidden", l=l, name=name, n=len(values), k=LIMIT - 1)
        return _vector(values, self.digits, self.lang, LIMIT)

    def mat(self, values, l, name):
        r, c = (_clip(n, LIMIT) for n in values.shape)
        if (r, c) != values.shape:
            self.leave_out("matrix_hidden", l=l, name=name, r=values.shape[0], c=values.shape[1], sr=r, sc=c)
        return _matrix(values, self.digits, self.lang, LIMIT)

    def leave_out(self, key, **kw):
        line = self.t[key].format(**kw)
        if (kw["l"], line) not in self.omitted:
            self.omitted.append((kw["l"], line))

    def shown(self, n, l, key="neurons_hidden"):
        """range over the first items of n that fit, noting the rest."""
        k = _clip(n, LIMIT)
        if k < n:
            self.leave_out(key, l=l, n=n, k=n - k if key == "neurons_hidden" else k)
        return range(k)


def _mode(layer, detail):
    """Per-neuron sums for small layers, matrix form for large ones, unless the caller chose."""
    if detail != "auto":
        return detail
    return "neurons" if max(layer.n_in, layer.n_out) <= LIMIT else "matrix"


def _in_sym(l, k=""):
    """The input of layer l: x_k for the first layer (the seeds' x), else a_k^(l-1)."""
    return _sym("x", k) if l == 1 else _sym("a", k, l - 1)


def _sum_terms(ctx, items, l):
    """w·a + w·a + ... for the first items that fit, then '… (n more)'."""
    items = list(items)
    show = ctx.shown(len(items), l, "terms_hidden")
    parts = [items[i] for i in show]
    if len(show) < len(items):
        parts.append(_ellipsis(len(items) - len(show), ctx.lang))
    return _cat(parts, PLUS)


# forward pass ---------------------------------------------------------------------------------
def _z_neuron(ctx, t, j):
    l, n = t.layer, t.n_in
    symbolic = _sum_terms(ctx, (_sym("w", _idx(j + 1, k + 1), l) + _in_sym(l, k + 1) for k in range(n)), l)
    ops = [v for k in range(n) for v in (t.W[j, k], t.a_prev[k])] + [t.b[j]]  # w, a, w, a, ..., b
    show = ctx.fitted(ops, _dot_plus, t.z[j], check=n <= LIMIT)
    numbers = _sum_terms(ctx, (show(2 * k) + TIMES + show(2 * k + 1) for k in range(n)), l)
    return Eq(_sym("z", j + 1, l), symbolic + PLUS + _sym("b", j + 1, l),
              numbers + PLUS + show(2 * n), ctx.num(t.z[j], paren=False))


def _dot_plus(v):
    """w·a + w·a + ... + b, from the flat list (w, a, w, a, ..., b)."""
    return sum(w * a for w, a in zip(v[:-1:2], v[1:-1:2])) + v[-1]


def _a_neuron(ctx, t, j):
    l, z = t.layer, _sym("z", j + 1, t.layer)
    if t.activation == "softmax":  # a_j depends on every z of the layer
        return Eq(_sym("a", j + 1, l), _call("softmax", _sym("z", "", l)) + _sym("", j + 1),
                  ctx.num(t.a[j], paren=False))
    f = get_activation(t.activation)
    show = ctx.fitted([t.z[j]], lambda v: float(f(np.array(v))[0]), t.a[j])
    return Eq(_sym("a", j + 1, l), _call(t.activation, z), _call(t.activation, show(0, False)),
              ctx.num(t.a[j], paren=False))


def _forward_layer(ctx, t):
    l = t.layer
    heading = ctx.t["layer"].format(l=l, act=t.activation, n_in=t.n_in, n_out=t.n_out)
    if ctx.modes[l - 1] == "matrix":
        z = Eq(_sym("z", "", l), _sym("W", "", l) + _in_sym(l) + PLUS + _sym("b", "", l), ctx.vec(t.z, l))
        a = Eq(_sym("a", "", l), _call(t.activation, _sym("z", "", l)), ctx.vec(t.a, l))
        return Block(heading, eqs=[z, a])
    eqs = []
    for j in ctx.shown(t.n_out, l):
        eqs += [_z_neuron(ctx, t, j), _a_neuron(ctx, t, j)]
    return Block(heading, eqs=eqs)


def _squared_error(v):
    """½Σ(a − y)² from the flat list (a, y, a, y, ...)."""
    return 0.5 * sum((a - y) ** 2 for a, y in zip(v[::2], v[1::2]))


def _cross_entropy(v):
    """−Σ y ln a from the flat list (y, a, y, a, ...); a term with y = 0 is 0 whatever a is."""
    return -sum(y * np.log(a) for y, a in zip(v[::2], v[1::2]) if y)


def _loss_terms(ctx, name, out, y, L):
    """The loss as the seeds write it, symbols and numbers: ½Σ(a − y)² or −Σ y ln a."""
    n, tr = len(out), ctx.trace
    check = n <= LIMIT and not tr.l2  # with λ the numbers are not printed: C holds the penalty too
    if name == "squared_error":
        show = ctx.fitted([v for j in range(n) for v in (out[j], y[j])], _squared_error, tr.loss_before, check)
        sym = (_square(_sym("a", j + 1, L) + MINUS + _sym("y", j + 1)) for j in range(n))
        val = (_square(show(2 * j, False) + MINUS + show(2 * j + 1)) for j in range(n))  # a − (−0.5)
        return [_half() + _fence(_sum_terms(ctx, sym, L), "[", "]"),
                _half() + _fence(_sum_terms(ctx, val, L), "[", "]")]
    if name == "cross_entropy":
        show = ctx.fitted([v for j in range(n) for v in (y[j], out[j])], _cross_entropy, tr.loss_before, check)
        ln = _word("ln ", r"\ln ")
        sym = (_sym("y", j + 1) + TIMES + ln + _sym("a", j + 1, L) for j in range(n))
        val = (show(2 * j) + TIMES + ln + show(2 * j + 1) for j in range(n))
        return [_op("−", "-") + _fence(_sum_terms(ctx, sym, L), "[", "]"),
                _op("−", "-") + _fence(_sum_terms(ctx, val, L), "[", "]")]
    return []  # binary cross-entropy: the value alone says enough


def _loss_block(ctx):
    tr = ctx.trace
    rhs = _loss_terms(ctx, tr.loss, tr.output, tr.y, len(tr.layers))
    if tr.l2:  # the penalty's value is part of C; its terms are not worth a line each
        rhs = [r + PLUS + _sym("lambda") + _word("/2 ΣW²", r"/2\,\sum W^2") for r in rhs[:1]]
    eq = Eq(_sym("C"), *rhs, ctx.num(tr.loss_before, False))
    return Block(ctx.t["loss_block"].format(loss=_loss_name(ctx)), eqs=[eq])


def _forward_section(ctx):
    blocks = [_forward_layer(ctx, t) for t in ctx.trace.layers]
    return ctx.t["forward"], [Block(None, [ctx.t["forward_why"]])] + blocks + [_loss_block(ctx)]


# backward pass: case 1, the output layer --------------------------------------------------------
FUSED_DELTA = {  # loss/activation pairs whose delta simplifies (see losses.FUSED)
    ("sigmoid", "binary_cross_entropy"): "a-y", ("softmax", "cross_entropy"): "a-y",
    ("sigmoid", "cross_entropy"): "(a-1)y",
}


def _delta_out_neuron(ctx, t, j):
    l, tr = t.layer, ctx.trace
    a, y, d, one = _sym("a", j + 1, l), _sym("y", j + 1), _sym("delta", j + 1, l), M("1", "1", "<mn>1</mn>")
    dv = ctx.num(t.delta[j], False)
    kind = FUSED_DELTA.get((t.activation, tr.loss))
    if kind == "a-y":
        show = ctx.fitted([t.a[j], tr.y[j]], lambda v: v[0] - v[1], t.delta[j])
        return Eq(d, a + MINUS + y, show(0, False) + MINUS + show(1), dv)
    if kind == "(a-1)y":
        show = ctx.fitted([t.a[j], tr.y[j]], lambda v: (v[0] - 1) * v[1], t.delta[j])
        return Eq(d, _fence(a + MINUS + one) + TIMES + y, _fence(show(0, False) + MINUS + one) + TIMES + show(1), dv)
    if tr.loss == "squared_error" and t.activation != "softmax":
        fp = _call(t.activation, _sym("z", j + 1, l), prime=True)
        show = ctx.fitted([t.fprime[j], t.a[j], tr.y[j]], lambda v: v[0] * (v[1] - v[2]), t.delta[j])
        val = show(0) + TIMES + _fence(show(1, False) + MINUS + show(2))
        return Eq(d, fp + TIMES + _fence(a + MINUS + y), val, dv)
    return Eq(d, _partial(_sym("C"), _sym("z", j + 1, l)), dv)


def _delta_out_matrix(ctx, t):
    l, tr = t.layer, ctx.trace
    diff = _sym("a", "", l) + MINUS + _sym("y")
    kind = FUSED_DELTA.get((t.activation, tr.loss))
    if kind == "a-y":
        sym = diff
    elif tr.loss == "squared_error" and t.activation != "softmax":
        sym = _call(t.activation, _sym("z", "", l), prime=True) + HADAMARD + _fence(diff)
    else:
        sym = _partial(_sym("C"), _sym("z", "", l))
    return Eq(_sym("delta", "", l), sym, ctx.vec(t.delta, l))


def _case1_section(ctx):
    t, tr = ctx.trace.layers[-1], ctx.trace
    prose = []
    elementwise = tr.loss == "squared_error" and t.activation != "softmax"
    if not elementwise and (t.activation, tr.loss) not in FUSED_DELTA:
        prose.append(ctx.t["case1_other"].format(act=t.activation, loss=tr.loss))
    if ctx.modes[-1] == "matrix":
        eqs = [_delta_out_matrix(ctx, t)]
    else:
        eqs = [_delta_out_neuron(ctx, t, j) for j in ctx.shown(t.n_out, t.layer)]
    heading = ctx.t["layer"].format(l=t.layer, act=t.activation, n_in=t.n_in, n_out=t.n_out)
    return ctx.t["case1"], [Block(None, [ctx.t["case1_why"]]), Block(heading, prose, eqs)]


# backward pass: case 2, the hidden layers (the reverse network) ---------------------------------
def _delta_hidden_neuron(ctx, t, nxt, k):
    l = t.layer
    d = _sym("delta", k + 1, l)
    if t.activation == "softmax":
        return Eq(d, _partial(_sym("C"), _sym("z", k + 1, l)), ctx.num(t.delta[k], False))
    fp, n = _call(t.activation, _sym("z", k + 1, l), prime=True), nxt.n_out
    sym = _sum_terms(ctx, (_sym("w", _idx(j + 1, k + 1), l + 1) + _sym("delta", j + 1, l + 1) for j in range(n)), l + 1)
    ops = [v for j in range(n) for v in (nxt.W[j, k], nxt.delta[j])] + [0.0, t.fprime[k]]  # w, δ, ..., (b = 0), f'
    show = ctx.fitted(ops, lambda v: v[-1] * _dot_plus(v[:-1]), t.delta[k], check=n <= LIMIT)
    val = _sum_terms(ctx, (show(2 * j) + TIMES + show(2 * j + 1) for j in range(n)), l + 1)
    return Eq(d, fp + TIMES + _fence(sym, "[", "]"), show(2 * n + 1) + TIMES + _fence(val, "[", "]"),
              ctx.num(t.delta[k], False))


def _delta_hidden_matrix(ctx, t):
    l = t.layer
    fp = _call(t.activation, _sym("z", "", l), prime=True)
    back = _transpose(_sym("W", "", l + 1)) + _sym("delta", "", l + 1)
    return Eq(_sym("delta", "", l), fp + HADAMARD + back, ctx.vec(t.delta, l))


def _case2_section(ctx):
    layers = ctx.trace.layers
    if len(layers) == 1:
        return ctx.t["case2"], [Block(None, [ctx.t["case2_none"]])]
    blocks = []
    for t, nxt in reversed(list(zip(layers[:-1], layers[1:]))):
        heading = ctx.t["layer"].format(l=t.layer, act=t.activation, n_in=t.n_in, n_out=t.n_out)
        if ctx.modes[t.layer - 1] == "matrix":
            eqs = [_delta_hidden_matrix(ctx, t)]
        else:
            eqs = [_delta_hidden_neuron(ctx, t, nxt, k) for k in ctx.shown(t.n_out, t.layer)]
        blocks.append(Block(heading, eqs=eqs))
    return ctx.t["case2"], [Block(None, [ctx.t["case2_why"]])] + blocks


# gradients and the update -----------------------------------------------------------------------
def _grad_neuron(ctx, t, j, k):
    l = t.layer
    w, l2 = _sym("w", _idx(j + 1, k + 1), l), ctx.trace.l2
    show = ctx.fitted([t.a_prev[k], t.delta[j], l2, t.W[j, k]], lambda v: v[0] * v[1] + v[2] * v[3], t.dW[j, k])
    sym, val = _in_sym(l, k + 1) + TIMES + _sym("delta", j + 1, l), show(0) + TIMES + show(1)
    if l2:  # the penalty λ/2 Σw² adds λ·w to every weight's gradient
        sym, val = sym + PLUS + _sym("lambda") + w, val + PLUS + show(2) + TIMES + show(3)
    return Eq(_partial(_sym("C"), w), sym, val, ctx.num(t.dW[j, k], False))


def _grad_block(ctx, t):
    l = t.layer
    heading = ctx.t["layer"].format(l=l, act=t.activation, n_in=t.n_in, n_out=t.n_out)
    db = Eq(_partial(_sym("C"), _sym("b", "", l)), _sym("delta", "", l), ctx.vec(t.db, l))
    if ctx.modes[l - 1] == "matrix":
        sym = _sym("delta", "", l) + _transpose(_in_sym(l))
        sym = sym + PLUS + _sym("lambda") + _sym("W", "", l) if ctx.trace.l2 else sym
        return Block(heading, eqs=[Eq(_partial(_sym("C"), _sym("W", "", l)), sym, ctx.mat(t.dW, l, "∂C/∂W")), db])
    eqs = [_grad_neuron(ctx, t, j, k) for j in ctx.shown(t.n_out, l) for k in ctx.shown(t.n_in, l, "terms_hidden")]
    eqs += [Eq(_partial(_sym("C"), _sym("b", j + 1, l)), _sym("delta", j + 1, l), ctx.num(t.db[j], False))
            for j in ctx.shown(t.n_out, l)]
    return Block(heading, eqs=eqs)


def _update_eq(ctx, name, sub, l, old, grad, new):
    sym = _sym(name, sub, l)
    rhs = sym + MINUS + _sym("eta") + TIMES + _partial(_sym("C"), sym)
    digits = _visible_digits(old, new, ctx.digits)
    show = ctx.fitted([old, ctx.trace.lr, grad], lambda v: v[0] - v[1] * v[2], new, result_digits=digits)
    return Eq(sym, rhs, show(0, False) + MINUS + show(1) + TIMES + show(2), _num(new, digits, False), arrow=True)


def _visible_digits(old, new, digits):
    """Enough digits that the step shows, at least in the last digit: 4 − 0.1·(−0.0027) = 4.0003,
    not 4; and −0.91762187 − 0.1·6.594×10⁻⁷ = −0.91762194, not −0.9176 (a rounding boundary
    crossed by a step far below the printed digits is not a step a reader can see)."""
    step = abs(float(new) - float(old))
    while digits < 17 and step and _last_place(new, digits) > step:
        digits += 1
    return digits


def _last_place(value, digits):
    """The place value of the last digit of ``value`` printed to ``digits`` significant digits."""
    exponent = int(f"{float(value):.{digits - 1}e}".partition("e")[2])
    return 10.0 ** (exponent - digits + 1)


def _update_neurons(ctx, t):
    l, eqs = t.layer, []
    if "W" not in t.frozen:
        eqs += [_update_eq(ctx, "w", _idx(j + 1, k + 1), l, t.W[j, k], t.dW[j, k], t.W_after[j, k])
                for j in ctx.shown(t.n_out, l) for k in ctx.shown(t.n_in, l, "terms_hidden")]
    if "b" not in t.frozen:
        eqs += [_update_eq(ctx, "b", j + 1, l, t.b[j], t.db[j], t.b_after[j]) for j in ctx.shown(t.n_out, l)]
    return eqs


def _update_matrix(ctx, t):
    l, eqs = t.layer, []
    for name, new in (("W", t.W_after), ("b", t.b_after)):
        if name not in t.frozen:
            sym = _sym(name, "", l)
            shown = ctx.mat(new, l, "W") if name == "W" else ctx.vec(new, l)
            eqs.append(Eq(sym, sym + MINUS + _sym("eta") + _partial(_sym("C"), sym), shown, arrow=True))
    return eqs


def _update_block(ctx, t):
    l = t.layer
    heading = ctx.t["layer"].format(l=l, act=t.activation, n_in=t.n_in, n_out=t.n_out)
    prose = [ctx.t["held"].format(l=l, what=ctx.t["weights" if p == "W" else "biases"]) for p in t.frozen]
    eqs = _update_matrix(ctx, t) if ctx.modes[l - 1] == "matrix" else _update_neurons(ctx, t)
    return Block(heading, prose, eqs)


def _loss_after_block(ctx):
    """C after the step (with the digits that show it moved), then ΔC = C(after) − C(before),
    whose operands may need more digits still: the two losses are close."""
    tr = ctx.trace
    change = tr.loss_after - tr.loss_before
    after = _num(tr.loss_after, _visible_digits(tr.loss_before, tr.loss_after, ctx.digits), False)
    show = ctx.fitted([tr.loss_after, tr.loss_before], lambda v: v[0] - v[1], change)
    step = Eq(DELTA_C, show(0, False) + MINUS + show(1, False), ctx.num(change, False))
    return Block(ctx.t["loss_after"], eqs=[Eq(_sym("C"), after), step])


def _ledger(ctx):
    """The five sections in the order the seeds teach them."""
    backwards = list(reversed(ctx.trace.layers))
    return [
        _setup_section(ctx),
        _forward_section(ctx),
        _case1_section(ctx),
        _case2_section(ctx),
        (ctx.t["grads"], [_grad_block(ctx, t) for t in backwards]),
        (ctx.t["update"], [_update_block(ctx, t) for t in backwards] + [_loss_after_block(ctx)]),
    ]


def _setup_section(ctx):
    tr, t = ctx.trace, ctx.t
    acts = t["sep"].join(layer.activation for layer in tr.layers)
    sizes = "-".join(str(n) for n in [tr.layers[0].n_in] + [layer.n_out for layer in tr.layers])
    l2 = t["l2"].format(l2=f"{tr.l2:g}") if tr.l2 else ""
    prose = [t["network"].format(sizes=sizes, acts=acts),
             t["sample"].format(x=_short(tr.x, ctx, "x"), y=_short(tr.y, ctx, "y"), loss=_loss_name(ctx),
                                lr=f"{tr.lr:g}", l2=l2),
             t["notation"]]
    frozen = [t["weights" if p == "W" else "biases"] + f"({layer.layer})".translate(_SUP)
              for layer in tr.layers for p in layer.frozen]
    if frozen:
        prose.append(t["frozen_note"].format(what=t["sep"].join(frozen)))
    if tr.input_names:
        prose.append(t["inputs"].format(names=_named(ctx, "x", tr.input_names)))
    if tr.output_names:
        prose.append(t["outputs"].format(names=_named(ctx, "a", tr.output_names, len(tr.layers))))
    return t["setup"], [Block(None, prose)]


def _named(ctx, base, names, layer=None):
    return ctx.t["sep"].join(f"{_sym(base, i, layer).text} = {name}" for i, name in enumerate(names, 1))


def _loss_name(ctx):
    return ctx.t["loss_name"].format(name=ctx.t["losses"][ctx.trace.loss], key=ctx.trace.loss)


def _short(values, ctx, name):
    return ctx.vec(np.asarray(values), 0, name).text


# ---- renderers ---------------------------------------------------------------------------------
def render(trace, format="text", lang="en", detail="auto", digits=4, diagrams=True):
    """The Trace as ``text`` (terminal), ``markdown`` (LaTeX for GitHub), ``json`` or ``html``.

    ``detail`` is ``"neurons"`` (one equation per neuron), ``"matrix"`` or ``"auto"`` (per-neuron
    sums for layers of at most 8 neurons and inputs, matrix form beyond). ``digits`` is the number
    of significant digits printed. ``diagrams`` embeds the forward and backward diagrams in html.
    """
    fmt = choose("format", format, {f: f for f in FORMATS})
    choose("language", lang, {x: x for x in LANGS})
    choose("detail", detail, {d: d for d in DETAILS})
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17:
        raise ConfigError(f"digits must be an integer from 1 to 17; received {digits!r}")
    if fmt == "json":
        return json.dumps(trace.to_dict(), indent=2, ensure_ascii=False)
    ctx = _Ctx(trace, lang, detail, digits)
    sections = _ledger(ctx)
    if fmt == "text":
        return _to_text(ctx, sections)
    if fmt == "markdown":
        return _to_markdown(ctx, sections)
    return _to_html(ctx, sections, diagrams)


def _title(ctx):
    return ctx.trace.title.get(ctx.lang) or ctx.t["title"]


def _extras(ctx):
    """(heading, intro or None, items) for the notes of an example and for what was left out;
    the latter in layer order, although the backward sections meet the layers last to first."""
    out = []
    if ctx.trace.notes.get(ctx.lang):
        out.append((ctx.t["notes"], None, ctx.trace.notes[ctx.lang]))
    if ctx.omitted:
        items = [line for _, line in sorted(ctx.omitted, key=lambda item: item[0])]  # stable: same layer, same order
        out.append((ctx.t["left_out"], ctx.t["left_out_intro"], items))
    return out


# text: aligned, readable without colour
def _eq_text(eq, width):
    sign = " ← " if eq.arrow else " = "
    return "    " + eq.lhs.text.ljust(width) + sign + " = ".join(r.text for r in eq.rhs)


def _block_text(block):
    lines = [f"  {block.heading}"] if block.heading else []
    lines += [f"  {p}" for p in block.prose]
    width = max((len(eq.lhs.text) for eq in block.eqs), default=0)
    return lines + [_eq_text(eq, width) for eq in block.eqs]


def _to_text(ctx, sections):
    title = _title(ctx)
    lines = [title, "=" * _display_width(title)]
    for heading, intro, items in _extras(ctx):
        lines += ["", heading] + ([f"  {intro}"] if intro else []) + [f"  - {x}" for x in items]
    for heading, blocks in sections:
        lines += ["", heading, "-" * _display_width(heading)]
        for block in blocks:
            lines += _block_text(block) + [""]
    return "\n".join(lines).rstrip() + "\n"


def _display_width(s):
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in s)


# markdown: LaTeX that GitHub renders ($$ blocks with aligned)
def _eq_tex(eq):
    sign = r"&\leftarrow " if eq.arrow else "&= "
    return eq.lhs.tex + " " + sign + " = ".join(r.tex for r in eq.rhs)


def _block_markdown(block):
    lines = [f"### {block.heading}", ""] if block.heading else []
    lines += [p + "\n" for p in block.prose]
    if block.eqs:
        body = " \\\\\n".join(_eq_tex(eq) for eq in block.eqs)
        lines += ["$$", r"\begin{aligned}", body, r"\end{aligned}", "$$", ""]
    return lines


def _to_markdown(ctx, sections):
    lines = [f"# {_title(ctx)}", ""]
    for heading, intro, items in _extras(ctx):
        lines += [f"**{heading}**", ""] + ([intro, ""] if intro else []) + [f"- {x}" for x in items] + [""]
    for heading, blocks in sections:
        lines += [f"## {heading}", ""]
        for block in blocks:
            lines += _block_markdown(block)
    return "\n".join(lines).rstrip() + "\n"


# html: one self-contained page, equations in MathML (rendered by the browser, offline)
HTML_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;max-width:72em;
margin:2em auto;padding:0 1em;color:#222;line-height:1.5}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #bbb;margin-top:1.6em}h3{margin:1em 0 .3em;font-size:1.05em}
table.eqs{border-collapse:collapse}table.eqs td{padding:.15em .3em;vertical-align:middle}
table.eqs td.lhs{text-align:right}math{font-size:1.1em}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em}
.notes{background:#f6f6f2;border-left:4px solid #aa8;padding:.3em 1em}
"""


def _html_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _eq_html(eq):
    sign = "←" if eq.arrow else "="
    rest = f"<mo>{sign}</mo>" + "<mo>=</mo>".join(r.mml for r in eq.rhs)
    return (f'<tr><td class="lhs"><math>{eq.lhs.mml}</math></td>'
            f"<td><math>{rest}</math></td></tr>")


def _block_html(block):
    parts = [f"<h3>{_html_escape(block.heading)}</h3>"] if block.heading else []
    parts += [f"<p>{_html_escape(p)}</p>" for p in block.prose]
    if block.eqs:
        parts.append('<table class="eqs">' + "".join(_eq_html(eq) for eq in block.eqs) + "</table>")
    return "\n".join(parts)


def _diagram_html(ctx):
    try:
        from .diagram import to_svg
    except ImportError:  # matplotlib is optional
        return f"<p>{_html_escape(ctx.t['no_diagram'])}</p>"
    figs = []
    for view in ("forward", "backward"):
        svg = to_svg(ctx.trace, view=view, lang=ctx.lang, show_grads=view == "backward")
        figs.append(f"<figure>{svg}<figcaption>{_html_escape(ctx.t['diagram_' + view])}</figcaption></figure>")
    return "\n".join(figs)


def _to_html(ctx, sections, diagrams):
    body = [f"<h1>{_html_escape(_title(ctx))}</h1>"]
    for heading, intro, items in _extras(ctx):
        body.append(f'<div class="notes"><h3>{_html_escape(heading)}</h3>'
                    + (f"<p>{_html_escape(intro)}</p>" if intro else "") + "<ul>"
                    + "".join(f"<li>{_html_escape(x)}</li>" for x in items) + "</ul></div>")
    if diagrams:
        body.append(_diagram_html(ctx))
    for heading, blocks in sections:
        body.append(f"<h2>{_html_escape(heading)}</h2>")
        body += [_block_html(block) for block in blocks]
    lang = "zh-CN" if ctx.lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{_html_escape(_title(ctx))}</title><style>{HTML_STYLE}</style></head>\n"
            "<body>\n" + "\n".join(body) + "\n</body></html>\n")
