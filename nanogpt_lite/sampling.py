"""Turning logits into the next token: softmax, temperature, top-k, then multinomial or argmax."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _check_options(temperature: float, top_k: int | None) -> None:
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 means greedy), got {temperature!r}")
    if top_k is not None and (int(top_k) != top_k or top_k < 1):
        raise ValueError(f"top_k must be a whole number >= 1 or None, got {top_k!r}")


def _check_logits(logits: torch.Tensor) -> None:
    """NaN and +inf are bugs; -inf is allowed (probability 0) as long as a row keeps one finite logit."""
    if torch.isnan(logits).any() or torch.isposinf(logits).any():
        raise ValueError("logits contain NaN or +infinity; check the model's output")
    if not torch.isfinite(logits).any(dim=-1).all():
        raise ValueError("a row of logits is all -infinity: no token is possible")


def next_token_probs(logits: torch.Tensor, *, temperature: float = 1.0, top_k: int | None = None) -> torch.Tensor:
    """softmax(logits / temperature), keeping only the ``top_k`` largest logits. ``temperature`` must be > 0."""
    _check_options(temperature, top_k)
    if temperature == 0:
        raise ValueError("temperature 0 is greedy decoding: it has no distribution to return; use argmax")
    _check_logits(logits)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth_largest = torch.topk(logits, int(top_k), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    return F.softmax(logits, dim=-1)


def sample_next(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One next token per row of ``logits`` (B, vocab) -> ids (B, 1)."""
    _check_options(temperature, top_k)
    _check_logits(logits)
    if greedy or temperature == 0:
        return torch.argmax(logits, dim=-1, keepdim=True)  # greedy: always the most likely token
    probs = next_token_probs(logits, temperature=temperature, top_k=top_k)  # scores -> probabilities
    sample_device = generator.device if generator is not None else probs.device
    ids = torch.multinomial(probs.to(sample_device), num_samples=1, generator=generator)  # draw by probability
    return ids.to(logits.device)


@torch.no_grad()
def generate(
    model: nn.Module,
    idx: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend ``idx`` (B, T) by ``max_new_tokens`` tokens sampled from ``model``.

    Only the last ``model.context_size`` tokens are fed each step (all of them if the model does
    not say), so a bigram costs the same per token however long the text grows.
    """
    _check_options(temperature, top_k)
    context_size = getattr(model, "context_size", None)
    for _ in range(max_new_tokens):
        context = idx if context_size is None else idx[:, -context_size:]  # what the model can see
        logits, _ = model(context)  # (B, T, vocab) scores for every position
        logits = logits[:, -1, :]  # keep the prediction after the last token
        idx_next = sample_next(logits, temperature=temperature, top_k=top_k, greedy=greedy, generator=generator)
        idx = torch.cat((idx, idx_next), dim=1)  # append and go again
    return idx


@torch.no_grad()
def generate_lecture(
    model: nn.Module, idx: torch.Tensor, max_new_tokens: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """nanoGPT lecture's generate(): the whole growing sequence every step. The reference for tests and benchmarks."""
    for _ in range(max_new_tokens):
        logits, _ = model(idx)
        logits = logits[:, -1, :]
        probs = F.softmax(logits, dim=-1)
        idx_next = torch.multinomial(probs, num_samples=1, generator=generator)
        idx = torch.cat((idx, idx_next), dim=1)
    return idx
