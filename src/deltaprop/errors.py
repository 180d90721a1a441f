"""Errors a user can cause.

Every error deltaprop raises on purpose derives from :class:`DeltapropError`, so a caller (and the
CLI's single error boundary) can tell "you gave me something I cannot use" apart from a bug. The
subclasses also derive from :class:`ValueError`, which is what NumPy and scikit-learn users expect.
Messages are one line: what was expected, then what was received.
"""


class DeltapropError(Exception):
    """Base class of every error deltaprop raises on purpose."""


class ConfigError(DeltapropError, ValueError):
    """An unknown name or an invalid setting (activation, loss, size, learning rate, ...)."""


class ShapeError(DeltapropError, ValueError):
    """Arrays whose shapes do not fit the network or each other."""


class DataError(DeltapropError, ValueError):
    """Data that cannot be used: NaN/inf, empty, unreadable CSV, unknown label, ..."""


class ModelFileError(DeltapropError, ValueError):
    """A model file that is missing, truncated, too large, of another version or inconsistent."""


class TrainingDiverged(DeltapropError, RuntimeError):
    """The loss became NaN/inf or the weights exploded during training."""


def choose(kind, name, registry):
    """Look ``name`` up in ``registry``; on a miss, list the valid choices."""
    if isinstance(name, str) and name in registry:
        return registry[name]
    valid = ", ".join(sorted(registry))
    raise ConfigError(f"unknown {kind} {name!r}; expected one of: {valid}")
