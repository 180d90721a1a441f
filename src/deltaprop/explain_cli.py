"""``deltaprop explain``: parse the arguments, build the Trace, print or write it. No math here.

    deltaprop explain --example lee --format markdown --lang zh
    deltaprop explain --example mazur --digits 9 --diagram mazur.png --view backward --grads
    deltaprop explain --model iris.npz --sample "5.1,3.5,1.4,0.2" --target Iris-setosa
"""
import math
import sys

from .cli import _output, _positive_float
from .errors import ConfigError, DataError

FORMATS = ("text", "markdown", "json", "html")


def add_explain_command(subparsers):
    """Add the ``explain`` subcommand to the main parser's ``subparsers``."""
    from .examples import EXAMPLES
    from .explain import DETAILS, LANGS
    from .losses import LOSSES
    p = subparsers.add_parser(
        "explain", help="write out one backpropagation step, every number, in the tutorials' notation (z, a, δ, ∂C/∂w)",
        description="One forward pass, backward pass and update on one sample, written out in full "
                    "(the network itself is not changed).")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--example", choices=sorted(EXAMPLES), help="a built-in example network")
    source.add_argument("--model", metavar="FILE", help="a saved model file (with --sample and --target)")
    p.add_argument("--sample", help='the input, comma-separated raw features: "5.1,3.5,1.4,0.2"')
    p.add_argument("--target", help="its class name for a classifier (Iris-setosa); its value(s), comma-separated, for regression")
    p.add_argument("--format", default="text", choices=FORMATS)
    p.add_argument("--lang", default="en", choices=LANGS)
    p.add_argument("--detail", default="auto", choices=DETAILS,
                   help="per-neuron sums, matrix form, or auto (per-neuron for layers up to 8 wide)")
    p.add_argument("--digits", type=int, default=4, help="significant digits printed (default 4)")
    p.add_argument("--lr", type=_positive_float, help="learning rate η (default: the example's, or 0.1)")
    p.add_argument("--loss", choices=sorted(LOSSES), help="loss function (default: the example's or model's)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty λ (default 0)")
    p.add_argument("--diagram", metavar="FILE", type=_output, help="also draw the network to FILE (.png or .svg)")
    p.add_argument("--view", default="forward", choices=("forward", "backward"), help="the diagram's view")
    p.add_argument("--grads", action="store_true", help="label the diagram's edges with ∂C/∂w too")
    p.add_argument("--out", metavar="FILE", type=_output,
                   help="write the explanation to FILE instead of the terminal ('-': standard output)")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(run=run_explain)
    return p


def run_explain(args):
    """Build the trace, render it, write it; draw the diagram if asked. Returns the exit code."""
    from .cli import _check_outputs, _writing
    _check_outputs(args, {"--out": args.out, "--diagram": args.diagram}, inputs=[args.model], text=["--out"])
    args.out = None if args.out == "-" else args.out
    if args.diagram:
        from .diagram import file_format
        file_format(args.diagram)  # a wrong suffix fails now, not after the text was printed
    trace = _trace_from_example(args) if args.example else _trace_from_model(args)
    from .explain import render
    text = render(trace, format=args.format, lang=args.lang, detail=args.detail, digits=args.digits)
    report = sys.stdout if args.out else sys.stderr  # standard output holds the explanation alone
    if args.out:
        from .io import atomic_write_text
        with _writing(args.out):
            atomic_write_text(args.out, text)
        print(f"wrote the explanation to {args.out}", file=report)
    else:
        sys.stdout.write(text)
    if args.diagram:
        from .diagram import save
        with _writing(args.diagram):
            save(trace, args.diagram, view=args.view, show_grads=args.grads, lang=args.lang)
        print(f"drew the network to {args.diagram}", file=report)
    return 0


def _trace_from_example(args):
    if args.sample is not None or args.target is not None:
        raise ConfigError("--sample and --target go with --model; a built-in example has its own sample")
    from .examples import get_example
    example = get_example(args.example)
    if args.loss:
        example.loss = args.loss
    return example.explain(lr=args.lr, l2=args.l2)


def _trace_from_model(args):
    if args.sample is None or args.target is None:
        raise ConfigError(f"--model needs --sample and --target; received sample={args.sample!r}, target={args.target!r}")
    from .explain import explain
    from .io import load_model
    from .network import Network
    model = load_model(args.model)
    if isinstance(model, Network):  # a bare network file: no scaler, no class names
        net, loss, names = model, "squared_error", (None, None)
        X = [_numbers(args.sample, "--sample", net.sizes[0], "one per input of the network")]
        Y = [_numbers(args.target, "--target", net.sizes[-1], "one per output of the network")]
    else:
        from .data import names_text
        net, loss, names = model.network, model.loss, (model.feature_names, model.classes)
        features = f"one per feature: {names_text(model.feature_names)}"
        X = model.prepare_X([_numbers(args.sample, "--sample", len(model.feature_names), features)])
        Y = model.encode_y(_target(args.target, model))
    trace = explain(net, X, Y, loss=args.loss or loss, lr=0.1 if args.lr is None else args.lr, l2=args.l2)
    trace.input_names, trace.output_names = _names(names[0]), _names(names[1])
    if getattr(model, "target_mean", None) is not None:  # what the network's y is, in the data's units
        mean, spread = (", ".join(f"{v:.6g}" for v in values) for values in (model.target_mean, model.target_spread))
        trace.notes = {"en": [f"This model trains on standardized targets: the network's y is (target − mean) / "
                              f"spread with mean ({mean}) and spread ({spread}); its output a answers a·spread + mean."],
                       "zh": [f"该模型用标准化后的目标值训练：网络的 y =（目标值 − 均值）/ 离散度，均值（{mean}），"
                              f"离散度（{spread}）；网络输出 a 对应的预测值为 a·离散度 + 均值。"]}
    return trace


def _same_number(name, text):
    if isinstance(name, bool) or not isinstance(name, (int, float)):
        return False
    try:
        return float(text) == name
    except ValueError:
        return False


def _names(values):
    return None if values is None else [str(v) for v in values]


def _numbers(text, option, n, what):
    """ "5.1,3.5" -> [5.1, 3.5], exactly n finite numbers; else a message naming the option."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != n or not all(math.isfinite(v) for v in values):
        numbers = "1 finite number" if n == 1 else f"{n} finite comma-separated numbers"
        raise DataError(f"{option} expects {numbers} ({what}); received {text!r}")
    return values


def _target(text, model):
    """The target as the model wants it: a class name, or numbers for regression. Numeric class
    names match by value, as evaluate reads them (1 is the class 1.0, 1.0 the class 1)."""
    if model.classes is None:  # regression: one number per output
        return [_numbers(text, "--target", model.network.sizes[-1], "one per output of the model")]
    for name in model.classes:
        if str(name) == text or _same_number(name, text):
            return [name]
    known = ", ".join(str(c) for c in model.classes)
    raise DataError(f"--target must be one of the model's classes ({known}); received {text!r}")
