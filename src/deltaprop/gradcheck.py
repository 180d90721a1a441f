"""Check backpropagation against central finite differences, on any network.

    dC/dw ~ (C(w - 2h) - 8 C(w - h) + 8 C(w + h) - C(w + 2h)) / (12 h)

This five-point central difference has truncation error O(h^4), so with h = 1e-3 both the
truncation (~1e-12) and the rounding (~1e-16 / h) errors sit far below the 1e-6 a check needs:
the simple two-point stencil leaves ~1e-11 of noise, which is a large relative error on a gradient
of 1e-5.

The check runs on a float64 copy of the network, so the user's network is untouched and a float32
network is checked at full precision. It reports, per layer and parameter, the worst relative
error |g_bp - g_fd| / max(|g_bp|, |g_fd|, floor): the floor keeps gradients that are both ~0 from
reporting noise as error.
"""
import math
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError
from .network import Network
from .optimizers import _check as check_positive


@dataclass
class GradcheckRow:
    layer: int  # 1-based layer number
    param: str  # "W" or "b"
    max_rel_error: float
    max_abs_error: float
    worst_index: tuple


class GradcheckReport:
    """Rows of worst errors; ``ok`` says whether every relative error is below ``tol``."""

    def __init__(self, rows, tol):
        self.rows, self.tol = rows, tol

    @property
    def worst(self):
        return max(row.max_rel_error for row in self.rows)

    @property
    def ok(self):
        return self.worst < self.tol

    def __str__(self):
        lines = [f"{'layer':>5}  {'param':>5}  {'max rel error':>13}  {'max abs error':>13}  worst at"]
        for r in self.rows:
            lines.append(f"{r.layer:>5}  {r.param:>5}  {r.max_rel_error:13.3e}  {r.max_abs_error:13.3e}  {r.worst_index}")
        verdict = "OK" if self.ok else "FAILED"
        lines.append(f"worst relative error {self.worst:.3e} (tolerance {self.tol:g}): {verdict}")
        return "\n".join(lines)

    __repr__ = __str__


def gradcheck(net, X, Y, loss="squared_error", l2=0.0, eps=1e-3, tol=1e-6, floor=1e-6):
    """Compare ``net.gradients`` with central differences of ``net.loss``; returns a report."""
    if not isinstance(net, Network):
        raise ConfigError(f"gradcheck needs a deltaprop Network; received {type(net).__name__}")
    for name, value in (("eps", eps), ("tol", tol), ("floor", floor)):
        check_positive(name, value, 0, math.inf)  # eps = 0 would divide by zero; tol or floor 0 checks nothing
    net = net.astype("float64")
    grads = [(dW.copy(), db.copy()) for dW, db in net.gradients(X, Y, loss=loss, l2=l2)]
    rows = []
    for l, (layer, (dW, db)) in enumerate(zip(net.layers, grads), start=1):
        for name, param, analytic in (("W", layer.W, dW), ("b", layer.b, db)):
            numeric = _numeric_gradient(net, param, X, Y, loss, l2, eps)
            abs_err = np.abs(analytic - numeric)
            rel_err = abs_err / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
            worst = np.unravel_index(np.argmax(rel_err), rel_err.shape)
            rows.append(GradcheckRow(l, name, float(rel_err.max()), float(abs_err.max()),
                                     tuple(int(i) for i in worst)))
    return GradcheckReport(rows, tol)


def _numeric_gradient(net, param, X, Y, loss, l2, eps):
    numeric = np.zeros_like(param)
    for idx in np.ndindex(param.shape):
        saved = param[idx]
        c = []
        for step in (-2, -1, 1, 2):
            param[idx] = saved + step * eps
            c.append(net.loss(X, Y, loss=loss, l2=l2))
        param[idx] = saved
        numeric[idx] = (c[0] - 8 * c[1] + 8 * c[2] - c[3]) / (12 * eps)
    return numeric
