"""The network diagram of a Trace: neurons with their numbers, edges coloured by the sign of w.

Two views, as the lecture draws them. ``forward``: every neuron shows z and a, arrows run from
the input to the output. ``backward`` (the seeds' reverse network): every neuron shows its error
term δ and the constant f'(z) it is multiplied by, arrows run from the output back to the input
along the same weights. Edge width grows with |w|; blue is positive, red negative. With
``show_grads`` each edge also carries ∂C/∂w.

matplotlib is imported inside the functions, so ``import deltaprop`` never needs it. Figures are
built with ``matplotlib.figure.Figure`` directly: no pyplot, no global state, no display needed.
"""
import io

from .errors import ConfigError, choose

VIEWS = ("forward", "backward")
POSITIVE, NEGATIVE, NODE_FILL, TEXT = "#2166ac", "#c2372b", "#f4f1e8", "#222222"
ROW = 1.4  # inches between neurons; between layers 3 in, or 3.6 with the wider ∂C/∂w labels
MAX_DRAWN = 10  # neurons drawn per layer; the rest are summarised as "⋮ +n"
RADIUS = 0.5  # node radius, in inches (the axes are drawn at one data unit per inch)
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC")

LABELS = {
    "en": {"forward": "Forward pass: z and a of every neuron", "backward":
           "Backward pass (the reverse network): δ = f′(z)·Σ w·δ", "input": "input", "layer": "layer {l}",
           "loss": "C = {c}", "loss_after": "C after the update = {c}", "target": "y{j} = {v}"},
    "zh": {"forward": "正向传播：每个神经元的 z 和 a", "backward": "反向传播（反向的神经网络）：误差项 δ = f′(z)·Σ w·δ",
           "input": "输入", "layer": "第 {l} 层", "loss": "损失函数 C = {c}",
           "loss_after": "更新后 C = {c}", "target": "y{j} = {v}"},
}
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def cjk_font():
    """The name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _labels(lang):
    """Chinese labels when a CJK font is installed; English otherwise (never boxes for glyphs)."""
    choose("language", lang, LABELS)
    if lang == "zh" and cjk_font():
        return LABELS["zh"], cjk_font()
    return LABELS["en"], None


def _fmt(v, digits=4):
    return f"{v:.{digits}g}".replace("-", "−")


def _positions(sizes, column):
    """(x, y) of every drawn neuron, layer by layer, ``column`` inches apart."""
    columns = []
    for i, n in enumerate(sizes):
        shown = min(n, MAX_DRAWN)
        top = (shown - 1) * ROW / 2  # every column centred on y = 0
        columns.append([(i * column, top - j * ROW) for j in range(shown)])
    return columns


def _node_text(trace, l, j, view):
    """What a neuron shows: its input value, z and a (forward) or δ and f'(z) (backward)."""
    if l == 0:
        return f"x{str(j + 1).translate(_SUB)}\n{_fmt(trace.x[j])}"
    t = trace.layers[l - 1]
    if view == "forward":
        return f"z = {_fmt(t.z[j])}\na = {_fmt(t.a[j])}"
    return f"δ = {_fmt(t.delta[j])}\nf′ = {_fmt(t.fprime[j])}"


def _draw_nodes(ax, trace, columns, view):
    from matplotlib.patches import Circle
    sizes = [len(trace.x)] + [t.n_out for t in trace.layers]
    for l, column in enumerate(columns):
        for j, (x, y) in enumerate(column):
            ax.add_patch(Circle((x, y), RADIUS, facecolor=NODE_FILL, edgecolor="#555555", lw=1.2, zorder=3))
            ax.text(x, y, _node_text(trace, l, j, view), ha="center", va="center", fontsize=8,
                    color=TEXT, zorder=4, linespacing=1.4)
        if sizes[l] > len(column):
            x, y = column[-1]
            ax.text(x, y - 0.85, f"⋮ +{sizes[l] - len(column)}", ha="center", va="center", fontsize=9)


def _edge_label(trace, t, j, k, view, show_grads):
    text = f"w = {_fmt(t.W[j, k], 3)}"
    if show_grads:
        text += f"\n∂C/∂w = {_fmt(t.dW[j, k], 3)}"
    return text


def _draw_edges(ax, trace, columns, view, show_grads):
    biggest = max(float(abs(t.W).max()) for t in trace.layers) or 1.0
    label_all = sum(len(a) * len(b) for a, b in zip(columns, columns[1:])) <= 40
    for l, t in enumerate(trace.layers, start=1):
        for j, (xj, yj) in enumerate(columns[l]):
            for k, (xk, yk) in enumerate(columns[l - 1]):
                w = float(t.W[j, k])
                start, end = ((xk, yk), (xj, yj)) if view == "forward" else ((xj, yj), (xk, yk))
                _arrow(ax, start, end, POSITIVE if w >= 0 else NEGATIVE, 0.6 + 3.4 * abs(w) / biggest)
                if label_all:
                    _label_edge(ax, (xk, yk), (xj, yj), _edge_label(trace, t, j, k, view, show_grads),
                                POSITIVE if w >= 0 else NEGATIVE)


def _arrow(ax, start, end, color, width):
    shrink = RADIUS * 72 + 2  # points: stop at the circle's rim
    ax.annotate("", xy=end, xytext=start, zorder=1, arrowprops=dict(
        arrowstyle="-|>", color=color, lw=width, alpha=0.8, shrinkA=shrink, shrinkB=shrink, mutation_scale=12))


def _label_edge(ax, source, target, text, color):
    # 70% of the way to the target: well past the point where two edges cross (50%), so the
    # labels of crossing edges are 0.4 rows apart, and still clear of the target's circle
    t = 0.7
    x, y = source[0] + t * (target[0] - source[0]), source[1] + t * (target[1] - source[1])
    ax.text(x, y, text, ha="center", va="center", fontsize=7, color=color, zorder=2, linespacing=1.2,
            bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85))


def _draw_captions(ax, trace, columns, labels, view):
    bottom = min(y for column in columns for _, y in column) - 1.1
    for l, column in enumerate(columns):
        name = labels["input"] if l == 0 else labels["layer"].format(l=l)
        act = "" if l == 0 else f"\n{trace.layers[l - 1].activation}"
        ax.text(column[0][0], bottom, name + act, ha="center", va="top", fontsize=9, color="#444444")
    x_out = columns[-1][0][0] + RADIUS + 0.25
    if view == "forward":
        for j, (_, y) in enumerate(columns[-1]):
            target = labels["target"].format(j=str(j + 1).translate(_SUB), v=_fmt(trace.y[j]))
            ax.text(x_out, y, target, ha="left", va="center", fontsize=8.5, color="#444444")
    key, c = ("loss", trace.loss_before) if view == "forward" else ("loss_after", trace.loss_after)
    ax.text(-0.9, bottom - 0.7, labels[key].format(c=_fmt(c)), ha="left", va="top", fontsize=9.5)


def draw(trace, view="forward", show_grads=False, lang="en"):
    """A matplotlib Figure of the Trace's network in the ``forward`` or ``backward`` view."""
    from matplotlib.figure import Figure
    view = choose("view", view, {v: v for v in VIEWS})
    labels, font = _labels(lang)
    column = 3.6 if show_grads else 3.0
    columns = _positions([len(trace.x)] + [t.n_out for t in trace.layers], column)
    ys = [y for column in columns for _, y in column]
    width, height = column * (len(columns) - 1) + 3.4, max(ys) - min(ys) + 3.6
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(-1.0, width - 1.0)
    ax.set_ylim(min(ys) - 2.6, max(ys) + 1.0)
    ax.set_axis_off()
    _draw_edges(ax, trace, columns, view, show_grads)
    _draw_nodes(ax, trace, columns, view)
    _draw_captions(ax, trace, columns, labels, view)
    ax.text(-0.9, max(ys) + 0.85, labels[view], ha="left", va="top", fontsize=11, weight="bold")
    if font:
        for text in ax.texts:
            text.set_fontfamily([font, "DejaVu Sans"])
    return fig


def save(trace, path, view="forward", show_grads=False, lang="en"):
    """Draw the Trace and write it to ``path``: .png or .svg (chosen by the suffix)."""
    suffix = file_format(path)
    fig = draw(trace, view, show_grads, lang)
    from .io import atomic_write
    atomic_write(path, lambda fh: fig.savefig(fh, format=suffix, dpi=150, metadata=_metadata(suffix)))
    return path


def file_format(path):
    """"png" or "svg" from the file name; anything else is refused before any work is done."""
    suffix = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
    if suffix not in ("png", "svg"):
        raise ConfigError(f"a diagram file must end in .png or .svg; received {str(path)!r}")
    return suffix


def to_svg(trace, view="forward", show_grads=False, lang="en"):
    """The diagram as SVG markup to put inside an HTML page (text drawn as paths: no fonts needed)."""
    from matplotlib import rc_context
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "path", "svg.hashsalt": f"deltaprop-{view}"}):
        draw(trace, view, show_grads, lang).savefig(buffer, format="svg", metadata=_metadata("svg"))
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def _metadata(suffix):
    # no creation date: the same trace gives the same file, so docs/img diffs stay quiet
    return {"Date": None} if suffix == "svg" else {"Software": "deltaprop"}
