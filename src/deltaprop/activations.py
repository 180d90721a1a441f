"""Activation functions a = f(z) and their derivatives f'(z).

Each activation knows three things: the function, its derivative (elementwise, written with
whichever of z or a makes it cheapest: the seed's sigmoid'(z) = a(1 - a)), and the range of its
outputs, which decides which losses are defined on it. Softmax is not elementwise: its backward
pass is a Jacobian-vector product, so it overrides :meth:`Activation.backward`.

All functions keep the dtype of ``z`` (float32 stays float32).
"""
import numpy as np

from .errors import ConfigError, choose


class Activation:
    """An elementwise activation: ``a = f(z)``, ``delta = grad_a * f'(z)``."""

    def __init__(self, name, f, df, low, high):
        self.name, self.f, self.df = name, f, df
        self.low, self.high = low, high  # the open/closed range of a; decides valid losses

    def __call__(self, z):
        return self.f(z)

    def derivative(self, z, a):
        """f'(z), elementwise, shape of z (for softmax: the Jacobian's diagonal a(1 - a))."""
        return self.df(z, a)

    def backward(self, z, a, grad_a):
        """dC/dz from dC/da: the chain rule through f, one line (the lecture's sigma'(z))."""
        return grad_a * self.df(z, a)

    def __reduce__(self):
        # Pickle (and deepcopy) by name: the registry holds the functions, so a copy is the same object.
        return get_activation, (self.name,)

    def __repr__(self):
        return f"Activation({self.name!r})"


def _sigmoid(z):
    # exp(-|z|) never overflows, so |z| up to 1e3 (and beyond) is safe in both branches.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))  # shift: exp of values <= 0 cannot overflow
    return e / e.sum(axis=1, keepdims=True)


class Softmax(Activation):
    """a_j = exp(z_j) / sum_k exp(z_k), row by row; each output depends on every z of its row."""

    def __init__(self):
        super().__init__("softmax", _softmax, lambda z, a: a * (1 - a), 0.0, 1.0)

    def backward(self, z, a, grad_a):
        # J = diag(a) - a a^T, so J^T g = a * (g - <g, a>): the full Jacobian-vector product.
        return a * (grad_a - (grad_a * a).sum(axis=1, keepdims=True))


def log_sigmoid(z):
    """log(sigmoid(z)) without log(0): -log(1 + e^-z)."""
    return -np.logaddexp(0, -z)


def log_softmax(z):
    """log(softmax(z)) = z - logsumexp(z), stable for any |z|."""
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


INF = float("inf")
ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", _sigmoid, lambda z, a: a * (1 - a), 0.0, 1.0),
    "tanh": Activation("tanh", np.tanh, lambda z, a: 1 - a * a, -1.0, 1.0),
    "relu": Activation("relu", lambda z: np.maximum(z, 0), lambda z, a: (z > 0).astype(z.dtype), 0.0, INF),
    "leaky_relu": Activation(
        "leaky_relu",
        lambda z: np.where(z > 0, z, z * z.dtype.type(0.01)),
        lambda z, a: np.where(z > 0, z.dtype.type(1), z.dtype.type(0.01)),
        -INF, INF,
    ),
    "identity": Activation("identity", lambda z: z, lambda z, a: np.ones_like(z), -INF, INF),
    "softmax": Softmax(),
}


def get_activation(name):
    """The built-in :class:`Activation` called ``name`` (one of ACTIVATIONS' own objects passes through).

    Other Activation objects are refused: a network is copied, saved, explained and run by the
    compiled engine by its activations' names, so a function the registry does not hold would be
    lost, or swapped for the built-in of the same name, on the way."""
    if isinstance(name, Activation) and ACTIVATIONS.get(name.name) is not name:
        raise ConfigError(f"custom activations are not supported; expected one of: {', '.join(sorted(ACTIVATIONS))} "
                          f"(a name or deltaprop.ACTIVATIONS[name]); received {name!r}")
    return name if isinstance(name, Activation) else choose("activation", name, ACTIVATIONS)
