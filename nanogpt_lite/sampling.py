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


def _scaled_logits(logits: torch.Tensor, temperature: float, top_k: int | None) -> torch.Tensor:
    """logits / temperature, with every logit below the ``top_k``-th largest set to -inf."""
    if temperature != 1.0:
        logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth_largest = torch.topk(logits, int(top_k), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    return logits


def next_token_probs(logits: torch.Tensor, *, temperature: float = 1.0, top_k: int | None = None) -> torch.Tensor:
    """softmax(logits / temperature), keeping only the ``top_k`` largest logits. ``temperature`` must be > 0."""
    _check_options(temperature, top_k)
    if temperature == 0:
        raise ValueError("temperature 0 is greedy decoding: it has no distribution to return; use argmax")
    _check_logits(logits)
    return F.softmax(_scaled_logits(logits, temperature, top_k), dim=-1)


def _draw(
    logits: torch.Tensor, temperature: float, top_k: int | None, greedy: bool, generator: torch.Generator | None
) -> torch.Tensor:
    """sample_next without checking its options (the caller did). Bad logits still raise ValueError."""
    if greedy or temperature == 0:
        _check_logits(logits)
        return torch.argmax(logits, dim=-1, keepdim=True)  # greedy: always the most likely token
    probs = F.softmax(_scaled_logits(logits, temperature, top_k), dim=-1)  # scores -> probabilities
    if generator is not None and generator.device != probs.device:
        probs = probs.to(generator.device)  # draw where the generator lives, so a seed means the same on any device
    if probs.device.type != "cpu":
        _check_logits(logits)  # the CPU kernel below checks for itself; others may not
    try:
        ids = torch.multinomial(probs, num_samples=1, generator=generator)  # draw by probability
    except RuntimeError:  # NaN/inf probabilities: say which logits caused them
        _check_logits(logits)
        raise
    return ids.to(logits.device)


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
    return _draw(logits, temperature, top_k, greedy, generator)


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
    batch, length = idx.shape
    out = torch.empty((batch, length + max_new_tokens), dtype=idx.dtype, device=idx.device)  # filled as we go
    out[:, :length] = idx
    context_size = getattr(model, "context_size", None)
    if context_size == 1 and max_new_tokens > 0:
        return _generate_from_table(model, out, length, temperature, top_k, greedy, generator)
    for t in range(length, length + max_new_tokens):
        first = 0 if context_size is None else max(0, t - context_size)
        logits, _ = model(out[:, first:t])  # (B, T, vocab): only what the model can see
        logits = logits[:, -1, :]  # keep the prediction after the last token
        out[:, t : t + 1] = _draw(logits, temperature, top_k, greedy, generator)  # append and go again
    return out


def _generate_from_table(
    model: nn.Module, out: torch.Tensor, length: int, temperature: float, top_k: int | None,
    greedy: bool, generator: torch.Generator | None,
) -> torch.Tensor:
    """A model that sees one token has one next-token distribution per token: compute all of them once.

    Row ``a`` of the table is exactly what ``model([[a]])`` gives, so the draws (and tokens) are the
    same as calling the model every step; only the repeated work is gone.
    """
    vocab_size = model(out[:1, length - 1 : length])[0].shape[-1]
    every_token = torch.arange(vocab_size, device=out.device)[:, None]
    table = model(every_token)[0][:, -1, :]  # (vocab, vocab): the logits after each token
    _check_logits(table)
    if greedy or temperature == 0:
        choice = torch.argmax(table, dim=-1)  # greedy: the most likely token after each token
        for t in range(length, out.shape[1]):
            out[:, t] = choice[out[:, t - 1]]
        return out
    probs = F.softmax(_scaled_logits(table, temperature, top_k), dim=-1)  # one distribution per token
    if generator is not None:
        probs = probs.to(generator.device)  # draw where the generator lives
    for t in range(length, out.shape[1]):
        rows = probs[out[:, t - 1].to(probs.device)]  # the distribution after each sequence's last token
        out[:, t : t + 1] = torch.multinomial(rows, num_samples=1, generator=generator)  # draw by probability
    return out


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
