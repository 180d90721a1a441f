"""A fully connected layer in the seeds' notation.

Shapes (m samples in the batch, n_in inputs, n_out neurons):

    a_prev (m, n_in)    W (n_out, n_in): W[j, k] is w_jk    b (n_out,)
    z = a_prev @ W.T + b             (m, n_out)
    a = f(z)                         (m, n_out)

Backward, given delta = dC/dz (m, n_out):

    dW = delta.T @ a_prev            (n_out, n_in)   dC/dw_jk = sum_i delta_ij a_ik  (dz/dw = a)
    db = delta.sum(0)                (n_out,)        dC/db_j  = sum_i delta_ij
    grad_a_prev = delta @ W          (m, n_in)       the "reverse network": weights run backwards

The layer keeps a_prev, z, a, delta, dW and db from the last pass; that recorded state is what the
explain module reads.

Where W lives in memory is a matter of speed only (its shape and W[j, k] never change): OpenBLAS's
float32 kernels run z = a_prev @ W.T and dW fastest with W stored column by column, then computed
as (a_prev.T @ delta).T; its float64 kernels run them fastest with W stored row by row (measured
with ``python bench/bench_mlp.py --breakdown``). dW is computed in W's own layout, so the update
W -= eta dW walks both arrays in the same order.
"""
import numpy as np

from .activations import get_activation


class Dense:
    """One layer: parameters ``W``, ``b``, activation ``f`` and the state of the last pass."""

    def __init__(self, W, b, activation="sigmoid"):
        self.W, self.b = fast_layout(W), b
        self.activation = get_activation(activation)
        self.frozen = set()  # names of parameters held fixed by the optimizer: {"W", "b"}
        self.a_prev = self.z = self.a = self.delta = self.dW = self.db = None

    @property
    def n_in(self):
        return self.W.shape[1]

    @property
    def n_out(self):
        return self.W.shape[0]

    def forward(self, a_prev):
        self.a_prev = a_prev
        self.z = a_prev @ self.W.T + self.b  # z_j = sum_k w_jk a_k + b_j
        self.a = self.activation(self.z)  # a = f(z)
        return self.a

    def backward(self, delta, need_grad_a_prev=True):
        """Store dW, db for this layer's delta and return dC/da_prev for the layer below."""
        self.delta = delta
        # dC/dW = delta a^T summed over the batch: delta.T @ a_prev, made in W's layout (module docstring)
        self.dW = (self.a_prev.T @ delta).T if self.W.flags.f_contiguous else delta.T @ self.a_prev
        self.db = delta.sum(axis=0)  # dC/db = delta, summed over the batch
        # The first layer's inputs are data, not neurons: no need to send an error back to them.
        return delta @ self.W if need_grad_a_prev else None  # sum_j w_jk delta_j

    def __repr__(self):
        return f"Dense({self.n_in} -> {self.n_out}, {self.activation.name})"


def fast_layout(W):
    """W, stored column by column if float32 and row by row otherwise (see the module docstring)."""
    return np.asfortranarray(W) if W.dtype == np.float32 else np.ascontiguousarray(W)


def _uniform01(rng, n_out, n_in, dtype):
    # The seed draws random.random() neuron by neuron, its inputs' weights first, then its bias.
    draws = rng.random((n_out, n_in + 1))
    return draws[:, :-1].astype(dtype), draws[:, -1].astype(dtype)


def _glorot_uniform(rng, n_out, n_in, dtype):
    limit = np.sqrt(6.0 / (n_in + n_out))  # Glorot & Bengio (2010): keeps Var(z) ~ Var(a_prev)
    return rng.uniform(-limit, limit, (n_out, n_in)).astype(dtype), np.zeros(n_out, dtype)


def _he_normal(rng, n_out, n_in, dtype):
    std = np.sqrt(2.0 / n_in)  # He et al. (2015): ReLU halves the variance, so double it back
    return (rng.standard_normal((n_out, n_in)) * std).astype(dtype), np.zeros(n_out, dtype)


INITIALIZERS = {
    "uniform01": _uniform01,
    "glorot_uniform": _glorot_uniform,
    "xavier_uniform": _glorot_uniform,
    "he_normal": _he_normal,
}
