"""The FAQ's "hill" made real: the loss surface of a two-parameter model, and a gradient-descent path on it.

The two-parameter model is the bigram squeezed to two knobs ``(a, b)``::

    logits(next | prev) = a * log p_unigram(next) + b * log p_bigram(next | prev)

``(0, 0)`` is the uniform guess (loss ln V), ``(1, 0)`` predicts from character frequencies
alone, ``(0, 1)`` is the (add-k smoothed) count table. Its loss is the exact cross-entropy on
the whole counted text, so the surface is the real one, not a sketch.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..counts import bigram_probs
from ..plotting import figure_label

LossFn = Callable[[torch.Tensor], torch.Tensor]


class TwoKnobBigram:
    """Exact mean cross-entropy of the two-knob model on the text that ``counts`` was counted from.

    Call it with ``params`` of shape ``(..., 2)`` (``[a, b]`` in the last dimension); it returns
    the loss with shape ``(...)``, differentiable in ``params``.
    """

    def __init__(self, counts: torch.Tensor, smoothing: float = 1.0) -> None:
        if counts.dim() != 2 or counts.shape[0] != counts.shape[1]:
            raise ValueError(
                f"counts 必须是 (词表, 词表) 的方阵，收到形状 {tuple(counts.shape)}。 / "
                f"counts must be a square (vocab, vocab) matrix, got shape {tuple(counts.shape)}."
            )
        if not torch.isfinite(counts).all() or (counts < 0).any() or counts.sum() <= 0:
            raise ValueError("counts 必须是有限的非负数，而且不能全为 0。 / counts must be finite, non-negative and not all zero.")
        if not (smoothing > 0 and math.isfinite(smoothing)):
            raise ValueError(
                f"smoothing 必须是大于 0 的有限数（否则会出现 log 0 = -inf），收到 {smoothing}。 / "
                f"smoothing must be a finite number > 0 (log 0 would be -inf), got {smoothing}."
            )
        self.counts = counts.double()
        self.total = self.counts.sum()
        next_counts = self.counts.sum(dim=0) + smoothing
        self.unigram_logp = torch.log(next_counts / next_counts.sum())  # (V,)
        self.bigram_logp = torch.log(bigram_probs(self.counts, smoothing))  # (V, V)

    def __call__(self, params: torch.Tensor) -> torch.Tensor:
        if params.shape[-1:] != (2,):
            raise ValueError(
                f"params 的最后一维必须是 [a, b] 两个数，收到形状 {tuple(params.shape)}。 / "
                f"params must have shape (..., 2) holding [a, b], got shape {tuple(params.shape)}."
            )
        a, b = params[..., 0, None, None], params[..., 1, None, None]
        logits = a * self.unigram_logp + b * self.bigram_logp  # (..., V, V)
        return -(self.counts * torch.log_softmax(logits, dim=-1)).sum(dim=(-2, -1)) / self.total


def loss_grid(loss_fn: LossFn, a_values: torch.Tensor, b_values: torch.Tensor) -> torch.Tensor:
    """``grid[i, j] = loss_fn([a_values[j], b_values[i]])`` (rows follow ``b``, as contour plots expect).

    ``loss_fn`` must accept a batch of shape ``(n, 2)``. The grid is computed one point at a time, so each
    evaluation's temporaries stay small (for the 65-character two-knob model, 33 KB instead of 1.2 MB for a
    row of 36): large short-lived tensors are what keeps a classroom kernel's memory high.
    """
    a_values, b_values = torch.as_tensor(a_values, dtype=torch.float64), torch.as_tensor(b_values, dtype=torch.float64)
    if a_values.dim() != 1 or b_values.dim() != 1 or len(a_values) < 2 or len(b_values) < 2:
        raise ValueError(
            "a_values 和 b_values 必须是一维的，各至少 2 个值。 / a_values and b_values must be 1-D with at least 2 values each."
        )
    grid = torch.empty(len(b_values), len(a_values), dtype=torch.float64)
    with torch.no_grad():
        for i, b in enumerate(b_values):
            for j, a in enumerate(a_values):
                grid[i, j] = loss_fn(torch.stack([a, b])[None])[0]
    return grid


@dataclass(frozen=True)
class DescentPath:
    """``points[k]`` are the parameters after ``k`` steps and ``losses[k]`` the loss there."""

    points: torch.Tensor  # (steps + 1, 2)
    losses: torch.Tensor  # (steps + 1,)


def gradient_descent(loss_fn: LossFn, start: tuple[float, float], *, lr: float, steps: int) -> DescentPath:
    """Plain gradient descent, the FAQ's loop: forward, zero the grad, backward, ``param -= lr * grad``."""
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"学习率必须是大于 0 的有限数，收到 {lr}。 / lr must be a finite number > 0, got {lr}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps 必须是 ≥ 0 的整数，收到 {steps!r}。 / steps must be an int >= 0, got {steps!r}.")
    params = torch.tensor(start, dtype=torch.float64)
    if params.shape != (2,):
        raise ValueError(f"start 必须是两个数 (a, b)，收到 {start!r}。 / start must be two numbers (a, b), got {start!r}.")
    params.requires_grad_(True)
    points, losses = [], []
    for _ in range(steps):
        loss = loss_fn(params)  # forward
        if loss.dim() != 0:
            raise ValueError(
                f"loss_fn 对一个 (2,) 的输入必须返回标量，收到形状 {tuple(loss.shape)}。 / "
                f"loss_fn must return a scalar for a (2,) input, got shape {tuple(loss.shape)}."
            )
        params.grad = None  # zero_grad(set_to_none=True)
        loss.backward()  # backward: params.grad = d loss / d params
        points.append(params.detach().clone())
        losses.append(loss.detach())
        with torch.no_grad():
            params -= lr * params.grad  # step
    with torch.no_grad():
        points.append(params.detach().clone())
        losses.append(loss_fn(params).detach())
    return DescentPath(torch.stack(points), torch.stack(losses))


def plot_landscape(
    a_values: torch.Tensor,
    b_values: torch.Tensor,
    grid: torch.Tensor,
    path: DescentPath | None = None,
    *,
    landmarks: Mapping[str, tuple[float, float]] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Filled contours of ``grid`` (levels packed towards the valley floor), the path, and labelled points."""
    if grid.shape != (len(b_values), len(a_values)):
        expected = (len(b_values), len(a_values))
        raise ValueError(
            f"grid 的形状应为 (len(b_values), len(a_values)) = {expected}，收到 {tuple(grid.shape)}。 / "
            f"grid must have shape (len(b_values), len(a_values)) = {expected}, got {tuple(grid.shape)}."
        )
    if ax is None:
        fig = Figure(figsize=(6.4, 4.8))
        ax = fig.add_subplot()
    z = grid.numpy()
    low, high = float(z.min()), float(np.quantile(z, 0.95))
    levels = low + (high - low) * np.linspace(0, 1, 16) ** 2
    filled = ax.contourf(a_values.numpy(), b_values.numpy(), z, levels=levels, cmap="viridis", extend="max")
    ax.contour(a_values.numpy(), b_values.numpy(), z, levels=levels, colors="white", linewidths=0.4)
    ax.figure.colorbar(filled, ax=ax, label="loss")
    if path is not None:
        a, b = path.points[:, 0].numpy(), path.points[:, 1].numpy()
        ax.plot(a, b, "o-", color="#ff6f00", markersize=3, linewidth=1.2)
        if len(a) > 1:
            ax.annotate("", xy=(a[-1], b[-1]), xytext=(a[-2], b[-2]), arrowprops={"arrowstyle": "->", "color": "#ff6f00"})
    for name, (a, b) in (landmarks or {}).items():
        ax.plot([a], [b], "s", color="white", markeredgecolor="black")
        ax.annotate(name, (a, b), xytext=(6, 6), textcoords="offset points", color="white", fontsize=9)
    ax.set_xlabel("a")
    ax.set_ylabel("b")
    return ax.figure


def descent_figure(
    a_values: torch.Tensor,
    b_values: torch.Tensor,
    grid: torch.Tensor,
    path: DescentPath,
    *,
    landmarks: Mapping[str, tuple[float, float]] | None = None,
) -> Figure:
    """Chapter 5's figure: the landscape with the descent path (left), the loss at each step (right)."""
    fig = Figure(figsize=(11.5, 4.2))
    left, right = fig.subplots(1, 2, width_ratios=[1.3, 1])
    plot_landscape(a_values, b_values, grid, path, landmarks=landmarks, ax=left)
    left.set_title(figure_label("损失地形（等高线）和梯度下降的路径", "loss landscape, descent path"))
    right.plot(path.losses.numpy(), "o-", markersize=3)
    right.set(xlabel=figure_label("步数", "step"), ylabel="loss", title=figure_label("沿路径的损失", "loss along the path"))
    return fig
