"""Training a model with the *Let's build GPT* lecture's loop, and measuring its loss on a whole split.

:func:`train` is the loop of the lecture's ``bigram.py`` (which the FAQ quotes): get_batch, forward,
zero_grad, backward, step. nanoGPT's ``train.py`` does the same work per step but splits the batch
into micro-steps (each loss divided by ``gradient_accumulation_steps``), clips the gradient norm and
calls ``zero_grad(set_to_none=True)`` last; chapter 5 reproduces those pieces cell by cell.
:func:`estimate_loss` is the estimate both scripts print (``@torch.no_grad()``, ``model.eval()``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from .data import get_batch


@dataclass
class History:
    """Losses recorded during training: ``train_loss`` per step, ``evals`` every ``eval_every`` steps."""

    train_loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_train: list[float] = field(default_factory=list)
    eval_val: list[float] = field(default_factory=list)


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def estimate_loss(
    model: nn.Module, data: torch.Tensor, *, batch_size: int, block_size: int, eval_iters: int, generator: torch.Generator
) -> float:
    """Mean loss over ``eval_iters`` random batches (nanoGPT's ``estimate_loss``, for one split).

    Like nanoGPT it records no graph (``@torch.no_grad()``) and evaluates in ``model.eval()`` mode;
    the model's training mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    device = _model_device(model)
    losses = []
    for _ in range(eval_iters):
        x, y = get_batch(data, batch_size, block_size, generator=generator)
        _, loss = model(x.to(device), y.to(device))
        losses.append(loss.item())
    model.train(was_training)
    return sum(losses) / len(losses)


@torch.no_grad()
def exact_loss(model: nn.Module, data: torch.Tensor, *, chunk: int = 2_048) -> float:
    """Mean cross-entropy of predicting every next token of ``data`` from the one before it.

    Exact for a bigram (it sees one token, so nothing is sampled); the whole split, in chunks of
    ``chunk`` positions (small, so a classroom kernel never holds more than about a megabyte of logits).
    """
    was_training = model.training
    model.eval()
    device = _model_device(model)
    total, count = 0.0, 0
    for start in range(0, len(data) - 1, chunk):
        x = data[start : start + chunk + 1]
        inputs, targets = x[:-1].to(device), x[1:].to(device)
        logits, _ = model(inputs[None, :])
        total += F.cross_entropy(logits[0].double(), targets, reduction="sum").item()
        count += len(targets)
    model.train(was_training)
    return total / count


def train(
    model: nn.Module,
    data: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    block_size: int,
    lr: float,
    eval_every: int,
    generator: torch.Generator,
    val_data: torch.Tensor | None = None,
    eval_iters: int = 50,
    progress: bool = True,
) -> History:
    """The lecture's ``bigram.py`` loop with AdamW: get_batch, forward, zero_grad, backward, step.

    The loss is estimated (:func:`estimate_loss`) every ``eval_every`` steps and at the last step. The
    lecture's recipe is ``batch_size=32, block_size=8, lr=1e-2, steps=3000``.
    """
    if steps < 1 or batch_size < 1 or block_size < 1 or eval_every < 1:
        raise ValueError(
            f"steps、batch_size、block_size、eval_every 都必须 ≥ 1，收到 {steps}、{batch_size}、{block_size}、"
            f"{eval_every}。 / steps, batch_size, block_size and eval_every must all be >= 1."
        )
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"学习率必须是大于 0 的有限数，收到 {lr}。请把 lr 改成正数。 / lr must be a finite number > 0, got {lr}.")
    device = _model_device(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    history = History()
    model.train()
    bar = tqdm(range(steps), desc="training", disable=not progress)  # the finished bar stays: steps and time, no blank gap
    for step in bar:
        if step % eval_every == 0 or step == steps - 1:
            history.eval_steps.append(step)
            history.eval_train.append(
                estimate_loss(model, data, batch_size=batch_size, block_size=block_size, eval_iters=eval_iters, generator=generator)
            )
            if val_data is not None:
                history.eval_val.append(
                    estimate_loss(model, val_data, batch_size=batch_size, block_size=block_size, eval_iters=eval_iters, generator=generator)
                )
        xb, yb = get_batch(data, batch_size, block_size, generator=generator)  # 1. a batch
        _, loss = model(xb.to(device), yb.to(device))  # 2. forward
        optimizer.zero_grad(set_to_none=True)  # 3. forget the last step's gradients
        loss.backward()  # 4. d loss / d every parameter
        optimizer.step()  # 5. move the parameters against the gradient
        history.train_loss.append(loss.item())
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", refresh=False)  # tqdm redraws on its own clock
    return history


def train_full_batch(model: nn.Module, counts: torch.Tensor, *, steps: int, lr: float = 0.3, progress: bool = True) -> list[float]:
    """Fit a bigram to the whole training text at once: the exact loss is the count-weighted cross-entropy.

    ``counts`` is :func:`nanogpt_lite.counts.bigram_counts` of the training data. Returns the exact
    training loss before each Adam step. The Adam update is written out (:func:`adam_step`, the same
    arithmetic as ``torch.optim.Adam``): a torch optimizer's first use imports ``torch._dynamo``,
    about 70 MiB in every learner's kernel, and chapter 4 needs nothing else from it.
    """
    weight = model.token_embedding_table.weight
    counts = counts.to(weight.device, weight.dtype)
    total = counts.sum()
    exp_avg, exp_avg_sq = torch.zeros_like(weight), torch.zeros_like(weight)
    losses = []
    for step in tqdm(range(1, steps + 1), desc="full-batch", disable=not progress):
        loss = -(counts * F.log_softmax(weight, dim=-1)).sum() / total
        weight.grad = None
        loss.backward()
        adam_step(weight, exp_avg, exp_avg_sq, step, lr=lr)
        losses.append(loss.item())
    return losses


@torch.no_grad()
def adam_step(param: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor, step: int, *, lr: float,
              betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
    """One Adam update of ``param`` from its ``.grad`` (step counts from 1), in place, as ``torch.optim.Adam`` does it."""
    beta1, beta2 = betas
    grad = param.grad
    exp_avg.lerp_(grad, 1 - beta1)                                   # running mean of the gradient
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)    # running mean of its square
    denom = (exp_avg_sq.sqrt() / (1 - beta2 ** step) ** 0.5).add_(eps)
    param.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1 ** step))  # both means corrected for starting at 0
