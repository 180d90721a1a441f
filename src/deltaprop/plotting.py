"""Pictures: learning curves, confusion matrices, decision regions.

matplotlib is imported inside each function (``import deltaprop`` never needs it), and figures are
drawn on a bare ``Figure`` with no pyplot state, so plotting never changes a user's backend.
Files are written atomically, format from the extension (.png, .svg, .pdf).
"""
import os

import numpy as np

from .errors import ConfigError

FORMATS = ("png", "svg", "pdf")


def _figure(width, height):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("plotting needs matplotlib; install it with: pip install 'deltaprop[plot]'") from None
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def save_figure(fig, path):
    """Write ``fig`` to ``path`` atomically; the extension picks the format."""
    from .io import atomic_write
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise ConfigError(f"plot file must end in .png, .svg or .pdf; received {os.fspath(path)!r}")
    _cjk_text(fig)
    atomic_write(path, lambda fh: fig.savefig(fh, format=fmt))
    return path


def _cjk_text(fig):
    """Texts with Chinese (or other CJK) characters (class names, column names, file names) in an
    installed CJK font, DejaVu Sans for the rest; matplotlib's default font draws them as boxes."""
    from matplotlib.text import Text

    from .diagram import cjk_font
    texts = [t for t in fig.findobj(Text) if any(ord(ch) >= 0x2E80 for ch in t.get_text())]
    font = cjk_font() if texts else None
    for t in texts if font else ():
        t.set_fontfamily([font, "DejaVu Sans"])


def plot_history(history, path, title="Training"):
    """Loss (train and validation) and accuracy or RMSE per epoch, side by side."""
    h, epochs = history.history, history.epoch
    fig = _figure(9, 3.6)
    ax_loss, ax_metric = fig.subplots(1, 2)
    _curve(ax_loss, epochs, h, "loss", "loss")
    metric = "accuracy" if "accuracy" in h else "rmse"
    _curve(ax_metric, epochs, h, metric, metric)
    if metric == "accuracy":
        ax_metric.set_ylim(0, 1.02)
    if history.best_epoch:
        for ax in (ax_loss, ax_metric):
            ax.axvline(history.best_epoch, color="0.6", ls=":", lw=1, label=f"best epoch {history.best_epoch}")
    ax_metric.legend(loc="lower right" if metric == "accuracy" else "upper right", fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def _curve(ax, epochs, h, key, label):
    ax.plot(epochs, h[key], label=f"train {label}", color="tab:blue")
    if f"val_{key}" in h:
        ax.plot(epochs, h[f"val_{key}"], label=f"validation {label}", color="tab:orange")
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def plot_confusion(cm, classes, path, title="Confusion matrix"):
    """Counts with true classes as rows and predicted classes as columns."""
    cm = np.asarray(cm)
    k = len(classes)
    fig = _figure(1.6 + 0.9 * k, 1.2 + 0.8 * k)
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    labels = [str(c) for c in classes]
    ax.set_xticks(range(k), labels, rotation=30, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return save_figure(fig, path)


def plot_decision_regions(model, X, y, path, resolution=300, title="Decision regions"):
    """The class each point of the plane gets, with the samples on top (two features only)."""
    X = np.asarray(X, dtype=np.float64)
    if X.shape[1] != 2:
        raise ConfigError(f"decision regions need exactly 2 features; received {X.shape[1]}")
    pad = 0.05 * (X.max(axis=0) - X.min(axis=0) + 1e-12)
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid_pred = model.predict(np.column_stack([gx.ravel(), gy.ravel()]))
    index = {c: i for i, c in enumerate(model.classes)}
    codes = np.array([index[c] for c in grid_pred]).reshape(gx.shape)
    fig = _figure(5.5, 4.6)
    ax = fig.subplots()
    from matplotlib.colors import ListedColormap
    region_colors = ListedColormap([_color(i) for i in range(len(model.classes))])
    ax.contourf(gx, gy, codes, levels=np.arange(len(model.classes) + 1) - 0.5, cmap=region_colors, alpha=0.25)
    for c, i in index.items():
        mask = np.asarray([v == c for v in y])
        ax.scatter(X[mask, 0], X[mask, 1], s=18, edgecolor="k", linewidth=0.4, label=str(c),
                   color=_color(i))
    ax.set_xlabel(model.feature_names[0])
    ax.set_ylabel(model.feature_names[1])
    ax.legend(fontsize=8)
    ax.set_title(title)
    return save_figure(fig, path)


def _color(i):
    from matplotlib import colormaps
    return colormaps["Set1"](i % 9)
