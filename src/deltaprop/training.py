"""The training loop: mini-batch gradient descent over epochs, returning a History.

``fit`` only organises the work (batches, validation, callbacks); every number comes from
``Network._forward`` / ``_backward`` and the optimizer. Batch size 1 is the seed's per-sample SGD,
``batch_size=None`` is full-batch gradient descent.
"""
import json
import math
import signal
import threading
import time
from contextlib import contextmanager

import numpy as np

from .callbacks import ProgressBar, _rows
from .errors import ConfigError, DataError, ShapeError, TrainingDiverged, choose
from .network import as_array, check_l2, make_rng
from .optimizers import _check as check_rate, get_optimizer

CLASSIFICATION_LOSSES = ("cross_entropy", "binary_cross_entropy")
DIVERGED = 1e8  # |w| beyond this means the weights exploded, whatever the loss says yet


class History:
    """Per-epoch records, Keras-style: ``history.history["val_loss"][e]``; ``history.epoch``.

    ``best_epoch`` is the epoch of the lowest val_loss (loss without validation rows), or the one
    EarlyStopping chose and restored; without EarlyStopping the network keeps its last weights."""

    def __init__(self):
        self.history, self.epoch = {}, []
        self.stopped_early, self.best_epoch, self.stop_reason = False, None, "completed"
        self.diverged = self.interrupted = False

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def extend(self, epochs, columns):
        """Several epochs at once: ``columns[key]`` holds one value per epoch of ``epochs``."""
        self.epoch.extend(epochs)
        for key, values in columns.items():
            self.history.setdefault(key, []).extend(values)

    def __getitem__(self, key):
        return self.history[key]

    def last(self, key, default=None):
        values = self.history.get(key)
        return values[-1] if values else default

    def to_dict(self):
        return {"epoch": self.epoch, **self.history, "best_epoch": self.best_epoch,
                "stopped_early": self.stopped_early, "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, d):
        """The History that :meth:`to_dict` wrote (e.g. from a checkpoint)."""
        h = cls()
        h.epoch = list(d.get("epoch", []))
        h.history = {k: list(v) for k, v in d.items() if isinstance(v, list) and k != "epoch"}
        h.best_epoch, h.stopped_early = d.get("best_epoch"), bool(d.get("stopped_early", False))
        return h

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), **kwargs)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


# ---- metrics -------------------------------------------------------------------------------------
def accuracy(A, Y):
    """Share of rows whose predicted class is the true one (argmax; first index wins ties)."""
    if A.shape[1] == 1:
        return float(((A[:, 0] >= 0.5) == (Y[:, 0] >= 0.5)).mean())
    return float((A.argmax(axis=1) == Y.argmax(axis=1)).mean())


def regression_metrics(A, Y):
    """RMSE and R^2 over all outputs."""
    err = A - Y
    rmse = float(np.sqrt((err ** 2).mean()))
    ss_tot = float(((Y - Y.mean(axis=0)) ** 2).sum())
    r2 = 1 - float((err ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    return {"rmse": rmse, "r2": r2}


def _evaluate(net, loss, X, Y, l2, task, chunk=2048):
    """Loss and metrics of the whole set (in chunks, so memory stays one batch's worth)."""
    total, outs = 0.0, []
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported as divergence below
        for start in range(0, len(X), chunk):
            total += _chunk_loss(net, loss, X[start:start + chunk], Y[start:start + chunk], outs, len(X) > chunk)
    A = np.concatenate(outs) if len(outs) > 1 else outs[0]
    C = total / len(X) + (0.5 * l2 * sum(float((w ** 2).sum()) for w in net.weights) if l2 else 0.0)
    metrics = {"accuracy": accuracy(A, Y)} if task == "classification" else regression_metrics(A, Y)
    return {"loss": C, **metrics}


def _chunk_loss(net, loss, X, Y, outs, keep_copy):
    A = net._forward(X)
    out = net.layers[-1]
    outs.append(A.copy() if keep_copy else A)
    return float(loss.value(out.activation, out.z, A, Y).sum())


# ---- targets -------------------------------------------------------------------------------------
def prepare_targets(net, Y, loss_name):
    """Targets as (m, n_out): class labels 0..k-1 become one-hot rows when the network has k outputs.

    NaN and inf are left for ``check_Y`` to report; targets a cross-entropy cannot take are refused here.
    """
    Y = as_array(Y, "Y")
    if Y.dtype.kind not in "biuf":
        raise DataError(f"Network.fit needs numeric targets (class codes 0..k-1, one-hot rows or values); "
                        f"received an array of dtype {Y.dtype}; for class names use deltaprop.Model")
    n_out = net.layers[-1].n_out
    if Y.ndim == 1 and n_out > 1:
        Y = _one_hot(Y, n_out, net.dtype)
    if loss_name in CLASSIFICATION_LOSSES:
        _check_unit_interval(Y, loss_name, n_out)
    return Y


def _one_hot(labels, k, dtype):
    bad = np.flatnonzero(~np.isin(labels, np.arange(k)))  # NaN, 1.5, -1 and k alike
    if len(bad):
        raise DataError(f"expected class labels 0..{k - 1} (or one-hot rows) for a network with {k} outputs; "
                        f"received {labels[bad[0]].item()!r} (row {bad[0]})")
    return np.eye(k, dtype=dtype)[labels.astype(int)]


def _check_unit_interval(Y, loss_name, n_out):
    """-y log a - (1 - y) log(1 - a) is unbounded below for a target y outside [0, 1]: training
    would push the loss to -inf instead of fitting. Soft labels (any values in [0, 1]) are fine."""
    if not ((Y < 0) | (Y > 1)).any():  # NaN compares False: check_Y reports it
        return
    low, high = np.nanmin(Y).item(), np.nanmax(Y).item()
    labels = n_out == 1 and low >= 0 and float(high).is_integer()
    hint = f" (class labels 0..{high:g} need {int(high) + 1} outputs, one per class)" if labels else ""
    raise DataError(f"loss {loss_name!r} needs targets between 0 and 1 (0/1 codes, one-hot rows or "
                    f"probabilities); received values from {low!r} to {high!r}{hint}")


def infer_task(net, Y, loss_name, task="auto"):
    if task != "auto":
        return choose_task(task)
    if loss_name in CLASSIFICATION_LOSSES or net.layers[-1].activation.name == "softmax":
        return "classification"
    Y = np.asarray(Y)
    one_hot = Y.ndim == 2 and Y.shape[1] > 1 and np.isin(Y, (0, 1)).all() and (Y.sum(axis=1) == 1).all()
    labels = Y.ndim == 1 and net.layers[-1].n_out > 1
    return "classification" if one_hot or labels else "regression"


def choose_task(task):
    if task not in ("classification", "regression"):
        raise ConfigError(f"task must be 'classification', 'regression' or 'auto'; received {task!r}")
    return task


# ---- the loop --------------------------------------------------------------------------------------
class FitState:
    """What callbacks can see and change while training runs.

    ``interrupt`` asks the loop to stop after the current step (a Ctrl-C handler sets it);
    :meth:`resume_point` says where a resumed run must pick up so that it reaches the same weights.
    """

    def __init__(self, net, model, optimizer, epochs):
        self.net, self.model, self.optimizer, self.epochs = net, model, optimizer, epochs
        self.epoch, self.stop, self.stop_reason = 0, False, None
        self.history = History()
        self.rng = None
        self.interrupt = self.in_epoch = False
        self.batch = self.skip = 0  # steps done in the current epoch; steps to skip when resuming
        self.epoch_rng = None  # the generator's state when the current epoch began
        self.best_params, self.clean_interrupt = None, True
        self.stopped_params = None  # the weights training stopped with, once end_with has put others back
        self.early_best = None  # (epoch, weights + biases) of EarlyStopping's best so far, kept in checkpoints
        self.compiled = self.batched = None  # the compiled engine's trainers (fast.Trainer, fast.Batched), if used

    def end_with(self, params, epoch=None):
        """Put ``params`` (weights + biases) back as the weights fit ends with (EarlyStopping's best
        epoch). The weights training stopped with are kept aside, and a Checkpoint saved later saves
        those (:meth:`stopped_weights`): a resumed run goes on from them."""
        if self.stopped_params is None:
            self.stopped_params = [p.copy() for p in self.net.weights + self.net.biases]
        _restore(self.net, params)
        if epoch is not None:
            self.history.best_epoch = epoch

    @contextmanager
    def stopped_weights(self):
        """The network holds the weights training stopped with inside the block (for a checkpoint)."""
        if self.stopped_params is None:
            yield
            return
        kept = [p.copy() for p in self.net.weights + self.net.biases]
        _restore(self.net, self.stopped_params)
        try:
            yield
        finally:
            _restore(self.net, kept)

    def resume_point(self):
        """(epoch to run next, steps of it already done, generator state at that epoch's start)."""
        if self.in_epoch:
            return {"epoch": self.epoch, "batch": self.batch, "rng": self.epoch_rng}
        return {"epoch": self.epoch + 1, "batch": 0, "rng": self.rng.bit_generator.state}


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C after a whole step; ``history`` and ``state`` say where."""


@contextmanager
def _interrupt_handler(state, enabled):
    """While training, a first Ctrl-C asks for a clean stop after the current step; a second one
    interrupts at once. Only in the main thread, where Python delivers signals."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def ask_to_stop(signum, frame):
        state.interrupt = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, ask_to_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _batches(m, batch_size, rng, shuffle, skip=0):
    order = rng.permutation(m) if shuffle else np.arange(m)
    for start in range(skip * batch_size, m, batch_size):
        yield order[start:start + batch_size] if shuffle else slice(start, start + batch_size)


def _check_settings(epochs, batch_size, m):
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ConfigError(f"epochs must be a positive integer; received {epochs!r}")
    if batch_size is None:
        return m
    if batch_size == "auto":
        return min(32, m)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer (or None for the full batch); received {batch_size!r}")
    if batch_size > m:
        raise ConfigError(f"batch_size {batch_size} is larger than the {m} training rows; use at most {m} (or None for the full batch)")
    return int(batch_size)


def fit(net, X, Y, epochs=100, batch_size="auto", optimizer="sgd", learning_rate=None, loss="squared_error",
        l2=0.0, lr_schedule=None, shuffle=True, seed=None, validation_data=None, validation_fraction=0.0,
        callbacks=(), verbose="auto", task="auto", model=None, initial_epoch=0, engine="auto",
        train_metrics="exact", resume=None, catch_interrupt=False):
    """Train ``net`` on (X, Y) by mini-batch gradient descent; returns a :class:`History`.

    Y holds class labels (0..k-1), one-hot rows, or real values. ``batch_size`` "auto" is
    min(32, m); 1 is the seed's per-sample SGD; None is the full batch. ``validation_data`` is (X_val, Y_val);
    or ``validation_fraction`` holds out that share of the rows (a random split from ``seed``).
    ``lr_schedule(epoch, lr0) -> lr`` sets the learning rate of each epoch. Callbacks see the state
    (see :mod:`deltaprop.callbacks`); ``verbose`` is 0 (silent), 1 (final summary), 2 (progress bar)
    or "auto" (a bar on a terminal, else a summary). ``engine`` is "numpy" (the equations of
    :mod:`deltaprop.layers`, step by step), "compiled" (the C kernels of :mod:`deltaprop.fast`: whole
    epochs in C for a small network trained with plain SGD, else BLAS products with fused elementwise
    passes, for the built-in optimizers) or "auto" (compiled wherever it can run); both engines give
    the same numbers. ``train_metrics`` "exact" evaluates the whole training set after each
    epoch; "running" logs the mean over the epoch's batches as they were trained (what Keras and
    scikit-learn report), which saves a forward pass over the data each epoch.

    ``catch_interrupt`` makes Ctrl-C stop cleanly after the current step (callbacks still run, so a
    :class:`~deltaprop.callbacks.Checkpoint` saves) and raise :class:`TrainingInterrupted`.
    ``resume`` is the ``checkpoint`` of :func:`deltaprop.io.load_checkpoint`: called with the same
    data and settings, training continues where the checkpoint was taken and reaches the same
    weights as a run that was never interrupted.
    """
    loss_obj = net.resolve_loss(loss)
    Y = prepare_targets(net, Y, loss_obj.name)  # labels become one-hot rows, which infer_task reads alike
    task = infer_task(net, Y, loss_obj.name, task)
    X = net.check_X(X)
    Y = net.check_Y(Y, len(X))
    callbacks = _check_callbacks(callbacks)
    if lr_schedule is not None and not callable(lr_schedule):
        raise ConfigError(f"lr_schedule must be a function (epoch, lr0) -> learning rate; received {lr_schedule!r}")
    rng = make_rng(seed)
    if validation_data is None and validation_fraction:
        from .data import split_indices
        train, val = split_indices(Y.argmax(axis=1) if task == "classification" and Y.shape[1] > 1 else Y[:, 0],
                                   validation_fraction, seed=rng.integers(2**32), stratify=task == "classification")
        validation_data, X, Y = (X[val], Y[val]), X[train], Y[train]
    if validation_data is not None:
        Xv = net.check_X(validation_pair(validation_data)[0])
        Yv = net.check_Y(prepare_targets(net, validation_data[1], loss_obj.name), len(Xv))
        validation_data = (Xv, Yv)
    batch_size = _check_settings(epochs, batch_size, len(X))
    l2 = check_l2(l2)
    opt = get_optimizer(optimizer, learning_rate)
    if opt.state is not None and opt.trained not in (None, _frozen(net)):
        opt.reset()  # other parameters are trained than in its last fit: a fresh start, not their moments
    _check_optimizer_state(opt, net, f"the state of {opt!r} (from an earlier fit)", same_count=False)
    state = FitState(net, model, opt, epochs)
    state.rng, state.loss_name = rng, loss_obj.name
    state.running = choose("train_metrics", train_metrics, {"exact": False, "running": True})
    state.task = task
    state.trainers = lambda: _compiled_trainer(engine, net, loss_obj, opt, batch_size, X, Y, validation_data, state.running)
    state.compiled, state.batched = state.trainers()
    state.frozen = opt.trained = _frozen(net)
    if resume is not None:
        initial_epoch = _resume(state, resume)
    callbacks = callbacks + [ProgressBar(verbose)]
    with _interrupt_handler(state, catch_interrupt):
        return _loop(state, X, Y, loss_obj, l2, batch_size, shuffle, lr_schedule, validation_data, callbacks, task, initial_epoch)


def _resume(state, checkpoint):
    """Put the optimizer, generator and history back as the checkpoint left them; the first epoch to run."""
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("resume"), dict):
        raise ConfigError(f"resume takes the checkpoint that deltaprop.io.load_checkpoint returns; received "
                          f"{type(checkpoint).__name__}{' without a resume point' if isinstance(checkpoint, dict) else ''}")
    point, opt = checkpoint["resume"], state.optimizer
    was = (checkpoint.get("optimizer") or {}).get("name", opt.name)
    if was != opt.name:
        raise ConfigError(f"resume: the checkpoint's run used optimizer {was!r}; received {opt.name!r} "
                          f"(resume with the same optimizer, or start a new run)")
    best, params = checkpoint.get("best_params"), state.net.weights + state.net.biases
    if best is not None and [np.shape(a) for a in best] != [p.shape for p in params]:
        raise ConfigError(f"resume: the checkpoint's weights are shaped {[np.shape(a) for a in best[:len(best) // 2]]}; "
                          f"received {state.net!r} (resume the model or network that load_checkpoint returned)")
    opt.t = int(checkpoint.get("t", 0))
    arrays = checkpoint.get("optimizer_state")
    if arrays:
        opt.state = [tuple(s) if len(s) > 1 else s[0] for s in arrays]
        _check_optimizer_state(opt, state.net, "the checkpoint's optimizer state", hint="resume the model or network "
                               "that load_checkpoint returned")
    state.rng.bit_generator.state = point["rng"]
    state.history = History.from_dict(checkpoint.get("history", {}))
    state.skip = int(point["batch"])
    if state.skip and state.epochs <= int(point["epoch"]):
        raise ConfigError(f"resume: the checkpoint is {state.skip} steps into epoch {int(point['epoch']) + 1}; "
                          f"expected epochs={int(point['epoch']) + 1} or more to finish it; received {state.epochs}")
    if state.epochs < int(point["epoch"]):
        raise ConfigError(f"resume: the checkpoint's run has trained {int(point['epoch'])} epochs; expected "
                          f"epochs={int(point['epoch'])} or more; received {state.epochs}")
    state.best_params = checkpoint.get("best_params")
    state.early_best = checkpoint.get("early_best")
    return state.epochs if state.history.stopped_early else int(point["epoch"])  # (stopped early: nothing left)


def _check_optimizer_state(opt, net, what, same_count=True, hint="use a new optimizer, or call its reset()"):
    """An optimizer's state (velocities, moments) must fit the network's trained parameters one to one
    (with ``same_count`` False, a state for another number of parameters is allowed: step() renews it)."""
    want = [p.shape for p, _ in net.params_and_grads()]
    if opt.state is None or (not same_count and len(opt.state) != len(want)):
        return
    have = [tuple(a.shape for a in (s if isinstance(s, tuple) else (s,)) if a is not None) for s in opt.state]
    if len(have) != len(want) or any(shapes and set(shapes) != {shape} for shapes, shape in zip(have, want)):
        raise ConfigError(f"{what} does not fit this network: state for {len(have)} parameter(s) shaped "
                          f"{[s[0] if s else None for s in have]}; the network trains {len(want)} shaped {want} "
                          f"({hint})")


ENGINES = ("auto", "numpy", "compiled")


def _compiled_trainer(engine, net, loss, opt, batch_size, X, Y, validation_data, running):
    """(fast.Trainer, None) for a small network, (None, fast.Batched) for a larger one, when the
    compiled engine is asked for or chosen by "auto"; (None, None) for the NumPy engine."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; expected one of: {', '.join(ENGINES)}")
    if engine == "numpy":
        return None, None
    from . import fast
    if fast.is_small(net, batch_size) and not fast.unsupported(net, loss, opt):
        return fast.Trainer(net, loss, batch_size, X, Y, validation_data, running), None
    why = fast.unsupported(net, loss, opt, batched=True)  # any size, the other optimizers too
    if engine == "compiled" and why:
        raise ConfigError(f"engine 'compiled' cannot train this: {why}; use engine='numpy' or 'auto'")
    return (None, None) if why else (None, fast.Batched(net, loss, batch_size))


def validation_pair(data):
    """``data`` if it is a pair (X_val, Y_val)."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        size = f" of {len(data)} item{'s' * (len(data) != 1)}" if isinstance(data, (tuple, list)) else ""
        raise ConfigError(f"validation_data must be a pair (X_val, Y_val); received a {type(data).__name__}{size}")
    return data


def _check_callbacks(callbacks):
    """``callbacks`` as a list of objects with the three hooks."""
    try:
        callbacks = list(callbacks)
    except TypeError:
        raise ConfigError(f"callbacks must be a list of Callback objects; received {callbacks!r}") from None
    for cb in callbacks:
        if not all(callable(getattr(cb, hook, None)) for hook in ("on_train_begin", "on_epoch_end", "on_train_end")):
            raise ConfigError(f"callbacks must be Callback objects (with on_train_begin, on_epoch_end and "
                              f"on_train_end); received {cb!r}")
    return callbacks


def _scheduled_rate(lr_schedule, epoch, lr0):
    """lr_schedule(epoch, lr0), held to the rule every optimizer holds its learning rate to."""
    try:
        lr = lr_schedule(epoch, lr0)
    except TypeError as exc:
        if "positional argument" not in str(exc):
            raise
        raise ConfigError(f"lr_schedule is called as lr_schedule(epoch, lr0) and returns the rate; it refused "
                          f"those arguments ({exc})") from None
    try:
        return check_rate("learning_rate", lr.item() if isinstance(lr, np.generic) else lr, 0, math.inf)
    except ConfigError as exc:
        raise ConfigError(f"lr_schedule({epoch}, {lr0!r}) returned a bad learning rate: {exc}") from None


def _loop(state, X, Y, loss, l2, batch_size, shuffle, lr_schedule, validation_data, callbacks, task, initial_epoch):
    net, lr0 = state.net, state.optimizer.learning_rate
    monitor = "val_loss" if validation_data is not None else "loss"
    past = state.history.history.get(monitor)
    best_score = min(past) if past else math.inf
    state.best_params = state.best_params or [p.copy() for p in net.weights + net.biases]  # to fall back on
    for cb in callbacks:
        cb.on_train_begin(state)
    epoch = initial_epoch
    try:
        while epoch < state.epochs and not state.stop:  # (a callback may stop before the first epoch)
            _follow_freezes(state)
            if lr_schedule is not None:
                state.optimizer.learning_rate = _scheduled_rate(lr_schedule, epoch, lr0)
            if state.compiled is not None and not state.skip:  # (a resumed mid-epoch start runs in NumPy)
                span = _span(state, callbacks, lr_schedule, epoch)
                done, best, error = _compiled_epochs(state, epoch, span, X, Y, l2, task, validation_data, shuffle,
                                                     monitor, best_score)
            else:
                done, best, error = [_epoch(state, epoch, X, Y, loss, l2, batch_size, shuffle, validation_data, task)], None, None
            for logs in done:
                epoch += 1
                if logs[monitor] < best_score:
                    best_score, state.history.best_epoch = logs[monitor], epoch
                    state.best_params = best or [p.copy() for p in net.weights + net.biases]
                for cb in callbacks:
                    cb.on_epoch_end(state, epoch, logs)
                    _follow_freezes(state)  # (before a Checkpoint after it saves the optimizer)
            if error is not None:
                raise error
            if state.interrupt:
                raise TrainingInterrupted()
            if state.stop:
                break
    except TrainingDiverged as exc:
        _restore(net, state.best_params)
        state.stop_reason = f"training diverged in epoch {state.epoch + 1}: {exc}; " + ADVICE.format(lr=state.optimizer.learning_rate)
        state.history.diverged = True
    except KeyboardInterrupt as exc:
        state.clean_interrupt = isinstance(exc, TrainingInterrupted)  # else a step may be half done
        where = f"in epoch {state.epoch + 1} after {state.batch} steps" if state.in_epoch else f"after epoch {state.epoch + 1}"
        state.stop_reason = f"interrupted {where}"
        state.history.interrupted = True
    except Exception as exc:  # (a callback's, a schedule's): the error itself follows the summary
        state.stop_reason = f"stopped by {type(exc).__name__} after {len(state.history.epoch)} epochs"
        raise
    finally:
        state.history.stop_reason = state.stop_reason or "completed"
        for cb in callbacks:
            cb.on_train_end(state)
            _follow_freezes(state)
        if lr_schedule is not None:
            state.optimizer.learning_rate = lr0  # the schedule's rates were this fit's; the optimizer keeps its own
    return _result(state)


def _epoch(state, epoch, X, Y, loss, l2, batch_size, shuffle, validation_data, task):
    """Train one epoch step by step (the NumPy engine, or Batched's steps), record and return its logs."""
    state.epoch, state.in_epoch, state.epoch_rng = epoch, True, state.rng.bit_generator.state
    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is caught and reported below
        sums = _run_epoch(state.net, state.optimizer, X, Y, loss, l2, batch_size, state.rng, shuffle, state)
    scores = state.batched.scores if state.batched is not None else None
    logs = _in_data_units(state, _epoch_logs(state.net, loss, X, Y, l2, task, validation_data, state.optimizer,
                                             time.perf_counter() - t0, sums, scores))
    state.in_epoch, state.skip = False, 0
    state.history.append(epoch + 1, logs)
    return logs


def _span(state, callbacks, lr_schedule, epoch):
    """How many epochs the next call of the compiled kernel trains: one, unless nothing needs the
    network between epochs (no callbacks but the progress bar, no learning-rate schedule); then as
    many as take about 50 ms, so Ctrl-C and the bar stay prompt."""
    if lr_schedule is not None or not state.history.epoch or any(type(cb) is not ProgressBar for cb in callbacks):
        return 1
    return min(state.epochs - epoch, _per_call(max(state.history.history["time"][-1], 1e-6)))


def _per_call(seconds_each):
    """How many steps or epochs of ``seconds_each`` one call of the compiled engine takes: about
    50 ms of them, so that Ctrl-C and the progress bar stay prompt; one while unmeasured (0)."""
    return max(1, int(0.05 / seconds_each)) if seconds_each > 0 else 1


def _compiled_epochs(state, first, span, X, Y, l2, task, validation_data, shuffle, monitor, best_score):
    """Epochs first..first + span - 1 in one kernel call: their logs (recorded in the History), the
    weights of the best of them (None if none beat ``best_score``) and the error that stopped them, if any."""
    net, opt, m = state.net, state.optimizer, len(X)
    t0 = time.perf_counter()
    orders = np.stack([state.rng.permutation(m) if shuffle else np.arange(m) for _ in range(span)])
    status, sums, best = state.compiled.epochs(orders, opt.learning_rate, l2, best_score, monitor)
    seconds = (time.perf_counter() - t0) / span
    ran = status // 1000 - 1 if status else span  # the epochs that ended well
    columns = _in_data_units(state, _kernel_logs(sums[:ran], Y, None if validation_data is None else validation_data[1],
                                                 l2, task, opt.learning_rate, seconds))
    state.history.extend(range(first + 1, first + ran + 1), columns)
    done = _rows(columns)
    state.epoch = first + ran - (0 if status else 1)
    error = None
    if status:
        try:
            _check_weights(net)  # the NumPy engine's message for weights that blew up, else for the loss
            error = TrainingDiverged(f"the training loss became {_logs_from_sums(net, sums[ran, :3], Y, l2, task)['loss']}")
        except TrainingDiverged as exc:
            error = exc
    return done, best, error


def _result(state):
    """The History, or the error that says why training stopped early (carrying the History)."""
    if state.history.diverged:
        kept = f"epoch {state.history.best_epoch}" if state.history.best_epoch else "the initial weights"
        err = TrainingDiverged(f"{state.stop_reason}; kept the best weights so far ({kept})")
    elif state.history.interrupted:
        err = TrainingInterrupted(state.stop_reason)
    else:
        return state.history
    err.history, err.state = state.history, state
    raise err


def _frozen(net):
    """Which parameters each layer holds fixed."""
    return [frozenset(layer.frozen) for layer in net.layers]


def _follow_freezes(state):
    """After a callback froze or unfroze parameters: the optimizer's state was for the others, so
    it starts afresh, and the compiled trainers, which read the frozen flags once, are made anew."""
    if _frozen(state.net) != state.frozen:
        state.frozen = state.optimizer.trained = _frozen(state.net)
        state.optimizer.reset()
        state.compiled, state.batched = state.trainers()


def _restore(net, params):
    for p, saved in zip(net.weights + net.biases, params):
        p[...] = saved


def _run_epoch(net, opt, X, Y, loss, l2, batch_size, rng, shuffle, state):
    """One pass over the rows; returns the running [loss sum, rows right, squared errors] or None."""
    sums = [0.0, 0.0, 0.0] if state.running else None
    if state.batched is not None:  # the same steps in C, several a call, the matrix products in BLAS
        return _run_batched_epoch(net, opt, X, Y, l2, batch_size, rng, shuffle, state, sums)
    trained = []  # (z, a, Y) of the output layer for batches as trained, not yet added to sums
    for i, idx in enumerate(_batches(len(X), batch_size, rng, shuffle, state.skip), start=state.skip):
        Yb = Y[idx]
        A = net._forward(X[idx])
        if sums is not None:  # this batch's loss and metrics, before its step
            trained.append((net.layers[-1].z, A, Yb))
            if len(trained) * len(Yb) >= SCORE_ROWS:
                _add_batch_sums(sums, net, loss, trained, state.task)
                trained.clear()
        net._backward(Yb, loss, l2)
        opt.step(net.params_and_grads())
        state.batch = i + 1
        if state.interrupt:  # Ctrl-C: stop here, between two whole steps
            raise TrainingInterrupted()
        if i % 64 == 63:  # catch a blow-up within the epoch, at a cost of one max per 64 steps
            _check_weights(net)
    _check_weights(net)
    if trained:
        _add_batch_sums(sums, net, loss, trained, state.task)
    return sums


def _run_batched_epoch(net, opt, X, Y, l2, batch_size, rng, shuffle, state, sums):
    """_run_epoch's loop with Batched: several steps in one call of C (up to the next 64th step, and
    about 50 ms of them, so that Ctrl-C stays prompt), then the checks the loop makes every step
    (Ctrl-C) and every 64 steps (a blow-up)."""
    m = len(X)
    order = rng.permutation(m) if shuffle else None  # as _batches
    steps, i = -(-m // batch_size), state.skip
    while i < steps:
        j = min(steps, (i // 64 + 1) * 64, i + _per_call(state.batched.seconds_a_step))  # as the last call took
        rows = order[i * batch_size:j * batch_size] if shuffle else slice(i * batch_size, min(m, j * batch_size))
        state.batched.train(X, Y, rows, opt, l2, sums)
        state.batch = i = j
        if state.interrupt:  # Ctrl-C: stop here, between two whole steps
            raise TrainingInterrupted()
        if j % 64 == 0:  # catch a blow-up within the epoch, at a cost of one max per 64 steps
            _check_weights(net)
    _check_weights(net)
    return sums


def _logs_from_sums(net, sums, Y, l2, task, squared_weights=None):
    """_evaluate's numbers from [sum of losses, rows right, sum of squared errors] over Y's rows."""
    if l2 and squared_weights is None:
        squared_weights = sum(float((w ** 2).sum()) for w in net.weights)
    columns = _sum_columns(np.asarray(sums, float)[None, :3], Y, l2, task, np.array([squared_weights or 0.0]))
    return {key: float(values[0]) for key, values in columns.items()}


def _sum_columns(sums, Y, l2, task, squared_weights):
    """The logs of several epochs at once, as arrays: sums (E, 3) of [losses, rows right, squared
    errors] over Y's rows, squared_weights (E,) the epochs' sum of ||W||^2."""
    C = sums[:, 0] / len(Y) + (0.5 * l2 * squared_weights if l2 else 0.0)
    if task == "classification":
        return {"loss": C, "accuracy": sums[:, 1] / len(Y)}
    ss_tot = float(((Y - Y.mean(axis=0)) ** 2).sum())
    r2 = 1 - sums[:, 2] / ss_tot if ss_tot > 0 else np.full(len(sums), np.nan)
    return {"loss": C, "rmse": np.sqrt(sums[:, 2] / Y.size), "r2": r2}


def _kernel_logs(results, Y, Y_val, l2, task, lr, seconds):
    """The epochs' logs from the compiled kernel's rows [training sums (3), validation sums (3), sum
    ||W||^2] (validation left out when Y_val is None), as columns: {key: one value per epoch}."""
    columns = _sum_columns(results[:, :3], Y, l2, task, results[:, 6])
    if Y_val is not None:
        columns.update({f"val_{k}": v for k, v in _sum_columns(results[:, 3:6], Y_val, l2, task, results[:, 6]).items()})
    columns = {key: values.tolist() for key, values in columns.items()}
    return {**columns, "lr": [lr] * len(results), "time": [seconds] * len(results)}


SCORE_ROWS = 2048  # running metrics are scored this many rows at a time: a few large array calls, not many small ones


def _add_batch_sums(sums, net, loss, batches, task):
    """sums += [loss sum, rows right (classification), squared errors (regression)] of the batches
    [(z, a, Y), ...] of the output layer, as they were trained."""
    Z, A, Y = (np.concatenate(parts) if len(parts) > 1 else parts[0] for parts in zip(*batches))
    sums[0] += float(loss.value(net.layers[-1].activation, Z, A, Y).sum())
    if task == "classification":
        right = (A[:, 0] >= 0.5) == (Y[:, 0] >= 0.5) if A.shape[1] == 1 else A.argmax(axis=1) == Y.argmax(axis=1)
        sums[1] += int(right.sum())  # as accuracy(A, Y), counted instead of averaged
    else:
        sums[2] += float(((A - Y) ** 2).sum())


def _epoch_logs(net, loss, X, Y, l2, task, validation_data, opt, seconds, sums=None, scores=None):
    """The epoch's logs: the training rows' from their running sums, if given, else evaluated again (by
    ``scores(X, Y)``, the compiled engine's sums, where it gives them); the validation rows' likewise."""
    def evaluate(X, Y):
        sums = scores(X, Y) if scores is not None else None
        return _evaluate(net, loss, X, Y, l2, task) if sums is None else _logs_from_sums(net, sums, Y, l2, task)
    logs = evaluate(X, Y) if sums is None else _logs_from_sums(net, sums, Y, l2, task)
    if validation_data is not None:
        logs.update({f"val_{k}": v for k, v in evaluate(*validation_data).items()})
    logs["lr"], logs["time"] = opt.learning_rate, seconds
    if not math.isfinite(logs["loss"]):
        raise TrainingDiverged(f"the training loss became {logs['loss']}")
    return logs


def _in_data_units(state, logs):
    """A Model with one output that trains on its standardized target (Model.scale_targets) has
    its RMSE in the data's units: times the target's spread (R^2 and the loss stay as they are)."""
    spread = getattr(state.model, "target_spread", None)
    if spread is None or len(spread) != 1:
        return logs
    for key in ("rmse", "val_rmse"):
        if key in logs:  # one epoch's number, or a list of several epochs' (_kernel_logs)
            value = logs[key]
            logs[key] = [v * spread[0] for v in value] if isinstance(value, list) else value * spread[0]
    return logs


def _check_weights(net):
    for l, W in enumerate(net.weights, start=1):
        biggest = float(np.abs(W).max())
        if not biggest < DIVERGED:  # also catches NaN
            raise TrainingDiverged(f"the weights of layer {l} exploded (max |w| = {biggest:.3g})")


ADVICE = "try a smaller learning rate (now {lr:g}) or standardize the features"
