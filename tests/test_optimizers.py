"""Each optimizer's update recomputed from its textbook formula for a few steps."""
import math

import numpy as np
import pytest

import deltaprop as dp


def _run(opt, grads):
    p = np.array([1.0, -2.0, 0.5])
    history = []
    for g in grads:
        opt.step([(p, g)])
        history.append(p.copy())
    return history


GRADS = [np.array([0.3, -0.1, 0.2]), np.array([-0.5, 0.4, 0.1]), np.array([0.2, 0.2, -0.3]), np.array([0.1, 0.0, 0.05])]


def test_sgd():
    w = np.array([1.0, -2.0, 0.5])
    for g, got in zip(GRADS, _run(dp.SGD(0.1), GRADS)):
        w = w - 0.1 * g  # W <- W - eta grad W
        np.testing.assert_allclose(got, w, rtol=1e-15)


def test_momentum():
    w, v = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    for g, got in zip(GRADS, _run(dp.Momentum(0.1, momentum=0.9), GRADS)):
        v = 0.9 * v - 0.1 * g
        w = w + v
        np.testing.assert_allclose(got, w, rtol=1e-14)


def test_nesterov():
    w, v = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    for g, got in zip(GRADS, _run(dp.Nesterov(0.1, momentum=0.8), GRADS)):
        v = 0.8 * v - 0.1 * g
        w = w + 0.8 * v - 0.1 * g
        np.testing.assert_allclose(got, w, rtol=1e-14)


def test_adam():
    w, m, s = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3)
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    for t, (g, got) in enumerate(zip(GRADS, _run(dp.Adam(lr), GRADS)), start=1):
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g * g
        m_hat, s_hat = m / (1 - b1 ** t), s / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(s_hat) + eps)
        np.testing.assert_allclose(got, w, rtol=1e-13)


def test_momentum_zero_is_plain_sgd():
    a = _run(dp.Momentum(0.1, momentum=0.0), GRADS)
    b = _run(dp.SGD(0.1), GRADS)
    np.testing.assert_allclose(a, b, rtol=1e-15)


def test_update_is_in_place_and_keeps_float32():
    p = np.ones(3, np.float32)
    ref = p
    dp.Adam(0.1).step([(p, np.full(3, 0.5, np.float32))])
    assert ref is p and p.dtype == np.float32 and (p < 1).all()


def test_get_optimizer_by_name():
    opt = dp.get_optimizer("nesterov", 0.05, momentum=0.5)
    assert isinstance(opt, dp.Nesterov) and opt.learning_rate == 0.05 and opt.momentum == 0.5
    assert dp.get_optimizer("adam").learning_rate == pytest.approx(0.001)
    assert math.isclose(dp.get_optimizer("sgd", 0.2).learning_rate, 0.2)


def test_a_learning_rate_beside_an_optimizer_object_is_refused_not_ignored():
    adam = dp.Adam(0.001)
    with pytest.raises(dp.ConfigError) as info:
        dp.get_optimizer(adam, 0.5)
    assert str(info.value) == ("learning_rate=0.5 given with an optimizer object that has its own (0.001); "
                               "set it on the object")
    with pytest.raises(dp.ConfigError, match="learning_rate=0.5 given"):
        dp.Network([2, 2], seed=0).fit(np.ones((4, 2)), np.ones((4, 2)), epochs=1, optimizer=adam,
                                       learning_rate=0.5, verbose=0)
    assert dp.get_optimizer(adam) is adam and dp.get_optimizer(adam, np.float64(0.001)) is adam  # no conflict
    assert dp.get_optimizer(adam, np.float32(0.001)) is adam  # the same rate, rounded to float32


def test_a_bad_number_is_shown_as_python_writes_it():
    with pytest.raises(dp.ConfigError) as info:
        dp.SGD(np.float64(-0.5))
    assert str(info.value) == "learning_rate must be a number in (0, inf); received -0.5"


@pytest.mark.parametrize("engine", ["numpy", "auto"])
def test_adam_starts_afresh_when_the_trained_parameters_change(engine):
    """After a freeze, Adam's moments are new and so is its step count: the first step is a fresh
    Adam's (it kept counting, so the bias correction shrank that step to about half)."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 4)), rng.normal(size=(30, 2))
    net = dp.Network([4, 6, 2], activation="tanh", seed=0)
    opt = dp.Adam(0.01)
    net.fit(X, Y, epochs=5, batch_size=None, optimizer=opt, verbose=0, engine=engine)
    net.freeze(1)
    fresh = net.copy()
    net.fit(X, Y, epochs=1, batch_size=None, optimizer=opt, verbose=0, engine=engine)
    fresh.fit(X, Y, epochs=1, batch_size=None, optimizer=dp.Adam(0.01), verbose=0, engine=engine)
    assert opt.t == 1
    for a, b in zip(net.weights + net.biases, fresh.weights + fresh.biases):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


def test_an_lr_schedule_leaves_the_optimizers_own_rate():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    opt = dp.SGD(0.1)
    for _ in range(2):  # the same object and schedule twice: the same rates
        history = dp.Network([3, 4, 1], seed=0).fit(X, Y, epochs=4, optimizer=opt, verbose=0,
                                                    lr_schedule=lambda epoch, lr0: lr0 * 0.5 ** epoch)
        assert history["lr"] == [0.1, 0.05, 0.025, 0.0125] and opt.learning_rate == 0.1


def test_an_optimizer_reused_for_other_parameters_of_the_same_count_starts_afresh():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(24, 4)), rng.normal(size=(24, 4))
    net = dp.Network([4, 4, 4, 4], activation="tanh", seed=0)
    net.freeze([1], "W")
    opt = dp.Adam(0.01)
    net.fit(X, Y, epochs=3, batch_size=None, optimizer=opt, verbose=0)
    net.unfreeze([1], "W")
    net.freeze([2], "W")  # as many arrays, of the same shapes, but other ones
    fresh = net.copy()
    net.fit(X, Y, epochs=2, batch_size=None, optimizer=opt, verbose=0)
    fresh.fit(X, Y, epochs=2, batch_size=None, optimizer=dp.Adam(0.01), verbose=0)
    assert opt.t == 2
    for a, b in zip(net.weights + net.biases, fresh.weights + fresh.biases):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)
