"""Medium MLP throughput: 784-256-128-10 ReLU + softmax cross-entropy, batch 128, plain SGD.

    python bench/bench_mlp.py [--rows 20000] [--repeat 5]

One epoch over ``rows`` synthetic MNIST-shaped rows (bench/_common.mnist_like), for deltaprop,
a plain NumPy baseline written here, scikit-learn's MLPClassifier and PyTorch eager on the CPU
(2 threads), in float32 and float64; peers that are not installed are skipped and said so.
Reports samples/s (median and best of ``repeat`` epochs; on a shared machine the best is the
least disturbed by other load), the GFLOP/s that makes, and the ratio to the
GEMM peak measured in the same run (an n^3 matrix product with the same BLAS). deltaprop is timed
with train_metrics="running" (the training loss of the batches, as every peer here reports it)
and with the default "exact" (a forward pass over the whole training set after the epoch).
"""
import argparse
import warnings

import numpy as np

import _common as C
import deltaprop as dp

SIZES = [784, 256, 128, 10]
BATCH, LR = 128, 0.01


def flops_per_sample(sizes=SIZES):
    """Multiply-adds x 2: forward z, backward dW for every layer, dC/da_prev for all but the first."""
    mults = [i * o for i, o in zip(sizes[:-1], sizes[1:])]
    return 2 * (2 * sum(mults) + sum(mults[1:]))


def run_deltaprop(X, y, dtype, metrics):
    net = dp.Network(SIZES, activation="relu", output_activation="softmax", init="he_normal", seed=0, dtype=dtype)
    seeds = iter(range(10 ** 6))
    return lambda: net.fit(X, y, epochs=1, batch_size=BATCH, optimizer=dp.SGD(LR), loss="cross_entropy",
                           seed=next(seeds), verbose=0, train_metrics=metrics)


def run_numpy(X, y, dtype):
    mlp, rng = C.NumpyMLP(SIZES, dtype), np.random.default_rng(0)
    return lambda: mlp.epoch(X, y, BATCH, LR, rng)


def run_sklearn(X, y, dtype):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def epoch():
        clf = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], activation="relu", solver="sgd", batch_size=BATCH,
                            learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False, alpha=0.0, max_iter=1,
                            shuffle=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    return epoch


def run_torch(X, y, dtype):
    return C.torch_epoch(SIZES, X.astype(dtype, copy=False), y, LR, BATCH)


PEERS = {"plain NumPy": run_numpy, "scikit-learn": run_sklearn, "PyTorch eager": run_torch}


def measure(rows, repeat):
    results = {}
    for dtype in (np.float32, np.float64):
        X, y = C.mnist_like(rows, dtype)
        res, fns = {"peak": C.gemm_peak(dtype)}, {}
        makers = [("deltaprop (running metrics)", lambda X, y, d: run_deltaprop(X, y, d, "running")),
                  ("deltaprop (exact metrics)", lambda X, y, d: run_deltaprop(X, y, d, "exact"))] + list(PEERS.items())
        for name, make in makers:
            try:
                fns[name] = make(X, y, dtype)
            except ImportError as exc:
                res[name] = f"skipped ({exc.name} not installed)"
        for name, secs in C.interleaved(fns, repeat=repeat).items():
            res[name] = (rows / C.median(secs), rows / min(secs))
        results[np.dtype(dtype).name] = res
    return results


def report(results, rows):
    fl = flops_per_sample()
    out = []
    for dtype, res in results.items():
        ours = res["deltaprop (running metrics)"]
        rows_ = []
        for name, sps in res.items():
            if name == "peak":
                continue
            if isinstance(sps, str):
                rows_.append([name, sps, "", "", "", "", ""])
                continue
            gf = [v * fl / 1e9 for v in sps]
            rows_.append([name, f"{sps[0]:,.0f}", f"{sps[1]:,.0f}", f"{gf[0]:.1f} / {gf[1]:.1f}",
                          f"{gf[0] / res['peak']:.2f} / {gf[1] / res['peak']:.2f}",
                          f"{ours[0] / sps[0]:.2f}x", f"{ours[1] / sps[1]:.2f}x"])
        out.append(f"### {dtype}: {rows:,} rows, one epoch, GEMM peak {res['peak']:.0f} GFLOP/s\n")
        out.append(C.table(["library", "samples/s (median)", "samples/s (best)", "GFLOP/s (median / best)",
                            "of GEMM peak", "deltaprop is (median)", "(best)"], rows_))
        out.append("")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    print(C.header("Medium MLP: 784-256-128-10 ReLU + softmax CE, batch 128, SGD"))
    print(f"{flops_per_sample() / 1e6:.3f} MFLOP per training sample (forward + backward).\n")
    print(report(measure(args.rows, args.repeat), args.rows))


if __name__ == "__main__":
    main()
