"""The ``deltaprop`` command line: argument parsing and printing only, no math.

One error boundary: a :class:`~deltaprop.errors.DeltapropError` (or a file the user named that
cannot be read) prints ``deltaprop: error: ...`` and exits 2 with no traceback; anything else is a
bug and keeps its traceback. Outputs the user names are never silently replaced: an existing file
needs ``--force``, and every write is atomic.
"""
import argparse
import contextlib
import json
import math
import os
import sys
import unicodedata
import warnings
from collections import Counter

from . import __version__
from .activations import ACTIVATIONS
from .data import count
from .errors import ConfigError, DataError, DeltapropError, TrainingDiverged
from .losses import LOSSES
from .optimizers import OPTIMIZERS

DEMO_PLOT = "deltaprop-demo.png"
CHECKPOINT_EVERY = 10


def _checked(text, convert, ok, expected):
    """``convert(text)`` if it parses and passes ``ok``; else argparse's one-line error."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}; received {text!r}")
    return value


def _positive_int(text):
    return _checked(text, int, lambda v: v >= 1, "a positive integer")


def _layer_size(text):
    """A --hidden size; a file name after the sizes was taken as one more size: say where it goes."""
    if text.lower().endswith(".csv") or text == "-":
        raise argparse.ArgumentTypeError(f"expected a positive integer; received {text!r} (the data file goes "
                                         f"before --hidden)")
    return _positive_int(text)


def _positive_float(text):
    return _checked(text, float, lambda v: 0 < v < float("inf"), "a finite number > 0")


def _fraction(text):
    return _checked(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def _seed(text):  # NumPy's generators take only non-negative seeds
    return _checked(text, int, lambda v: v >= 0, "a non-negative integer seed")


MAX_SEEDS = 1000


def _seed_range(text):
    """"0-9" or "1,4,7" -> list of seeds: at most MAX_SEEDS, none twice."""
    try:
        if "-" in text.strip("-"):
            lo, hi = text.split("-", 1)
            seeds = range(int(lo), int(hi) + 1)
        else:
            seeds = [int(s) for s in text.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative seeds like 0-9 or 1,4,7; received {text!r}")
    if len(seeds) > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_SEEDS} seeds; received {text!r} ({len(seeds):,} seeds)")
    twice = [seed for seed, n in Counter(seeds).items() if n > 1]
    if twice:
        raise argparse.ArgumentTypeError(f"expected each seed once; received {text!r} (seed {twice[0]} twice)")
    return list(seeds)


def _output(text):
    """An output file name: '' is a mistake (an unset shell variable?), not "no output"."""
    if not text:
        raise argparse.ArgumentTypeError("expected a file name; received ''")
    return text


class _Formatter(argparse.HelpFormatter):
    """Help that shows each option's default, unless there is none or the text already says it."""

    def _get_help_string(self, action):
        text, default = action.help or "", action.default
        if not action.option_strings or default is None or isinstance(default, bool) or default == argparse.SUPPRESS \
                or default == [] or "default" in text:  # (flags are off by default; 0 is a default worth showing)
            return text
        shown = " ".join(map(str, default)) if isinstance(default, list) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})".lstrip()


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line like every other error, with where to find help."""

    def error(self, message):
        self.exit(2, f"deltaprop: error: {message} (see '{self.prog} --help')\n")

    def parse_args(self, args=None, namespace=None):
        """argparse's, but an unknown option is reported with the help of the command it was given to."""
        args, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(self, "commands", {}).get(getattr(args, "command", None), self)
            command.error(f"unrecognized arguments: {' '.join(extras)}")
        return args


# ---- commands ---------------------------------------------------------------------------------
def _add_header_options(p):
    group = p.add_mutually_exclusive_group()
    group.add_argument("--header", dest="header", action="store_const", const=True, default="auto",
                       help="the first line names the columns (default: detected)")
    group.add_argument("--no-header", dest="header", action="store_const", const=False, help="the first line is data")


def _add_demo(sub):
    p = sub.add_parser("demo", help="the seed's Iris project (4-5-3 sigmoid BP network)", formatter_class=_Formatter,
                       description="Train the seed article's 4-5-3 sigmoid network on the bundled Iris data.")
    p.add_argument("--faithful", action="store_true", help="reproduce the seed program exactly (its pitfalls included)")
    p.add_argument("--seed", type=_seed, default=None, help="random seed (default: 0; 1 with --faithful)")
    p.add_argument("--seeds", type=_seed_range, help="run several seeds, e.g. 0-9, and print a table (no plot)")
    p.add_argument("--epochs", type=_positive_int, default=300, help="passes over the training rows")
    p.add_argument("--metrics-json", metavar="F", type=_output, help="write the per-epoch History as JSON ('-': standard output)")
    p.add_argument("--plot", metavar="F", type=_output, default=None,
                   help=f"learning curves image, .png, .svg or .pdf (default: {DEMO_PLOT}, replaced only if the demo drew it)")
    p.add_argument("--no-plot", action="store_true", help="do not draw the curves")
    p.add_argument("--quiet", "-q", action="store_true", help="only the final summary and the files written")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(run=run_demo)


DEMO_MARK = ("deltaprop", "demo learning curves")  # a PNG text entry: this file is the demo's own plot


def run_demo(args):
    from .recipes import RECIPES
    if args.seeds and args.plot:
        raise ConfigError("--plot draws the learning curves of one run; --seeds runs several (drop --plot, or pick one --seed)")
    if args.seeds and args.seed is not None:
        raise ConfigError(f"--seed {args.seed} picks one run; --seeds runs several; expected one of the two")
    recipe = "faithful" if args.faithful else "default"
    plot = None if args.no_plot or args.seeds else (args.plot or DEMO_PLOT)
    default_plot = plot is not None and not args.plot
    if default_plot:
        _check_demo_plot(plot, args.force)
    _check_outputs(args, {"--plot": plot, "--metrics-json": args.metrics_json}, plots=[plot],
                   replaceable=[plot] if default_plot else (), text=["--metrics-json"])
    if args.seeds:
        return _demo_seeds(recipe, args)
    seed = args.seed if args.seed is not None else (1 if args.faithful else 0)
    if not args.quiet:
        print(f"deltaprop demo: the seed's Iris project, {recipe} recipe, seed {seed}, {args.epochs} epochs")
        print("  4-5-3 sigmoid network, per-sample SGD (learning rate 0.2), 1/2 squared error, 130 train / 20 validation rows")
    result = RECIPES[recipe](seed=seed, epochs=args.epochs, verbose=0 if args.quiet else "auto")
    print(f"final validation accuracy: {result.val_accuracy:.1%} ({round(result.val_accuracy * 20)}/20)")
    _write_outputs(args, result.history, plot, f"Iris, {recipe} recipe, seed {seed}")
    if plot and plot.lower().endswith(".png"):
        from .io import mark_png
        with _writing(plot):
            mark_png(plot, *DEMO_MARK)
    return 0


def _check_demo_plot(path, force):
    """The default plot name may be reused run after run, but only over a plot the demo drew."""
    from .io import png_text
    if force or not os.path.isfile(path):
        return
    try:
        ours = png_text(path).get(DEMO_MARK[0]) == DEMO_MARK[1]
    except OSError:
        ours = False
    if not ours:
        raise ConfigError(f"{path!r} already exists and is not a plot that 'deltaprop demo' drew; "
                          f"pass --plot NAME to draw elsewhere, --no-plot, or --force to replace it")


def _demo_seeds(recipe, args):
    from .ensemble import run_seeds
    if not args.quiet:
        print(f"deltaprop demo: {recipe} recipe over seeds {args.seeds[0]}..{args.seeds[-1]}, {args.epochs} epochs")
    results = run_seeds(recipe, args.seeds, epochs=args.epochs)  # all seeds in one vectorized pass
    print(f"{'seed':>6}  {'val accuracy':>12}")
    for r in results:
        print(f"{r.seed:>6}  {r.val_accuracy:>12.1%}")
    mean = sum(r.val_accuracy for r in results) / len(results)
    print(f"{'mean':>6}  {mean:>12.1%}")
    if args.metrics_json:
        _write_text(args, args.metrics_json, _json({str(r.seed): r.history.to_dict() for r in results}),
                    "each seed's per-epoch history")
    return 0


def _add_train(sub):
    p = sub.add_parser("train", help="train an MLP on any CSV file", formatter_class=_Formatter,
                       description="Train a network on a CSV file (features in columns, one label column).")
    p.add_argument("data", metavar="DATA.csv", help="the training data: numeric feature columns and one label column")
    p.add_argument("--label", help="label column, by name or 0-based index (default: the last)")
    p.add_argument("--drop", metavar="COL[,COL...]", type=lambda text: [c.strip() for c in text.split(",")], default=[],
                   help="columns to leave out (an id, a note), by name or 0-based index")
    _add_header_options(p)
    p.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                   help="auto: classes for text labels or a few integers, else regression")
    p.add_argument("--hidden", type=_layer_size, nargs="+", default=[5], metavar="N", help="hidden layer sizes")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="sigmoid", help="hidden layers' activation")
    p.add_argument("--output-activation", choices=sorted(ACTIVATIONS), help="default: softmax (classes) / identity (regression)")
    p.add_argument("--loss", choices=sorted(LOSSES), help="default: cross_entropy (classes) / squared_error (regression)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="weight update rule")
    p.add_argument("--lr", type=_positive_float, default=None, help="learning rate η (default: 0.01 adam, 0.1 otherwise)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty λ on the weights")
    p.add_argument("--epochs", type=_positive_int, default=200, help="passes over the training rows")
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help="1 = per-sample SGD as in the seed (default: 16, or all training rows if fewer)")
    p.add_argument("--val-fraction", type=_fraction, default=0.2, help="share of rows held out for validation (0 = none)")
    p.add_argument("--scale", choices=["minmax", "standard", "none"], default="standard",
                   help="feature scaling fitted on the training rows")
    p.add_argument("--init", choices=["glorot_uniform", "he_normal", "uniform01"], default="glorot_uniform",
                   help="initial weights")
    p.add_argument("--patience", type=_positive_int,
                   help="early stopping: epochs without val_loss improvement; the best epoch's weights are kept")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (weights, split, shuffling)")
    p.add_argument("--out", metavar="MODEL", type=_output, help="save the trained model (.npz)")
    p.add_argument("--plot", metavar="F", type=_output, help="learning curves image (.png, .svg or .pdf)")
    p.add_argument("--regions", metavar="F", type=_output, help="decision regions image (classification with 2 features)")
    p.add_argument("--metrics-json", metavar="F", type=_output,
                   help="write the per-epoch History as JSON ('-': standard output, the report to standard error)")
    p.add_argument("--checkpoint", metavar="F", type=_output, help="checkpoint file (default with --out: MODEL.ckpt.npz)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=CHECKPOINT_EVERY, metavar="N", help="epochs between checkpoints")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue an interrupted run (same data and settings; --epochs N sets a new total)")
    p.add_argument("--quiet", "-q", action="store_true", help="only the final summary and the files written")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(run=run_train)


def run_train(args):
    from .training import History, TrainingInterrupted
    outputs = {"--out": args.out, "--plot": args.plot, "--metrics-json": args.metrics_json, "--regions": args.regions}
    _check_outputs(args, outputs, plots=[args.plot, args.regions], inputs=[args.data, args.resume], text=["--metrics-json"])
    checkpoint = _checkpoint_path(args, outputs)
    model, resume = _resumed_model(args.resume) if args.resume else (None, None)
    data = _training_data(args, model)
    _check_regions(args.regions, model, data, args.task)
    if not args.quiet:
        print(f"deltaprop train: {data.source}: {count(len(data), 'row')}, {count(data.X.shape[1], 'feature')}, "
              f"label {data.label_name!r}")
    model, kwargs = _resume_settings(model, resume, data, args) if resume else _fresh(args, data)
    if resume and _finished(resume, kwargs):
        history = model.history = History.from_dict(resume["history"])
        best = (resume.get("early_best") or (None, resume.get("best_params")))[1]  # (older checkpoints: the loop's)
        if _early_stopping(model, kwargs) and best is not None:
            for p, kept in zip(model.network.weights + model.network.biases, best):
                p[...] = kept  # the run ended with its best epoch's weights; the checkpoint holds its last
    else:
        callbacks = _train_callbacks(model, checkpoint, kwargs, args.checkpoint_every)
        try:
            history = model.fit(data.X, data.y, **kwargs, callbacks=callbacks, verbose=0 if args.quiet else "auto",
                                feature_names=data.feature_names, label_name=data.label_name, resume=resume,
                                catch_interrupt=True)
        except TrainingDiverged as exc:
            _save_model(model, args.out, "the best weights before training diverged")
            if checkpoint and not args.checkpoint and args.out and os.path.exists(checkpoint):
                os.remove(checkpoint)  # as after a finished run: the model is saved, and resuming would diverge again
            raise exc
        except TrainingInterrupted as exc:
            return _interrupted(exc, args, checkpoint)
    print(f"network {'-'.join(map(str, model.network.sizes))} ({model.task}, {model.output_activation} + {model.loss})")
    _print_final(history, restored=_early_stopping(model, kwargs))
    _save_model(model, args.out, "model")
    if checkpoint and not args.checkpoint and os.path.exists(checkpoint):
        os.remove(checkpoint)  # MODEL.ckpt.npz only guards a run in progress; the model is saved now
    _write_outputs(args, history, args.plot, f"{os.path.basename(data.source)}: {model!r}")
    if args.regions:
        from .plotting import plot_decision_regions
        with _writing(args.regions):
            drawn = plot_decision_regions(model, data.X, data.y, args.regions)
        print(f"drew the decision regions to {drawn}")
    return 0


def _training_data(args, model):
    """The CSV as a Dataset; a text column among the features gets a hint to --drop it."""
    import shlex
    from .data import NotANumber, load_csv
    try:
        return load_csv(args.data, label=args.label, header=args.header, drop=args.drop,
                        prefer_label=model.label_name if model else None)
    except NotANumber as exc:
        if exc.first_row and args.header is False:
            raise DataError(f"{exc}; the first line looks like a header: leave out --no-header") from None
        label = f"the label is column {exc.label!r} (--label {args.label}); " if args.label is not None else ""
        raise DataError(f"{exc}; {label}if this column is not a feature, "
                        f"leave it out with --drop {shlex.quote(exc.key)}") from None


def _check_regions(path, model, data, task):
    """--regions draws classes over the plane of two features: refuse it before training otherwise."""
    from .data import detect_task
    if not path:
        return
    if data.X.shape[1] != 2:
        raise ConfigError(f"--regions needs data with exactly 2 features; {data.source} has {data.X.shape[1]}")
    task = model.task if model is not None else (detect_task(data.y) if task == "auto" else task)
    if task != "classification":
        raise ConfigError(f"--regions draws the classes a model predicts; expected a classification task, "
                          f"received {task} ({data.source}, label {data.label_name!r})")


def _fresh(args, data):
    """A new Model and the fit settings from the command line."""
    from .model import Model
    _check_network_size(data.X.shape[1], args.hidden)
    if args.patience and not args.val_fraction:
        raise ConfigError(f"--patience {args.patience} stops when the validation loss stops improving; expected "
                          f"--val-fraction above 0 to hold out validation rows; received 0")
    _check_task(args.task, data)
    model = Model(hidden=args.hidden, activation=args.activation, output_activation=args.output_activation,
                  loss=args.loss, task=args.task, scale=args.scale, init=args.init)
    model.settings = {"patience": args.patience, "rows": len(data)}  # rows: to check the data on --resume
    kwargs = {"epochs": args.epochs, "batch_size": _batch_size(args.batch_size, len(data), args.val_fraction, data.source),
              "optimizer": args.optimizer, "learning_rate": args.lr or (0.01 if args.optimizer == "adam" else 0.1),
              "l2": args.l2, "validation_fraction": args.val_fraction, "seed": args.seed}
    return model, kwargs


MAX_AUTO_CLASSES = 20  # detect_task's most integer classes; more distinct numbers than this are not class labels


def _check_task(task, data):
    """Numbers that the task's choice turns into something the user may not expect: integer labels
    that 'auto' treats as regression get a note; --task classification on fractional numbers with
    many distinct values (a measured quantity, not class labels) is refused."""
    from .data import detect_task
    y = data.y
    if y.ndim == 1 and y.dtype.kind == "O" and task != "classification":
        _check_numbers_in_text_labels(task, data)
    if y.ndim != 1 or y.dtype.kind not in "iuf":
        return
    distinct = len(set(y.tolist()))
    integers = bool((y % 1 == 0).all())
    if task == "auto" and integers and distinct <= 100 and detect_task(y) == "regression":  # (more: counts, prices)
        print(f"note: label {data.label_name!r} has {distinct} distinct integer values: treated as regression; "
              f"pass --task classification for classes")
    if task == "classification" and not integers and distinct > MAX_AUTO_CLASSES:
        raise ConfigError(f"--task classification: label {data.label_name!r} holds {distinct} distinct numbers, not all "
                          f"integers; expected class labels (for numbers to predict, use --task regression)")


def _check_numbers_in_text_labels(task, data):
    """Labels read as text because a few cells are not numbers ('NA', '4,720,111'): for 'auto'
    they would become one class per price; refused where most labels are numbers and there are
    more distinct values than classes (or --task regression asks for numbers)."""
    def number(v):
        try:
            return math.isfinite(float(v))
        except ValueError:
            return False
    bad = [(i, v) for i, v in enumerate(data.y) if not number(v)]
    numeric = len(data.y) - len(bad)
    if bad and numeric >= len(data.y) / 2 and (task == "regression" or len(set(data.y.tolist())) > MAX_AUTO_CLASSES):
        i, v = bad[0]
        raise DataError(f"{data.source}: label {data.label_name!r} holds numbers in {numeric} of {count(len(data.y), 'row')} "
                        f"and text in {len(bad)} (the first: {v!r}, data row {i + 1}); expected a number in every row "
                        f"(fill in or remove those rows), or --task classification if the labels are class names")


def _resumed_model(path):
    from .io import load_checkpoint
    from .model import Model
    if not os.path.exists(path):
        raise ConfigError(f"{path}: no such checkpoint file; expected the file an interrupted 'deltaprop train' saved")
    model, checkpoint = load_checkpoint(path)
    if not isinstance(model, Model):
        raise ConfigError(f"{path}: a checkpoint of a bare network; expected one written by 'deltaprop train'")
    return model, checkpoint


# what a resumed run keeps from its checkpoint: option -> (its flag, the checkpoint's value as the option gives it)
KEPT_ON_RESUME = {
    "task": ("--task", lambda m, k: m.task), "hidden": ("--hidden", lambda m, k: list(m.hidden)),
    "activation": ("--activation", lambda m, k: m.activation),
    "output_activation": ("--output-activation", lambda m, k: m.output_activation),
    "loss": ("--loss", lambda m, k: m.loss), "scale": ("--scale", lambda m, k: m.scaler.kind),
    "init": ("--init", lambda m, k: m.init), "optimizer": ("--optimizer", lambda m, k: k["optimizer"]),
    "lr": ("--lr", lambda m, k: k["learning_rate"]), "l2": ("--l2", lambda m, k: k["l2"]),
    "batch_size": ("--batch-size", lambda m, k: k["batch_size"]),
    "val_fraction": ("--val-fraction", lambda m, k: k["validation_fraction"]),
    "patience": ("--patience", lambda m, k: m.settings.get("patience")), "seed": ("--seed", lambda m, k: k["seed"]),
}


def _as_typed(value):
    """An option's value as it is typed: the sizes of --hidden 6 6 as '6 6'."""
    return " ".join(map(str, value)) if isinstance(value, list) else value


def _resume_settings(model, checkpoint, data, args):
    """The fit settings the checkpointed run used; --epochs may set a new total, and any other
    training option given must be the checkpoint's (a run resumed with other settings would be
    neither run)."""
    s = model.settings
    try:
        kwargs = {k: s[k] for k in ("epochs", "batch_size", "optimizer", "learning_rate", "l2", "validation_fraction", "seed")}
    except KeyError as exc:
        raise ConfigError(f"the checkpoint does not record the setting {exc.args[0]!r}; cannot resume it") from None
    for dest, (flag, kept) in KEPT_ON_RESUME.items():
        given, was = getattr(args, dest), kept(model, kwargs)
        if dest in args.given and not (dest == "task" and given == "auto") and given != was:
            had = f"no {flag}" if was is None else f"{flag} {_as_typed(was)}"
            raise ConfigError(f"{flag} {_as_typed(given)}: the checkpoint's run has {had}, and a resumed run keeps "
                              f"its settings; leave {flag} out, or start a new run without --resume")
    done = checkpoint["resume"]
    if "epochs" in args.given:
        least = done["epoch"] + (1 if done["batch"] else 0)  # an epoch under way must be finished
        if args.epochs < least:
            trained = f"{done['epoch']} epochs" + (f" and {done['batch']} steps of the next" if done["batch"] else "")
            raise ConfigError(f"--epochs {args.epochs}: the checkpoint's run has already trained {trained}; "
                              f"expected at least {least} (the new total)")
        kwargs["epochs"] = args.epochs
    _warn_other_data(model, data, args.resume)
    if _finished(checkpoint, kwargs):
        how = "stopped early" if checkpoint["history"].get("stopped_early") else "finished"
        print(f"nothing left to train: the checkpoint's run {how} after epoch {done['epoch']} of {kwargs['epochs']}; "
              f"its model is kept as it is")
    else:
        total = f" (--epochs {kwargs['epochs']}; the run was set to {s['epochs']})" if kwargs["epochs"] != s["epochs"] else ""
        print(f"resuming at epoch {done['epoch'] + 1} (step {done['batch']}) of {kwargs['epochs']}{total}, "
              f"with the checkpoint's settings")
    return model, kwargs


def _finished(checkpoint, kwargs):
    """True when the checkpointed run has no epoch left: all trained, or stopped early."""
    history = checkpoint.get("history") or {}
    return checkpoint["resume"]["epoch"] >= kwargs["epochs"] or bool(history.get("stopped_early"))


def _warn_other_data(model, data, path):
    """One line on standard error when the data does not look like the data the checkpoint saw."""
    from .data import names_text
    seen = []
    if data.label_name != model.label_name:
        seen.append(f"label {data.label_name!r}, not {model.label_name!r}")
    if list(data.feature_names) != list(model.feature_names):
        seen.append(f"features {names_text(data.feature_names)}, not {names_text(model.feature_names)}")
    rows = model.settings.get("rows")
    if isinstance(rows, int) and rows != len(data):
        seen.append(f"{count(len(data), 'row')}, not {rows}")
    if seen:
        print(f"deltaprop: warning: {data.source} is not the data {path} was trained on ({'; '.join(seen)}); "
              f"the resumed run will not match an uninterrupted one", file=sys.stderr)


def _checkpoint_path(args, outputs):
    """--checkpoint, or MODEL.ckpt.npz beside --out. An old checkpoint is not replaced by a new run
    without --force, and a file that is not deltaprop's is never replaced."""
    from .io import file_kind
    if args.checkpoint:
        path = args.checkpoint
    elif args.out:
        root, ext = os.path.splitext(args.out)
        path = f"{root}.ckpt{ext or '.npz'}"
    else:
        return None
    _not_stdout("--checkpoint", path)
    _check_distinct({**outputs, "--checkpoint": path}, [args.data])
    _check_target(path)
    if not os.path.exists(path) or (args.resume and _same_file(args.resume, path)):
        return path
    kind = file_kind(path)
    if kind is None:
        raise ConfigError(f"checkpoint {path!r} already exists and is not a deltaprop file; "
                          f"expected a new name for the checkpoint (--checkpoint NAME)")
    if kind == "checkpoint" and not args.force:
        raise ConfigError(f"checkpoint {path!r} already exists (an interrupted run?); resume it with "
                          f"--resume {path}, or pass --force to start over")
    if not args.force:
        raise ConfigError(f"checkpoint {path!r} already exists and holds a deltaprop {kind}, not a checkpoint; "
                          f"pass --force to replace it, or --checkpoint NAME")
    return path


def _early_stopping(model, kwargs):
    """Whether training used EarlyStopping (which ends with its best epoch's weights)."""
    return bool(model.settings.get("patience") and kwargs["validation_fraction"])


def _train_callbacks(model, checkpoint, kwargs, every):
    from .callbacks import Checkpoint, EarlyStopping
    callbacks = []
    if _early_stopping(model, kwargs):
        callbacks.append(EarlyStopping(patience=model.settings["patience"]))
    if checkpoint:
        callbacks.append(Checkpoint(checkpoint, every=every))
    return callbacks


def _interrupted(exc, args, checkpoint):
    """Ctrl-C: say where training stopped, what was saved and how to go on; exit code 130."""
    if checkpoint:
        print(f"deltaprop: {exc}; saved a checkpoint to {checkpoint}; resume with: {_resume_command(args, checkpoint)}",
              file=sys.stderr)
    else:
        print(f"deltaprop: {exc}; nothing saved (pass --out or --checkpoint to keep a checkpoint)", file=sys.stderr)
    return 130


def _resume_command(args, checkpoint):
    """The command that goes on: the data and output options as given (the training settings come
    from the checkpoint, so they are left out)."""
    import shlex
    words = ["deltaprop", "train", args.data, "--resume", checkpoint]
    words += ["--drop", ",".join(args.drop)] if args.drop else []
    for flag, value in (("--label", args.label), ("--out", args.out), ("--checkpoint", args.checkpoint),
                        ("--plot", args.plot), ("--regions", args.regions), ("--metrics-json", args.metrics_json)):
        words += [flag, value] if value is not None else []
    words += [] if args.header == "auto" else ["--header" if args.header else "--no-header"]
    words += ["--checkpoint-every", str(args.checkpoint_every)] if args.checkpoint_every != CHECKPOINT_EVERY else []
    words += ["-q"] if args.quiet else []
    words += ["--force"] if args.force else []
    return shlex.join(map(str, words))


def _batch_size(asked, m, val_fraction, source):
    """The batch size for ``m`` rows of which ``val_fraction`` are held out: 16 by default (all the
    training rows when fewer), and an explicit --batch-size never larger than the training rows."""
    n_train = m - int(round(val_fraction * m)) if val_fraction else m
    if asked is None:
        return max(1, min(16, n_train))
    if asked > n_train:
        held = f" ({m} rows, {m - n_train} held out for validation)" if val_fraction else ""
        raise ConfigError(f"--batch-size {asked} is larger than the {n_train} training rows of {source}{held}; use at most {n_train}")
    return asked


MAX_WEIGHTS = 50_000_000  # 400 MB of float64 weights, and a model file under the 1 GiB limit


def _check_network_size(n_in, hidden):
    sizes = [n_in, *hidden, 1]
    n = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    if n > MAX_WEIGHTS:
        raise ConfigError(f"--hidden {' '.join(map(str, hidden))} gives {n:,} weights; expected at most {MAX_WEIGHTS:,}")


def _print_final(history, restored=False):
    """The metrics of the weights that are kept: the best epoch's when early stopping restored them."""
    keys = ("val_accuracy", "accuracy", "val_rmse", "val_r2", "rmse", "r2")
    best, last = history.best_epoch, history.epoch[-1] if history.epoch else None
    row, note = -1, ""
    if restored and best and best != last:
        row, note = history.epoch.index(best), f" (best epoch {best} restored; training ran {last} epochs)"
    parts = [_metric(k, history[k][row], ".4f") for k in keys if history.history.get(k)]
    print("final: " + ", ".join(parts) + note)


def _metric(name, value, spec):
    """ "val_r2 0.9731", or why there is no number: R² is undefined when the targets are all equal."""
    if math.isfinite(value):
        return f"{name} {value:{spec}}"
    if "r2" in name or "R²" in name:
        rows = "validation targets" if name.startswith("val_") else "targets"
        return f"{name} undefined (the {rows} are all equal)"
    return f"{name} {value}"


def _save_model(model, path, what):
    if not path:
        print("the model was not saved (pass --out MODEL to keep it)")
    elif model.network is not None:
        from .io import save
        with _writing(path):
            save(model, path)
        print(f"saved {what} to {path}")


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="accuracy, per-class precision/recall/F1, confusion matrix (or RMSE/R²)",
                       formatter_class=_Formatter)
    p.add_argument("model", metavar="MODEL", help="a model file saved by 'deltaprop train --out'")
    p.add_argument("data", metavar="DATA.csv", help="rows with the model's features (picked by name) and the label")
    p.add_argument("--label", help="label column (default: the one the model was trained with, else the last)")
    _add_header_options(p)
    p.add_argument("--plot", metavar="F", type=_output, help="confusion matrix image, .png, .svg or .pdf (classification only)")
    p.add_argument("--json", metavar="F", type=_output,
                   help="write the metrics as JSON ('-': to standard output, the report to standard error)")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(run=run_evaluate)


def run_evaluate(args):
    from .data import load_csv
    _check_outputs(args, {"--plot": args.plot, "--json": args.json}, plots=[args.plot], inputs=[args.model, args.data],
                   text=["--json"])
    model = _load_model(args.model)
    if args.plot and model.task != "classification":
        raise ConfigError(f"--plot draws a confusion matrix; expected a classification model, received "
                          f"{args.model} ({model.task})")
    data = load_csv(args.data, label=args.label, header=args.header, prefer_label=model.label_name,
                    features=model.feature_names)  # other columns (an id, a note) are left out, as predict does
    X = _align(data, model)
    try:
        metrics = model.evaluate(X, data.y)
    except DataError as exc:  # the labels: say which file
        raise DataError(f"{data.source}: {exc}") from None
    _print_metrics(metrics, model, data.source)
    if args.json:
        _write_text(args, args.json, _json(metrics, indent=2), "the metrics")
    if args.plot:
        from .plotting import plot_confusion
        with _writing(args.plot):
            drawn = plot_confusion(metrics["confusion_matrix"], model.classes, args.plot)
        print(f"drew the confusion matrix to {drawn}")
    return 0


def _load_model(path):
    from .io import load
    from .model import Model
    model = load(path)
    if not isinstance(model, Model):
        raise ConfigError(f"{path}: holds a bare network without class names or scaler; expected a model saved by 'deltaprop train'")
    return model


def _align(data, model):
    """The dataset's feature columns in the model's order: by name when the file has them all
    (other columns are left out, as predict does); by position when the file has no header or the
    model no names; else an error (a missing name is never read by position)."""
    from .data import names_text, pick_columns, unnamed
    names, want = list(data.feature_names), list(model.feature_names)
    header, named = names != unnamed(len(names)), want != unnamed(len(want))
    if (set(want) <= set(names) and (header or len(names) == len(want))) or (header and named):  # (no header: all, in order)
        return data.X[:, pick_columns(names, want, f"{data.source}: ", names + [data.label_name])]
    if len(names) != len(want):
        raise DataError(f"{data.source}: {count(len(names), 'feature column')} ({names_text(names)}) besides the label "
                        f"{data.label_name!r}; the model needs {len(want)} ({names_text(want)})")
    return data.X


MAX_MATRIX_CLASSES = 12  # a wider confusion matrix no longer fits a terminal line


def _print_metrics(metrics, model, source):
    print(f"deltaprop evaluate: {source}: {count(metrics['n'], 'row')}, {model!r}")
    if model.task == "regression":
        scaled = " (of the standardized targets)" if model.target_mean is not None else ""
        print(f"RMSE {metrics['rmse']:.4f}   {_metric('R²', metrics['r2'], '.4f')}   loss {metrics['loss']:.6g}{scaled}")
        return
    print(f"accuracy {metrics['accuracy']:.2%}   loss {metrics['loss']:.4f}\n")
    names = [_shown(c) for c in model.classes]
    width = max(*map(_columns, names), len("class")) + 2
    print(f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, row in zip(names, metrics["per_class"]):
        print(f"{_pad(name, width)}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>9d}")
    if len(names) > MAX_MATRIX_CLASSES:
        print(f"\nconfusion matrix: {len(names)} classes, too wide to print; it is in --json, and --plot draws it")
        return
    print("\nconfusion matrix (rows: true, columns: predicted)")
    cw = max(width, 8)
    print(" " * cw + "".join(_pad(_clip(name, cw - 1), cw, right=True) for name in names))
    for name, row in zip(names, metrics["confusion_matrix"]):
        print(_pad(name, cw) + "".join(f"{v:>{cw}d}" for v in row))


def _shown(name):
    """A class name for a table: as it is, or as repr when it holds a newline or the like."""
    text = str(name)
    return text if text.isprintable() else repr(text)


def _columns(text):
    """Terminal columns of ``text``: Chinese (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text, width, right=False):
    fill = " " * max(0, width - _columns(text))
    return fill + text if right else text + fill


def _clip(text, width):
    while _columns(text) > width:
        text = text[:-1]
    return text


def _add_predict(sub):
    p = sub.add_parser("predict", help="predict labels (and class probabilities) for a CSV; '-' reads stdin",
                       formatter_class=_Formatter)
    p.add_argument("model", metavar="MODEL", help="a model file saved by 'deltaprop train --out'")
    p.add_argument("data", metavar="DATA.csv|-", help="rows with the model's features (picked by name); '-' reads standard input")
    _add_header_options(p)
    p.add_argument("--out", metavar="F", type=_output, help="write the CSV here instead of standard output ('-')")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(run=run_predict)


def run_predict(args):
    from .data import load_features
    args.out = None if args.out == "-" else args.out
    _check_outputs(args, {"--out": args.out}, inputs=[args.model, args.data])
    model = _load_model(args.model)
    X = load_features(args.data, model.feature_names, header=args.header)
    text = _prediction_csv(model, X)
    if args.out:
        from .io import atomic_write_text
        with _writing(args.out):
            atomic_write_text(args.out, text)
        print(f"wrote {count(len(X), 'prediction')} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _prediction_csv(model, X):
    import csv
    import io
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if model.task == "classification":
        P = model.predict_proba(X)
        writer.writerow(["prediction"] + [f"p({c})" for c in model.classes])
        for label, row in zip(model.predict(X), P):
            writer.writerow([label] + [f"{p:.6f}" for p in row])
    else:
        Y = model.predict(X).reshape(len(X), -1)
        writer.writerow([model.label_name] if Y.shape[1] == 1 else [f"{model.label_name}{j}" for j in range(Y.shape[1])])
        writer.writerows([[repr(float(v)) for v in row] for row in Y])  # every digit: a value is not a probability
    return buf.getvalue()


# ---- outputs ------------------------------------------------------------------------------------
def _check_outputs(args, outputs, plots=(), inputs=(), replaceable=(), text=()):
    """Refuse, before any work: to replace a file the user has (unless --force, or it is in
    ``replaceable``), to write where no regular file can go or into a folder that is missing or
    read-only, to give two outputs one file or to write over an input, to draw in a format that
    does not exist, to send a binary file to standard output. ``outputs`` maps each option to its
    path; ``"-"`` is standard output for the options in ``text``, and standard input in ``inputs``."""
    from .plotting import FORMATS
    for option, path in outputs.items():
        if option not in text:
            _not_stdout(option, path)
    for path in filter(None, plots):
        if os.path.splitext(path)[1].lstrip(".").lower() not in FORMATS:
            raise ConfigError(f"plot file must end in .png, .svg or .pdf; received {path!r}")
    _check_distinct(outputs, [p for p in inputs if p and p != "-"])
    for path in filter(None, outputs.values()):
        if path == "-":
            continue
        _check_target(path)
        if os.path.exists(path) and not getattr(args, "force", False) and path not in replaceable:
            raise ConfigError(f"output file {path!r} already exists; pass --force to replace it")


def _not_stdout(option, path):
    if path == "-":
        raise ConfigError(f"{option} writes a binary file, which cannot go to standard output; "
                          f"expected a file name; received '-'")


def _check_target(path):
    """``path`` can take a new file: a regular file or a new name, in a folder we may write to."""
    real = os.path.realpath(path)  # a symlink's file is written, so its folder is the one that counts
    if os.path.isdir(real):
        raise ConfigError(f"output {path!r} is a folder; expected a file name")
    if os.path.exists(real) and not os.path.isfile(real):
        raise ConfigError(f"output {path!r} is not a regular file (a device, FIFO or socket); expected a file name")
    folder = os.path.dirname(real)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ConfigError(f"cannot write {path!r}: {os.path.dirname(path)!r} is a file, not a folder")
    if not os.path.isdir(folder):
        raise ConfigError(f"cannot write {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {path!r}: folder {folder!r} is not writable")


def _check_distinct(outputs, inputs=()):
    """No two outputs on one file, no output over an input (compared as real files: links resolved).
    ``outputs`` maps each option to its path (None: not asked for; '-': standard output)."""
    seen = {}
    for path in inputs:
        seen.setdefault(_identity(path), ("input", path))
    for option, path in outputs.items():
        if not path or path == "-":
            continue
        key = _identity(path)
        if key not in seen:
            seen[key] = (option, path)
            continue
        other, other_path = seen[key]
        if other == "input":
            raise ConfigError(f"{option} {path!r} is the same file as the input {other_path!r}; expected a file that is not an input")
        same = f"both name {path!r}" if path == other_path else f"name the same file ({other_path!r}, {path!r})"
        raise ConfigError(f"{other} and {option} {same}; expected a different file for each output")


def _identity(path):
    """The file ``path`` names: its device and inode if it exists (hard links, case-insensitive
    names), else its real path."""
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return st.st_dev, st.st_ino


def _same_file(a, b):
    return _identity(a) == _identity(b)


@contextlib.contextmanager
def _writing(path):
    """A write that fails (a full disk, ...) is reported with the file the user named, not with a
    temporary name or none."""
    try:
        yield
    except OSError as exc:
        raise DeltapropError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def _finite(obj):
    """``obj`` with NaN and ±inf (which JSON has no words for) replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _json(obj, indent=None):
    """Valid JSON: an undefined number (R² of equal targets) is null, never the NaN JSON lacks."""
    return json.dumps(_finite(obj), indent=indent, allow_nan=False, default=str)


def _write_text(args, path, text, what):
    """Write a text output: to the command's standard output for '-' (the report then went to
    standard error), else atomically to ``path``, saying so."""
    if path == "-":
        args.stdout.write(text + "\n")
        return
    from .io import atomic_write_text
    with _writing(path):
        atomic_write_text(path, text)
    print(f"wrote {what} to {path}")


def _write_outputs(args, history, plot, title):
    if args.metrics_json:
        _write_text(args, args.metrics_json, _json(history.to_dict(), indent=1), "the per-epoch history")
    if plot:
        from .plotting import plot_history
        with _writing(plot):
            drawn = plot_history(history, plot, title)
        print(f"drew the learning curves to {drawn}")


def build_parser():
    parser = _Parser(
        prog="deltaprop",
        description="Backpropagation from scratch: train, evaluate, predict and explain MLPs.",
    )
    parser.add_argument("--version", action="version", version=f"deltaprop {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = sub.choices  # name -> its parser, for usage errors that point to its help
    _add_demo(sub)
    _add_train(sub)
    _add_evaluate(sub)
    _add_predict(sub)
    try:
        from .explain_cli import add_explain_command
    except ImportError:  # the explain command is optional while it is being built
        pass
    else:
        add_explain_command(sub)
    return parser


def _options_given(argv):
    """The options on the command line, told apart from their defaults: the names argparse stores
    them under, from a second parse in which no option has a default."""
    parser = build_parser()
    for p in (parser, *parser.commands.values()):
        for action in p._actions:  # (argparse has no public way to drop every default at once)
            action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


class _PipeGuard:
    """Standard output or error; when its reader goes away (``deltaprop ... | head``), the rest is
    dropped quietly and the command finishes its work (the files it writes are still written)."""

    def __init__(self, stream):
        self.stream, self.closed_pipe = stream, False

    def write(self, text):
        if not self.closed_pipe:
            self._guard(self.stream.write, text)
        return len(text)

    def flush(self):
        if not self.closed_pipe:
            self._guard(self.stream.flush)

    def _guard(self, call, *args):
        try:
            call(*args)
        except BrokenPipeError:
            self.closed_pipe = True
            with contextlib.suppress(AttributeError, OSError, ValueError):  # a stream without a file (tests)
                # Python's recipe: what is still buffered goes nowhere at exit, without a second error
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.stream.fileno())
                os.close(devnull)

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _run(args):
    """The command, its printing on guarded streams; with a text output on '-' (--json -,
    --metrics-json -) standard output is that output's alone, and the report goes to standard error."""
    args.stdout = sys.stdout
    if "-" in (getattr(args, "metrics_json", None), getattr(args, "json", None)):
        with contextlib.redirect_stdout(sys.stderr):
            return args.run(args)
    return args.run(args)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.given = _options_given(argv) if args.command == "train" and args.resume else set()
    streams, show = (sys.stdout, sys.stderr), warnings.showwarning
    sys.stdout, sys.stderr = _PipeGuard(sys.stdout), _PipeGuard(sys.stderr)
    warnings.showwarning = _warning_line
    try:
        return _main(args)
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        sys.stdout, sys.stderr = streams
        warnings.showwarning = show


def _warning_line(message, category, filename, lineno, file=None, line=None):
    """A library warning on the command line: one line, like the errors, without Python's file and line."""
    sys.stdout.flush()
    print(f"deltaprop: warning: {message}", file=sys.stderr)


def _main(args):
    try:
        return int(_run(args) or 0)
    except DeltapropError as exc:  # one line, even if a name in the message holds a newline
        print("deltaprop: error: " + " ".join(str(exc).splitlines()), file=sys.stderr)
        return 2
    except OSError as exc:  # a file the user named: missing, unreadable, a folder, ...
        name = f" {exc.filename!r}" if exc.filename else ""
        print(f"deltaprop: error: cannot use file{name}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deltaprop: interrupted", file=sys.stderr)
        return 130
