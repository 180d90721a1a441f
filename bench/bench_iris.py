"""The seed's Iris recipe: 4-5-3 sigmoid, per-sample SGD (lr 0.2), squared error, 300 epochs,
130 training rows, validation accuracy after every epoch; training time, warm and cold.

    python bench/bench_iris.py [--repeat 5] [--no-torch] [--no-cold]

Warm: median training time of ``repeat`` runs in this process (data and weights made before the
clock starts, kernels already compiled), the runs of all programs taking turns. Peers:
the seed program in plain Python (bench/seed_program.py), a plain NumPy per-sample program
written here, scikit-learn's MLPClassifier (logistic hidden layer, SGD, batch 1; its output layer
is softmax + log-loss, the nearest it has) and PyTorch eager (same network and loss).
Every program checks it reaches the faithful recipe's final validation accuracy (sklearn's loss
differs, so its accuracy is only shown).

Cold: the wall time of a fresh ``python`` process that imports what it needs, builds the data and
trains once: the seed program versus deltaprop, also with an empty bytecode cache (every module
compiled from source: the very first run after installing, at its worst). deltaprop's compiled
path is a C extension built at install time, so nothing is compiled when it runs.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

import _common as C
import seed_program
from deltaprop import recipes

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCHS, LR, N_TRAIN, SEED = 300, 0.2, 130, 1


def iris_rows():
    rows, rnd = recipes.seed_rows(SEED)
    return rows, rnd


def arrays(rows):
    train, val = rows[:N_TRAIN], rows[N_TRAIN:]
    X, y = np.array([r[:-1] for r in train]), np.array([r[-1] for r in train])
    Xv, yv = np.array([r[:-1] for r in val]), np.array([r[-1] for r in val])
    return X, y, Xv, yv


def seed_python():
    rows, rnd = iris_rows()
    state = {}

    def run():
        network, acc = seed_program.train(rnd_copy(rnd), rows[:N_TRAIN], LR, EPOCHS, 5, rows[N_TRAIN:])
        state["val_accuracy"] = acc[-1] / 100
    return run, state


def rnd_copy(rnd):
    import random
    r = random.Random()
    r.setstate(rnd.getstate())
    return r


def deltaprop_run(engine, train_metrics="running"):
    """The faithful recipe; its training rows' metrics "running" as the recipe logs them, or "exact"
    (a second forward pass over the 130 rows after every epoch, which the seed program does not make)."""
    state = {"fit_seconds": []}

    def run():
        r = recipes.faithful_run(SEED)
        r.settings["train_metrics"] = train_metrics
        t0 = time.perf_counter()
        h = r.network.fit(*r.data, epochs=EPOCHS, verbose=0, engine=engine, **r.settings)
        state["fit_seconds"].append(time.perf_counter() - t0)
        state["val_accuracy"] = h.last("val_accuracy")
    return run, state


def numpy_plain():
    """Per-sample SGD on 1/2 ||a - y||^2 with NumPy vectors, the seed's order and initial weights."""
    rows, rnd = iris_rows()
    X, y, Xv, yv = arrays(rows)
    Y = np.eye(3)[y]
    (W1, b1), (W2, b2) = recipes.seed_init(rnd, 4, 5, 3)
    state = {}

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    def run():
        w1, c1, w2, c2 = W1.copy(), b1.copy(), W2.copy(), b2.copy()
        for _ in range(EPOCHS):
            for x, t in zip(X, Y):
                a1 = sigmoid(w1 @ x + c1)
                a2 = sigmoid(w2 @ a1 + c2)
                d2 = (a2 - t) * a2 * (1 - a2)
                d1 = (w2.T @ d2) * a1 * (1 - a1)
                w2 -= LR * np.outer(d2, a1)
                c2 -= LR * d2
                w1 -= LR * np.outer(d1, x)
                c1 -= LR * d1
            pred = sigmoid(sigmoid(Xv @ w1.T + c1) @ w2.T + c2).argmax(1)
            state["val_accuracy"] = float((pred == yv).mean())
    return run, state


def sklearn_run():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    X, y, Xv, yv = arrays(iris_rows()[0])
    state = {}

    def run():
        clf = MLPClassifier(hidden_layer_sizes=(5,), activation="logistic", solver="sgd", batch_size=1,
                            learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                            max_iter=EPOCHS, shuffle=False, tol=0.0, n_iter_no_change=EPOCHS + 1, random_state=SEED)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        state["val_accuracy"] = clf.score(Xv, yv)
    return run, state


def torch_run():
    import torch
    torch.set_num_threads(2)
    rows, rnd = iris_rows()
    X, y, Xv, yv = arrays(rows)
    (W1, b1), (W2, b2) = recipes.seed_init(rnd, 4, 5, 3)
    Xt, Yt, Xvt = torch.from_numpy(X), torch.from_numpy(np.eye(3)[y]), torch.from_numpy(Xv)
    state = {}

    def run():
        model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 3), torch.nn.Sigmoid()).double()
        with torch.no_grad():
            for layer, W, b in ((model[0], W1, b1), (model[2], W2, b2)):
                layer.weight.copy_(torch.from_numpy(W))
                layer.bias.copy_(torch.from_numpy(b))
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        for _ in range(EPOCHS):
            for i in range(len(Xt)):
                opt.zero_grad(set_to_none=True)
                (0.5 * ((model(Xt[i:i + 1]) - Yt[i:i + 1]) ** 2).sum()).backward()
                opt.step()
            with torch.no_grad():
                state["val_accuracy"] = float((model(Xvt).argmax(1).numpy() == yv).mean())
    return run, state


COLD_SEED = """
import sys, time; t0 = time.perf_counter(); sys.path.insert(0, {here!r})
import seed_program
from deltaprop import recipes
rows, rnd = recipes.seed_rows(1)
seed_program.train(rnd, rows[:130], 0.2, 300, 5, rows[130:])
print(time.perf_counter() - t0)
"""
COLD_DP = """
import time; t0 = time.perf_counter()
from deltaprop import recipes
recipes.faithful(1)
print(time.perf_counter() - t0)
"""


def cold(code, env=None):
    """Wall time of a fresh interpreter running ``code`` (start-up included)."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - t0, float(out.stdout.split()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description="Iris recipe training time")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--no-cold", action="store_true")
    args = p.parse_args(argv)
    print(C.header("Seed Iris recipe: training time"))
    reference = recipes.faithful(SEED).val_accuracy
    programs = {"seed program, pure Python": seed_python(), "deltaprop, compiled engine (auto)": deltaprop_run("auto"),
                "deltaprop, compiled, train_metrics exact": deltaprop_run("auto", "exact"),
                "deltaprop, engine numpy": deltaprop_run("numpy"), "plain NumPy, per sample": numpy_plain()}
    for name, make in (("scikit-learn MLPClassifier", sklearn_run), ("PyTorch eager", torch_run)):
        if name.startswith("PyTorch") and args.no_torch:
            print(f"- {name}: skipped (--no-torch)")
            continue
        try:
            programs[name] = make()
        except ImportError as exc:
            print(f"- {name}: skipped ({exc.name} not installed)")
    secs = C.interleaved({k: fn for k, (fn, _) in programs.items()}, repeat=args.repeat)
    seed = secs["seed program, pure Python"]
    rows = []
    for name, (fn, state) in programs.items():
        ts = state["fit_seconds"][-args.repeat:] if "fit_seconds" in state else secs[name]  # fit alone, setup excluded
        t, best = C.median(ts), min(ts)
        steps = EPOCHS * N_TRAIN
        ok = "scikit" in name or state["val_accuracy"] == reference
        rows.append([name, f"{t * 1e3:.1f} ms", f"{best * 1e3:.1f} ms", f"{t / steps * 1e6:.2f} µs",
                     f"{C.median(seed) / t:.1f}x", f"{min(seed) / best:.1f}x",
                     f"{state['val_accuracy']:.2f}" + ("" if ok else " (differs!)")])
    print(f"\nWarm, {args.repeat} runs each, taking turns (faithful recipe's validation accuracy: {reference:.2f}):\n")
    print(C.table(["program", "training time (median)", "(best)", "per step (median)", "speed-up over the seed (median)",
                   "(best)", "val accuracy"], rows))
    if not args.no_cold:
        cold_rows = []
        for name, code in (("seed program, pure Python", COLD_SEED.format(here=HERE)), ("deltaprop (faithful recipe)", COLD_DP)):
            warm_pyc = [cold(code) for _ in range(args.repeat)]
            empty_pyc = []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as empty:  # no bytecode: every module compiled from source
                    empty_pyc.append(cold(code, dict(os.environ, PYTHONPYCACHEPREFIX=empty)))
            cold_rows.append([name] + [f"{C.median([r[i] for r in runs]):.3f} s" for runs in (warm_pyc, empty_pyc) for i in (0, 1)])
        print(f"\nCold: a fresh process, imports + data + training, median of {args.repeat} (process wall time; "
              "in-process time from the first import). deltaprop compiles nothing at run time, so its first run is like "
              "any other; the last two columns also recompile the bytecode of every Python module (Python's, NumPy's, "
              "deltaprop's) from source:\n")
        print(C.table(["program", "process wall time", "from first import", "no bytecode cache: wall", "from first import"],
                      cold_rows))


if __name__ == "__main__":
    main()
