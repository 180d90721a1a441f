"""Built-in example networks for ``explain``: the seeds' worked examples, with their numbers.

Each example is a fresh :class:`Example` (network, one sample, learning rate, loss) plus notes that
say where the numbers come from and which of them were chosen here because the source leaves them
open. ``get_example("lee")`` returns it; ``example.explain()`` runs :func:`deltaprop.explain.explain`.
"""
from dataclasses import dataclass, field

import numpy as np

from .errors import choose
from .network import Network


@dataclass
class Example:
    name: str
    network: Network
    x: np.ndarray
    y: np.ndarray
    lr: float
    loss: str = "squared_error"
    title: dict = field(default_factory=dict)  # {"en": ..., "zh": ...}
    notes: dict = field(default_factory=dict)  # {"en": [...], "zh": [...]}

    def explain(self, lr=None, l2=0.0):
        """The Trace of one step on this example, its title and notes attached."""
        from .explain import explain
        trace = explain(self.network, self.x, self.y, loss=self.loss, lr=self.lr if lr is None else lr, l2=l2)
        trace.title, trace.notes = dict(self.title), {k: list(v) for k, v in self.notes.items()}
        return trace


def lee():
    """Hung-yi Lee's lecture network: input (1, −1), three sigmoid layers of two."""
    net = Network.from_weights(
        [[[1, -2], [-1, 1]], [[2, -1], [-2, -1]], [[3, -1], [-1, 4]]],
        [[1, 0], [0, 0], [-2, 2]], "sigmoid")
    return Example("lee", net, np.array([1.0, -1.0]), np.array([0.0, 1.0]), 0.1, title={
        "en": "Hung-yi Lee's lecture network, one backpropagation step",
        "zh": "李宏毅课程中的网络：一次反向传播",
    }, notes={
        "en": ["Weights, biases and input (1, −1) are the lecture's; the slides show "
               "a¹ = (0.98, 0.12), a² = (0.86, 0.11) and the output (0.62, 0.83), which the lecture calls y; "
               "here y is the target.",
               "The lecture gives no target and no learning rate: we chose the target (0, 1), "
               "½-squared error and η = 0.1."],
        "zh": ["权重、偏置和输入 (1, −1) 取自李宏毅老师的课程；课件给出 a¹ = (0.98, 0.12)、"
               "a² = (0.86, 0.11)，输出 (0.62, 0.83)（课程把输出记作 y；这里 y 表示真实值）。",
               "课程没有给出真实值和学习率：这里选用真实值 (0, 1)、½ 平方误差损失函数和学习率 η = 0.1。"],
    })


def mazur():
    """Matt Mazur's "A Step by Step Backpropagation Example": 2-2-2 sigmoid, biases held fixed."""
    net = Network.from_weights([[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
                               [0.35, 0.60], "sigmoid")
    net.freeze(params="b")  # the post updates only the weights w1..w8
    return Example("mazur", net, np.array([0.05, 0.10]), np.array([0.01, 0.99]), 0.5, title={
        "en": "Matt Mazur's step-by-step backpropagation example",
        "zh": "Matt Mazur 的逐步反向传播示例",
    }, notes={
        "en": ["Numbers from Matt Mazur's post: w1..w4 = W¹ = [[0.15, 0.20], [0.25, 0.30]], b1 = 0.35, "
               "w5..w8 = W² = [[0.40, 0.45], [0.50, 0.55]], b2 = 0.60; inputs (0.05, 0.10), "
               "targets (0.01, 0.99); sigmoid, ½-squared error, η = 0.5.",
               "As in the post, the biases are held fixed (net.freeze(params=\"b\")): only weights change.",
               "The post reports E = 0.298371109 before and w5 → 0.35891648, w1 → 0.149780716 after the update. "
               "It prints E = 0.291027924 after; the exact value is 0.291027774: the post rounds "
               "intermediate values."],
        "zh": ["数值取自 Matt Mazur 的文章：w1..w4 = W¹ = [[0.15, 0.20], [0.25, 0.30]]，偏置 b1 = 0.35，"
               "w5..w8 = W² = [[0.40, 0.45], [0.50, 0.55]]，偏置 b2 = 0.60；输入 (0.05, 0.10)，"
               "真实值 (0.01, 0.99)；激活函数 sigmoid，½ 平方误差损失函数，学习率 η = 0.5。",
               "与原文一致，偏置保持不变（net.freeze(params=\"b\")），只更新权重。",
               "原文给出更新前 E = 0.298371109，更新后 w5 → 0.35891648、w1 → 0.149780716。"
               "原文更新后的 E = 0.291027924；精确值是 0.291027774，差别来自原文对中间结果的四舍五入。"],
    })


def chain():
    """The matrix-form derivation's simplest network: one neuron per layer, three layers, so every sum has one term."""
    net = Network.from_weights([[[0.8]], [[-1.5]], [[2.0]]], [[0.1], [0.4], [-0.3]], "sigmoid")
    return Example("chain", net, np.array([0.5]), np.array([1.0]), 0.5, title={
        "en": "A chain of single neurons (“反向传播的微积分原理”, the matrix-form derivation)",
        "zh": "每层只有一个神经元的链式网络（《反向传播的微积分原理》）",
    }, notes={
        "en": ["The matrix-form derivation (“反向传播的微积分原理”) starts from a network with one neuron per layer and derives "
               "∂C/∂w = a⁽ᴸ⁻¹⁾·σ'(z⁽ᴸ⁾)·(a⁽ᴸ⁾ − y); it gives no numbers, so these are ours: input 0.5, "
               "w = 0.8, −1.5, 2.0, b = 0.1, 0.4, −0.3, sigmoid, target 1, ½-squared error, η = 0.5."],
        "zh": ["《反向传播的微积分原理》从每层一个神经元的网络出发推导 ∂C/∂w = a⁽ᴸ⁻¹⁾·σ'(z⁽ᴸ⁾)·(a⁽ᴸ⁾ − y)；"
               "原文没有给出数值，这里自选：输入 0.5，权重 w = 0.8、−1.5、2.0，偏置 b = 0.1、0.4、−0.3，"
               "激活函数 sigmoid，真实值 1，½ 平方误差损失函数，学习率 η = 0.5。"],
    })


def three_layer():
    """The 3-2-1 structure of “一文彻底搞懂BP算法”: hidden layers of 3 and 2 sigmoid neurons, one sigmoid output."""
    net = Network.from_weights(
        [[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], [[0.2, -0.3, 0.4], [-0.1, 0.5, 0.2]], [[0.6, -0.4]]],
        [[0.1, 0.2, 0.3], [0.1, -0.1], [0.2]], "sigmoid")
    return Example("three-layer", net, np.array([1.0, 2.0]), np.array([1.0]), 0.1, title={
        "en": "The three-layer network (3-2-1) of “一文彻底搞懂BP算法”, label 1",
        "zh": "《一文彻底搞懂BP算法》中的三层神经网络（3-2-1），真实类标为 1",
    }, notes={
        "en": ["Structure from “一文彻底搞懂BP算法”: two hidden layers of 3 and 2 sigmoid neurons, one sigmoid output, "
               "label 1, ½-squared error, η = 0.1. The article's numbers are in images we cannot read, so "
               "these are ours: x = (1, 2), W¹ = [[0.1, −0.2], [0.3, 0.4], [−0.5, 0.6]], b¹ = (0.1, 0.2, 0.3), "
               "W² = [[0.2, −0.3, 0.4], [−0.1, 0.5, 0.2]], b² = (0.1, −0.1), W³ = [[0.6, −0.4]], b³ = 0.2."],
        "zh": ["结构取自《一文彻底搞懂BP算法》：两个隐藏层（3 个和 2 个 sigmoid 神经元），一个 sigmoid 输出，真实类标 1，"
               "½ 平方误差损失函数，学习率 η = 0.1。原文的数值在图片中无法读取，这里自选：x = (1, 2)，"
               "W¹ = [[0.1, −0.2], [0.3, 0.4], [−0.5, 0.6]]，b¹ = (0.1, 0.2, 0.3)，"
               "W² = [[0.2, −0.3, 0.4], [−0.1, 0.5, 0.2]]，b² = (0.1, −0.1)，W³ = [[0.6, −0.4]]，b³ = 0.2。"],
    })


EXAMPLES = {"lee": lee, "mazur": mazur, "chain": chain, "three-layer": three_layer}


def get_example(name):
    """A fresh copy of the built-in example ``name`` (one of :data:`EXAMPLES`)."""
    return choose("example", name, EXAMPLES)()
