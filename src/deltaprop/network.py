"""The network: a stack of :class:`~deltaprop.layers.Dense` layers and the BP algorithm.

Forward pass (正向传播): each layer computes z = a_prev W^T + b and a = f(z), keeping both.
Backward pass (反向传播), from the output layer back:

    delta^(L) = dC/dz^(L)                                   (case 1: the output layer)
    delta^(l) = f'(z^(l)) * (delta^(l+1) @ W^(l+1))         (case 2: a hidden layer)
    dC/dW^(l) = delta^(l)^T a^(l-1),   dC/db^(l) = sum_i delta^(l)_i

C is the loss averaged over the batch, plus lambda/2 sum ||W||^2 when an L2 penalty is asked for.
"""
import copy
from collections.abc import Iterable

import numpy as np

from .errors import ConfigError, DataError, ShapeError, choose
from .layers import INITIALIZERS, Dense, fast_layout
from .losses import check_pair, get_loss, output_delta

DTYPES = {"float64": np.float64, "float32": np.float32}


def _dtype(dtype):
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    return np.dtype(choose("dtype", name, DTYPES))


def make_rng(seed):
    """A NumPy Generator from ``seed``: None, a non-negative integer, or a Generator (passed through)."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer (or None); received {seed!r}")
    return np.random.default_rng(seed)


def _plain(values):
    """A list of plain Python values, for messages: [4, 0] rather than [np.int64(4), np.int64(0)]."""
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _check_sizes(sizes):
    if isinstance(sizes, np.ndarray) and sizes.ndim == 1:
        sizes = sizes.tolist()  # np.array([4, 5, 3]) lists sizes as well as [4, 5, 3] does
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        raise ConfigError(f"sizes must list at least 2 layer sizes (inputs, ..., outputs); received {sizes!r}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise ConfigError(f"every layer size must be a positive integer; received {_plain(sizes)!r}")
    return [int(s) for s in sizes]


def as_array(values, name):
    """np.asarray(values), with a one-line DataError where NumPy cannot make one rectangular array."""
    try:
        return np.asarray(values)
    except ValueError:
        raise DataError(f"{name} must be a rectangular array (every row the same length); "
                        f"received rows of different lengths") from None


def _numbers(values, name, dtype):
    """values as an array of dtype, with a one-line DataError for ragged or non-numeric values."""
    values = as_array(values, name)
    if values.dtype.kind not in "biuf":
        raise DataError(f"{name} must hold numbers; received an array of dtype {values.dtype}")
    return values.astype(dtype)


def check_l2(l2):
    """l2 as a float, or a ConfigError: the penalty l2/2 ||W||^2 needs a finite l2 >= 0."""
    if isinstance(l2, bool) or not isinstance(l2, (int, float, np.integer, np.floating)) or not np.isfinite(l2) or l2 < 0:
        raise ConfigError(f"l2 must be a finite number >= 0; received {_plain([l2])[0]!r}")
    return float(l2)


def _check_softmax(layers):
    for l, layer in enumerate(layers, start=1):
        if layer.activation.name == "softmax" and layer.n_out == 1:
            raise ConfigError(f"layer {l}: softmax over a single neuron always outputs 1, so nothing can be learned; "
                              f"expected 2 or more neurons for softmax, or 'sigmoid' for one output")


def _all_finite(X):
    """No NaN or inf in X, in one pass over it when it can: a NaN or inf anywhere makes the sum
    NaN or inf, so a finite sum settles it. A non-finite sum may only have overflowed; then min and
    max (which carry any NaN and show any inf, with no temporary array) decide."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf - inf and overflow are what we look for
        total = X.sum()
    return bool(np.isfinite(total) or (np.isfinite(X.min()) and np.isfinite(X.max())))


class Network:
    """A multilayer perceptron trained by backpropagation.

    Parameters
    ----------
    sizes : list of int
        Neurons per layer, inputs first: ``[4, 5, 3]`` is the seed's 4-5-3 Iris network.
    activation : str or list of str
        Activation of the hidden layers (one name for all, or one per hidden layer).
    output_activation : str, optional
        Activation of the output layer; defaults to ``activation``.
    init : str
        ``"uniform01"`` (the seed's random.random(), weights and biases in [0, 1)),
        ``"glorot_uniform"`` (alias ``"xavier_uniform"``) or ``"he_normal"``.
    seed : int or numpy Generator, optional
        Makes the initial weights reproducible.
    dtype : "float64" or "float32"
        Kept end to end: inputs are cast once at the boundary, never upcast inside.
    """

    def __init__(self, sizes, activation="sigmoid", output_activation=None,
                 init="glorot_uniform", seed=None, dtype="float64"):
        sizes = _check_sizes(sizes)
        n_hidden = len(sizes) - 2
        one = not isinstance(activation, (list, tuple))  # a name (or anything else: Dense refuses it by name)
        hidden = [activation] * n_hidden if one else list(activation)
        if len(hidden) != n_hidden:
            raise ConfigError(f"expected {n_hidden} hidden activations for sizes {list(sizes)}; received {len(hidden)}")
        acts = hidden + [output_activation or (activation if one else "sigmoid")]
        make = choose("initializer", init, INITIALIZERS)
        rng = make_rng(seed)
        dt = _dtype(dtype)
        self.layers = []
        for n_in, n_out, act in zip(sizes[:-1], sizes[1:], acts):
            W, b = make(rng, int(n_out), int(n_in), dt)
            self.layers.append(Dense(W, b, act))
        _check_softmax(self.layers)

    @classmethod
    def from_weights(cls, weights, biases, activations, dtype=None):
        """Build a network from explicit parameters: ``weights[l]`` is (n_out, n_in), ``biases[l]`` (n_out,).

        ``activations`` is one name for every layer or a list with one name per layer. The arrays
        are copied (as float64 unless ``dtype`` says otherwise).
        """
        if len(weights) == 0 or len(weights) != len(biases):
            raise ShapeError(f"expected one bias per weight matrix (at least one layer); "
                             f"received {len(weights)} weight matrices and {len(biases)} biases")
        acts = list(activations) if isinstance(activations, (list, tuple)) else [activations] * len(weights)
        if len(acts) != len(weights):
            raise ConfigError(f"expected {len(weights)} activations, one per layer; received {len(acts)}")
        dt = _dtype(dtype or "float64")
        net = cls.__new__(cls)
        net.layers = []
        for l, (W, b, act) in enumerate(zip(weights, biases, acts), start=1):
            W = np.array(_numbers(W, f"layer {l}: W", dt), ndmin=2)
            if W.ndim != 2 or 0 in W.shape:
                raise ShapeError(f"layer {l}: expected W as a matrix of shape (n_out, n_in), both at least 1; received shape {W.shape}")
            b = _numbers(b, f"layer {l}: b", dt)
            b = b.reshape(-1) if b.ndim else np.full(W.shape[0], b, dt)
            if b.shape != (W.shape[0],):
                raise ShapeError(f"layer {l}: expected a bias of shape ({W.shape[0]},) for W of shape {W.shape}; received {b.shape}")
            if l > 1 and W.shape[1] != net.layers[-1].n_out:
                raise ShapeError(f"layer {l}: expected W with {net.layers[-1].n_out} columns (the outputs of layer {l - 1}); received shape {W.shape}")
            if not (np.isfinite(W).all() and np.isfinite(b).all()):
                raise DataError(f"layer {l}: weights and biases must be finite; received NaN or inf")
            net.layers.append(Dense(W, b, act))
        _check_softmax(net.layers)
        return net

    # ---- what the network is -------------------------------------------------------------
    @property
    def weights(self):
        """The live weight matrices, W[l] of shape (n_out, n_in)."""
        return [layer.W for layer in self.layers]

    @property
    def biases(self):
        """The live bias vectors, b[l] of shape (n_out,)."""
        return [layer.b for layer in self.layers]

    @property
    def sizes(self):
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    @property
    def activations(self):
        return [layer.activation.name for layer in self.layers]

    @property
    def dtype(self):
        return self.layers[0].W.dtype

    @property
    def n_params(self):
        return sum(layer.W.size + layer.b.size for layer in self.layers)

    def __repr__(self):
        arch = "-".join(map(str, self.sizes))
        return f"Network({arch}, activations={self.activations}, dtype={self.dtype.name})"

    def copy(self):
        """A deep copy: parameters, frozen flags and recorded state."""
        return copy.deepcopy(self)

    def astype(self, dtype):
        """A copy whose parameters are of ``dtype`` ("float32" or "float64")."""
        net, dt = self.copy(), _dtype(dtype)
        for layer in net.layers:
            layer.W, layer.b = fast_layout(layer.W.astype(dt)), layer.b.astype(dt)
        return net

    def freeze(self, layers=None, params=("W", "b")):
        """Hold parameters fixed during updates (e.g. ``freeze(params="b")`` keeps every bias).

        ``layers`` is a 1-based layer number or a list of them (default: all). Gradients are still computed;
        the optimizer just leaves the frozen arrays alone. ``unfreeze`` undoes it.
        """
        for layer in self._select(layers):
            layer.frozen |= self._param_names(params)
        return self

    def unfreeze(self, layers=None, params=("W", "b")):
        for layer in self._select(layers):
            layer.frozen -= self._param_names(params)
        return self

    def _select(self, layers):
        if layers is None:
            return self.layers
        if isinstance(layers, np.ndarray):
            layers = layers.tolist()
        numbers = _plain(list(layers) if isinstance(layers, Iterable) and not isinstance(layers, str) else [layers])
        bad = [n for n in numbers if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(self.layers)]
        if bad:
            raise ConfigError(f"layer numbers are integers from 1 to {len(self.layers)}; received {bad!r}")
        return [self.layers[n - 1] for n in numbers]

    @staticmethod
    def _param_names(params):
        names = set(params) if isinstance(params, (list, tuple, set, frozenset)) else {params}
        if not names <= {"W", "b"}:
            raise ConfigError(f"parameter names are 'W' and 'b'; received {params!r}")
        return names

    # ---- checking what comes in ------------------------------------------------------------
    def check_X(self, X):
        """X as a (m, n_in) array of the network's dtype; a 1-D X is one sample."""
        X = as_array(X, "X")
        if X.dtype.kind not in "biuf":
            raise DataError(f"X must be numeric; received an array of dtype {X.dtype}")
        X = np.atleast_2d(X).astype(self.dtype, copy=False)
        if X.ndim != 2 or X.shape[1] != self.layers[0].n_in:
            raise ShapeError(f"expected X of shape (m, {self.layers[0].n_in}); received {X.shape}")
        if X.shape[0] == 0:
            raise ShapeError("expected at least one sample in X; received 0 rows")
        if not _all_finite(X):
            raise DataError("X contains NaN or inf; expected finite numbers")
        return X

    def check_Y(self, Y, m):
        """Y as a (m, n_out) array of the network's dtype (a 1-D Y fits a single output)."""
        Y = as_array(Y, "Y")
        if Y.dtype.kind not in "biuf":
            raise DataError(f"Y must be numeric; received an array of dtype {Y.dtype}")
        n_out = self.layers[-1].n_out
        Y = Y.astype(self.dtype, copy=False)
        given = Y.shape
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1) if n_out == 1 else Y.reshape(1, -1)  # one output a row, or one sample's targets
        if Y.shape != (m, n_out):
            labels = (f" (class labels? fit takes them; here give one-hot rows, e.g. np.eye({n_out})[labels])"
                      if len(given) == 1 and given[0] == m and n_out > 1 else "")
            raise ShapeError(f"expected Y of shape ({m}, {n_out}); received {given}{labels}")
        if not _all_finite(Y):
            raise DataError("Y contains NaN or inf; expected finite numbers")
        return Y

    def resolve_loss(self, loss):
        """The Loss object for ``loss``, refused if undefined on this network's outputs."""
        loss = get_loss(loss)
        check_pair(self.layers[-1].activation, loss)
        return loss

    def _check_batch(self, X, Y, loss, l2):
        """(X, Y, Loss, l2) checked at the boundary of loss, gradients and train_step."""
        loss = self.resolve_loss(loss)
        X = self.check_X(X)
        return X, self.check_Y(Y, len(X)), loss, check_l2(l2)

    # ---- the algorithm -----------------------------------------------------------------------
    def forward(self, X):
        """The last layer's activations, (m, n_out); every layer keeps its z and a."""
        return self._forward(self.check_X(X))

    def _forward(self, X):
        a = X
        for layer in self.layers:
            a = layer.forward(a)
        return a

    def _cost(self, loss, Y, l2):
        out = self.layers[-1]
        C = float(loss.value(out.activation, out.z, out.a, Y).mean())
        if l2:
            C += 0.5 * l2 * sum(float((layer.W ** 2).sum()) for layer in self.layers)
        return C

    def loss(self, X, Y, loss="squared_error", l2=0.0):
        """C = mean over the m samples of C_i, plus l2/2 * sum of squared weights (not biases)."""
        X, Y, loss, l2 = self._check_batch(X, Y, loss, l2)
        self._forward(X)
        return self._cost(loss, Y, l2)

    def backward(self, Y, loss="squared_error", l2=0.0):
        """Backpropagate from the last forward pass; return [(dW, db), ...] for every layer."""
        out = self.layers[-1]
        if out.a is None:
            raise ConfigError("backward needs a forward pass first: call forward(X), or gradients(X, Y) for both")
        loss = self.resolve_loss(loss)
        return self._backward(self.check_Y(Y, len(out.a)), loss, check_l2(l2))

    def _backward(self, Y, loss, l2=0.0):
        out = self.layers[-1]
        delta = output_delta(out.activation, loss, out.z, out.a, Y)  # case 1: output layer
        for l in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[l]
            grad_a_prev = layer.backward(delta, need_grad_a_prev=l > 0)
            if l > 0:  # case 2: delta^(l) = f'(z^(l)) * (delta^(l+1) W^(l+1))
                below = self.layers[l - 1]
                delta = below.activation.backward(below.z, below.a, grad_a_prev)
        if l2:
            for layer in self.layers:
                layer.dW += l2 * layer.W  # d/dW of l2/2 ||W||^2
        return [(layer.dW, layer.db) for layer in self.layers]

    def gradients(self, X, Y, loss="squared_error", l2=0.0):
        """[(dW, db), ...]: dC/dW and dC/db of the mean loss over the batch, shapes of (W, b)."""
        X, Y, loss, l2 = self._check_batch(X, Y, loss, l2)
        self._forward(X)
        return self._backward(Y, loss, l2)

    def params_and_grads(self):
        """(parameter, gradient) pairs of every parameter not frozen, for an optimizer."""
        pairs = []
        for layer in self.layers:
            if "W" not in layer.frozen:
                pairs.append((layer.W, layer.dW))
            if "b" not in layer.frozen:
                pairs.append((layer.b, layer.db))
        return pairs

    def train_step(self, X, Y, optimizer, loss="squared_error", l2=0.0):
        """One step of gradient descent on the batch (X, Y); returns the loss before the step."""
        if not hasattr(optimizer, "step"):
            raise ConfigError(f"optimizer must be an optimizer object such as SGD(0.1), which keeps its state "
                              f"between steps; received {optimizer!r}")
        X, Y, loss, l2 = self._check_batch(X, Y, loss, l2)
        self._forward(X)
        C = self._cost(loss, Y, l2)
        self._backward(Y, loss, l2)
        optimizer.step(self.params_and_grads())
        return C

    def predict(self, X):
        """Alias of :meth:`forward`: the output activations for X."""
        return self.forward(X)

    def fit(self, X, Y, **kwargs):
        """Train on (X, Y); see :func:`deltaprop.training.fit` for the arguments. Returns a History."""
        from .training import fit
        return fit(self, X, Y, **kwargs)

    def explain(self, x, y, **kwargs):
        """One forward/backward/update on a copy of the network, every number kept: a Trace."""
        from .explain import explain
        return explain(self, x, y, **kwargs)
