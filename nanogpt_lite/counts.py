"""The exact, count-based bigram: the best any bigram model can do on a given text.

Counting how often token ``b`` follows token ``a`` gives the maximum-likelihood next-token
distribution directly, so its cross-entropy on the training text is a floor that no trained
bigram can beat. On unseen text, pairs never counted would get probability 0 (loss = inf), so
add-k smoothing adds ``k`` to every count.
"""
from __future__ import annotations

import math

import torch

from .model import BigramLanguageModel


PAIR_CHUNK = 1 << 16  # pairs counted per step: 512 KiB of int64 at a time instead of 8 MiB for tiny Shakespeare


def bigram_counts(data: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """(vocab, vocab) matrix: entry [a, b] is how often token ``b`` follows token ``a``.

    The pairs are counted ``PAIR_CHUNK`` at a time, each chunk's pair index ``a * vocab_size + b``
    built in place, so a megabyte of text never needs a pair tensor as long as the text: freed, such a
    tensor's pages stay in a notebook kernel's memory.
    """
    counts = torch.zeros(vocab_size * vocab_size, dtype=torch.long, device=data.device)
    for start in range(0, len(data) - 1, PAIR_CHUNK):
        piece = data[start:start + PAIR_CHUNK + 1]
        pairs = piece[:-1].long() * vocab_size  # a new tensor (.long() of int64 ids is the ids themselves)
        pairs += piece[1:]  # in place: no second tensor for the sum
        counts += torch.bincount(pairs, minlength=vocab_size * vocab_size)
    return counts.view(vocab_size, vocab_size).double()


def bigram_probs(counts: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Row-normalised counts, after adding ``smoothing`` to every entry."""
    if smoothing < 0 or not math.isfinite(smoothing):
        raise ValueError(
            f"平滑量 smoothing 必须是有限的非负数（加一平滑是 1），收到 {smoothing}。 / "
            f"smoothing must be a finite number >= 0, got {smoothing}"
        )
    smoothed = counts + smoothing
    totals = smoothed.sum(dim=1, keepdim=True)
    return torch.where(totals > 0, smoothed / totals.clamp(min=1e-300), torch.full_like(smoothed, 1.0 / counts.shape[1]))


def cross_entropy(probs: torch.Tensor, data: torch.Tensor) -> float:
    """Mean negative log-likelihood (nats) of ``data``'s bigrams under ``probs``; inf if one has p = 0."""
    p = probs[data[:-1].long(), data[1:].long()]
    return float(-torch.log(p).mean())


def unseen_pairs(train_counts: torch.Tensor, data: torch.Tensor) -> int:
    """How many distinct bigrams of ``data`` never occur in the training counts."""
    vocab_size = train_counts.shape[0]
    seen = bigram_counts(data, vocab_size) > 0
    return int((seen & (train_counts == 0)).sum())


def best_smoothing(train_counts: torch.Tensor, val: torch.Tensor, lo: float = 1e-3, hi: float = 10.0) -> float:
    """The add-k that minimises validation cross-entropy (golden-section search on log k)."""
    f = lambda log_k: cross_entropy(bigram_probs(train_counts, math.exp(log_k)), val)  # noqa: E731
    a, b = math.log(lo), math.log(hi)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(60):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return math.exp((a + b) / 2)


def count_model(probs: torch.Tensor) -> BigramLanguageModel:
    """A BigramLanguageModel whose logits are the log of ``probs``: sampling it samples the counts."""
    model = BigramLanguageModel(probs.shape[0])
    with torch.no_grad():
        model.token_embedding_table.weight.copy_(torch.log(probs).float())
    return model
