"""Many small networks at once: K same-shape networks trained in one pass of the compiled kernel.

Ten seeds of the Iris demo are ten 4-5-3 networks of 43 parameters each; trained one after the
other, each pays Python's per-epoch bookkeeping (300 kernel calls, logs, histories). Here one call
of :func:`deltaprop.fast.train` runs every epoch of every network (their parameters side by side,
one row of ``theta`` each), and the histories are built afterwards. Each network gets exactly the
numbers ``fit`` would give it: the same row orders (drawn from its own ``seed``), the same steps,
the same per-epoch evaluation.

Without the C extension, or for settings the kernel does not run, the networks are simply trained one by one.
"""
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import fast
from .optimizers import SGD
from .recipes import LABELS, RUNS, DemoResult
from .training import History, _check_settings, _kernel_logs, infer_task, prepare_targets

STACKABLE = {"batch_size", "optimizer", "loss", "shuffle", "seed", "validation_data", "l2", "train_metrics"}


def run_seeds(recipe, seeds, epochs=300, **kwargs):
    """The recipe ("faithful" or "default") for every seed: DemoResults equal to the recipe's own."""
    make = RUNS[recipe] if isinstance(recipe, str) else recipe
    runs = [make(seed, **kwargs) for seed in seeds]
    histories = train_many(runs, epochs)
    name = recipe if isinstance(recipe, str) else make.__name__.removesuffix("_run")
    return [DemoResult(r.network, h, name, seed, list(LABELS), r.scaler) for r, h, seed in zip(runs, histories, seeds)]


def train_many(runs, epochs):
    """Train every :class:`~deltaprop.recipes.Run` for ``epochs``; returns their Histories, in order."""
    if not _stackable(runs):
        return [r.network.fit(*r.data, epochs=epochs, verbose=0, **r.settings) for r in runs]
    t0 = time.perf_counter()
    jobs = [_prepare(r, epochs) for r in runs]
    net0, loss, batch = runs[0].network, jobs[0]["loss"], jobs[0]["batch"]
    spec, P, width = fast.layout(net0.layers)
    theta = np.stack([np.concatenate([a.ravel() for l in r.network.layers for a in (l.W, l.b)]) for r in runs])
    X, Y, Xv, Yv = (np.stack([j[key] for j in jobs]) for key in ("X", "Y", "Xv", "Yv"))
    orders = np.stack([j["orders"] for j in jobs])
    lrs = np.array([[j["lr"]] * epochs for j in jobs])
    results, status = np.zeros((len(runs), epochs, 7)), np.zeros(len(runs), np.int64)
    code, l2, running = fast.LOSS_CODES[loss.name], jobs[0]["l2"], jobs[0]["running"]
    tasks = _tasks(len(runs), fast.side_by_side(net0, loss, batch))

    def train(task):
        """The networks c (a slice) in one kernel call, side by side or one after another; the calls
        of different tasks run at once."""
        c, side = task
        data = (X[c], Y[c], orders[c]) + ((lrs[c], l2, Xv[c], Yv[c]) if side else (batch, lrs[c], l2, Xv[c], Yv[c]))
        if side:
            th = np.ascontiguousarray(theta[c].T)
            fast.train_side_by_side(th, spec, code, *data, results[c], status[c], running)
            theta[c] = th.T
        else:
            scratch = [np.zeros(P, net0.dtype)] + [np.zeros((batch, width), net0.dtype) for _ in range(3)]
            fast.train(theta[c], spec, code, *data, *scratch, results[c], status[c], running)
    threads = min(len(tasks), fast.cores())
    if threads == 1:
        for task in tasks:
            train(task)
    else:  # the kernel lets go of the GIL: one thread a core
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(train, tasks))
    seconds = (time.perf_counter() - t0) / (epochs * len(runs))
    histories = []
    for k, (run, job) in enumerate(zip(runs, jobs)):
        if status[k]:  # it blew up: let fit train it alone and report the divergence its own way
            histories.append(run.network.fit(*run.data, epochs=epochs, verbose=0, **run.settings))
            continue
        _unpack(theta[k], run.network)
        histories.append(_history(run.network, job, results[k], seconds))
    return histories


def _tasks(K, side):
    """[(slice of the K networks, side by side?), ...] for the kernel calls. Side by side (SIMD across
    networks) pays where a block of BLOCK lanes is more than half full: each whole block is a call,
    and the rest too if it fills more than half a block; fewer networks than that run one after
    another (the per-sample kernel keeps one network in registers), spread over the cores when
    nothing else is."""
    B, cores = fast.BLOCK, fast.cores()
    full = K // B if side else 0
    tasks = [(slice(i * B, (i + 1) * B), True) for i in range(full)]
    rest = range(full * B, K)
    if side and len(rest) > B // 2:
        return tasks + [(slice(rest.start, K), True)]
    n = max(1, min(cores - len(tasks), len(rest))) if len(tasks) < cores else 1
    bounds = np.linspace(rest.start, K, n + 1).round().astype(int).tolist()
    return tasks + [(slice(a, b), False) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _stackable(runs):
    """One kernel call can train them: the extension built, same shape and settings it runs, plain SGD."""
    if not fast.AVAILABLE or not runs:
        return False
    first = runs[0]
    for r in runs:
        opt, net = r.settings.get("optimizer"), r.network
        if set(r.settings) - STACKABLE or not isinstance(opt, SGD) or type(opt) is not SGD \
                or r.settings.get("train_metrics", "exact") not in ("exact", "running"):
            return False
        if fast.unsupported(net, net.resolve_loss(r.settings.get("loss", "squared_error")), opt):
            return False
        same = (net.sizes, net.activations, net.dtype, [l.frozen for l in net.layers]) == \
               (first.network.sizes, first.network.activations, first.network.dtype, [l.frozen for l in first.network.layers])
        keys = ("batch_size", "loss", "l2", "train_metrics")
        if not same or any(r.settings.get(k) != first.settings.get(k) for k in keys):
            return False
        if len(r.data[0]) != len(first.data[0]) or _n_val(r) != _n_val(first):
            return False
    return True


def _n_val(run):
    val = run.settings.get("validation_data")
    return -1 if val is None else len(val[0])


def _prepare(run, epochs):
    """What fit would train on: checked arrays, one-hot targets, and each epoch's row order."""
    net, s = run.network, run.settings
    loss = net.resolve_loss(s.get("loss", "squared_error"))
    task = infer_task(net, run.data[1], loss.name)
    X = net.check_X(run.data[0])
    Y = net.check_Y(prepare_targets(net, run.data[1], loss.name), len(X))
    rng = np.random.default_rng(s.get("seed"))
    m = len(X)
    orders = np.stack([rng.permutation(m) if s.get("shuffle", True) else np.arange(m) for _ in range(epochs)])
    if s.get("validation_data") is not None:
        Xv = net.check_X(s["validation_data"][0])
        Yv = net.check_Y(prepare_targets(net, s["validation_data"][1], loss.name), len(Xv))
    else:
        Xv, Yv = X[:0], Y[:0]
    batch = _check_settings(epochs, s.get("batch_size", "auto"), m)
    return dict(loss=loss, task=task, X=X, Y=Y, Xv=Xv, Yv=Yv, orders=orders, batch=batch,
                lr=s["optimizer"].learning_rate, l2=float(s.get("l2", 0.0)), validated=s.get("validation_data") is not None,
                running=s.get("train_metrics", "exact") == "running")


def _unpack(p, net):
    for view, param in zip(fast.views(p, net.layers), [a for l in net.layers for a in (l.W, l.b)]):
        param[...] = view


def _history(net, job, results, seconds):
    """The History fit would have recorded, from the kernel's per-epoch sums."""
    history = History()
    monitor = "val_loss" if job["validated"] else "loss"
    columns = _kernel_logs(results, job["Y"], job["Yv"] if job["validated"] else None, job["l2"], job["task"],
                           job["lr"], seconds)
    history.extend(range(1, len(results) + 1), columns)
    score = np.asarray(columns[monitor])
    improved = score < np.inf  # as fit's "score < best so far": the first lowest epoch, none if never finite
    if improved.any():
        history.best_epoch = int(np.argmin(np.where(improved, score, np.inf))) + 1
    return history
