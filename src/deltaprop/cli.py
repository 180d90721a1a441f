"""The ``deltaprop`` command line: argument parsing and printing only, no math.

One error boundary: a :class:`~deltaprop.errors.DeltapropError` (or a file the user named that
cannot be read) prints ``deltaprop: error: ...`` and exits 2 with no traceback; anything else is a
bug and keeps its traceback.
"""
import argparse
import sys

from . import __version__
from .errors import DeltapropError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="deltaprop",
        description="Backpropagation from scratch: train, evaluate, predict and explain MLPs.",
    )
    parser.add_argument("--version", action="version", version=f"deltaprop {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from .explain_cli import add_explain_command
    add_explain_command(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except DeltapropError as exc:
        print(f"deltaprop: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the user named: missing, unreadable, a folder, ...
        name = f" {exc.filename!r}" if exc.filename else ""
        print(f"deltaprop: error: cannot use file{name}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deltaprop: interrupted", file=sys.stderr)
        return 130
