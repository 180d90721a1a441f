"""The compiled engine, in C: whole epochs for small networks, fused elementwise passes for larger ones.

:class:`Trainer` (small networks, plain SGD) and :class:`Batched` (any network, SGD, momentum,
Nesterov or Adam: whole steps in one call of C, the matrix products in BLAS split between the cores;
see its docstring) are what ``fit(engine="auto")`` uses; :mod:`deltaprop.ensemble` trains many small
networks at once with ``train`` and ``train_side_by_side``.

For a 4-5-3 network one step is a few hundred flops, so NumPy spends nearly all its time in the
interpreter (about 40 µs a step). The C extension ``deltaprop._kernels`` (``_kernels.c`` and the
loops in ``_kernel.h``, built when deltaprop is installed) runs the same equations as
:mod:`deltaprop.layers` and :mod:`deltaprop.losses`, one sample at a time, in compiled loops:

    z_j = sum_k w_jk a_k + b_j          a = f(z)
    delta^(L) = dC/dz (fused pair, or f'(z) * dC/da), divided by the batch size m
    dW_jk = sum_i delta_ij a_ik         db_j = sum_i delta_ij       (summed over the batch)
    grad_a_k = sum_j delta_j w_jk       delta^(l) = f'(z^(l)) * grad_a
    W <- W - eta (dW + l2 W)            b <- b - eta db

with the same floating-point operations in the same order as the NumPy path, so both give the same
numbers (to rounding in the last bits of a dot product or an exp: 1e-12 after the seed's 39,000
steps). Each epoch ends with the evaluation ``fit`` logs (loss and accuracy, or RMSE and R^2, on
the training and the validation rows), in the same call; with ``running=True`` the training rows'
sums are taken from the forward passes of the epoch instead (``train_metrics="running"``).

A network's parameters travel as one flat vector (see "the layout" below); :class:`Trainer` copies
them in and out around each call, so the network's own arrays stay the same objects. ``train``
runs K same-shape networks one after another, every epoch of them in one call, and
``train_side_by_side`` runs them with the K networks in the innermost loop (SIMD across networks);
:mod:`deltaprop.ensemble` uses both.

Nothing is compiled at run time: the first run is as fast as every other. Where the extension
could not be built (no C compiler when deltaprop was installed) ``AVAILABLE`` is False and the
NumPy engine trains everything.
"""
import math
import time

import numpy as np

try:
    from ._kernels import BLOCK, train, train_side_by_side  # BLOCK: networks side by side in one vector
    AVAILABLE = True
except ImportError:  # the NumPy engine does everything; this one only makes it faster
    AVAILABLE = False
    train = train_side_by_side = None
    BLOCK = 8

IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX = range(6)  # as the enums of _kernels.c
ACTIVATION_CODES = {"identity": IDENTITY, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU,
                    "leaky_relu": LEAKY_RELU, "softmax": SOFTMAX}
SQUARED_ERROR, CROSS_ENTROPY, BINARY_CROSS_ENTROPY = range(3)
LOSS_CODES = {"squared_error": SQUARED_ERROR, "cross_entropy": CROSS_ENTROPY,
              "binary_cross_entropy": BINARY_CROSS_ENTROPY}


# ---- the layout: every network is one flat vector of parameters -------------------------------
# theta[k] holds network k's parameters, layer by layer: W (n_out * n_in, row by row: W[j, q] at
# W_OFF + j * n_in + q), then b (n_out). The units of one sample lie side by side in a row of the
# scratch arrays Z, A, D: the inputs first (in A), then each layer's n_out units from OUT_OFF.
N_IN, N_OUT, W_OFF, B_OFF, ACT, IN_OFF, OUT_OFF, FROZEN = range(8)


# ---- the Python side ----------------------------------------------------------------------
def side_by_side(net, loss, batch_size):
    """Whether train_side_by_side runs this: per-sample SGD, elementwise output layer."""
    return batch_size == 1 and net.activations[-1] != "softmax"


def unsupported(net, loss, optimizer, batched=False):
    """Why the compiled engine cannot train this setting ("" when it can): the per-sample kernel
    runs plain SGD; :class:`Batched` also momentum, Nesterov and Adam."""
    if not AVAILABLE:
        return "the C extension deltaprop._kernels was not built (no C compiler when deltaprop was installed)"
    names = ("SGD", "Momentum", "Nesterov", "Adam") if batched else ("SGD",)
    if type(optimizer).__module__ != "deltaprop.optimizers" or type(optimizer).__name__ not in names:
        runs = "the optimizers SGD, Momentum, Nesterov and Adam" if batched else "plain SGD (for a small network)"
        return f"it runs {runs}; received optimizer {type(optimizer).__name__}"
    if loss.name not in LOSS_CODES:
        return f"loss {loss.name!r} has no compiled form"
    if batched and not all(a.flags.c_contiguous or a.flags.f_contiguous for layer in net.layers for a in (layer.W, layer.b)):
        return "its weights are not contiguous in memory (updates run on 1-d views of them)"
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
    """training.fit's epochs for one network, in the compiled kernel (K = 1): :meth:`epochs` runs
    one or several epochs a call, keeping the weights of the best epoch as fit does."""

    def __init__(self, net, loss, batch_size, X, Y, validation_data, running=False):
        self.spec, P, width = layout(net.layers)
        dt = net.dtype
        self.theta = np.zeros((1, P), dt)
        self.layers = net.layers
        self.pairs = list(zip(views(self.theta[0], net.layers), [a for layer in net.layers for a in (layer.W, layer.b)]))
        Xv, Yv = validation_data if validation_data is not None else (X[:0], Y[:0])
        self.loss, self.batch, self.running = LOSS_CODES[loss.name], int(batch_size), bool(running)
        self.data = np.ascontiguousarray(X)[None], np.ascontiguousarray(Y)[None]
        self.val = np.ascontiguousarray(Xv)[None], np.ascontiguousarray(Yv)[None]
        self.g = np.zeros(P, dt)
        self.scratch = tuple(np.zeros((self.batch, width), dt) for _ in range(3))
        self.status = np.zeros(1, np.int64)

    def epochs(self, orders, lr, l2, best_score=None, monitor="loss"):
        """Epochs in the row orders (E, m); returns (status, sums (E, 7), the best epoch's weights or None).

        status is 0, or e * 1000 + l when layer l blew up in epoch e (counted from 1; l = 0: the
        loss became NaN or infinite); the network then holds the weights it blew up with, and the
        sums of that epoch and later ones are not filled. The best weights are those of the last
        epoch whose ``monitor`` ("loss" or "val_loss") beat ``best_score`` and every epoch before it,
        as ``[W1, W2, ..., b1, b2, ...]`` (None: no epoch did, or no ``best_score`` was given).
        """
        for view, param in self.pairs:
            view[...] = param  # a callback may have changed the weights since the last call
        E = len(orders)
        results, lrs = np.zeros((1, E, 7)), np.full((1, E), float(lr))
        tracked = best_score is not None
        best, score = (self.theta.copy(), np.array([best_score], float)) if tracked else (None, None)
        self.status[0] = 0
        train(self.theta, self.spec, self.loss, *self.data, np.ascontiguousarray(orders, np.int64)[None], self.batch,
              lrs, l2, *self.val, self.g, *self.scratch, results, self.status, self.running, best, score,
              3 if monitor == "val_loss" else 0)
        for view, param in self.pairs:
            param[...] = view
        if not tracked or not score[0] < best_score:
            return int(self.status[0]), results[0], None
        v = views(best[0], self.layers)
        return int(self.status[0]), results[0], [a.copy() for a in v[0::2] + v[1::2]]


class Batched:
    """One mini-batch step for a network that BLAS keeps busy: the step
    :meth:`deltaprop.network.Network.train_step` takes, as

        z = a_prev @ W.T             (BLAS)
        z += b; a = f(z)             (one C pass)
        delta^(L) = dC/dz / m        (one C pass over the output rows, with their running metrics)
        dW = delta.T @ a_prev        (BLAS, in W's own memory layout); db = delta.sum(0)
        delta^(l) = (delta^(l+1) @ W^(l+1)) * f'(z^(l))    (BLAS, then one C pass)
        W -= eta (dW + l2 W); b -= eta db                   (one C pass each: sgd, or the momentum,
                                                            Nesterov or Adam step of optimizers.py)

    With plain SGD each trained W is updated inside its own dW product (BLAS's C = alpha A B + beta C
    with alpha = -eta, beta = 1 - eta l2), once nothing reads it any more: the first layer's in its
    turn, a layer above after the delta below it is whole. No dW is written, so the largest arrays
    of the step are not zeroed, written and read back.

    Where NumPy's own OpenBLAS can be called from C (:func:`blas`), :meth:`train` runs whole steps
    in one call of ``plan_step`` (fit asks for up to the next 64th step and about 50 ms of them,
    and checks for Ctrl-C and a blow-up between calls, as it does every step and every 64 steps on
    the NumPy engine), each on ``threads`` threads (BLAS's own count): each matrix product is split into
    one full-height part a thread, a block of units or of the batch's rows, and BLAS runs each part
    on one thread (BLAS's own thread count is set to one during the call, and restored). At batch
    128 that keeps the cores busier than BLAS's own splitting of each small product, and the rows
    of the batch are gathered, the elementwise passes and the update run on all the threads too.
    :meth:`scores` evaluates a whole set the same way (fit's exact and validation metrics), so no
    BLAS thread of NumPy's is left spinning beside the step's. ``threads`` (default:
    :func:`step_threads`) says how many. Elsewhere the matrix products go through NumPy's
    ``matmul`` into buffers kept from step to step, and the elementwise passes through the same C
    functions, one call each.

    NumPy makes two to four passes and a temporary for each elementwise line. The numbers are the
    NumPy engine's (to the last bits of a dot product or an exp); the layers' recorded state (z, a,
    delta, ...) is not updated, since nothing reads it during fit.
    """

    def __init__(self, net, loss, batch_size, threads=None):
        from . import _kernels
        dt, self.batch, self.K = net.dtype, int(batch_size), _kernels
        self.loss, layers = LOSS_CODES[loss.name], net.layers
        self.codes = [ACTIVATION_CODES[layer.activation.name] for layer in layers]
        self.W, self.b = [layer.W for layer in layers], [layer.b for layer in layers]
        self.f_layout = [W.flags.f_contiguous and not W.flags.c_contiguous for W in self.W]
        self.dW = [np.empty_like(W) for W in self.W]  # in W's own memory layout
        self.db = [np.empty_like(b) for b in self.b]
        # z and a have rows for a step and for a scoring chunk (plan_score: up to 1024 rows or 8 MiB of
        # buffers, so that its products are wide); delta for a step
        row_bytes = np.dtype(dt).itemsize * (2 * sum(layer.n_out for layer in layers) + layers[0].n_in + layers[-1].n_out)
        self.score_rows = max(self.batch, min(1024, SCORE_BYTES // row_bytes))
        Z, A = ([np.empty((self.score_rows, layer.n_out), dt) for layer in layers] for _ in range(2))
        self.full = Z, A
        self.buffers = {self.batch: ([z[:self.batch] for z in Z], [a[:self.batch] for a in A],
                                     [np.empty((self.batch, layer.n_out), dt) for layer in layers])}
        self.sums = np.zeros(3)
        # (parameter, its 1-d view, the gradient's 1-d view, takes l2), in the order of
        # Network.params_and_grads, which the optimizer's state follows
        self.params = [(p, p.ravel(order="K"), g.ravel(order="K"), is_W)
                       for layer, W, b, dW, db in zip(layers, self.W, self.b, self.dW, self.db)
                       for p, g, is_W, name in ((W, dW, True, "W"), (b, db, False, "b")) if name not in layer.frozen]
        self.trained = [p for p, _, _, _ in self.params]
        self.lib = blas()
        self.threads = 1 if self.lib is None else step_threads(self.lib, net, self.batch, threads)
        self.plan, self.planned_state = None, None
        self.seconds_a_step = 0.0  # as the last call of train took (fit sizes its calls by it)
        if self.lib is not None:
            self.Xb = np.empty((self.score_rows, layers[0].n_in), dt)
            self.Yb = np.empty((self.score_rows, layers[-1].n_out), dt)

    def train(self, X, Y, rows, opt, l2, sums=None):
        """Train on the rows ``rows`` of (X, Y) (row numbers, or a slice), one step of ``batch`` of
        them after another (the last may be shorter), with the optimizer ``opt``; add each step's
        loss, rows right and squared errors to ``sums``, if given."""
        if isinstance(rows, slice):  # rows start .. stop, read in place
            start, stop, stride = rows.indices(len(X))
            rows = None if stride == 1 else np.arange(start, stop, stride)
            n = max(0, stop - start) if stride == 1 else len(rows)
        else:
            start, n = 0, len(rows)
        if self.lib is None:
            for s in range(0, n, self.batch):
                idx = slice(start + s, start + min(n, s + self.batch)) if rows is None else rows[s:s + self.batch]
                self._step_numpy(X[idx], Y[idx], opt, l2, sums)
            return
        steps = -(-n // self.batch)
        code, args = _optimizer_args(opt, self.trained, steps)
        state = _state_arrays(opt)
        if self.plan is None or len(state) != len(self.planned_state) or any(a is not b for a, b in zip(state, self.planned_state)):
            _match_layouts(opt, self.trained)  # (a new state array, or the first step)
            self.plan, self.planned_state = self._plan(opt), _state_arrays(opt)
        if sums is not None:
            self.sums[:] = sums
        t0 = time.perf_counter()
        self.K.plan_step(self.plan, X, Y, rows, start, n, self.batch, None if sums is None else self.sums, code, args[0], l2,
                         *args[1:])
        self.seconds_a_step = (time.perf_counter() - t0) / steps
        if sums is not None:
            sums[:] = self.sums.tolist()

    def scores(self, X, Y):
        """[loss sum, rows right, sum of squared errors] over the rows of (X, Y), the forward passes in
        the plan's threads; None where the step has no plan (yet) or the rows do not fit it."""
        if self.plan is None or len(X) == 0 or X.dtype != self.Xb.dtype or Y.dtype != self.Xb.dtype:
            return None
        sums = np.zeros(3)
        self.K.plan_score(self.plan, X, Y, sums)
        return sums

    def _plan(self, opt):
        """The arrays of the step, for plan_step: each layer's, then each parameter's with its optimizer state."""
        (Z, A), D = self.full, self.buffers[self.batch][2]
        layers = tuple((W.T if f else W, b, dW.T if f else dW, db, z, a, d, code, f, code == SOFTMAX or W.shape[0] < 16 * self.threads)
                       for W, b, dW, db, z, a, d, code, f in zip(self.W, self.b, self.dW, self.db, Z, A, D, self.codes, self.f_layout))
        params, layer_of = [], {id(p): l for l in range(len(self.W)) for p in (self.W[l], self.b[l])}
        for (param, p, g, is_W), s in zip(self.params, opt.state):
            s = s if isinstance(s, tuple) else (s, None)
            params.append((p, g, *(None if a is None else a.ravel(order="K") for a in s), layer_of[id(param)], is_W))
        gemm = self.lib["dgemm" if self.W[0].dtype == np.float64 else "sgemm"]
        return self.K.plan(layers, tuple(params), self.Xb, self.Yb, self.loss, gemm, self.lib["ilp64"], self.threads,
                           self.lib["set_threads"], self.lib["get_threads"])

    def _step_numpy(self, X, Y, opt, l2, sums):
        """The step with NumPy's matmul for the matrix products, the elementwise passes in C."""
        K, n, Y = self.K, len(X), np.ascontiguousarray(Y)  # (a slice of a column-major Y is not)
        if n not in self.buffers:  # a last, shorter batch: views of the first rows
            self.buffers[n] = tuple([buf[:n] for buf in bufs] for bufs in self.buffers[self.batch])
        Z, A, D = self.buffers[n]
        a = X
        for l, W in enumerate(self.W):
            np.matmul(a, W.T, out=Z[l])
            K.bias_act(Z[l], self.b[l], A[l], self.codes[l])
            a = A[l]
        if sums is not None:
            self.sums[:] = 0
        K.output_delta_rows(Z[-1], a, Y, D[-1], self.db[-1], self.codes[-1], self.loss, None if sums is None else self.sums)
        for l in range(len(self.W) - 1, -1, -1):
            a_prev = X if l == 0 else A[l - 1]
            if self.f_layout[l]:
                np.matmul(a_prev.T, D[l], out=self.dW[l].T)
            else:
                np.matmul(D[l].T, a_prev, out=self.dW[l])
            if l > 0:
                np.matmul(D[l], self.W[l], out=D[l - 1])
                K.act_backward(D[l - 1], Z[l - 1], A[l - 1], self.db[l - 1], self.codes[l - 1])
        _update(K, opt, [(p, flat, g, l2 if is_W else 0.0) for p, flat, g, is_W in self.params])
        if sums is not None:
            for i in range(3):
                sums[i] += float(self.sums[i])


SCORE_BYTES = 8 << 20  # Batched's scoring buffers (z, a, the gathered rows) hold at most this, or one batch
OPTIMIZER_CODES = {"SGD": 0, "Momentum": 1, "Nesterov": 1, "Adam": 2}  # as the enum of _kernels.c


def _optimizer_args(opt, params, steps=1):
    """opt's code and (lr, mu, nesterov, beta1, beta2, t, epsilon) for its next ``steps`` steps, t
    the first one's number; counts them (opt.t += steps) and creates the state opt.step would create."""
    if opt.state is None or len(opt.state) != len(params):
        opt.state, opt.t = [opt.init_state(p) for p in params], 0  # as Optimizer.step: a fresh start
    t, opt.t = opt.t + 1, opt.t + steps
    name, lr = type(opt).__name__, opt.learning_rate
    if name == "Adam":
        return 2, (lr, 0.0, False, opt.beta1, opt.beta2, t, opt.epsilon)
    return OPTIMIZER_CODES[name], (lr, getattr(opt, "momentum", 0.0), name == "Nesterov", 0.0, 0.0, t, 0.0)


def _state_arrays(opt):
    """Every array of the optimizer's state, in order."""
    return [a for s in opt.state for a in (s if isinstance(s, tuple) else (s,)) if a is not None]


def _match_layouts(opt, params):
    """The C passes walk a parameter and its optimizer state as 1-d views: give each state array its
    parameter's memory layout (a state made or loaded row by row for weights stored column by column
    would otherwise pair the wrong entries)."""
    for i, (p, s) in enumerate(zip(params, opt.state)):
        order = "F" if p.flags.f_contiguous and not p.flags.c_contiguous else "C"
        same = lambda a: a is None or (a.flags.f_contiguous if order == "F" else a.flags.c_contiguous)
        if not all(same(a) for a in (s if isinstance(s, tuple) else (s,))):
            opt.state[i] = tuple(np.array(a, order=order) for a in s) if isinstance(s, tuple) else np.array(s, order=order)


def _update(K, opt, params):
    """opt.step on [(param, its 1-d view, dC/dparam without l2 as a 1-d view, l2), ...], each
    parameter's update in one C pass; the optimizer's state is what opt.step would keep."""
    trained = [p for p, _, _, _ in params]
    code, (lr, mu, nesterov, b1, b2, t, eps) = _optimizer_args(opt, trained)
    _match_layouts(opt, trained)
    if code == 2:  # the bias corrections, as optimizers.Adam
        eta_t, eps_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t), eps * math.sqrt(1 - b2 ** t)
    for (_, p, g, l2), state in zip(params, opt.state):  # the state arrays share the param's layout
        if code == 0:
            K.sgd(p, g, lr, l2)
        elif code == 2:
            m, s = state
            K.adam(p, g, m.ravel(order="K"), s.ravel(order="K"), l2, b1, 1 - b1, b2, 1 - b2, eta_t, eps_t)
        else:
            K.momentum(p, g, state.ravel(order="K"), lr, l2, mu, nesterov)


# ---- NumPy's own BLAS, called from C ------------------------------------------------------------
_BLAS = []


def blas():
    """NumPy's OpenBLAS as addresses for C: {"dgemm", "sgemm", "ilp64", "set_threads", "get_threads"},
    or None where NumPy was built with another BLAS or its library cannot be found (the batched step
    then calls NumPy's matmul). Looked up once."""
    if not _BLAS:
        _BLAS.append(_find_openblas() if AVAILABLE else None)
    return _BLAS[0]


def _find_openblas():
    import ctypes
    import glob
    import os
    config = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    if "openblas" not in str(config.get("name", "")).lower():
        return None
    here = os.path.dirname(np.__file__)
    paths = glob.glob(os.path.join(here, os.pardir, "numpy.libs", "*openblas*")) + glob.glob(os.path.join(here, ".dylibs", "*openblas*"))
    try:  # the libraries this process has loaded (Linux), for a NumPy linked to a system OpenBLAS
        with open("/proc/self/maps") as maps:
            paths += sorted({line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1]})
    except OSError:
        pass
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            names = [f"{prefix}{name}{suffix}" for name in ("cblas_dgemm", "cblas_sgemm", "openblas_set_num_threads",
                                                            "openblas_get_num_threads", "openblas_get_config")]
            if not all(hasattr(lib, name) for name in names):
                continue
            get_config = getattr(lib, names[4])
            get_config.restype = ctypes.c_char_p
            parallel = getattr(lib, f"{prefix}openblas_get_parallel{suffix}", None)  # 0 none, 1 pthreads, 2 OpenMP
            address = [ctypes.cast(getattr(lib, name), ctypes.c_void_p).value for name in names[:4]]
            return {"dgemm": address[0], "sgemm": address[1], "set_threads": address[2], "get_threads": address[3],
                    "ilp64": b"USE64BITINT" in (get_config() or b""), "openmp": parallel is not None and parallel() == 2,
                    "path": path}
    return None


def step_threads(lib, net, batch, threads=None):
    """Threads for Batched's step: BLAS's own count (as threadpoolctl or OPENBLAS_NUM_THREADS left it),
    if the step is large enough to share and the batch has 32 rows a thread for that many; else one
    thread, which leaves each matrix product to BLAS's own threads (a machine with more cores than
    the batch can feed is better served by them). One also where OpenBLAS was built with OpenMP: its
    thread count is then each calling thread's own, and the step's threads would each start a team."""
    if lib.get("openmp"):
        return 1
    if threads is None:
        threads = blas_threads(lib)
    flops = 6 * batch * sum(layer.W.size for layer in net.layers)
    threads = min(int(threads), cores())
    return threads if 1 < threads <= min(batch // 32, 64) and flops >= 4e6 else 1


def blas_threads(lib):
    """BLAS's own thread count now."""
    import ctypes
    return ctypes.CFUNCTYPE(ctypes.c_int)(lib["get_threads"])()


def cores():
    """The cores this process may run on."""
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
