"""Peak memory while training the medium MLP, against what training needs.

    python bench/bench_memory.py [--rows 60000] [--dtype float32]

Needed = data (X, and the one-hot targets fit works on) + parameters + gradients + optimizer state
(none for SGD) + one batch of activations (the batch's inputs, z and a of every layer, the deltas).
Measured = the peak resident set size (RSS, /proc/self/statm, sampled every millisecond by a
thread) while ``fit`` runs, minus the RSS before the data was made (the interpreter, NumPy,
deltaprop and the BLAS's own buffers, warmed up by one matrix product). Linux only.
"""
import argparse
import os
import threading
import time

import numpy as np

import _common as C
import deltaprop as dp

PAGE = os.sysconf("SC_PAGE_SIZE")
SIZES, BATCH = [784, 256, 128, 10], 128


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakRSS:
    def __enter__(self):
        self.peak, self.running = rss(), True
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def _watch(self):
        while self.running:
            self.peak = max(self.peak, rss())
            time.sleep(0.001)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, rss())


def needed(net, X, n_classes, batch):
    item = X.itemsize
    data = X.nbytes + len(X) * n_classes * item
    params = sum(p.nbytes for p in net.weights + net.biases)
    units = sum(net.sizes[1:])
    activations = batch * (net.sizes[0] + 3 * units) * item  # inputs; z, a, delta of every layer
    return {"data": data, "parameters": params, "gradients": params, "optimizer state (SGD)": 0,
            "one batch of activations": activations}


def main(argv=None):
    p = argparse.ArgumentParser(description="peak RSS while training")
    p.add_argument("--rows", type=int, default=60000)
    p.add_argument("--dtype", default="float32")
    args = p.parse_args(argv)
    print(C.header(f"Memory: {'-'.join(map(str, SIZES))} ReLU + softmax CE, batch {BATCH}, {args.rows:,} rows, {args.dtype}"))
    Xs, ys = C.mnist_like(512, np.dtype(args.dtype), seed=1)
    for metrics in ("running", "exact"):  # load every library (BLAS buffers, the C extension) before the baseline
        dp.Network(SIZES, activation="relu", output_activation="softmax", dtype=args.dtype).fit(
            Xs, ys, epochs=1, batch_size=BATCH, verbose=0, train_metrics=metrics)
    del Xs, ys
    base = rss()
    X, y = C.mnist_like(args.rows, np.dtype(args.dtype))
    rows = []
    for metrics in ("running", "exact"):
        net = dp.Network(SIZES, activation="relu", output_activation="softmax", init="he_normal", seed=0, dtype=args.dtype)
        need = needed(net, X, 10, BATCH)
        with PeakRSS() as peak:
            net.fit(X, y, epochs=1, batch_size=BATCH, optimizer=dp.SGD(0.01), loss="cross_entropy", verbose=0, seed=0,
                    train_metrics=metrics)
        used = peak.peak - base
        rows.append([f'fit(..., train_metrics="{metrics}")', f"{sum(need.values()) / 2**20:.1f} MiB",
                     f"{used / 2**20:.1f} MiB", f"{used / sum(need.values()):.3f}"])
    print("Needed, item by item: " + ", ".join(f"{k} {v / 2**20:.2f} MiB" for k, v in need.items()))
    print(f"Baseline RSS before the data (interpreter + libraries): {base / 2**20:.1f} MiB\n")
    print(C.table(["run", "needed", "peak RSS - baseline", "ratio"], rows))


if __name__ == "__main__":
    main()
