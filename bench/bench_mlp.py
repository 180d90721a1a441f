"""Medium MLP throughput: 784-256-128-10 ReLU + softmax cross-entropy, batch 128, plain SGD.

    python bench/bench_mlp.py [--rows 20000] [--repeat 5] [--optimizer sgd|adam]

One epoch over ``rows`` synthetic MNIST-shaped rows (bench/_common.mnist_like), for deltaprop,
a plain NumPy baseline written here, scikit-learn's MLPClassifier and PyTorch eager on the CPU
(2 threads), in float32 and float64; peers that are not installed are skipped and said so.
Reports samples/s (median and best of ``repeat`` epochs; on a shared machine the best is the
least disturbed by other load), the GFLOP/s that makes, and the ratio to the
GEMM peak measured in the same run (a 2048^3 matrix product with the same BLAS, timed in every
round beside the programs; its best round, so that a slow spell of the machine at one moment
does not lower the peak and raise every ratio to it). deltaprop is timed
with train_metrics="running" (the training loss of the batches, as every peer here reports it)
and with the default "exact" (a forward pass over the whole training set after the epoch).
``--optimizer adam`` trains every program with Adam instead (learning rate 0.001, beta1 0.9,
beta2 0.999, eps 1e-8: each library's defaults), the optimizer most training scripts use.

    python bench/bench_mlp.py --breakdown [--rows 20000] [--repeat 5]

Instead: where one training step's time goes, operation by operation (each GEMM with its GFLOP/s
and share of the peak, the elementwise work, the running metrics, the update), for deltaprop and
the plain NumPy baseline, epochs of the two taking turns. deltaprop's step is replayed from its
own parts (the layers' GEMMs written as layers.py writes them, its activations, output delta,
metrics and optimizer), so the times add up to its step less the loop's own bookkeeping.
"""
import argparse
import collections
import time
import warnings

import numpy as np

import _common as C
import deltaprop as dp

SIZES = [784, 256, 128, 10]
BATCH, LR = 128, 0.01
LRS = {"sgd": LR, "adam": 0.001}
PEAK, PEAK_N = "GEMM peak", 2048


def flops_per_sample(sizes=SIZES):
    """Multiply-adds x 2: forward z, backward dW for every layer, dC/da_prev for all but the first."""
    mults = [i * o for i, o in zip(sizes[:-1], sizes[1:])]
    return 2 * (2 * sum(mults) + sum(mults[1:]))


def run_deltaprop(X, y, dtype, metrics, optimizer="sgd"):
    net = dp.Network(SIZES, activation="relu", output_activation="softmax", init="he_normal", seed=0, dtype=dtype)
    seeds, opt = iter(range(10 ** 6)), (dp.Adam if optimizer == "adam" else dp.SGD)(LRS[optimizer])
    return lambda: net.fit(X, y, epochs=1, batch_size=BATCH, optimizer=opt, loss="cross_entropy",
                           seed=next(seeds), verbose=0, train_metrics=metrics)


def run_numpy(X, y, dtype, optimizer="sgd"):
    mlp, rng = C.NumpyMLP(SIZES, dtype, optimizer=optimizer), np.random.default_rng(0)
    return lambda: mlp.epoch(X, y, BATCH, LRS[optimizer], rng)


def run_sklearn(X, y, dtype, optimizer="sgd"):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def epoch():
        clf = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], activation="relu", solver=optimizer, batch_size=BATCH,
                            learning_rate_init=LRS[optimizer], momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                            max_iter=1, shuffle=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    return epoch


def run_torch(X, y, dtype, optimizer="sgd"):
    return C.torch_epoch(SIZES, X.astype(dtype, copy=False), y, LRS[optimizer], BATCH, optimizer)


PEERS = {"plain NumPy": run_numpy, "scikit-learn": run_sklearn, "PyTorch eager": run_torch}


def measure(rows, repeat, optimizer="sgd"):
    results = {}
    for dtype in (np.float32, np.float64):
        X, y = C.mnist_like(rows, dtype)
        res, fns = {}, {PEAK: C.gemm_call(dtype, PEAK_N)}  # timed in every round too: the best round is the peak
        makers = [("deltaprop (running metrics)", lambda X, y, d, o: run_deltaprop(X, y, d, "running", o)),
                  ("deltaprop (exact metrics)", lambda X, y, d, o: run_deltaprop(X, y, d, "exact", o))] + list(PEERS.items())
        for name, make in makers:
            try:
                fns[name] = make(X, y, dtype, optimizer)
            except ImportError as exc:
                res[name] = f"skipped ({exc.name} not installed)"
        for name, secs in C.interleaved(fns, repeat=repeat).items():
            res[name] = 2 * PEAK_N ** 3 / min(secs) / 1e9 if name == PEAK else (rows / C.median(secs), rows / min(secs))
        results[np.dtype(dtype).name] = res
    return results


def report(results, rows):
    fl = flops_per_sample()
    out = []
    for dtype, res in results.items():
        ours = res["deltaprop (running metrics)"]
        rows_ = []
        for name, sps in res.items():
            if name == PEAK:
                continue
            if isinstance(sps, str):
                rows_.append([name, sps, "", "", "", "", ""])
                continue
            gf = [v * fl / 1e9 for v in sps]
            rows_.append([name, f"{sps[0]:,.0f}", f"{sps[1]:,.0f}", f"{gf[0]:.1f} / {gf[1]:.1f}",
                          f"{gf[0] / res[PEAK]:.2f} / {gf[1] / res[PEAK]:.2f}",
                          f"{ours[0] / sps[0]:.2f}x", f"{ours[1] / sps[1]:.2f}x"])
        out.append(f"### {dtype}: {rows:,} rows, one epoch, GEMM peak {res[PEAK]:.0f} GFLOP/s\n")
        out.append(C.table(["library", "samples/s (median)", "samples/s (best)", "GFLOP/s (median / best)",
                            "of GEMM peak", "deltaprop is (median)", "(best)"], rows_))
        out.append("")
    return "\n".join(out)


class StepClock:
    """Seconds spent per named operation, summed over the steps it is used for."""

    def __init__(self):
        self.seconds, self.steps = collections.defaultdict(float), 0

    def __call__(self, name, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        self.seconds[name] += time.perf_counter() - t0
        return out


def numpy_steps(X, Y, dtype, clock):
    """The plain NumPy baseline's step (_common.NumpyMLP.step), one operation at a time; yields per epoch."""
    mlp, rng, L = C.NumpyMLP(SIZES, dtype), np.random.default_rng(0), len(SIZES) - 1
    W, b = mlp.W, mlp.b
    while True:
        order = rng.permutation(len(X))
        for s in range(0, len(X), BATCH):
            idx = order[s:s + BATCH]
            Xb, Yb = clock("gather X[idx], Y[idx]", lambda: (X[idx], Y[idx]))
            acts, zs = [Xb], []
            for l in range(L):
                z = clock(f"GEMM forward {l + 1}", lambda: acts[-1] @ W[l].T)
                zs.append(clock("+ b", lambda: z + b[l]))
                if l < L - 1:
                    acts.append(clock("f(z)", np.maximum, zs[-1], 0))
            p = clock("f(z)", lambda: np.exp(zs[-1] - zs[-1].max(axis=1, keepdims=True)))
            p = clock("f(z)", lambda: p / p.sum(axis=1, keepdims=True))
            delta = clock("output delta", lambda: (p - Yb) / len(Xb))
            for l in range(L - 1, -1, -1):
                dW = clock(f"GEMM dW {l + 1}", lambda: delta.T @ acts[l])
                db = clock("db", lambda: delta.sum(axis=0))
                if l > 0:
                    g = clock(f"GEMM grad_a {l}", lambda: delta @ W[l])
                    delta = clock("delta = grad_a * f'(z)", lambda: g * (zs[l - 1] > 0))
                clock("update", lambda: (W[l].__isub__(LR * dW), b[l].__isub__(LR * db)))
            clock.steps += 1
        yield


def deltaprop_steps(X, Y, dtype, clock):
    """deltaprop's step (training._run_epoch with running metrics), replayed from its parts; yields per epoch."""
    from deltaprop.losses import output_delta
    from deltaprop.training import _add_batch_sums
    net = dp.Network(SIZES, activation="relu", output_activation="softmax", init="he_normal", seed=0, dtype=dtype)
    loss, opt, rng, sums, trained = net.resolve_loss("cross_entropy"), dp.SGD(LR), np.random.default_rng(0), [0.0] * 3, []
    while True:
        order = rng.permutation(len(X))
        for s in range(0, len(X), BATCH):
            idx = order[s:s + BATCH]
            a, Yb = clock("gather X[idx], Y[idx]", lambda: (X[idx], Y[idx]))
            for l, layer in enumerate(net.layers, start=1):  # Dense.forward
                layer.a_prev = a
                z = clock(f"GEMM forward {l}", lambda: a @ layer.W.T)
                layer.z = clock("+ b", lambda: z + layer.b)
                layer.a = a = clock("f(z)", layer.activation, layer.z)
            trained.append((layer.z, a, Yb))
            if len(trained) * BATCH >= 2048:
                clock("running metrics", _add_batch_sums, sums, net, loss, trained, "classification")
                trained.clear()
            delta = clock("output delta", output_delta, layer.activation, loss, layer.z, a, Yb)
            for l in range(len(net.layers), 0, -1):  # Dense.backward and Network._backward
                layer = net.layers[l - 1]
                layer.delta = delta
                f_layout = layer.W.flags.f_contiguous
                layer.dW = clock(f"GEMM dW {l}", lambda: (layer.a_prev.T @ delta).T if f_layout else delta.T @ layer.a_prev)
                layer.db = clock("db", lambda: delta.sum(axis=0))
                if l > 1:
                    g = clock(f"GEMM grad_a {l - 1}", lambda: delta @ layer.W)
                    below = net.layers[l - 2]
                    delta = clock("delta = grad_a * f'(z)", below.activation.backward, below.z, below.a, g)
            clock("update", lambda: opt.step(net.params_and_grads()))
            clock.steps += 1
        yield


def gemm_flops(name):
    """2 m n_in n_out for the GEMM called ``name`` ("GEMM forward 2" ...), else None."""
    if not name.startswith("GEMM"):
        return None
    l = int(name.split()[-1])
    n_in, n_out = (SIZES[l], SIZES[l + 1]) if "grad_a" in name else (SIZES[l - 1], SIZES[l])
    return 2 * BATCH * n_in * n_out


def breakdown(rows, repeat):
    out = []
    for dtype in (np.float32, np.float64):
        X, y = C.mnist_like(rows, dtype)
        Y = np.eye(SIZES[-1], dtype=dtype)[y]
        peak = C.gemm_peak(dtype)
        clocks = {"plain NumPy": StepClock(), "deltaprop": StepClock()}
        runs = [numpy_steps(X, Y, dtype, clocks["plain NumPy"]), deltaprop_steps(X, Y, dtype, clocks["deltaprop"])]
        for epoch in range(repeat + 1):  # the first epoch warms up and is not counted
            for run, clock in zip(runs, clocks.values()):
                if epoch == 1:
                    clock.seconds.clear(), setattr(clock, "steps", 0)
                next(run)
        names = sorted(set().union(*(c.seconds for c in clocks.values())), key=lambda n: (not n.startswith("GEMM"), n))
        rows_ = []
        for name in names + ["total"]:
            us = [(sum(c.seconds.values()) if name == "total" else c.seconds.get(name, 0.0)) / c.steps * 1e6
                  for c in clocks.values()]
            fl = gemm_flops(name)
            share = [f"{fl / (t * 1e3) / peak:.2f}" if fl and t else "" for t in us]
            rows_.append([name] + [f"{t:.1f}" for t in us] + share)
        out.append(f"### {np.dtype(dtype).name}: microseconds per step of {BATCH} rows, mean of {repeat} epochs "
                   f"(GEMM peak {peak:.0f} GFLOP/s)\n")
        out.append(C.table(["operation", "plain NumPy (us)", "deltaprop (us)", "NumPy: of GEMM peak",
                            "deltaprop: of GEMM peak"], rows_))
        out.append("")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--optimizer", choices=sorted(LRS), default="sgd", help="every program's optimizer (default: sgd)")
    p.add_argument("--breakdown", action="store_true", help="time one training step operation by operation (SGD)")
    args = p.parse_args(argv)
    if args.breakdown and args.optimizer != "sgd":
        p.error("--breakdown times the SGD step only")
    name = {"sgd": "SGD", "adam": "Adam"}[args.optimizer]
    print(C.header(f"Medium MLP: 784-256-128-10 ReLU + softmax CE, batch 128, {name} (learning rate {LRS[args.optimizer]})"))
    print(f"{flops_per_sample() / 1e6:.3f} MFLOP per training sample (forward + backward).\n")
    print(breakdown(args.rows, args.repeat) if args.breakdown
          else report(measure(args.rows, args.repeat, args.optimizer), args.rows))


if __name__ == "__main__":
    main()
