"""Loss functions C(a, y), averaged over the m samples of a batch.

``value`` gives the per-sample loss (shape (m,)); the network averages it. ``grad`` gives dC_i/da
for one sample's loss. The division by m happens in exactly one place, :func:`output_delta`, so
every layer equation after it is a plain sum over the batch.

Which losses are defined on which activation: squared error everywhere; the cross-entropies take
log a (and log(1 - a)), so they need outputs in (0, 1): sigmoid or softmax; binary cross-entropy
treats the outputs as independent, so it takes sigmoid only. Any other pairing is refused, never
silently wrong.
"""
import numpy as np

from .activations import log_sigmoid, log_softmax
from .errors import ConfigError, choose


def _log_a(act, z, a):
    """log a, computed from z where possible so that it never takes log(0)."""
    return log_softmax(z) if act.name == "softmax" else log_sigmoid(z)


def _log_1ma(act, z, a):
    """log(1 - a), stable: for sigmoid 1 - sigmoid(z) = sigmoid(-z)."""
    return log_sigmoid(-z) if act.name == "sigmoid" else np.log1p(-a)


class Loss:
    """A loss with its per-sample value and its gradient with respect to the output a."""

    def __init__(self, name, value, grad, needs_unit_interval):
        self.name, self._value, self.grad = name, value, grad
        self.needs_unit_interval = needs_unit_interval

    def value(self, act, z, a, y):
        """C_i for each sample i, shape (m,)."""
        return self._value(act, z, a, y)

    def __repr__(self):
        return f"Loss({self.name!r})"


LOSSES = {
    # C = 1/2 sum_j (a_j - y_j)^2, dC/da = a - y  (seed 05)
    "squared_error": Loss(
        "squared_error",
        lambda act, z, a, y: 0.5 * ((a - y) ** 2).sum(axis=1),
        lambda a, y: a - y,
        False,
    ),
    # C = -sum_j y_j log a_j, dC/da = -y / a
    "cross_entropy": Loss(
        "cross_entropy",
        lambda act, z, a, y: -(y * _log_a(act, z, a)).sum(axis=1),
        lambda a, y: -y / a,
        True,
    ),
    # C = -sum_j [y_j log a_j + (1 - y_j) log(1 - a_j)], dC/da = (a - y) / (a (1 - a))
    "binary_cross_entropy": Loss(
        "binary_cross_entropy",
        lambda act, z, a, y: -(y * _log_a(act, z, a) + (1 - y) * _log_1ma(act, z, a)).sum(axis=1),
        lambda a, y: (a - y) / (a * (1 - a)),
        True,
    ),
}

# Pairs whose dC/dz simplifies: no division by a, no log(0), stable for any z.
FUSED = {
    ("softmax", "cross_entropy"): lambda a, y: a * y.sum(axis=1, keepdims=True) - y,  # a - y for one-hot y
    ("sigmoid", "binary_cross_entropy"): lambda a, y: a - y,
    ("sigmoid", "cross_entropy"): lambda a, y: (a - 1) * y,
}


def get_loss(name):
    """The :class:`Loss` called ``name`` (a Loss passes through)."""
    return name if isinstance(name, Loss) else choose("loss", name, LOSSES)


def check_pair(act, loss):
    """Refuse a loss that is undefined on the activation's output range."""
    if loss.needs_unit_interval and act.name not in ("sigmoid", "softmax"):
        which = "'sigmoid'" if loss.name == "binary_cross_entropy" else "'sigmoid' or 'softmax'"
        raise ConfigError(
            f"loss {loss.name!r} takes log of the output, so it needs outputs in (0, 1) "
            f"(output activation {which}); received output activation {act.name!r}"
        )
    if (act.name, loss.name) == ("softmax", "binary_cross_entropy"):
        # Each output as a yes/no probability, though softmax ties them together: log(1 - a) of a
        # saturated output is -inf, and no fused formula avoids it.
        raise ConfigError("loss 'binary_cross_entropy' treats each output as an independent yes/no probability, "
                          "which softmax outputs are not; expected output activation 'sigmoid' with it "
                          "(or loss 'cross_entropy' with 'softmax'); received output activation 'softmax'")


def output_delta(act, loss, z, a, y):
    """delta of the output layer, dC/dz for the batch-mean loss C (case 1 of the lecture)."""
    fused = FUSED.get((act.name, loss.name))
    if fused is not None:
        return fused(a, y) / len(a)
    return act.backward(z, a, loss.grad(a, y) / len(a))
