"""How the answer is reached (Qt-free): logits -> softmax with its numbers, and the inputs
of the last linear layer that make a class's logit (weight x activation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_viewer.core.explain.network_map import Head


@dataclass
class Softmax:
    """p_i = exp(z_i - m) / sum_j exp(z_j - m), m = max z (the shift changes nothing but
    keeps exp from overflowing)."""

    logits: np.ndarray  # float64
    shift: float  # m
    exps: np.ndarray  # exp(z_i - m)
    total: float  # sum of exps
    probs: np.ndarray


def softmax_story(logits: np.ndarray) -> Softmax:
    z = np.asarray(logits, np.float64)
    m = float(z.max())
    e = np.exp(z - m)
    total = float(e.sum())
    return Softmax(z, m, e, total, e / total)


@dataclass
class Contribution:
    index: int  # input index of the last linear layer
    activation: float
    weight: float
    product: float  # weight x activation
    layer: str | None  # the unit it comes from (None: unknown)
    channel: int | None
    y: int | None
    x: int | None

    def unit_text(self) -> str:
        """The unit without its layer (the heading names that): '#12', '#3 (2, 5)'."""
        if self.layer is None or self.channel is None:
            return f"input {self.index}"
        if self.y is None:
            return f"#{self.channel}"
        return f"#{self.channel} ({self.y}, {self.x})"


@dataclass
class LogitParts:
    """A class's logit split into its last linear layer's terms."""

    target: int
    layer: str  # the linear layer
    bias: float
    total: float  # sum of all products + bias (equals the logit)
    top: list[Contribution]  # largest |product| first
    count: int  # inputs in all
    pooled: str | None  # 'mean'/'max' over H x W when a global pool feeds the layer


def logit_parts(head: Head, head_input: np.ndarray, target: int, k: int = 12) -> LogitParts:
    """The ``k`` inputs that move logit ``target`` most (by |weight x activation|)."""
    w = head.linear.weight.detach().float().cpu().numpy()
    if not 0 <= target < w.shape[0]:
        raise ValueError(f"class {target} is out of range: the layer has {w.shape[0]} outputs")
    a = np.asarray(head_input, np.float64).reshape(-1)
    row = w[target].astype(np.float64)
    products = row * a
    bias = float(head.linear.bias[target]) if head.linear.bias is not None else 0.0
    order = np.argsort(-np.abs(products), kind="stable")[:k]
    top = []
    for i in order:
        unit = head.unit(int(i))
        channel, y, x = unit if unit is not None else (None, None, None)
        top.append(
            Contribution(
                int(i), float(a[i]), float(row[i]), float(products[i]), head.source, channel, y, x
            )  # fmt: skip
        )
    return LogitParts(
        target, head.name, bias, float(products.sum()) + bias, top, a.size, head.pooled
    )
