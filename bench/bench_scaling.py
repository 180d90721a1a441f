"""How the cost of an epoch grows: with the width of the hidden layers and with the rows.

    python bench/bench_scaling.py [--out docs/scaling.png] [--repeat 3]

Width sweep: 784-w-w-10 ReLU + softmax CE, w = 16 ... 1024, 5,000 rows, batch 128, float32.
Rows sweep: 784-256-128-10, m = 1,000 ... 100,000 rows. One epoch each, the best of ``repeat``
(the least disturbed by other load on a shared machine), for deltaprop (train_metrics="running"), the plain NumPy baseline and
PyTorch eager (skipped if not installed). Prints the tables and saves a log-log plot.
"""
import argparse
import os

import numpy as np

import _common as C
import deltaprop as dp
from bench_mlp import BATCH, LR

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTHS = [16, 32, 64, 128, 256, 512, 1024]
ROWS = [1000, 3000, 10000, 30000, 100000]


def epoch_fns(sizes, X, y):
    net = dp.Network(sizes, activation="relu", output_activation="softmax", init="he_normal", seed=0, dtype="float32")
    mlp, rng = C.NumpyMLP(sizes, np.float32), np.random.default_rng(0)
    fns = {"deltaprop": lambda: net.fit(X, y, epochs=1, batch_size=BATCH, optimizer=dp.SGD(LR), loss="cross_entropy",
                                        seed=0, verbose=0, train_metrics="running"),
           "plain NumPy": lambda: mlp.epoch(X, y, BATCH, LR, rng)}
    try:
        fns["PyTorch eager"] = C.torch_epoch(sizes, X, y, LR, BATCH)
    except ImportError:
        pass
    return fns


def sweep(points, make, repeat):
    out = {}
    for x in points:
        sizes, X, y = make(x)
        secs = C.interleaved(epoch_fns(sizes, X, y), repeat=repeat if len(X) < 50000 else 2)
        out[x] = {name: min(s) for name, s in secs.items()}
    return out


def plot(widths, rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, data, xlabel in ((axes[0], widths, "hidden width w (784-w-w-10, 5,000 rows)"),
                             (axes[1], rows, "training rows m (784-256-128-10)")):
        xs = sorted(data)
        for name in data[xs[0]]:
            ax.plot(xs, [data[x][name] for x in xs], "o-", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("seconds per epoch (best of repeats)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0].set_title("cost vs width (~w^2 once the GEMMs dominate)")
    axes[1].set_title("cost vs rows (linear)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(data, label):
    names = list(next(iter(data.values())))
    rows = [[f"{x:,}"] + [f"{data[x][n] * 1e3:.1f} ms" for n in names] +
            [f"{data[x]['plain NumPy'] / data[x]['deltaprop']:.2f}x"] for x in sorted(data)]
    return C.table([label] + [f"{n} (s/epoch)" for n in names] + ["deltaprop vs NumPy"], rows)


def main(argv=None):
    p = argparse.ArgumentParser(description="scaling sweep")
    p.add_argument("--out", default=os.path.join(HERE, "..", "docs", "scaling.png"))
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    print(C.header("Scaling: time per epoch vs width and vs rows (float32, batch 128)"))
    Xw, yw = C.mnist_like(5000)
    widths = sweep(WIDTHS, lambda w: ([784, w, w, 10], Xw, yw), args.repeat)
    Xr, yr = C.mnist_like(max(ROWS))
    rows = sweep(ROWS, lambda m: ([784, 256, 128, 10], Xr[:m], yr[:m]), args.repeat)
    print(table(widths, "width w"), "\n")
    print(table(rows, "rows m"), "\n")
    plot(widths, rows, args.out)
    print(f"plot: {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
