"""Numbers that tell greedy text from sampled text: loops, variety, repetition and likelihood."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn

from ..training import exact_loss


@dataclass(frozen=True)
class Cycle:
    """The text repeats forever from index ``start`` on, every ``period`` tokens."""

    start: int
    period: int


def find_cycle(ids: Sequence[int], *, context_size: int = 1) -> Cycle | None:
    """The first state (the last ``context_size`` tokens) that occurs twice in ``ids``, or None.

    Greedy decoding picks the next token from that state alone, so once a state comes back the
    text must repeat with that period forever. (Sampled text can revisit a state without looping:
    use this on deterministic output only.)
    """
    if isinstance(context_size, bool) or not isinstance(context_size, int) or context_size < 1:
        raise ValueError(
            f"context_size 必须是 >= 1 的整数，收到 {context_size!r}。 / context_size must be a whole number >= 1, got {context_size!r}"
        )
    ids = [int(i) for i in ids]
    first_seen: dict[tuple[int, ...], int] = {}
    for end in range(context_size, len(ids) + 1):
        state = tuple(ids[end - context_size : end])
        if state in first_seen:
            start = first_seen[state]
            return Cycle(start, end - context_size - start)
        first_seen[state] = end - context_size
    return None


def loop_tokens(ids: Sequence[int], cycle: Cycle) -> tuple[int, ...]:
    """The tokens that repeat, rotated to their smallest rotation, so one loop reached at different points compares equal."""
    ids = [int(i) for i in ids]
    if cycle.start < 0 or cycle.period < 1 or cycle.start + cycle.period > len(ids):
        raise ValueError(f"{cycle} 超出了这段 {len(ids)} 个词元的文字。 / {cycle} does not fit in a text of {len(ids)} tokens")
    loop = ids[cycle.start : cycle.start + cycle.period]
    return min(tuple(loop[i:] + loop[:i]) for i in range(len(loop)))


def repeated_ngram_share(ids: Sequence[int], n: int) -> float:
    """The share of the text's n-grams (one per position) that already occurred earlier in it (0..1)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n 必须是 >= 1 的整数，收到 {n!r}。 / n must be a whole number >= 1, got {n!r}")
    ids = [int(i) for i in ids]
    grams = [tuple(ids[i : i + n]) for i in range(len(ids) - n + 1)]
    if not grams:
        raise ValueError(
            f"这段文字只有 {len(ids)} 个词元，不够组成 {n}-gram。 / the text has {len(ids)} tokens: too short for {n}-grams"
        )
    return 1 - len(set(grams)) / len(grams)


@dataclass(frozen=True)
class TextStats:
    """Summary of one generated text."""

    length: int
    distinct: int  # how many different tokens it uses
    n: int
    repeated_share: float  # share of n-grams seen earlier in the text
    mean_log_likelihood: float  # mean log p(next | previous) under the model, nats per token
    cycle: Cycle | None

    def __str__(self) -> str:
        loop = f"从第 {self.cycle.start} 个起每 {self.cycle.period} 个重复" if self.cycle else "无"
        return (
            f"长度 {self.length} · 不同字符 {self.distinct} · 重复 {self.n}-gram 占比 {self.repeated_share:.1%} · "
            f"平均对数似然 {self.mean_log_likelihood:.3f} nats · 循环 {loop}"
        )


def text_stats(ids: Sequence[int], model: nn.Module, *, n: int = 4, deterministic: bool = False) -> TextStats:
    """Statistics of ``ids`` as scored by the bigram ``model``; ``cycle`` is looked for only when ``deterministic``."""
    if len(ids) < 2:
        raise ValueError(f"至少要 2 个词元才能打分，收到 {len(ids)} 个。 / need at least 2 tokens to score a text, got {len(ids)}")
    data = torch.as_tensor([int(i) for i in ids], dtype=torch.long)
    return TextStats(
        length=len(ids),
        distinct=len(set(data.tolist())),
        n=n,
        repeated_share=repeated_ngram_share(ids, n),
        mean_log_likelihood=-exact_loss(model, data),
        cycle=find_cycle(ids, context_size=getattr(model, "context_size", 1)) if deterministic else None,
    )
