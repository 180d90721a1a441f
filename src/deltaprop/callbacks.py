"""Callbacks: code that runs between epochs. Each sees the FitState (network, optimizer, history).

- :class:`EarlyStopping` stops when a metric stops improving and restores the best weights.
- :class:`Checkpoint` saves the model every N epochs (atomically).
- :class:`ProgressBar` draws a bar on a terminal, or prints one summary line when not on one.
"""
import math
import numbers
import shutil
import sys
import time

from .errors import ConfigError


class Callback:
    """Override any of these; ``state.stop = True`` ends training after the current epoch.

    ``on_train_end`` runs however training ended, in the order of the list."""

    def on_train_begin(self, state):
        pass

    def on_epoch_end(self, state, epoch, logs):
        pass

    def on_train_end(self, state):
        pass


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs without an improvement of at least ``min_delta`` in ``monitor``.

    With ``restore_best_weights`` the network ends with the weights of its best epoch, however
    training ended (patience ran out, the epochs ran out, or training was interrupted). A
    :class:`Checkpoint` still saves the weights training stopped with, which resuming goes on from,
    and this callback's best epoch and weights beside them.
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, mode="auto", restore_best_weights=True):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 0:
            raise ConfigError(f"patience must be a whole number of epochs >= 0; received {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) or not math.isfinite(min_delta):
            raise ConfigError(f"min_delta must be a finite number; received {min_delta!r}")
        if mode not in ("auto", "min", "max") or not isinstance(monitor, str):
            raise ConfigError(f"mode must be 'auto', 'min' or 'max' and monitor a name such as 'val_loss'; "
                              f"received mode {mode!r}, monitor {monitor!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.mode = mode if mode != "auto" else ("max" if "acc" in monitor or "r2" in monitor else "min")
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, state):
        self.best, self.best_epoch, self.wait, self.best_params = math.inf, None, 0, None
        past = state.history.history
        if self.monitor in past:  # a resumed run: take up the count where it stopped
            for epoch, logs in zip(state.history.epoch, _rows(past)):
                self._track(epoch, logs, None)
            if self.restore_best_weights:
                self.best_params = self._kept(state)
                if self.best_params is not None:  # and in the checkpoints this run writes
                    state.early_best = (self.best_epoch, self.best_params)
            self._out_of_patience(state)  # (a checkpoint written before this callback's turn at an epoch's end)

    def _kept(self, state):
        """The best epoch's weights of a resumed run: the checkpoint's copy; the network's own when
        the checkpoint was written at that epoch's end (before this callback's turn); or the loop's
        lowest val_loss weights when that is the same epoch (checkpoints without a copy)."""
        kept, done = state.early_best, state.history.epoch[-1] if state.history.epoch else None
        if kept is not None and kept[0] == self.best_epoch:
            return kept[1]
        if self.best_epoch == done and not state.skip:
            return [p.copy() for p in state.net.weights + state.net.biases]
        if self.best_epoch == state.history.best_epoch:
            return state.best_params
        return None

    def _score(self, logs):
        if self.monitor not in logs:
            raise ConfigError(f"early stopping monitors {self.monitor!r}, which training does not record; "
                              f"expected one of: {', '.join(sorted(logs))}")
        value = logs[self.monitor]
        return -value if self.mode == "max" else value

    def _track(self, epoch, logs, net):
        """Update best/wait with one epoch's logs; True when the epoch was an improvement."""
        score = self._score(logs)
        if score < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best_weights and net is not None:
                self.best_params = [p.copy() for p in net.weights + net.biases]
            return True
        self.wait += 1
        return False

    def on_epoch_end(self, state, epoch, logs):
        if self._track(epoch, logs, state.net):
            state.early_best = (epoch, self.best_params) if self.best_params is not None else None
            return
        self._out_of_patience(state)

    def _out_of_patience(self, state):
        if self.wait >= self.patience:
            state.stop = True
            state.history.stopped_early = True
            state.stop_reason = f"early stopping: no improvement in {self.monitor} for {self.patience} epochs"

    def on_train_end(self, state):
        if self.restore_best_weights and self.best_params is not None:
            state.end_with(self.best_params, self.best_epoch)


class Checkpoint(Callback):
    """Save what resuming needs to ``path`` every ``every`` epochs and when training ends.

    A checkpoint holds the model (or network), the optimizer's state, the random generator's state
    and the History, so ``fit(..., resume=...)`` continues to the very weights an uninterrupted run
    reaches. It is written when training is interrupted by Ctrl-C too (after a whole step). List it
    after your own callbacks that change the network at an epoch's end (a freeze, a new learning
    rate): it saves what they did only if they ran before it.
    """

    def __init__(self, path, every=1):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"checkpoint interval must be a positive number of epochs; received {every!r}")
        self.path, self.every = path, every
        self.saved = None

    def _save(self, state):
        from .io import save_checkpoint
        with state.stopped_weights():  # not the best epoch's that EarlyStopping may have put back
            save_checkpoint(self.path, state)
        self.saved = self.path

    def on_epoch_end(self, state, epoch, logs):
        if epoch % self.every == 0:
            self._save(state)

    def on_train_end(self, state):
        if state.history.interrupted and not state.clean_interrupt:
            return  # a step may be half applied: keep the last good checkpoint
        self._save(state)


class ProgressBar(Callback):
    """A one-line bar on a terminal; a single summary line otherwise (verbose "auto")."""

    def __init__(self, verbose="auto", stream=None):
        self.stream = stream or sys.stderr
        if verbose == "auto":
            verbose = 2 if getattr(self.stream, "isatty", lambda: False)() else 1
        if isinstance(verbose, str) or verbose not in (0, 1, 2):
            raise ConfigError(f"verbose must be 0 (silent), 1 (a summary line), 2 (a progress bar) or 'auto'; "
                              f"received {verbose!r}")
        self.verbose = verbose

    def on_train_begin(self, state):
        self.t0, self.drawn, self.longest = time.perf_counter(), -1.0, 0
        self.first = state.history.epoch[-1] + 1 if state.history.epoch else 1  # a resumed run's history goes before it
        if self.verbose:
            sys.stdout.flush()  # so that what was printed before training shows before the bar

    def on_epoch_end(self, state, epoch, logs):
        now = time.perf_counter()
        if self.verbose < 2 or (now - self.drawn < 0.1 and epoch < state.epochs):
            return  # at most ten redraws a second: a fast run is not slowed down by its bar
        self.drawn = now
        width, done = 30, epoch / state.epochs
        bar = "#" * int(width * done) + "-" * (width - int(width * done))
        line = f"epoch {epoch:>{len(str(state.epochs))}}/{state.epochs} [{bar}] {_fmt(logs)}"
        columns = shutil.get_terminal_size((100, 20)).columns - 1  # a wrapped line cannot be redrawn
        self.stream.write("\r" + line[:columns].ljust(min(columns, self.longest)))
        self.longest = max(self.longest, len(line[:columns]))
        self.stream.flush()

    def on_train_end(self, state):
        if self.verbose < 1 or not state.history.epoch:
            return
        if self.verbose >= 2:
            self.stream.write("\n")
        logs = {k: v[-1] for k, v in state.history.history.items()}
        took = time.perf_counter() - self.t0
        last = state.history.epoch[-1]
        which = (f"{last} epoch{'s' * (last != 1)}" if self.first == 1 else f"epochs {self.first}-{last}" if last > self.first
                 else f"epoch {last}" if last == self.first else "no epoch")
        self.stream.write(f"trained {which} in {took:.2f} s: {_fmt(logs)}"
                          f" ({state.history.stop_reason})\n")
        self.stream.flush()


def _rows(history):
    """Per-epoch dicts from a History's columns."""
    keys = list(history)
    return [dict(zip(keys, values)) for values in zip(*(history[k] for k in keys))]


def _fmt(logs):
    keys = [k for k in ("loss", "accuracy", "rmse", "r2", "val_loss", "val_accuracy", "val_rmse", "val_r2") if k in logs]
    return " ".join(f"{k} {logs[k]:.4f}" for k in keys)
