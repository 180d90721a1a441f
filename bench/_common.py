"""Shared by the benchmarks: the machine's description, timing, synthetic data, tables.

Benchmarks never run in the test suite. Each script prints Markdown tables ready for
docs/benchmarks.md, preceded by the machine, the versions and the command.
"""
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np


def versions():
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for name in ("sklearn", "torch", "deltaprop"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = "not installed"
    from deltaprop import fast
    out["deltaprop C extension"] = "built" if fast.AVAILABLE else "not built"
    return out


def blas():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return "; ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} kernel, {i['num_threads']} threads"
                     for i in threadpool_info() if i["user_api"] == "blas")


def cpu():
    try:
        info = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    return f"{model}, {os.cpu_count()} logical CPUs"


def header(title):
    """The Markdown lines every benchmark starts with: what ran, where, when, with what."""
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS") if k in os.environ}
    lines = [f"## {title}", "",
             f"- command: `{' '.join(['python'] + sys.argv)}`",
             f"- date: {datetime.datetime.now().isoformat(timespec='minutes')}",
             f"- machine: {cpu()}; load average at start {os.getloadavg()[0]:.1f}",
             f"- BLAS: {blas()}; environment: {env or 'no OPENBLAS_* / OMP_* variables set'}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()), ""]
    return "\n".join(lines)


def times(fn, repeat=5, warmup=1, clock=time.perf_counter):
    """Seconds of each of ``repeat`` calls of fn(), after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


def interleaved(fns, repeat=5, warmup=1, clock=time.perf_counter, settle=1.0):
    """{name: [seconds, ...]}: the calls take turns, so a change in the machine's load hits all alike.

    Each round starts one program later than the one before (no program always runs right after
    the same other one), and each call waits ``settle`` seconds first: a library's worker threads
    (PyTorch's OpenMP pool, OpenBLAS's) spin for a while after its call and would slow whatever ran
    next on this 2-CPU machine.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    out = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(settle)
            t0 = clock()
            fns[name]()
            out[name].append(clock() - t0)
    return out


def median(xs):
    return statistics.median(xs)


def table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def mnist_like(m, dtype=np.float32, seed=0, n_in=784, n_classes=10, chunk=4096):
    """MNIST-shaped data made here (no download): pixels in [0, 1), labels from a random linear teacher.

    Made in chunks straight into the result, so making it leaves no temporaries behind.
    """
    rng = np.random.default_rng(seed)
    X, y = np.empty((m, n_in), dtype), np.empty(m, np.int64)
    teacher = rng.standard_normal((n_in, n_classes)).astype(dtype)
    for s in range(0, m, chunk):
        X[s:s + chunk] = rng.random((min(chunk, m - s), n_in), dtype=np.float32)
        y[s:s + chunk] = (X[s:s + chunk] @ teacher).argmax(axis=1)
    return X, y


def gemm_peak(dtype, n=2048, repeat=5):
    """GFLOP/s of an n x n x n matrix product, the best of ``repeat`` (the BLAS's practical peak)."""
    return 2 * n ** 3 / min(times(gemm_call(dtype, n), repeat=repeat)) / 1e9


def gemm_call(dtype, n=2048):
    """A call of an n x n x n matrix product (2 n^3 flops), to time beside other programs."""
    a = np.random.default_rng(0).random((n, n)).astype(dtype)
    return lambda: a @ a


class NumpyMLP:
    """A plain NumPy MLP baseline: ReLU hidden layers, softmax + cross-entropy, mini-batch SGD or Adam.

    Written the way one writes it from a textbook, with no deltaprop code: W (n_out, n_in),
    z = a W^T + b, delta = (p - y) / m at the output, delta = (delta W) * (z > 0) below; Adam as
    Kingma and Ba write it (beta1 0.9, beta2 0.999, eps 1e-8), in place.
    """

    def __init__(self, sizes, dtype=np.float32, seed=0, optimizer="sgd"):
        rng = np.random.default_rng(seed)
        self.W = [(rng.standard_normal((o, i)) * np.sqrt(2 / i)).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(o, dtype) for o in sizes[1:]]
        self.adam = optimizer == "adam"
        self.m = [np.zeros_like(p) for p in self.W + self.b]
        self.v = [np.zeros_like(p) for p in self.W + self.b]
        self.t = 0

    def update(self, params, grads, lr):
        if not self.adam:
            for p, g in zip(params, grads):
                p -= lr * g
            return
        self.t += 1
        step = lr * np.sqrt(1 - 0.999 ** self.t) / (1 - 0.9 ** self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p -= step * m / (np.sqrt(v) + 1e-8)

    def step(self, X, Y, lr):
        acts, zs = [X], []
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            z = acts[-1] @ W.T + b
            zs.append(z)
            acts.append(np.maximum(z, 0) if l < len(self.W) - 1 else z)
        z = zs[-1]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        delta = (p - Y) / len(X)
        dW, db = [None] * len(self.W), [None] * len(self.W)
        for l in range(len(self.W) - 1, -1, -1):
            dW[l], db[l] = delta.T @ acts[l], delta.sum(axis=0)
            if l > 0:
                delta = (delta @ self.W[l]) * (zs[l - 1] > 0)
        self.update(self.W + self.b, dW + db, lr)

    def epoch(self, X, y, batch_size, lr, rng):
        Y = np.eye(self.W[-1].shape[0], dtype=X.dtype)[y]
        order = rng.permutation(len(X))
        for s in range(0, len(X), batch_size):
            idx = order[s:s + batch_size]
            self.step(X[idx], Y[idx], lr)


def torch_epoch(sizes, X, y, lr, batch, optimizer="sgd"):
    """One epoch of a PyTorch eager MLP (ReLU hidden layers, softmax + cross-entropy, plain SGD or
    Adam), the peer both bench_mlp and bench_scaling time; X's dtype picks float32 or float64."""
    import torch
    torch.set_num_threads(2)
    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [torch.nn.Linear(a, b)] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else [])
    model = torch.nn.Sequential(*layers).to(torch.float32 if X.dtype == np.float32 else torch.float64)
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    lossf = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def epoch():
        order = torch.randperm(len(Xt))
        for s in range(0, len(Xt), batch):
            idx = order[s:s + batch]
            opt.zero_grad(set_to_none=True)
            lossf(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    return epoch
