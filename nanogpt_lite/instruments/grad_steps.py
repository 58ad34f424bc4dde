"""The FAQ's ``nn.Linear(2, 1)`` example, one training-loop line at a time (the state behind the gradient inspector).

>>> s = LinearStepper(lr=0.01)
>>> s.forward(); s.backward(); s.state().weight_grad      # d loss / d weight
>>> s.forward(); s.backward(); s.state().weight_grad      # no zero_grad in between: exactly twice as big

Each method is the one PyTorch line it is named after, on ``x = [[1, 2]]``, ``y = [[3]]`` and the
squared error ``loss = (pred - y) ** 2``. The optimizer is plain SGD, so ``step()`` moves every
parameter by exactly ``-lr * grad``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn

X = torch.tensor([[1.0, 2.0]])
Y = torch.tensor([[3.0]])


class StepOrderError(RuntimeError):
    """A training-loop line PyTorch cannot run now: backward() before any forward(), or twice on one graph.

    The message is Chinese first, then English; for a second backward() it quotes PyTorch's own error.
    """


@dataclass(frozen=True)
class StepperState:
    """A snapshot: parameter values, their ``.grad`` (``None`` when there is none) and every loss computed so far."""

    weight: list[float]
    bias: float
    weight_grad: list[float] | None
    bias_grad: float | None
    lr: float
    losses: list[float] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def squared_error(model: nn.Module, x: torch.Tensor = X, y: torch.Tensor = Y) -> torch.Tensor:
    """The FAQ's loss: ``(model(x) - y) ** 2`` (shape (1, 1))."""
    return (model(x) - y) ** 2


def analytic_grads(weight: torch.Tensor, bias: torch.Tensor, x: torch.Tensor = X, y: torch.Tensor = Y) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of the summed ``(x @ weight.T + bias - y) ** 2`` by hand: ``2 (pred - y) x`` and ``2 (pred - y)``."""
    error = x @ weight.T + bias - y  # (1, 1)
    return 2 * error.T @ x, 2 * error.sum(dim=0)


def numerical_grad(fn: Callable[[torch.Tensor], torch.Tensor], point: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central differences ``(f(p + eps) - f(p - eps)) / 2 eps``, one coordinate at a time (no autograd).

    ``fn`` may return any shape (it is summed). Use a float64 ``point``: in float32 the rounding
    error of ``f`` swamps a difference this small.
    """
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps 必须是大于 0 的有限数，收到 {eps}。 / eps must be a finite number > 0, got {eps}.")
    point = point.detach()
    grad = torch.zeros_like(point)
    for i in range(point.numel()):
        step = torch.zeros_like(point).view(-1)
        step[i] = eps
        step = step.view_as(point)
        grad.view(-1)[i] = (fn(point + step).sum() - fn(point - step).sum()) / (2 * eps)
    return grad


def _check_lr(lr: float) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"学习率必须是大于 0 的有限数，收到 {lr!r}。请把 lr 改成正数。 / lr must be a finite number > 0, got {lr!r}.")
    return float(lr)


class LinearStepper:
    """``nn.Linear(2, 1)`` + SGD, driven one line of the training loop at a time.

    ``seed`` picks the initial weights exactly as ``torch.manual_seed(seed); nn.Linear(2, 1)`` would,
    without touching the global random state.
    """

    def __init__(self, lr: float = 0.01, seed: int = 0) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = nn.Linear(2, 1)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=_check_lr(lr))
        self.loss: torch.Tensor | None = None  # the last forward()'s loss; backward() frees its graph
        self.losses: list[float] = []
        self.actions: list[str] = []

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def set_lr(self, lr: float) -> None:
        self.optimizer.param_groups[0]["lr"] = _check_lr(lr)

    def forward(self) -> float:
        """``loss = (model(x) - y) ** 2``: builds a fresh computation graph."""
        self.loss = squared_error(self.model)
        self.losses.append(self.loss.item())
        self.actions.append("forward")
        return self.losses[-1]

    def zero_grad(self) -> None:
        """``optimizer.zero_grad(set_to_none=True)``: every ``.grad`` becomes None."""
        self.optimizer.zero_grad(set_to_none=True)
        self.actions.append("zero_grad")

    def backward(self) -> None:
        """``loss.backward()``: adds d loss / d parameter to each ``.grad``; PyTorch then frees the graph.

        A second call on the same loss is passed to PyTorch, and PyTorch's refusal is raised as a
        :class:`StepOrderError` that quotes it.
        """
        if self.loss is None:
            raise StepOrderError(
                "还没有 forward()：没有 loss，也就没有计算图。请先 forward，再 backward。 / "
                "backward() needs a forward() first: there is no loss and no computation graph yet."
            )
        try:
            self.loss.backward()
        except RuntimeError as error:  # the graph of this loss was freed by the last backward()
            pytorch_says = str(error).splitlines()[0]
            raise StepOrderError(
                "这个 loss 的计算图已被上一次 backward() 释放，每次 backward() 都需要一次新的 forward()。请先 forward。"
                f"PyTorch 的原话：{pytorch_says} / backward() frees the graph it used, so every backward() needs "
                "its own forward(); run forward() first."
            ) from error
        self.actions.append("backward")

    def step(self) -> None:
        """``optimizer.step()``: ``param -= lr * param.grad`` for every parameter that has a ``.grad``."""
        self.optimizer.step()
        self.actions.append("step")

    def train_step(self, *, skip_zero_grad: bool = False, skip_backward: bool = False, skip_step: bool = False) -> float:
        """The FAQ's loop body (forward, zero_grad, backward, step), leaving out the lines asked to skip."""
        loss = self.forward()
        if not skip_zero_grad:
            self.zero_grad()
        if not skip_backward:
            self.backward()
        if not skip_step:
            self.step()
        return loss

    def state(self) -> StepperState:
        weight, bias = self.model.weight, self.model.bias
        return StepperState(
            weight=weight.detach().view(-1).tolist(),
            bias=bias.item(),
            weight_grad=None if weight.grad is None else weight.grad.view(-1).tolist(),
            bias_grad=None if bias.grad is None else bias.grad.item(),
            lr=self.lr,
            losses=list(self.losses),
            actions=list(self.actions),
        )
