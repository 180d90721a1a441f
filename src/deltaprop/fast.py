"""The compiled engine: per-sample and small-batch SGD for small networks, in Numba.

For a 4-5-3 network one step is a few hundred flops, so NumPy spends nearly all its time in the
interpreter (about 50 µs a step). These kernels run the same equations as
:mod:`deltaprop.layers` and :mod:`deltaprop.losses`, one sample at a time, in compiled loops:

    z_j = sum_k w_jk a_k + b_j          a = f(z)
    delta^(L) = dC/dz (fused pair, or f'(z) * dC/da), divided by the batch size m
    dW_jk = sum_i delta_ij a_ik         db_j = sum_i delta_ij       (summed over the batch)
    grad_a_k = sum_j delta_j w_jk       delta^(l) = f'(z^(l)) * grad_a
    W <- W - eta (dW + l2 W)            b <- b - eta db

with the same floating-point operations in the same order as the NumPy path, so both give the same
numbers (to rounding in the last bits of a dot product or an exp: 1e-12 after the seed's 39,000
steps). Each epoch ends with the evaluation ``fit`` logs (loss and accuracy, or RMSE and R^2, on
the training and the validation rows), in the same call.

A network's parameters travel as one flat vector (see "the layout" below); :class:`Trainer` copies
them in and out around each epoch, so the network's own arrays stay the same objects. ``train``
runs K same-shape networks one after another, every epoch of them in one call, and
``train_side_by_side`` runs them with the K networks in the innermost loop (SIMD across networks);
:mod:`deltaprop.ensemble` uses both.

Numba is optional (``pip install 'deltaprop[fast]'``). Kernels are compiled on first use (about 10 s
per dtype on 2 cores; ``python -m deltaprop.fast`` does it ahead) and cached on disk beside this
module, or under ``NUMBA_CACHE_DIR``; where no cache directory can be written they are compiled in
memory in each process instead.
"""
import numpy as np

try:
    from numba import njit
    AVAILABLE = True
except ImportError:  # the NumPy engine does everything; this one only makes it faster
    AVAILABLE = False

    def njit(*args, **kwargs):
        return lambda f: f

IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX = range(6)
ACTIVATION_CODES = {"identity": IDENTITY, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU,
                    "leaky_relu": LEAKY_RELU, "softmax": SOFTMAX}
SQUARED_ERROR, CROSS_ENTROPY, BINARY_CROSS_ENTROPY = range(3)
LOSS_CODES = {"squared_error": SQUARED_ERROR, "cross_entropy": CROSS_ENTROPY,
              "binary_cross_entropy": BINARY_CROSS_ENTROPY}
DIVERGED = 1e8  # as in training.DIVERGED
FAST = {"contract", "reassoc", "nsz", "arcp"}  # no "nnan"/"ninf": NaN and inf must still be seen


def _jit(**options):
    """njit with the on-disk cache where one can be written, in memory only where none can."""
    def compile_(f):
        try:
            return njit(cache=True, error_model="numpy", fastmath=FAST, **options)(f)
        except RuntimeError:  # "no locator available": a read-only install and no writable NUMBA_CACHE_DIR
            return njit(error_model="numpy", fastmath=FAST, **options)(f)
    return compile_


# ---- the layout: every network is one flat vector of parameters -------------------------------
# theta[k] holds network k's parameters, layer by layer: W (n_out * n_in, row by row: W[j, q] at
# W_OFF + j * n_in + q), then b (n_out). The units of one sample lie side by side in a row of the
# scratch arrays Z, A, D: the inputs first (in A), then each layer's n_out units from OUT_OFF.
N_IN, N_OUT, W_OFF, B_OFF, ACT, IN_OFF, OUT_OFF, FROZEN = range(8)


# ---- scalars: one activation, its derivative, log-sigmoid ------------------------------------
@_jit(inline="always")
def _f(code, z):
    if code == SIGMOID:
        e = np.exp(-abs(z))  # as activations._sigmoid: exp never overflows
        r = 1 / (1 + e)
        return r if z >= 0 else e * r  # e / (1 + e), to the last bit
    if code == TANH:
        return np.tanh(z)
    if code == RELU:
        return z if z > 0 else 0 * z
    if code == LEAKY_RELU:
        return z if z > 0 else z * 0.01
    return z


@_jit(inline="always")
def _df(code, z, a):
    if code == SIGMOID:
        return a * (1 - a)
    if code == TANH:
        return 1 - a * a
    if code == RELU:
        return 1.0 if z > 0 else 0.0
    if code == LEAKY_RELU:
        return 1.0 if z > 0 else 0.01
    return 1.0


@_jit(inline="always")
def _log_sigmoid(z):
    t = -z  # log sigmoid(z) = -logaddexp(0, -z), in NumPy's order of operations
    if t == 0:
        return -np.log(2.0)
    return -(t + np.log1p(np.exp(-t))) if t > 0 else -np.log1p(np.exp(t))


@_jit(inline="always")
def _unpack(spec, l):
    return spec[l, N_IN], spec[l, N_OUT], spec[l, W_OFF], spec[l, B_OFF], spec[l, ACT], spec[l, IN_OFF], spec[l, OUT_OFF]


@_jit(inline="always")
def _max(v, lo, hi):
    top = v[lo]
    for j in range(lo + 1, hi):
        top = max(top, v[j])
    return top


@_jit(inline="always")
def _argmax(v):
    best = 0  # the first index wins ties, as numpy.argmax
    for j in range(1, len(v)):
        if v[j] > v[best]:
            best = j
    return best


# ---- one sample: forward, backward ---------------------------------------------------------
@_jit(inline="always")
def _softmax(Z, A, lo, hi):
    """A[lo:hi] = softmax(Z[lo:hi]), shifted by the max as activations._softmax."""
    top = _max(Z, lo, hi)
    total = 0.0
    for j in range(lo, hi):
        A[j] = np.exp(Z[j] - top)
        total += A[j]
    for j in range(lo, hi):
        A[j] /= total


@_jit(inline="always")
def _forward(p, spec, x, Z, A):
    """Z and A (one sample's row) for the input x: z = a_prev W^T + b, a = f(z), layer by layer."""
    for q in range(len(x)):
        A[q] = x[q]
    for l in range(spec.shape[0]):
        n_in, n_out, w, b, act, a0, u0 = _unpack(spec, l)
        for j in range(n_out):
            s, row = 0.0, w + j * n_in
            for q in range(n_in):
                s += A[a0 + q] * p[row + q]
            z = s + p[b + j]  # z_j = sum_k w_jk a_k + b_j
            Z[u0 + j] = z
            if act != SOFTMAX:
                A[u0 + j] = _f(act, z)
        if act == SOFTMAX:
            _softmax(Z, A, u0, u0 + n_out)


@_jit(inline="always")
def _backward(p, spec, loss, y, m, Z, A, D, g):
    """Add one sample's dW, db to g, from its output delta (one sample of a batch of m)."""
    L = spec.shape[0]
    n, act, u0 = spec[L - 1, N_OUT], spec[L - 1, ACT], spec[L - 1, OUT_OFF]
    if act == SOFTMAX and loss == CROSS_ENTROPY:  # the fused pairs of losses.FUSED
        ysum = 0.0
        for j in range(n):
            ysum += y[j]
        for j in range(n):
            D[u0 + j] = (A[u0 + j] * ysum - y[j]) / m
    elif act == SIGMOID and loss == BINARY_CROSS_ENTROPY:
        for j in range(n):
            D[u0 + j] = (A[u0 + j] - y[j]) / m
    elif act == SIGMOID and loss == CROSS_ENTROPY:
        for j in range(n):
            D[u0 + j] = ((A[u0 + j] - 1) * y[j]) / m
    else:
        for j in range(n):  # dC/da, then the chain rule through f
            if loss == SQUARED_ERROR:
                D[u0 + j] = (A[u0 + j] - y[j]) / m
            elif loss == CROSS_ENTROPY:
                D[u0 + j] = (-y[j] / A[u0 + j]) / m
            else:
                D[u0 + j] = ((A[u0 + j] - y[j]) / (A[u0 + j] * (1 - A[u0 + j]))) / m
        if act == SOFTMAX:  # J^T g = a * (g - <g, a>)
            ga = 0.0
            for j in range(n):
                ga += D[u0 + j] * A[u0 + j]
            for j in range(n):
                D[u0 + j] = A[u0 + j] * (D[u0 + j] - ga)
        else:
            for j in range(n):
                D[u0 + j] = D[u0 + j] * _df(act, Z[u0 + j], A[u0 + j])
    for l in range(L - 1, -1, -1):
        n_in, n_out, w, b, act, a0, u0 = _unpack(spec, l)
        for j in range(n_out):
            g[b + j] += D[u0 + j]  # db = delta
        for j in range(n_out):
            dj, row = D[u0 + j], w + j * n_in
            for q in range(n_in):
                g[row + q] += dj * A[a0 + q]  # dW = delta a_prev^T
        if l > 0:  # case 2: delta^(l) = f'(z^(l)) * (delta^(l+1) W^(l+1))
            below = spec[l - 1, ACT]
            for q in range(n_in):
                s = 0.0
                for j in range(n_out):
                    s += D[u0 + j] * p[w + j * n_in + q]
                D[a0 + q] = s * _df(below, Z[a0 + q], A[a0 + q])


@_jit(inline="always")
def _update(p, spec, g, lr, l2):
    """SGD: W <- W - eta (dW + l2 W), b <- b - eta db; frozen parameters stay."""
    for l in range(spec.shape[0]):
        n_in, n_out, w, b = spec[l, N_IN], spec[l, N_OUT], spec[l, W_OFF], spec[l, B_OFF]
        if not spec[l, FROZEN] & 1:
            for r in range(w, w + n_in * n_out):
                p[r] -= lr * (g[r] + l2 * p[r] if l2 != 0 else g[r])
        if not spec[l, FROZEN] & 2:
            for r in range(b, b + n_out):
                p[r] -= lr * g[r]


@_jit(inline="always")
def _exploded(p, spec):
    """0 while every |w| < DIVERGED (NaN counts as exploded); else the 1-based layer number."""
    for l in range(spec.shape[0]):
        for r in range(spec[l, W_OFF], spec[l, W_OFF] + spec[l, N_IN] * spec[l, N_OUT]):
            if not abs(p[r]) < DIVERGED:
                return l + 1
    return 0


@_jit(inline="always")
def _evaluate(p, spec, loss, X, Y, Z, A, out):
    """out = [sum of per-sample losses, number classified right, sum of squared errors]."""
    L = spec.shape[0]
    n, act, u0 = spec[L - 1, N_OUT], spec[L - 1, ACT], spec[L - 1, OUT_OFF]
    total = correct = sse = 0.0
    for r in range(X.shape[0]):
        _forward(p, spec, X[r], Z[0], A[0])
        a, z, y = A[0, u0:u0 + n], Z[0, u0:u0 + n], Y[r]
        c = e2 = 0.0
        for j in range(n):
            e2 += (a[j] - y[j]) ** 2
        if loss == SQUARED_ERROR:
            c = 0.5 * e2
        elif act == SOFTMAX:  # log a = (z - max z) - log sum exp(z - max z), as log_softmax
            top, se = _max(z, 0, n), 0.0
            for j in range(n):
                se += np.exp(z[j] - top)
            lse = np.log(se)
            for j in range(n):
                c -= y[j] * ((z[j] - top) - lse)
                if loss == BINARY_CROSS_ENTROPY:
                    c -= (1 - y[j]) * np.log1p(-a[j])
        else:
            for j in range(n):
                c -= y[j] * _log_sigmoid(z[j])
                if loss == BINARY_CROSS_ENTROPY:
                    c -= (1 - y[j]) * _log_sigmoid(-z[j])
        total += c
        if n == 1:
            correct += 1.0 if (a[0] >= 0.5) == (y[0] >= 0.5) else 0.0
        else:
            correct += 1.0 if _argmax(a) == _argmax(y) else 0.0
        sse += e2
    out[0], out[1], out[2] = total, correct, sse


@_jit(inline="always")
def _squared_weights(p, spec):
    """sum ||W||^2 over the layers (for the L2 term of the logged loss)."""
    total = 0.0
    for l in range(spec.shape[0]):
        for r in range(spec[l, W_OFF], spec[l, W_OFF] + spec[l, N_IN] * spec[l, N_OUT]):
            total += p[r] * p[r]
    return total


# ---- epochs of K networks -------------------------------------------------------------------
@_jit()
def train(theta, spec, loss, X, Y, orders, batch, lrs, l2, Xv, Yv, g, Z, A, D, results, status):
    """Epochs of mini-batch SGD for K networks of one shape, each evaluated after every epoch.

    theta (K, P); X (K, m, n_in), Y (K, m, n_out); orders (K, E, m): the row order of each epoch;
    lrs (K, E); Xv, Yv (K, m_val, .); results (K, E, 7): [loss sum, right, squared errors] on the
    training rows, then on the validation rows, then sum ||W||^2. status[k] becomes e * 1000 + l when layer l of
    network k blew up in epoch e (counted from 1); that network then stops.
    """
    K, E, m = orders.shape
    for e in range(E):
        for k in range(K):
            if status[k]:
                continue
            p, x, y, order = theta[k], X[k], Y[k], orders[k, e]
            bad = step = 0
            for start in range(0, m, batch):
                n = min(batch, m - start)
                g[:] = 0
                for i in range(n):
                    _forward(p, spec, x[order[start + i]], Z[i], A[i])
                    _backward(p, spec, loss, y[order[start + i]], n, Z[i], A[i], D[i], g)
                _update(p, spec, g, lrs[k, e], l2)
                if step % 64 == 63:  # as training._run_epoch: catch a blow-up within the epoch
                    bad = _exploded(p, spec)
                    if bad:
                        break
                step += 1
            bad = bad or _exploded(p, spec)
            if bad:
                status[k] = (e + 1) * 1000 + bad
                continue
            _evaluate(p, spec, loss, x, y, Z, A, results[k, e, 0:3])
            if Xv.shape[1]:
                _evaluate(p, spec, loss, Xv[k], Yv[k], Z, A, results[k, e, 3:6])
            results[k, e, 6] = _squared_weights(p, spec)


# ---- K networks side by side: per-sample SGD with the networks in the innermost loop ----------
# For K same-shape networks trained one sample at a time, every scalar of the kernel above becomes
# a vector of K: th (P, K), Z, A, D (width, K). The loops over k run along memory, so the compiler
# turns them into SIMD instructions; each network still sees exactly its own sequence of operations.
@_jit(inline="always")
def _forward_k(th, spec, Z, A, K):
    for l in range(spec.shape[0]):
        n_in, n_out, w, b, act, a0, u0 = _unpack(spec, l)
        for j in range(n_out):
            for k in range(K):
                Z[u0 + j, k] = 0.0
            for q in range(n_in):
                for k in range(K):
                    Z[u0 + j, k] += A[a0 + q, k] * th[w + j * n_in + q, k]  # z_j = sum_k w_jk a_k ...
            for k in range(K):
                z = Z[u0 + j, k] + th[b + j, k]  # ... + b_j
                Z[u0 + j, k] = z
                A[u0 + j, k] = _f(act, z)


@_jit(inline="always")
def _output_delta_k(act, loss, z, a, y):
    """dC/dz of one output unit of one sample (batch of one), elementwise activations only."""
    if act == SIGMOID and loss == BINARY_CROSS_ENTROPY:
        return a - y
    if act == SIGMOID and loss == CROSS_ENTROPY:
        return (a - 1) * y
    return (a - y) * _df(act, z, a)  # squared error: dC/da = a - y, then f'(z)


@_jit(inline="always")
def _backward_update_k(th, spec, Z, A, D, lr, l2, K):
    """Backpropagate one sample and take its SGD step, layer by layer from the output."""
    for l in range(spec.shape[0] - 1, -1, -1):
        n_in, n_out, w, b, act, a0, u0 = _unpack(spec, l)
        if l > 0:  # delta^(l-1) = f'(z) * (delta^(l) W^(l)), with W^(l) before its step
            below = spec[l - 1, ACT]
            for q in range(n_in):
                for k in range(K):
                    D[a0 + q, k] = 0.0
                for j in range(n_out):
                    for k in range(K):
                        D[a0 + q, k] += D[u0 + j, k] * th[w + j * n_in + q, k]
                for k in range(K):
                    D[a0 + q, k] = D[a0 + q, k] * _df(below, Z[a0 + q, k], A[a0 + q, k])
        if not spec[l, FROZEN] & 1:
            for j in range(n_out):
                for q in range(n_in):
                    r = w + j * n_in + q
                    for k in range(K):
                        g = D[u0 + j, k] * A[a0 + q, k]  # dW = delta a_prev^T
                        if l2 != 0:
                            g = g + l2 * th[r, k]
                        th[r, k] -= lr[k] * g
        if not spec[l, FROZEN] & 2:
            for j in range(n_out):
                for k in range(K):
                    th[b + j, k] -= lr[k] * D[u0 + j, k]


@_jit(inline="always")
def _exploded_k(th, spec, k):
    for l in range(spec.shape[0]):
        for r in range(spec[l, W_OFF], spec[l, W_OFF] + spec[l, N_IN] * spec[l, N_OUT]):
            if not abs(th[r, k]) < DIVERGED:
                return l + 1
    return 0


@_jit(inline="always")
def _evaluate_k(th, spec, loss, X, Y, Z, A, out, K):
    """out[k] = [loss sum, right, squared errors] of network k on its rows X[k], as _evaluate."""
    L = spec.shape[0]
    n, act, u0 = spec[L - 1, N_OUT], spec[L - 1, ACT], spec[L - 1, OUT_OFF]
    for k in range(K):
        out[k, 0] = out[k, 1] = out[k, 2] = 0.0
    for r in range(X.shape[1]):
        for k in range(K):
            for q in range(X.shape[2]):
                A[q, k] = X[k, r, q]
        _forward_k(th, spec, Z, A, K)
        for k in range(K):
            c = e2 = 0.0
            best = 0
            for j in range(n):
                a, y = A[u0 + j, k], Y[k, r, j]
                e2 += (a - y) ** 2
                if loss != SQUARED_ERROR:
                    c -= y * _log_sigmoid(Z[u0 + j, k])
                    if loss == BINARY_CROSS_ENTROPY:
                        c -= (1 - y) * _log_sigmoid(-Z[u0 + j, k])
                if A[u0 + j, k] > A[u0 + best, k]:
                    best = j
            if loss == SQUARED_ERROR:
                c = 0.5 * e2
            out[k, 0] += c
            if n == 1:
                out[k, 1] += 1.0 if (A[u0, k] >= 0.5) == (Y[k, r, 0] >= 0.5) else 0.0
            else:
                out[k, 1] += 1.0 if best == _argmax(Y[k, r]) else 0.0
            out[k, 2] += e2


@_jit()
def train_side_by_side(th, spec, loss, X, Y, orders, lrs, l2, Xv, Yv, Z, A, D, results, status):
    """train() for batch size 1 and an elementwise output layer, the K networks side by side."""
    K, E, m = orders.shape
    L = spec.shape[0]
    act, n, u0, n0 = spec[L - 1, ACT], spec[L - 1, N_OUT], spec[L - 1, OUT_OFF], spec[0, N_IN]
    for e in range(E):
        for i in range(m):
            for k in range(K):
                for q in range(n0):
                    A[q, k] = X[k, orders[k, e, i], q]
            _forward_k(th, spec, Z, A, K)
            for j in range(n):
                for k in range(K):
                    D[u0 + j, k] = _output_delta_k(act, loss, Z[u0 + j, k], A[u0 + j, k], Y[k, orders[k, e, i], j])
            _backward_update_k(th, spec, Z, A, D, lrs[:, e], l2, K)
            if i % 64 == 63:  # as training._run_epoch
                for k in range(K):
                    if status[k] == 0 and _exploded_k(th, spec, k):
                        status[k] = (e + 1) * 1000 + _exploded_k(th, spec, k)
        for k in range(K):
            if status[k] == 0 and _exploded_k(th, spec, k):
                status[k] = (e + 1) * 1000 + _exploded_k(th, spec, k)
        _evaluate_k(th, spec, loss, X, Y, Z, A, results[:, e, 0:3], K)
        if Xv.shape[1]:
            _evaluate_k(th, spec, loss, Xv, Yv, Z, A, results[:, e, 3:6], K)
        for k in range(K):
            results[k, e, 6] = _squared_weights(th[:, k], spec)


# ---- the Python side ----------------------------------------------------------------------
def side_by_side(net, loss, batch_size):
    """Whether train_side_by_side runs this: per-sample SGD, elementwise output layer."""
    return batch_size == 1 and net.activations[-1] != "softmax"


def unsupported(net, loss, optimizer):
    """Why the compiled engine cannot train this setting ("" when it can)."""
    if not AVAILABLE:
        return "numba is not installed (pip install 'deltaprop[fast]')"
    if type(optimizer).__name__ != "SGD":
        return f"it runs plain SGD; received optimizer {type(optimizer).__name__}"
    if loss.name not in LOSS_CODES:
        return f"loss {loss.name!r} has no compiled form"
    acts = net.activations
    if any(a not in ACTIVATION_CODES for a in acts) or "softmax" in acts[:-1]:
        return f"activations {acts} have no compiled form (softmax only as the output)"
    return ""


def is_small(net, batch_size):
    """Small enough that the interpreter, not arithmetic, would bound the NumPy engine."""
    return batch_size * net.n_params <= 65536


def layout(layers):
    """spec (L, 8) of a stack of Dense layers, the number of parameters P and the row width."""
    spec, w, u = [], 0, layers[0].n_in
    for l, layer in enumerate(layers):
        frozen = ("W" in layer.frozen) + 2 * ("b" in layer.frozen)
        a0 = 0 if l == 0 else spec[-1][OUT_OFF]
        code = ACTIVATION_CODES[layer.activation.name]
        spec.append([layer.n_in, layer.n_out, w, w + layer.W.size, code, a0, u, frozen])
        w, u = w + layer.W.size + layer.b.size, u + layer.n_out
    return np.array(spec, np.int64), w, u


def views(p, layers):
    """The arrays (W, b, W, b, ...) of a flat parameter vector p, as views shaped like the layers'."""
    out, w = [], 0
    for layer in layers:
        out.append(p[w:w + layer.W.size].reshape(layer.W.shape))
        out.append(p[w + layer.W.size:w + layer.W.size + layer.b.size])
        w += layer.W.size + layer.b.size
    return out


class Trainer:
    """training.fit's epochs for one network, in the compiled kernel (K = 1, one epoch a call)."""

    def __init__(self, net, loss, batch_size, X, Y, validation_data):
        self.spec, P, width = layout(net.layers)
        dt = net.dtype
        self.theta = np.zeros((1, P), dt)
        self.pairs = list(zip(views(self.theta[0], net.layers), [a for l in net.layers for a in (l.W, l.b)]))
        Xv, Yv = validation_data if validation_data is not None else (X[:0], Y[:0])
        self.loss, self.batch = LOSS_CODES[loss.name], int(batch_size)
        self.data = X[None], Y[None]
        self.val = Xv[None], Yv[None]
        self.g = np.zeros(P, dt)
        self.scratch = tuple(np.zeros((self.batch, width), dt) for _ in range(3))
        self.results, self.status = np.zeros((1, 1, 7)), np.zeros(1, np.int64)
        self.lrs, self.ordered = np.zeros((1, 1)), np.arange(len(X))[None, None]

    def epoch(self, order, lr, l2):
        """One epoch in ``order`` (None: as stored); returns (status, [7 sums]) and updates the network."""
        for view, param in self.pairs:
            view[...] = param  # a callback may have changed the weights since the last epoch
        self.lrs[0, 0] = lr
        orders = self.ordered if order is None else order[None, None]
        train(self.theta, self.spec, self.loss, *self.data, orders, self.batch, self.lrs, l2,
              *self.val, self.g, *self.scratch, self.results, self.status)
        for view, param in self.pairs:
            param[...] = view
        return int(self.status[0]), self.results[0, 0]


def warm_up():
    """Compile (or load from the cache) the kernels for float64 and float32, e.g. right after installing:

        python -m deltaprop.fast
    """
    from .ensemble import train_many
    from .losses import get_loss
    from .network import Network
    from .optimizers import SGD
    from .recipes import Run
    for dtype in ("float64", "float32"):
        X, Y = np.zeros((2, 2), dtype), np.zeros((2, 1), dtype)
        Trainer(Network([2, 2, 1], seed=0, dtype=dtype), get_loss("squared_error"), 1, X, Y, (X, Y)).epoch(None, 0.1, 0.0)
    runs = [Run(Network([2, 2, 1], seed=s), (np.zeros((2, 2)), np.zeros(2)), dict(batch_size=1, optimizer=SGD(0.1),
                shuffle=False, validation_data=(np.zeros((2, 2)), np.zeros(2))), None) for s in range(2)]
    train_many(runs, 1)


if __name__ == "__main__":
    from deltaprop import fast  # the package's module, so the cache is the one imports will find
    fast.warm_up()
