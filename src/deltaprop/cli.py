"""The ``deltaprop`` command line: argument parsing and printing only, no math.

One error boundary: a :class:`~deltaprop.errors.DeltapropError` (or a file the user named that
cannot be read) prints ``deltaprop: error: ...`` and exits 2 with no traceback; anything else is a
bug and keeps its traceback. Outputs the user names are never silently replaced: an existing file
needs ``--force``, and every write is atomic.
"""
import argparse
import json
import os
import sys

from . import __version__
from .activations import ACTIVATIONS
from .errors import ConfigError, DeltapropError, TrainingDiverged
from .losses import LOSSES
from .optimizers import OPTIMIZERS

DEMO_PLOT = "deltaprop-demo.png"


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


def _positive_float(text):
    return _checked(text, float, lambda v: 0 < v < float("inf"), "a finite number > 0")


def _fraction(text):
    return _checked(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def _seed(text):  # NumPy's generators take only non-negative seeds
    return _checked(text, int, lambda v: v >= 0, "a non-negative integer seed")


def _seed_range(text):
    """"0-9" or "1,4,7" -> list of seeds."""
    try:
        if "-" in text.strip("-"):
            lo, hi = text.split("-", 1)
            seeds = list(range(int(lo), int(hi) + 1))
        else:
            seeds = [int(s) for s in text.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative seeds like 0-9 or 1,4,7; received {text!r}")
    return seeds


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line like every other error, with where to find help."""

    def error(self, message):
        self.exit(2, f"deltaprop: error: {message} (see '{self.prog} --help')\n")


# ---- commands ---------------------------------------------------------------------------------
def _add_header_options(p):
    group = p.add_mutually_exclusive_group()
    group.add_argument("--header", dest="header", action="store_const", const=True, default="auto",
                       help="the first line names the columns (default: detected)")
    group.add_argument("--no-header", dest="header", action="store_const", const=False, help="the first line is data")


def _add_demo(sub):
    p = sub.add_parser("demo", help="the seed's Iris project (4-5-3 sigmoid BP network)",
                       description="Train the seed article's 4-5-3 sigmoid network on the bundled Iris data.")
    p.add_argument("--faithful", action="store_true", help="reproduce the seed program exactly (its pitfalls included)")
    p.add_argument("--seed", type=_seed, default=None, help="random seed (default: 0; 1 with --faithful)")
    p.add_argument("--seeds", type=_seed_range, help="run several seeds, e.g. 0-9, and print a table")
    p.add_argument("--epochs", type=_positive_int, default=300)
    p.add_argument("--metrics-json", metavar="F", help="write the per-epoch History as JSON")
    p.add_argument("--plot", metavar="F", default=None, help=f"curve image (.png/.svg; default {DEMO_PLOT})")
    p.add_argument("--no-plot", action="store_true", help="do not draw the curves")
    p.add_argument("--quiet", "-q", action="store_true", help="only the final summary")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(run=run_demo)


def run_demo(args):
    from .recipes import RECIPES
    recipe = "faithful" if args.faithful else "default"
    plot = None if args.no_plot else (args.plot or DEMO_PLOT)
    _check_outputs(args, [plot if args.plot else None, args.metrics_json], plots=[plot])
    if args.seeds:
        return _demo_seeds(recipe, args)
    seed = args.seed if args.seed is not None else (1 if args.faithful else 0)
    print(f"deltaprop demo: the seed's Iris project, {recipe} recipe, seed {seed}, {args.epochs} epochs")
    print("  4-5-3 sigmoid network, per-sample SGD (learning rate 0.2), 1/2 squared error, 130 train / 20 validation rows")
    result = RECIPES[recipe](seed=seed, epochs=args.epochs, verbose=1 if args.quiet else "auto")
    print(f"final validation accuracy: {result.val_accuracy:.1%} ({round(result.val_accuracy * 20)}/20)")
    _write_outputs(result.history, plot, args.metrics_json, f"Iris, {recipe} recipe, seed {seed}")
    return 0


def _demo_seeds(recipe, args):
    from .ensemble import run_seeds
    print(f"deltaprop demo: {recipe} recipe over seeds {args.seeds[0]}..{args.seeds[-1]}, {args.epochs} epochs")
    results = run_seeds(recipe, args.seeds, epochs=args.epochs)  # all seeds in one vectorized pass
    print(f"{'seed':>6}  {'val accuracy':>12}")
    for r in results:
        print(f"{r.seed:>6}  {r.val_accuracy:>12.1%}")
    mean = sum(r.val_accuracy for r in results) / len(results)
    print(f"{'mean':>6}  {mean:>12.1%}")
    if args.metrics_json:
        from .io import atomic_write_text
        atomic_write_text(args.metrics_json, json.dumps({str(r.seed): r.history.to_dict() for r in results}))
    return 0


def _add_train(sub):
    p = sub.add_parser("train", help="train an MLP on any CSV file",
                       description="Train a network on a CSV file (features in columns, one label column).")
    p.add_argument("data", metavar="DATA.csv")
    p.add_argument("--label", help="label column, by name or 0-based index (default: the last)")
    _add_header_options(p)
    p.add_argument("--task", choices=["auto", "classification", "regression"], default="auto")
    p.add_argument("--hidden", type=_positive_int, nargs="+", default=[5], metavar="N", help="hidden layer sizes")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="sigmoid")
    p.add_argument("--output-activation", choices=sorted(ACTIVATIONS), help="default: softmax (classes) / identity (regression)")
    p.add_argument("--loss", choices=sorted(LOSSES), help="default: cross_entropy (classes) / squared_error (regression)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    p.add_argument("--lr", type=_positive_float, default=None, help="learning rate η (default: 0.01 adam, 0.1 otherwise)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty λ on the weights")
    p.add_argument("--epochs", type=_positive_int, default=200)
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help="1 = per-sample SGD as in the seed (default: 16, or all training rows if fewer)")
    p.add_argument("--val-fraction", type=_fraction, default=0.2, help="share of rows held out for validation (0 = none)")
    p.add_argument("--scale", choices=["minmax", "standard", "none"], default="standard",
                   help="feature scaling fitted on the training rows (default: standard)")
    p.add_argument("--init", choices=["glorot_uniform", "he_normal", "uniform01"], default="glorot_uniform")
    p.add_argument("--patience", type=_positive_int, help="early stopping: epochs without val_loss improvement")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--out", metavar="MODEL", help="save the trained model (.npz)")
    p.add_argument("--plot", metavar="F", help="learning curves image (.png/.svg)")
    p.add_argument("--regions", metavar="F", help="decision regions image (classification with 2 features)")
    p.add_argument("--metrics-json", metavar="F", help="write the per-epoch History as JSON")
    p.add_argument("--checkpoint", metavar="F", help="checkpoint file (default with --out: MODEL.ckpt.npz)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=10, metavar="N", help="epochs between checkpoints")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue an interrupted run (same data; settings from the checkpoint)")
    p.add_argument("--quiet", "-q", action="store_true", help="only the final summary")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(run=run_train)


def run_train(args):
    from .data import load_csv
    from .training import TrainingInterrupted
    _check_outputs(args, [args.out, args.plot, args.metrics_json, args.regions], plots=[args.plot, args.regions])
    checkpoint = _checkpoint_path(args)
    model, resume = _resumed_model(args.resume) if args.resume else (None, None)
    data = load_csv(args.data, label=args.label, header=args.header,
                    prefer_label=model.label_name if model else None)
    if args.regions and data.X.shape[1] != 2:
        raise ConfigError(f"--regions needs data with exactly 2 features; {data.source} has {data.X.shape[1]}")
    model, kwargs = _resume_settings(model, resume, data) if resume else _fresh(args, data)
    print(f"deltaprop train: {data.source}: {len(data)} rows, {data.X.shape[1]} features, label {data.label_name!r}")
    try:
        history = model.fit(data.X, data.y, **kwargs, callbacks=_train_callbacks(model, checkpoint, kwargs, args.checkpoint_every),
                            verbose=1 if args.quiet else "auto", feature_names=data.feature_names,
                            label_name=data.label_name, resume=resume, catch_interrupt=True)
    except TrainingDiverged as exc:
        _save_model(model, args.out, "the best weights before training diverged")
        raise exc
    except TrainingInterrupted as exc:
        return _interrupted(exc, args, checkpoint)
    print(f"network {'-'.join(map(str, model.network.sizes))} ({model.task}, {model.output_activation} + {model.loss})")
    _print_final(history)
    _save_model(model, args.out, "model")
    if checkpoint and not args.checkpoint and os.path.exists(checkpoint):
        os.remove(checkpoint)  # MODEL.ckpt.npz only guards a run in progress; the model is saved now
    _write_outputs(history, args.plot, args.metrics_json, f"{os.path.basename(data.source)}: {model!r}")
    if args.regions and model.task == "classification":
        from .plotting import plot_decision_regions
        print(f"drew the decision regions to {plot_decision_regions(model, data.X, data.y, args.regions)}")
    return 0


def _fresh(args, data):
    """A new Model and the fit settings from the command line."""
    from .model import Model
    _check_network_size(data.X.shape[1], args.hidden)
    model = Model(hidden=args.hidden, activation=args.activation, output_activation=args.output_activation,
                  loss=args.loss, task=args.task, scale=args.scale, init=args.init)
    model.settings = {"patience": args.patience}
    kwargs = {"epochs": args.epochs, "batch_size": _batch_size(args.batch_size, len(data), args.val_fraction, data.source),
              "optimizer": args.optimizer, "learning_rate": args.lr or (0.01 if args.optimizer == "adam" else 0.1),
              "l2": args.l2, "validation_fraction": args.val_fraction, "seed": args.seed}
    return model, kwargs


def _resumed_model(path):
    from .io import load_checkpoint
    from .model import Model
    model, checkpoint = load_checkpoint(path)
    if not isinstance(model, Model):
        raise ConfigError(f"{path}: a checkpoint of a bare network; expected one written by 'deltaprop train'")
    return model, checkpoint


def _resume_settings(model, checkpoint, data):
    """The fit settings the checkpointed run used (the command line's training options are ignored)."""
    s = model.settings
    try:
        kwargs = {k: s[k] for k in ("epochs", "batch_size", "optimizer", "learning_rate", "l2", "validation_fraction", "seed")}
    except KeyError as exc:
        raise ConfigError(f"the checkpoint does not record the setting {exc.args[0]!r}; cannot resume it") from None
    done = checkpoint["resume"]
    print(f"resuming at epoch {done['epoch'] + 1} of {kwargs['epochs']} (step {done['batch']}) with the checkpoint's settings")
    return model, kwargs


def _checkpoint_path(args):
    """--checkpoint, or MODEL.ckpt.npz beside --out; an old checkpoint is not replaced by a new run."""
    if args.checkpoint:
        path = args.checkpoint
    elif args.out:
        root, ext = os.path.splitext(args.out)
        path = f"{root}.ckpt{ext or '.npz'}"
    else:
        return None
    fresh_run_over_old = os.path.exists(path) and not args.force and not (
        args.resume and os.path.abspath(args.resume) == os.path.abspath(path))
    if fresh_run_over_old:
        raise ConfigError(f"checkpoint {path!r} already exists (an interrupted run?); resume it with "
                          f"--resume {path}, or pass --force to start over")
    return path


def _train_callbacks(model, checkpoint, kwargs, every):
    from .callbacks import Checkpoint, EarlyStopping
    callbacks = []
    patience = model.settings.get("patience")
    if patience and kwargs["validation_fraction"]:
        callbacks.append(EarlyStopping(patience=patience))
    if checkpoint:
        callbacks.append(Checkpoint(checkpoint, every=every))
    return callbacks


def _interrupted(exc, args, checkpoint):
    """Ctrl-C: say where training stopped, what was saved and how to go on; exit code 130."""
    if checkpoint:
        again = f"deltaprop train {args.data} --resume {checkpoint}" + (f" --out {args.out}" if args.out else "")
        again += " --force" if args.force else ""
        print(f"deltaprop: {exc}; saved a checkpoint to {checkpoint}; resume with: {again}", file=sys.stderr)
    else:
        print(f"deltaprop: {exc}; nothing saved (pass --out or --checkpoint to keep a checkpoint)", file=sys.stderr)
    return 130


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


def _print_final(history):
    keys = ("val_accuracy", "accuracy", "val_rmse", "val_r2", "rmse", "r2")
    parts = [f"{k} {history.last(k):.4f}" for k in keys if history.last(k) is not None]
    print("final: " + ", ".join(parts))


def _save_model(model, path, what):
    if path and model.network is not None:
        from .io import save
        save(model, path)
        print(f"saved {what} to {path}")


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="accuracy, per-class precision/recall/F1, confusion matrix (or RMSE/R²)")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA.csv")
    p.add_argument("--label", help="label column (default: the one the model was trained with, else the last)")
    _add_header_options(p)
    p.add_argument("--plot", metavar="F", help="confusion matrix image (.png/.svg)")
    p.add_argument("--json", metavar="F", help="write the metrics as JSON")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(run=run_evaluate)


def run_evaluate(args):
    from .data import load_csv
    _check_outputs(args, [args.plot, args.json], plots=[args.plot])
    model = _load_model(args.model)
    data = load_csv(args.data, label=args.label, header=args.header, prefer_label=model.label_name)
    X = _align(data, model)
    metrics = model.evaluate(X, data.y)
    _print_metrics(metrics, model, data.source)
    if args.json:
        from .io import atomic_write_text
        atomic_write_text(args.json, json.dumps(metrics, indent=2, default=str))
    if args.plot and model.task == "classification":
        from .plotting import plot_confusion
        print(f"confusion matrix drawn to {plot_confusion(metrics['confusion_matrix'], model.classes, args.plot)}")
    return 0


def _load_model(path):
    from .io import load
    from .model import Model
    model = load(path)
    if not isinstance(model, Model):
        raise ConfigError(f"{path}: holds a bare network without class names or scaler; expected a model saved by 'deltaprop train'")
    return model


def _align(data, model):
    """The dataset's features in the model's order (by name when both have names)."""
    names, want = list(data.feature_names), list(model.feature_names)
    if names == want or len(names) != len(want) or set(names) != set(want):
        return data.X
    return data.X[:, [names.index(f) for f in want]]


def _print_metrics(metrics, model, source):
    print(f"deltaprop evaluate: {source}: {metrics['n']} rows, {model!r}")
    if model.task == "regression":
        print(f"RMSE {metrics['rmse']:.6g}   R² {metrics['r2']:.4f}   loss {metrics['loss']:.6g}")
        return
    print(f"accuracy {metrics['accuracy']:.2%}   loss {metrics['loss']:.4f}\n")
    width = max(len(str(c)) for c in model.classes) + 2
    print(f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for row in metrics["per_class"]:
        print(f"{str(row['class']):<{width}}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>9d}")
    print("\nconfusion matrix (rows: true, columns: predicted)")
    cw = max(width, 8)
    print(" " * cw + "".join(f"{str(c)[:cw - 1]:>{cw}}" for c in model.classes))
    for c, row in zip(model.classes, metrics["confusion_matrix"]):
        print(f"{str(c):<{cw}}" + "".join(f"{v:>{cw}d}" for v in row))


def _add_predict(sub):
    p = sub.add_parser("predict", help="predict labels (and class probabilities) for a CSV; '-' reads stdin")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA.csv|-")
    _add_header_options(p)
    p.add_argument("--out", metavar="F", help="write the CSV here instead of standard output")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(run=run_predict)


def run_predict(args):
    from .data import load_features
    _check_outputs(args, [args.out])
    model = _load_model(args.model)
    X = load_features(args.data, model.feature_names, header=args.header)
    text = _prediction_csv(model, X)
    if args.out:
        from .io import atomic_write_text
        atomic_write_text(args.out, text)
        print(f"wrote {len(X)} predictions to {args.out}", file=sys.stderr)
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
        writer.writerows([[repr(float(v)) for v in row] for row in Y])
    return buf.getvalue()


# ---- outputs ------------------------------------------------------------------------------------
def _check_outputs(args, paths, plots=()):
    """Refuse, before any work, to replace a file the user has (unless --force), to write nowhere,
    or to draw in a format that does not exist."""
    from .plotting import FORMATS
    for path in filter(None, plots):
        if os.path.splitext(path)[1].lstrip(".").lower() not in FORMATS:
            raise ConfigError(f"plot file must end in .png, .svg or .pdf; received {path!r}")
    for path in filter(None, paths):
        if os.path.isdir(path):
            raise ConfigError(f"output {path!r} is a folder; expected a file name")
        if os.path.exists(path) and not getattr(args, "force", False):
            raise ConfigError(f"output file {path!r} already exists; pass --force to replace it")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ConfigError(f"cannot write {path!r}: folder {folder!r} does not exist")


def _write_outputs(history, plot, metrics_json, title):
    if metrics_json:
        from .io import atomic_write_text
        atomic_write_text(metrics_json, history.to_json(indent=1))
        print(f"wrote the per-epoch history to {metrics_json}")
    if plot:
        from .plotting import plot_history
        print(f"drew the learning curves to {plot_history(history, plot, title)}")


def build_parser():
    parser = _Parser(
        prog="deltaprop",
        description="Backpropagation from scratch: train, evaluate, predict and explain MLPs.",
    )
    parser.add_argument("--version", action="version", version=f"deltaprop {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
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
