"""Training the GPT as nanoGPT's ``train.py`` does: AdamW, warm-up + cosine learning rate, clipping, accumulation.

Two recipes for a CPU, both with our GPT: ``NANOGPT_CPU_RECIPE`` is the README's "I only have a
MacBook" command line, ``CPU_RECIPE`` is ours (measured with ``python -m tools.gpt_recipe``).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .data import get_batch
from .gpt import GPT, GPTConfig
from .training import estimate_loss

# nanoGPT's README, CPU: train_shakespeare_char.py with --block_size=64 --batch_size=12 --n_layer=4
# --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0 (bias False, as train.py)
NANOGPT_CPU_RECIPE: dict[str, Any] = dict(
    n_layer=4, n_head=4, n_embd=128, block_size=64, bias=False, dropout=0.0,
    batch_size=12, steps=2000, learning_rate=1e-3, min_lr=1e-4, warmup_iters=100, lr_decay_iters=2000,
    weight_decay=0.1, beta2=0.99, grad_clip=1.0,
)

# Ours: a narrower model on more, smaller batches and a 10x higher learning rate (tools/gpt_recipe.py).
# Short runs of about 85 s on one thread (2026-12-02), whole-split val: batch 32 x 1150 steps at lr 3e-3 1.9072,
# at 6e-3 1.8263, at 1e-2 1.8032; batch 16 x 2400 steps at 3e-3 1.8187, at 6e-3 1.7813, at 1e-2 1.7727 (that machine's
# CPU kernels; on the AMD EPYC that saved chapter 6 the chosen recipe gives 1.7471, see tools/kernels.py).
CPU_RECIPE: dict[str, Any] = dict(
    n_layer=4, n_head=4, n_embd=64, block_size=64, bias=False, dropout=0.0,
    batch_size=16, steps=2400, learning_rate=1e-2, min_lr=1e-3, warmup_iters=100, lr_decay_iters=2400,
    weight_decay=0.1, beta2=0.99, grad_clip=1.0,
)

# `make test` sets NANOGPT_LITE_QUICK=1: a chapter's live training then runs QUICK_STEPS steps. A live model's
# digits depend on the CPU, so its cells are not compared anyway; the chapters analyse the shipped reference.
QUICK_ENV = "NANOGPT_LITE_QUICK"
QUICK_STEPS = 200

MODEL_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "bias", "dropout")
TRAIN_KEYS = ("batch_size", "steps", "learning_rate", "min_lr", "warmup_iters", "lr_decay_iters", "weight_decay", "grad_clip")


def model_from_recipe(recipe: dict[str, Any], vocab_size: int, *, seed: int = 1337) -> GPT:
    """A freshly initialised GPT (``torch.manual_seed(seed)``) with the recipe's shape."""
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=vocab_size, **{k: recipe[k] for k in MODEL_KEYS}))


def training_args(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe's keyword arguments for :func:`train_gpt`."""
    args = {k: recipe[k] for k in TRAIN_KEYS}
    args["block_size"] = recipe["block_size"]
    args["betas"] = (0.9, recipe["beta2"])
    return args


def live_recipe(recipe: dict[str, Any]) -> dict[str, Any]:
    """``recipe`` as a chapter trains it live: unchanged, or shortened to ``QUICK_STEPS`` (its schedule with it)
    when the environment variable ``NANOGPT_LITE_QUICK`` is ``1``, as under ``make test``."""
    if os.environ.get(QUICK_ENV, "") != "1":
        return dict(recipe)
    steps = min(QUICK_STEPS, recipe["steps"])
    return {**recipe, "steps": steps, "lr_decay_iters": steps, "warmup_iters": min(recipe["warmup_iters"], steps // 4)}


def get_lr(it: int, warmup_iters: int, lr_decay_iters: int, learning_rate: float, min_lr: float) -> float:
    """nanoGPT's schedule: linear warm-up for ``warmup_iters`` steps, cosine down to ``min_lr`` at ``lr_decay_iters``."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)  # 0 -> 1 over the decay
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # 1 -> 0 along half a cosine
    return min_lr + coeff * (learning_rate - min_lr)


@dataclass
class GPTHistory:
    """What :func:`train_gpt` measured: estimates every ``eval_interval`` steps, and every step."""

    eval_steps: list[int] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)  # training time (evaluation excluded) at each estimate
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)  # the batch loss of every step (summed over micro-batches)
    grad_norm: list[float] = field(default_factory=list)  # before clipping, as clip_grad_norm_ returns it
    lr: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)  # wall time of every step
    step_cpu_seconds: list[float] = field(default_factory=list)  # CPU time of every step (all threads together)
    seconds: float = 0.0  # training time in total
    optimizer: Any = None  # the optimizer that trained the model, with its state (to save and resume)


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not (value >= 1 and value == int(value)):
            raise ValueError(f"{name} 必须是 >= 1 的整数，收到 {value!r}。 / {name} must be a whole number >= 1, got {value!r}")


def _check_rates(**values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(
                f"{name} 必须是一个有限的非负数，收到 {value!r}：NaN 或无穷大的学习率会让每个参数都变成 NaN。"
                f"请传一个像 1e-3 这样的数。 / {name} must be a finite number >= 0, got {value!r}."
            )


def train_gpt(
    model: GPT,
    train_data: torch.Tensor,
    val_data: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    block_size: int,
    learning_rate: float,
    generator: torch.Generator,
    min_lr: float | None = None,
    warmup_iters: int = 100,
    lr_decay_iters: int | None = None,
    weight_decay: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.99),
    grad_clip: float = 1.0,
    accumulation_steps: int = 1,
    eval_interval: int = 250,
    eval_iters: int = 20,
    eval_seed: int = 1337,
    progress: bool = True,
    optimizer: Any = None,
) -> GPTHistory:
    """nanoGPT's training loop on the CPU (or GPU): returns a :class:`GPTHistory`.

    Each step draws ``accumulation_steps`` micro-batches from ``generator``, backpropagates each
    loss divided by ``accumulation_steps``, clips the gradient norm to ``grad_clip`` (0: no clipping)
    and takes one AdamW step at ``get_lr(step)``; ``optimizer`` replaces that AdamW (chapter 7's Muon + AdamW), and a
    group's ``lr_scale`` (default 1) multiplies the scheduled rate. Every estimate uses the same ``eval_iters``
    batches (from ``eval_seed``), so the curve is not noisier than the model and evaluation does
    not change the training batches.
    """
    _check_positive(steps=steps, batch_size=batch_size, block_size=block_size,
                    accumulation_steps=accumulation_steps, eval_interval=eval_interval, eval_iters=eval_iters)
    _check_rates(learning_rate=learning_rate, min_lr=min_lr, weight_decay=weight_decay)
    if block_size > model.config.block_size:
        raise ValueError(
            f"block_size={block_size} 超过了模型的 block_size={model.config.block_size}。 / "
            f"block_size {block_size} exceeds the model's {model.config.block_size}."
        )
    min_lr = learning_rate / 10 if min_lr is None else min_lr
    lr_decay_iters = steps if lr_decay_iters is None else lr_decay_iters
    device = next(model.parameters()).device
    if optimizer is None:
        optimizer = model.configure_optimizers(weight_decay, learning_rate, betas, device.type)
    history = GPTHistory(optimizer=optimizer)

    def evaluate(step: int) -> None:
        history.eval_steps.append(step)
        history.eval_seconds.append(history.seconds)
        for data, losses in ((train_data, history.train_loss), (val_data, history.val_loss)):
            g = torch.Generator().manual_seed(eval_seed)
            losses.append(estimate_loss(model, data, batch_size=batch_size, block_size=block_size, eval_iters=eval_iters, generator=g))

    model.train()
    bar = tqdm(range(steps), desc="training", disable=not progress)  # the finished bar stays: steps and time, no blank gap
    for step in bar:
        if step % eval_interval == 0:
            evaluate(step)
        start, cpu_start = time.perf_counter(), time.process_time()
        lr = get_lr(step, warmup_iters, lr_decay_iters, learning_rate, min_lr)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        step_loss = 0.0
        for _ in range(accumulation_steps):
            xb, yb = get_batch(train_data, batch_size, block_size, generator=generator)
            _, loss = model(xb.to(device), yb.to(device))
            loss = loss / accumulation_steps  # so the summed gradient is that of one big batch
            loss.backward()
            step_loss += loss.item()
        # clip_grad_norm_ returns the norm before clipping; max_norm=inf only measures it
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip if grad_clip > 0 else math.inf)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        history.step_seconds.append(time.perf_counter() - start)
        history.step_cpu_seconds.append(time.process_time() - cpu_start)
        history.seconds += history.step_seconds[-1]
        history.step_loss.append(step_loss)
        history.grad_norm.append(norm.item())
        history.lr.append(lr)
        bar.set_postfix(loss=f"{step_loss:.3f}", refresh=False)
    evaluate(steps)
    return history


@torch.no_grad()
def split_loss(model: GPT, data: torch.Tensor, *, batch_size: int = 64) -> float:
    """Mean cross-entropy over every next token of ``data`` (the whole split, not an estimate).

    ``data`` is cut into consecutive windows of ``model.context_size`` tokens (the last one shorter),
    so each token is predicted exactly once, from the part of its window before it (as in training).
    ``batch_size`` windows at a time: 64 was as fast as 256 here, with a quarter of the activations in memory.
    """
    if len(data) < 2:
        raise ValueError(
            f"数据只有 {len(data)} 个词元，没有“下一个词元”可以预测：至少要 2 个。请检查切分（split）得到的那一份。 / "
            f"the data has {len(data)} tokens, so there is no next token to predict; pass at least 2."
        )
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    size, n = model.context_size, len(data) - 1  # n next-token predictions in all
    whole = n // size * size
    windows = [(data[:whole].view(-1, size), data[1 : whole + 1].view(-1, size))]
    if whole < n:
        windows.append((data[whole:n][None], data[whole + 1 :][None]))  # the last, shorter window
    total = 0.0
    for inputs, targets in windows:
        for first in range(0, len(inputs), batch_size):
            logits, _ = model(inputs[first : first + batch_size].to(device))
            chunk = targets[first : first + batch_size].to(device)
            total += F.cross_entropy(logits.flatten(0, 1).double(), chunk.flatten(), reduction="sum").item()
    model.train(was_training)
    return total / n
