"""Optimizers: how a gradient becomes a parameter update.

Each optimizer writes only its one-parameter update rule (``update``); :meth:`Optimizer.step`
walks the (parameter, gradient) pairs a network hands it and keeps one state per parameter.
Updates are in place, so the network's arrays stay the same objects. In order of complexity:

    SGD        w <- w - eta * g                               (the seeds' W <- W - eta grad W)
    Momentum   v <- mu v - eta g;  w <- w + v
    Nesterov   v <- mu v - eta g;  w <- w + mu v - eta g      (look-ahead form, Sutskever 2013)
    Adam       m <- b1 m + (1-b1) g;  s <- b2 s + (1-b2) g^2
               w <- w - eta * m_hat / (sqrt(s_hat) + eps),  m_hat = m/(1-b1^t), s_hat = s/(1-b2^t)
"""
import math

import numpy as np

from .errors import ConfigError, choose


def _check(name, value, low, high, low_open=True, high_open=True):
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        shown = value.item() if isinstance(value, np.generic) else value  # 0.5, not np.float64(0.5)
        raise ConfigError(f"{name} must be a number in {lo}{low}, {high}{hi}; received {shown!r}")
    return float(value)


class Optimizer:
    """Base class: subclasses set ``learning_rate`` and write ``init_state`` and ``update``."""

    def __init__(self, learning_rate):
        self.learning_rate = _check("learning_rate", learning_rate, 0, math.inf)
        self.state, self.t = None, 0
        self.trained = None  # which of its network's parameters the state is for (set by fit: training._frozen)

    def step(self, pairs):
        """Update every parameter in ``pairs`` = [(param, grad), ...] in place."""
        if self.state is None or len(self.state) != len(pairs):  # new, or other parameters trained (freeze):
            self.state, self.t = [self.init_state(p) for p, _ in pairs], 0  # a fresh start, Adam's step count too
        self.t += 1
        for (p, g), s in zip(pairs, self.state):
            self.update(p, g, s)

    def init_state(self, p):
        return None

    def reset(self):
        self.state, self.t = None, 0

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain stochastic gradient descent: w <- w - eta * g."""

    name = "sgd"

    def __init__(self, learning_rate=0.1):
        super().__init__(learning_rate)

    def update(self, p, g, s):
        p -= self.learning_rate * g


class Momentum(Optimizer):
    """SGD with classical momentum mu (velocity v accumulates past gradients)."""

    name = "momentum"

    def __init__(self, learning_rate=0.1, momentum=0.9):
        super().__init__(learning_rate)
        self.momentum = _check("momentum", momentum, 0, 1, low_open=False)

    def init_state(self, p):
        return np.zeros_like(p)

    def update(self, p, g, v):
        v *= self.momentum
        v -= self.learning_rate * g  # v <- mu v - eta g
        p += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


class Nesterov(Momentum):
    """Nesterov momentum: step with the velocity you are about to have."""

    name = "nesterov"

    def update(self, p, g, v):
        v *= self.momentum
        v -= self.learning_rate * g  # v <- mu v - eta g
        p += self.momentum * v - self.learning_rate * g  # w <- w + mu v - eta g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected first and second moments."""

    name = "adam"

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(learning_rate)
        self.beta1 = _check("beta1", beta1, 0, 1, low_open=False)
        self.beta2 = _check("beta2", beta2, 0, 1, low_open=False)
        self.epsilon = _check("epsilon", epsilon, 0, math.inf)

    def init_state(self, p):
        return np.zeros_like(p), np.zeros_like(p)

    def update(self, p, g, state):
        m, s = state
        m *= self.beta1
        m += (1 - self.beta1) * g  # m <- b1 m + (1 - b1) g
        s *= self.beta2
        s += (1 - self.beta2) * g * g  # s <- b2 s + (1 - b2) g^2
        # Fold both bias corrections into the step size: eta_t = eta sqrt(1 - b2^t) / (1 - b1^t).
        eta_t = self.learning_rate * math.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        eps_t = self.epsilon * math.sqrt(1 - self.beta2 ** self.t)
        p -= eta_t * m / (np.sqrt(s) + eps_t)

    def get_config(self):
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon}


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam}


def get_optimizer(name, learning_rate=None, **kwargs):
    """An optimizer from its name (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``).

    An :class:`Optimizer` instance passes through unchanged; it carries its own learning rate, so a
    different ``learning_rate`` beside it is refused rather than silently ignored.
    """
    if isinstance(name, Optimizer):
        if learning_rate is not None and not math.isclose(_check("learning_rate", learning_rate, 0, math.inf),
                                                          name.learning_rate, rel_tol=1e-6):  # (a float32 of the same rate)
            raise ConfigError(f"learning_rate={float(learning_rate)!r} given with an optimizer object that has its own "
                              f"({name.learning_rate!r}); set it on the object")
        return name
    cls = choose("optimizer", name, OPTIMIZERS)
    return cls(**kwargs) if learning_rate is None else cls(learning_rate, **kwargs)
