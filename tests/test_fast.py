"""The compiled engine (deltaprop.fast) gives the NumPy engine's numbers, and falls back cleanly."""
import shutil
import sysconfig
import time

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.optimizers import get_optimizer
from deltaprop import fast, recipes
from deltaprop.callbacks import EarlyStopping

compiled_only = pytest.mark.skipif(not fast.AVAILABLE, reason="the C extension was not built")


def both(make_net, X, Y, **kwargs):
    """Train two copies of one network, one per engine; return (numpy, compiled) networks and histories."""
    runs = []
    for engine in ("numpy", "compiled"):
        net = make_net()
        runs.append((net, net.fit(X, Y, verbose=0, engine=engine, **kwargs)))
    return runs


def assert_same(runs, tol=1e-12):
    (net_a, hist_a), (net_b, hist_b) = runs
    assert sorted(hist_a.history) == sorted(hist_b.history)
    for key in hist_a.history:
        if key != "time":
            np.testing.assert_allclose(hist_b[key], hist_a[key], rtol=tol, atol=tol, err_msg=key)
    for a, b in zip(net_a.weights + net_a.biases, net_b.weights + net_b.biases):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
    assert hist_a.best_epoch == hist_b.best_epoch


@compiled_only
def test_faithful_recipe_same_numbers_as_numpy_engine():
    rows, rnd = recipes.seed_rows(1)
    (W1, b1), (W2, b2) = recipes.seed_init(rnd, 4, 5, 3)
    X, y = np.array([r[:-1] for r in rows[:130]]), np.array([r[-1] for r in rows[:130]])
    Xv, yv = np.array([r[:-1] for r in rows[130:]]), np.array([r[-1] for r in rows[130:]])
    runs = both(lambda: dp.Network.from_weights([W1, W2], [b1, b2], "sigmoid"), X, y, epochs=300, batch_size=1,
                optimizer=dp.SGD(0.2), loss="squared_error", shuffle=False, validation_data=(Xv, yv))
    assert_same(runs)
    assert runs[1][1].last("val_accuracy") == recipes.faithful(1).val_accuracy  # auto picks the compiled engine


CASES = [  # hidden activations, output activation, loss, batch size, l2, shuffle
    (["tanh"], "sigmoid", "binary_cross_entropy", 1, 0.0, True),
    (["relu", "leaky_relu"], "softmax", "cross_entropy", 7, 0.01, True),
    (["identity"], "softmax", "squared_error", 5, 0.0, False),
    (["sigmoid"], "sigmoid", "cross_entropy", None, 0.0, True),
    (["tanh", "sigmoid"], "sigmoid", "binary_cross_entropy", 3, 0.001, True),
    (["leaky_relu"], "sigmoid", "squared_error", 4, 0.0, True),
]


@compiled_only
@pytest.mark.parametrize("hidden, out, loss, batch, l2, shuffle", CASES)
def test_every_activation_loss_and_batch_size(hidden, out, loss, batch, l2, shuffle):
    rng = np.random.default_rng(7)
    X, labels = rng.normal(size=(40, 3)), rng.integers(0, 3, 40)
    sizes = [3] + [6] * len(hidden) + [3]
    runs = both(lambda: dp.Network(sizes, activation=hidden, output_activation=out, seed=3), X, labels,
                epochs=15, batch_size=batch, optimizer=dp.SGD(0.1), loss=loss, l2=l2, shuffle=shuffle, seed=11,
                validation_data=(X[:9], labels[:9]))
    assert_same(runs)


@compiled_only
def test_regression_frozen_bias_schedule_and_early_stopping():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2))
    Y = np.c_[X[:, :1] * 2 - X[:, 1:], X.sum(1, keepdims=True)]

    def make():
        return dp.Network([2, 4, 2], activation="tanh", output_activation="identity", seed=5).freeze(layers=[1], params="b")
    runs = []
    for engine in ("numpy", "compiled"):
        net = make()
        hist = net.fit(X, Y, epochs=40, batch_size=2, optimizer=dp.SGD(0.05), loss="squared_error", verbose=0,
                       lr_schedule=lambda e, lr0: lr0 / (1 + e), validation_fraction=0.2, seed=4, engine=engine,
                       callbacks=[EarlyStopping(patience=3)])
        runs.append((net, hist))
    assert_same(runs)
    assert "rmse" in runs[1][1].history and np.all(runs[1][0].biases[0] == make().biases[0])


@compiled_only
def test_divergence_reported_alike():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(70, 2)) * 50, rng.normal(size=(70, 1)) * 50
    messages = []
    for engine in ("numpy", "compiled"):
        net = dp.Network([2, 8, 1], activation="relu", output_activation="identity", seed=1)
        with pytest.raises(dp.TrainingDiverged) as err:
            net.fit(X, Y, epochs=5, batch_size=1, optimizer=dp.SGD(5.0), verbose=0, engine=engine)
        messages.append(str(err.value))
    assert messages[0] == messages[1]


@compiled_only
def test_float32_stays_float32_and_close():
    rng = np.random.default_rng(3)
    X, labels = rng.normal(size=(25, 4)).astype(np.float32), rng.integers(0, 2, 25)
    runs = both(lambda: dp.Network([4, 5, 2], output_activation="softmax", seed=0, dtype="float32"), X, labels,
                epochs=10, batch_size=1, optimizer=dp.SGD(0.2), loss="cross_entropy", seed=0)
    assert all(w.dtype == np.float32 for w in runs[1][0].weights)
    assert_same(runs, tol=2e-5)


def test_auto_falls_back_to_numpy_without_the_extension(monkeypatch):
    monkeypatch.setattr(fast, "AVAILABLE", False)
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    a = dp.Network([3, 4, 2], seed=0)
    ha = a.fit(X, y, epochs=5, batch_size=1, optimizer=dp.SGD(0.1), verbose=0, seed=1)  # auto
    b = dp.Network([3, 4, 2], seed=0)
    hb = b.fit(X, y, epochs=5, batch_size=1, optimizer=dp.SGD(0.1), verbose=0, seed=1, engine="numpy")
    assert ha["loss"] == hb["loss"]
    with pytest.raises(dp.ConfigError, match="the C extension deltaprop._kernels was not built"):
        dp.Network([3, 4, 2], seed=0).fit(X, y, epochs=1, batch_size=1, verbose=0, engine="compiled")


def test_engine_choice_is_validated():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(dp.ConfigError, match="unknown engine 'gpu'"):
        dp.Network([2, 2], seed=0).fit(X, y, epochs=1, verbose=0, engine="gpu")
    if fast.AVAILABLE:
        class Clipped(dp.SGD):  # an update rule of the user's own: only the NumPy engine runs it
            def update(self, p, g, s):
                p -= self.learning_rate * np.clip(g, -1, 1)
        with pytest.raises(dp.ConfigError, match="SGD, Momentum, Nesterov and Adam; received optimizer Clipped"):
            dp.Network([2, 2], seed=0).fit(X, y, epochs=1, optimizer=Clipped(0.1), verbose=0, engine="compiled")
        net = dp.Network([2, 2], seed=0)  # auto: the NumPy engine, with the user's rule
        net.fit(X, y, epochs=1, optimizer=Clipped(0.1), verbose=0)


def test_auto_picks_compiled_only_where_the_interpreter_bounds_numpy():
    small, big = dp.Network([4, 5, 3]), dp.Network([784, 256, 10])
    assert fast.is_small(small, 1) and not fast.is_small(big, 128)
    loss, sgd = dp.get_loss("squared_error"), dp.SGD(0.1)
    assert fast.unsupported(dp.Network([2, 3, 2], activation=["softmax"], output_activation="sigmoid"), loss, sgd)
    assert fast.unsupported(small, loss, dp.Adam()) and (fast.unsupported(small, loss, sgd) == "") == fast.AVAILABLE


def test_running_train_metrics_are_the_batches_as_trained():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(48, 3)), rng.integers(0, 3, 48)
    net = dp.Network([3, 6, 3], output_activation="softmax", seed=2)
    start = net.copy()
    hist = net.fit(X, y, epochs=2, batch_size=16, optimizer=dp.SGD(0.1), loss="cross_entropy", shuffle=False,
                   verbose=0, train_metrics="running")
    losses, right = [], 0.0
    for s in range(0, 48, 16):  # epoch 1 by hand: each batch's loss before its step
        losses.append(start.loss(X[s:s + 16], y_onehot := np.eye(3)[y[s:s + 16]], "cross_entropy") * 16)
        right += (start.forward(X[s:s + 16]).argmax(1) == y[s:s + 16]).sum()
        start.train_step(X[s:s + 16], y_onehot, dp.SGD(0.1), "cross_entropy")
    assert hist["loss"][0] == pytest.approx(sum(losses) / 48, rel=1e-12)
    assert hist["accuracy"][0] == pytest.approx(right / 48, rel=1e-12)
    assert_same(both(lambda: dp.Network([3, 6, 3], output_activation="softmax", seed=2), X, y, epochs=3, batch_size=5,
                     optimizer=dp.SGD(0.1), loss="cross_entropy", seed=4, train_metrics="running"))


C_COMPILER = (sysconfig.get_config_var("CC") or "cc").split()[0]


@pytest.mark.skipif(shutil.which(C_COMPILER) is None, reason=f"no C compiler ({C_COMPILER}) on this machine")
def test_the_extension_is_built_where_a_c_compiler_is():
    """pip install builds deltaprop._kernels; a build that failed quietly must not pass unnoticed."""
    assert fast.AVAILABLE, "deltaprop._kernels was not built although a C compiler is installed"


@compiled_only
def test_the_kernel_refuses_arrays_that_do_not_fit():
    net = dp.Network([3, 4, 2], seed=0)
    spec, P, width = fast.layout(net.layers)
    X, Y = np.zeros((1, 5, 3)), np.zeros((1, 5, 2))
    args = dict(theta=np.zeros((1, P)), spec=spec, loss=0, X=X, Y=Y, orders=np.zeros((1, 2, 5), np.int64), batch=1,
                lrs=np.zeros((1, 2)), l2=0.0, Xv=X[:, :0], Yv=Y[:, :0], g=np.zeros(P), Z=np.zeros((1, width)),
                A=np.zeros((1, width)), D=np.zeros((1, width)), results=np.zeros((1, 2, 7)), status=np.zeros(1, np.int64))
    fast.train(*args.values())  # as given, it runs
    bad = {"X": np.zeros((1, 5, 4)), "theta": np.zeros((1, P - 1)), "orders": np.full((1, 2, 5), 5, np.int64),
           "g": np.zeros(P, np.float32), "Z": np.zeros((1, width - 1)), "spec": spec[:, :7], "loss": 7,
           "results": np.zeros((1, 2, 6)), "status": np.zeros(1), "A": np.zeros((width, 1)).T[:, ::1][:, :width - 2]}
    for name, value in bad.items():
        with pytest.raises(ValueError):
            fast.train(*{**args, name: value}.values())
    with pytest.raises(ValueError, match="C-contiguous"):
        fast.train(*{**args, "X": np.zeros((1, 3, 5)).transpose(0, 2, 1)}.values())


@compiled_only
def test_divergence_in_a_later_epoch_keeps_the_best_weights_alike():
    """Several epochs run in one kernel call; a blow-up in the middle of them is handled as epoch by epoch."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    Y = X @ np.array([[1.5], [-2.0]])
    results = []
    for engine in ("numpy", "compiled"):
        net = dp.Network([2, 3, 1], activation="identity", output_activation="identity", seed=0)
        with pytest.raises(dp.TrainingDiverged) as err:
            net.fit(X, Y, epochs=200, batch_size=40, optimizer=dp.SGD(0.8), verbose=0, engine=engine)
        results.append((str(err.value), err.value.history, net))
    (msg_a, hist_a, net_a), (msg_b, hist_b, net_b) = results
    assert msg_a == msg_b and "diverged in epoch" in msg_a and hist_a.epoch == hist_b.epoch and len(hist_a.epoch) > 5
    assert hist_a.best_epoch == hist_b.best_epoch > 2  # a best epoch inside the run of epochs
    np.testing.assert_allclose(hist_b["loss"], hist_a["loss"], rtol=1e-12)
    for a, b in zip(net_a.weights + net_a.biases, net_b.weights + net_b.biases):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


@compiled_only
def test_ctrl_c_during_a_run_of_many_epochs_stops_at_an_epoch_end():
    import os
    import signal
    import threading
    from deltaprop.training import TrainingInterrupted

    r = recipes.faithful_run(1)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(TrainingInterrupted) as err:
        r.network.fit(*r.data, epochs=10 ** 6, verbose=0, catch_interrupt=True, **r.settings)
    timer.cancel()
    done = err.value.history.epoch
    assert 1 < len(done) < 10 ** 6 and done == list(range(1, len(done) + 1))
    assert err.value.state.resume_point()["epoch"] == len(done) and err.value.state.resume_point()["batch"] == 0
    again = recipes.faithful_run(1)
    again.network.fit(*again.data, epochs=len(done), verbose=0, **again.settings)
    for a, b in zip(r.network.weights + r.network.biases, again.network.weights + again.network.biases):
        np.testing.assert_array_equal(a, b)


BATCHED = [  # hidden activations, output activation, loss, batch size, l2, frozen layer, optimizer
    (["relu", "relu"], "softmax", "cross_entropy", 16, 0.0, None, "sgd"),
    (["tanh"], "sigmoid", "binary_cross_entropy", 32, 0.01, None, "adam"),
    (["leaky_relu", "sigmoid"], "identity", "squared_error", 25, 0.0, 1, "momentum"),
    (["sigmoid"], "softmax", "squared_error", 100, 0.001, 2, "nesterov"),
    (["relu"], "softmax", "cross_entropy", 50, 0.001, None, "adam"),
]


@compiled_only
@pytest.mark.parametrize("hidden, out, loss, batch, l2, frozen, optimizer", BATCHED)
@pytest.mark.parametrize("metrics", ["exact", "running"])
def test_batched_steps_of_a_larger_network_equal_the_numpy_engine(hidden, out, loss, batch, l2, frozen, optimizer, metrics):
    rng = np.random.default_rng(11)
    X, labels = rng.normal(size=(230, 40)), rng.integers(0, 4, 230)
    y = labels if out != "identity" else X[:, :4] @ rng.normal(size=(4, 4))
    sizes = [40] + [64] * len(hidden) + [4]

    def make():
        net = dp.Network(sizes, activation=hidden, output_activation=out, seed=1)
        return net if frozen is None else net.freeze(layers=[frozen], params="b")
    assert not fast.is_small(make(), batch)  # "auto" picks the batched path, not the per-sample kernel
    runs = both(make, X, y, epochs=4, batch_size=batch, optimizer=optimizer, learning_rate=0.01, loss=loss, l2=l2,
                seed=2, validation_data=(X[:30], y[:30]), train_metrics=metrics)
    assert_same(runs)


@compiled_only
def test_batched_float32_and_its_layouts():
    rng = np.random.default_rng(12)
    X, labels = rng.normal(size=(300, 50)).astype(np.float32), rng.integers(0, 10, 300)
    runs = both(lambda: dp.Network([50, 80, 10], activation="relu", output_activation="softmax", seed=0, dtype="float32"),
                X, labels, epochs=3, batch_size=64, optimizer="adam", learning_rate=0.01, loss="cross_entropy", seed=0)
    assert all(w.dtype == np.float32 and w.flags.f_contiguous for w in runs[1][0].weights)
    assert_same(runs, tol=2e-5)


@compiled_only
def test_the_elementwise_kernels_refuse_arrays_that_do_not_fit():
    from deltaprop import _kernels as K
    z, b, a = np.zeros((4, 3)), np.zeros(3), np.zeros((4, 3))
    K.bias_act(z, b, a, fast.RELU)
    for args in [(z, np.zeros(2), a, fast.RELU), (z, b, np.zeros((4, 2)), fast.RELU), (z, b.astype(np.float32), a, 1),
                 (z, b, a, 9), (z.T, b, a, 1)]:
        with pytest.raises(ValueError):
            K.bias_act(*args)
    p, g = np.zeros(5), np.zeros(5)
    K.adam(p, g, np.zeros(5), np.zeros(5), 0.0, 0.9, 0.1, 0.999, 0.001, 0.01, 1e-8)
    for call in [lambda: K.sgd(p, np.zeros(4), 0.1, 0.0), lambda: K.momentum(p, g, np.zeros(6), 0.1, 0.0, 0.9, False),
                 lambda: K.adam(p, g, np.zeros(5, np.float32), np.zeros(5), 0.0, 0.9, 0.1, 0.999, 0.001, 0.01, 1e-8),
                 lambda: K.act_backward(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 2)), np.zeros(2), 1),
                 lambda: K.act_backward(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(3), 1),
                 lambda: K.output_delta_rows(z, a, np.zeros((4, 2)), np.zeros((4, 3)), np.zeros(3), 5, 1),
                 lambda: K.output_delta_rows(z, a, np.zeros((4, 3)), np.zeros((4, 3)), np.zeros(4), 5, 1),
                 lambda: K.sgd(np.zeros(5)[::2], np.zeros(3), 0.1, 0.0)]:
        with pytest.raises(ValueError):
            call()
    K.sgd(p, np.ones(5), 0.5, 0.0)
    np.testing.assert_array_equal(p, -0.5)  # p -= lr * g, in place
    G, db = np.array([[1.0, -2.0], [3.0, 4.0]]), np.zeros(2)
    K.act_backward(G, np.array([[1.0, 1.0], [-1.0, 1.0]]), np.zeros((2, 2)), db, fast.RELU)
    np.testing.assert_array_equal(G, [[1, -2], [0, 4]])  # grad * f'(z) for relu, and its column sums
    np.testing.assert_array_equal(db, [1, 2])


@compiled_only
@pytest.mark.parametrize("dtype, ulps", [(np.float64, 4), (np.float32, 2)])
def test_the_kernels_sigmoid_and_tanh_are_within_a_few_ulp_of_the_c_library(dtype, ulps):
    """Sigmoid and tanh layers use an exp written in plain arithmetic (so that their loops vectorize):
    checked here against Python's math.exp / math.tanh from 1e-12 to 800, and at 0, +-inf and NaN."""
    import math
    from deltaprop import _kernels as K
    rng = np.random.default_rng(18)
    z = np.concatenate([rng.normal(size=20000) * s for s in (1e-12, 1e-6, 1e-3, 0.1, 1, 5, 30, 800)]
                       + [[0.0, 0.3465, -0.3467, 20.0, -20.0, 710.0, -710.0]]).astype(dtype)
    for code, f in [(fast.SIGMOID, lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))),
                    (fast.TANH, math.tanh)]:
        a = np.empty((1, len(z)), dtype)
        K.bias_act(z[None].copy(), np.zeros(len(z), dtype), a, code)
        ref = np.array([f(float(v)) for v in z]).astype(dtype)
        normal = np.abs(ref) >= np.finfo(dtype).tiny  # below, the exp gives 0 where the C library's is subnormal
        err = np.abs(a[0][normal].astype(np.float64) - ref[normal]) / np.spacing(np.abs(ref[normal])).astype(np.float64)
        assert err.max() <= ulps, (code, z[normal][err.argmax()], err.max())
        assert np.abs(a[0][~normal]).max(initial=0) <= 2 * np.finfo(dtype).tiny
        special = np.array([[np.inf, -np.inf, np.nan]], dtype)
        K.bias_act(special.copy(), np.zeros(3, dtype), out := np.empty_like(special), code)
        np.testing.assert_array_equal(out[0, :2], [1, 0] if code == fast.SIGMOID else [1, -1])
        assert np.isnan(out[0, 2])


@compiled_only
@pytest.mark.parametrize("shuffle", [False, True])
def test_batched_takes_data_in_any_memory_layout(shuffle):
    rng = np.random.default_rng(13)
    X = np.asfortranarray(rng.normal(size=(300, 40)))
    Y = np.asfortranarray(np.eye(4)[rng.integers(0, 4, 300)])
    runs = both(lambda: dp.Network([40, 64, 4], output_activation="softmax", seed=0), X, Y, epochs=2, batch_size=100,
                loss="cross_entropy", optimizer="adam", learning_rate=0.01, shuffle=shuffle, seed=1)
    assert_same(runs)


# ---- the whole batched step in C, split between threads ------------------------------------------
blas_only = pytest.mark.skipif(not fast.AVAILABLE or fast.blas() is None, reason="NumPy's OpenBLAS cannot be called from C")


@pytest.fixture
def threads(monkeypatch):
    """Force the number of threads Batched splits a step into (the machine's count is taken otherwise)."""
    def force(T):
        monkeypatch.setattr(fast, "step_threads", lambda lib, net, batch, threads=None: T)
    return force


NUMPY_BLAS = str(np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}).get("name", ""))


@compiled_only
@pytest.mark.skipif("openblas" not in NUMPY_BLAS.lower(), reason=f"NumPy uses {NUMPY_BLAS or 'an unknown BLAS'}")
def test_numpys_openblas_is_found_where_numpy_uses_one():
    lib = fast.blas()
    assert lib is not None and all(lib[k] for k in ("dgemm", "sgemm", "set_threads", "get_threads"))


@blas_only
@pytest.mark.parametrize("T", [2, 3, 5])
@pytest.mark.parametrize("case", [BATCHED[0], BATCHED[2], BATCHED[4]])
@pytest.mark.parametrize("metrics", ["exact", "running"])
def test_a_step_split_between_threads_gives_the_numpy_engines_numbers(T, case, metrics, threads):
    """Every part of the split (units by blocks, rows by blocks, a thread with nothing to do when T > 4
    units) gives the NumPy engine's numbers, the evaluations after each epoch included."""
    threads(T)
    test_batched_steps_of_a_larger_network_equal_the_numpy_engine(*case, metrics)


@compiled_only
@pytest.mark.parametrize("optimizer, shuffle", [("adam", True), ("nesterov", False)])
def test_epochs_of_many_steps_run_64_steps_a_call(optimizer, shuffle):
    """An epoch of 163 steps runs as calls of 64, 64 and 35 steps (Adam's bias corrections counted
    step by step in C): the NumPy engine's numbers, running metrics included, and opt.t counts every step."""
    rng = np.random.default_rng(19)
    X, labels = rng.normal(size=(1300, 40)), rng.integers(0, 4, 1300)

    def make():
        return dp.Network([40, 256, 4], activation="tanh", output_activation="softmax", seed=2)
    assert not fast.is_small(make(), 8)
    runs, opts = [], []
    for engine in ("numpy", "compiled"):
        net, opt = make(), get_optimizer(optimizer, 0.01)
        runs.append((net, net.fit(X, labels, epochs=2, batch_size=8, optimizer=opt, loss="cross_entropy", seed=5,
                                  shuffle=shuffle, train_metrics="running", verbose=0, engine=engine)))
        opts.append(opt)
    assert_same(runs)
    assert opts[0].t == opts[1].t == 2 * 163


@blas_only
@pytest.mark.parametrize("T", [1, 2])
@pytest.mark.parametrize("dtype, frozen", [("float64", None), ("float64", 1), ("float64", 2), ("float32", None),
                                           ("float32", 3)])
def test_plain_sgd_updates_each_weight_inside_its_product(T, dtype, frozen, threads):
    """With plain SGD the step makes W <- (1 - eta l2) W - eta dW one product (BLAS's alpha and beta), a
    layer above the first only once no thread reads its W for the delta below: the NumPy engine's
    numbers, with and without l2; a frozen W (layer ``frozen``) is left as it was."""
    threads(T)
    rng = np.random.default_rng(17)
    X, labels = rng.normal(size=(256, 40)).astype(dtype), rng.integers(0, 5, 256)

    def make():
        net = dp.Network([40, 64, 32, 5], activation="relu", output_activation="softmax", seed=3, dtype=dtype)
        return net if frozen is None else net.freeze(layers=[frozen], params="W")
    assert not fast.is_small(make(), 64)
    for l2 in (0.0, 0.01):
        runs = both(make, X, labels, epochs=3, batch_size=64, optimizer="sgd", learning_rate=0.05, loss="cross_entropy",
                    l2=l2, seed=4)
        assert_same(runs, tol=1e-12 if dtype == "float64" else 2e-5)
        for l, (trained, first) in enumerate(zip(runs[1][0].weights, make().weights), start=1):
            if l == frozen:
                np.testing.assert_array_equal(trained, first)
            else:
                assert np.abs(trained - first).max() > 1e-3


@blas_only
@pytest.mark.parametrize("layout", ["C", "F"])
def test_threads_with_float32_and_either_weight_layout(layout, threads):
    threads(2)
    rng = np.random.default_rng(14)
    X, labels = rng.normal(size=(300, 50)).astype(np.float32), rng.integers(0, 10, 300)
    order = np.ascontiguousarray if layout == "C" else np.asfortranarray

    def make():  # float32 weights are stored column by column (layers.fast_layout); row by row works too
        net = dp.Network([50, 80, 40, 10], activation="tanh", output_activation="softmax", seed=0, dtype="float32")
        for layer in net.layers:
            layer.W = order(layer.W)
        return net
    assert all((w.flags.c_contiguous if layout == "C" else w.flags.f_contiguous) for w in make().weights)
    runs = both(make, X, labels, epochs=3, batch_size=64, optimizer="momentum", learning_rate=0.05, loss="cross_entropy",
                seed=0, validation_data=(X[:40], labels[:40]))
    assert_same(runs, tol=2e-5)


@blas_only
def test_the_matmul_path_where_blas_cannot_be_called_from_c(monkeypatch):
    monkeypatch.setattr(fast, "_BLAS", [None])
    test_batched_steps_of_a_larger_network_equal_the_numpy_engine(*BATCHED[1], "exact")
    test_batched_takes_data_in_any_memory_layout(True)


@blas_only
def test_two_trainings_at_once_in_two_threads(threads):
    """The worker threads serve one step at a time; a second training meanwhile runs on its own thread."""
    import threading
    threads(2)
    rng = np.random.default_rng(15)
    X, labels = rng.normal(size=(400, 60)), rng.integers(0, 5, 400)
    kwargs = dict(epochs=3, batch_size=64, optimizer="sgd", learning_rate=0.05, loss="cross_entropy", verbose=0)
    nets = [dp.Network([60, 96, 5], output_activation="softmax", seed=s) for s in (0, 1, 0, 1)]
    runs = [threading.Thread(target=net.fit, args=(X, labels), kwargs=dict(seed=s, **kwargs)) for net, s in zip(nets[:2], (0, 1))]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    for net, s in zip(nets[2:], (0, 1)):
        net.fit(X, labels, seed=s, engine="numpy", **kwargs)
    for a, b in zip(nets[:2], nets[2:]):
        for p, q in zip(a.weights + a.biases, b.weights + b.biases):
            np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)


@blas_only
def test_a_forked_child_trains_with_threads_of_its_own(threads):
    import multiprocessing
    threads(2)
    rng = np.random.default_rng(16)
    X, labels = rng.normal(size=(200, 30)), rng.integers(0, 3, 200)
    net = dp.Network([30, 64, 3], output_activation="softmax", seed=0)
    net.fit(X, labels, epochs=1, batch_size=50, verbose=0)  # the parent's workers exist
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply(_train_copy, (net, X, labels))
    _train_copy(net, X, labels)
    for p, q in zip(child, net.weights + net.biases):
        np.testing.assert_array_equal(p, q)


def _train_copy(net, X, labels):
    net.fit(X, labels, epochs=2, batch_size=50, verbose=0, seed=3)
    return net.weights + net.biases


@blas_only
def test_plan_step_refuses_what_does_not_fit():
    from deltaprop import _kernels as K
    from deltaprop.losses import get_loss
    net = dp.Network([6, 8, 3], output_activation="softmax", seed=0)
    b = fast.Batched(net, get_loss("cross_entropy"), 4, threads=2)
    X, Y = np.zeros((10, 6)), np.eye(3)[np.arange(10) % 3]
    opt = dp.Adam(0.01)
    b.train(X, Y, np.array([0, 3, 9, 2]), opt, 0.0)
    sgd = (0, 0.1, 0.0, 0.0, False, 0.0, 0.0, 1, 0.0)  # opt, lr, l2, mu, nesterov, b1, b2, t, eps
    K.plan_step(b.plan, X, Y, None, 0, 10, 4, None, *sgd)  # three steps: 4, 4 and 2 rows
    for args in [(X, Y, np.array([0, 10, 1, 2]), 0, 4, 4), (X, Y, np.array([0, -1, 1, 2]), 0, 4, 4),
                 (X, Y, np.array([0, 1, 2]), 0, 4, 4), (X, Y, None, 8, 4, 4), (X, Y, None, 0, 5, 5), (X, Y, None, 0, 0, 4),
                 (X, Y, None, 0, 4, 0), (X, Y, None, 0, 11, 4), (X.astype(np.float32), Y, None, 0, 4, 4),
                 (X[:, :5], Y, None, 0, 4, 4), (X, Y[:9], None, 0, 4, 4), (X, Y[:, :2], None, 0, 4, 4),
                 (X, Y, np.array([0.0, 1, 2, 3]), 0, 4, 4)]:
        with pytest.raises(ValueError):
            K.plan_step(b.plan, *args, None, *sgd)
    with pytest.raises(ValueError, match="unknown optimizer"):
        K.plan_step(b.plan, X, Y, None, 0, 4, 4, None, 3, *sgd[1:])
    plain = fast.Batched(net, get_loss("cross_entropy"), 4, threads=2)
    plain.train(X, Y, np.arange(4), dp.SGD(0.1), 0.0)  # a plan without optimizer state
    with pytest.raises(ValueError, match="state"):
        K.plan_step(plain.plan, X, Y, None, 0, 4, 4, None, 1, 0.1, 0.0, 0.9, False, 0.0, 0.0, 1, 0.0)
    with pytest.raises(ValueError):
        K.plan_score(b.plan, X[:0], Y[:0], np.zeros(3))
    with pytest.raises(ValueError):
        K.plan((), (), b.Xb, b.Yb, 1, 1, True, 2, 0, 0)


@blas_only
def test_how_many_threads_a_step_is_split_into(monkeypatch):
    import os
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    big, small, lib = dp.Network([784, 256, 128, 10]), dp.Network([20, 16, 3]), fast.blas()
    assert [fast.step_threads(lib, big, 128, t) for t in (1, 2, 3, 4)] == [1, 2, 3, 4]
    assert fast.step_threads(lib, big, 128, 8) == 1  # 16 rows a thread: BLAS's own 8 threads do better
    assert fast.step_threads(lib, big, 256, 8) == 8
    assert fast.step_threads(lib, small, 128, 4) == 1  # too small a step to share
    assert fast.step_threads(lib, big, 128) == fast.step_threads(lib, big, 128, fast.blas_threads(lib))
    assert fast.step_threads({**lib, "openmp": True}, big, 128, 2) == 1  # an OpenMP build threads each call itself


@compiled_only
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("path", ["plan", "matmul"])
def test_optimizer_state_in_another_memory_layout_than_its_weights(optimizer, path, monkeypatch):
    """State arrays made (or loaded) row by row for weights stored column by column still line up."""
    if path == "matmul":
        monkeypatch.setattr(fast, "_BLAS", [None])
    rng = np.random.default_rng(17)
    X, labels = rng.normal(size=(200, 40)).astype(np.float32), rng.integers(0, 4, 200)
    runs = []
    for engine in ("numpy", "compiled"):
        net = dp.Network([40, 64, 4], output_activation="softmax", seed=0, dtype="float32")
        assert net.weights[0].flags.f_contiguous and not net.weights[0].flags.c_contiguous
        opt = {"momentum": dp.Momentum, "adam": dp.Adam}[optimizer](0.01)
        net.fit(X, labels, epochs=1, batch_size=50, optimizer=opt, verbose=0, engine=engine, seed=1)
        opt.state = [tuple(np.ascontiguousarray(a) for a in s) if isinstance(s, tuple) else np.ascontiguousarray(s) for s in opt.state]
        runs.append((net, net.fit(X, labels, epochs=2, batch_size=50, optimizer=opt, verbose=0, engine=engine, seed=2)))
    assert_same(runs, tol=2e-5)


@blas_only
@pytest.mark.parametrize("T", [1, 2])
def test_scores_in_chunks_of_rows_that_do_not_divide_the_set(T, threads, monkeypatch):
    """fit's exact and validation metrics in several chunks, the last one short (here 37 rows a chunk:
    230 training rows are six chunks and 8 rows, 30 validation rows one short chunk)."""
    threads(T)
    row_bytes = 8 * (2 * (64 + 64 + 4) + 40 + 4)  # the case's float64 z and a of every layer, one row of X and Y
    monkeypatch.setattr(fast, "SCORE_BYTES", 37 * row_bytes)
    from deltaprop.losses import get_loss
    assert fast.Batched(dp.Network([40, 64, 64, 4]), get_loss("squared_error"), 16).score_rows == 37
    test_batched_steps_of_a_larger_network_equal_the_numpy_engine(*BATCHED[0], "exact")


@blas_only
@pytest.mark.parametrize("out, loss", [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy")])
def test_a_network_of_one_layer_split_between_threads(out, loss, threads):
    threads(2)
    rng = np.random.default_rng(18)
    X, labels = rng.normal(size=(600, 300)), rng.integers(0, 10, 600)
    assert not fast.is_small(dp.Network([300, 10]), 128)
    runs = both(lambda: dp.Network([300, 10], output_activation=out, seed=0), X, labels, epochs=2, batch_size=128,
                optimizer="adam", learning_rate=0.01, loss=loss, seed=1, validation_data=(X[:100], labels[:100]))
    assert_same(runs)


@blas_only
def test_ctrl_c_during_a_threaded_step_stops_between_two_steps(threads):
    """A real SIGINT while the step's threads run: they block signals, so it reaches Python's thread,
    and the first Ctrl-C stops training after the current step, as the NumPy engine does."""
    import os
    import signal
    import threading
    from deltaprop.training import TrainingInterrupted
    threads(2)
    rng = np.random.default_rng(19)
    X, labels = rng.normal(size=(2000, 100)), rng.integers(0, 5, 2000)
    net = dp.Network([100, 128, 5], output_activation="softmax", seed=0)
    sent = []
    timer = threading.Timer(0.4, lambda: (sent.append(time.perf_counter()), os.kill(os.getpid(), signal.SIGINT)))
    timer.start()
    with pytest.raises(TrainingInterrupted) as err:
        net.fit(X, labels, epochs=10 ** 5, batch_size=64, verbose=0, catch_interrupt=True)
    stopped = time.perf_counter()
    timer.cancel()
    assert err.value.state.clean_interrupt and len(err.value.history.epoch) >= 1
    assert stopped - sent[0] < 0.5  # the steps of one call of C take about 50 ms
    assert all(np.isfinite(w).all() for w in net.weights)


@compiled_only
@pytest.mark.parametrize("hidden", [4, 64])  # the per-sample kernel and the batched steps
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_freeze_from_a_callback_holds_in_both_engines(hidden, optimizer):
    """A callback that freezes layer 1 after epoch 2: both engines hold it fixed from then on and
    agree (the compiled trainers had read the frozen flags once, when fit began, and went on
    training the layer)."""
    from deltaprop.callbacks import Callback
    rng = np.random.default_rng(5)
    X = rng.normal(size=(96, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)

    class FreezeAfter2(Callback):
        def on_epoch_end(self, state, epoch, logs):
            if epoch == 2:
                state.net.freeze(1)
                self.W1, self.W2 = state.net.weights[0].copy(), state.net.weights[1].copy()
    runs = []
    for engine in ("numpy", "compiled"):
        cb = FreezeAfter2()
        net = dp.Network([20, hidden, 3], activation="tanh", output_activation="softmax", seed=2)
        hist = net.fit(X, y, epochs=5, batch_size=32, optimizer=optimizer, learning_rate=0.05, loss="cross_entropy",
                       seed=1, verbose=0, engine=engine, callbacks=[cb])
        np.testing.assert_array_equal(net.weights[0], cb.W1)
        assert not np.array_equal(net.weights[1], cb.W2) and hist.epoch == [1, 2, 3, 4, 5]  # layer 2 trains on
        runs.append((net, hist))
    assert_same(runs)


@compiled_only
@pytest.mark.parametrize("optimizer", ["momentum", "nesterov", "adam"])
def test_freezing_another_layer_of_the_same_count_starts_the_optimizer_afresh(optimizer):
    """Layer 1's W frozen, then at epoch 3 layer 3's instead: as many trained arrays as before, so
    the optimizer kept its state, gave layer 1 layer 3's moments and failed on their shapes."""
    from deltaprop.callbacks import Callback
    rng = np.random.default_rng(6)
    X = rng.normal(size=(64, 5))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)

    class Swap(Callback):
        def on_epoch_end(self, state, epoch, logs):
            if epoch == 3:
                state.net.unfreeze([1], "W")
                state.net.freeze([3], "W")
                self.W3 = state.net.weights[2].copy()
    runs = []
    for engine in ("numpy", "compiled"):
        net = dp.Network([5, 8, 8, 3], activation="tanh", output_activation="softmax", seed=2)
        net.freeze([1], "W")
        opt, swap = get_optimizer(optimizer, 0.05), Swap()
        runs.append((net, net.fit(X, y, epochs=5, batch_size=16, optimizer=opt, loss="cross_entropy", seed=1,
                                  verbose=0, engine=engine, callbacks=[swap])))
        np.testing.assert_array_equal(net.weights[2], swap.W3)
        assert opt.t == 2 * 4  # two epochs of 4 steps since the swap
    assert_same(runs)
