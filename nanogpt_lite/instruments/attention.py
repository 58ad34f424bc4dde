"""What a trained GPT attends to: every head's attention weights, read without changing the model.

A forward hook on each block's ``attn`` module catches its input (the output of ``ln_1``) and
recomputes softmax(q kᵀ / √d) with the causal mask from the block's own ``c_attn`` weights: the
same numbers ``scaled_dot_product_attention`` uses inside, which it never returns.
:func:`previous_token_weight` averages one number of those maps, the weight on the token just
before, over many windows of a data split.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..gpt import GPT, CausalSelfAttention


def attention_weights(attn: CausalSelfAttention, x: torch.Tensor) -> torch.Tensor:
    """The attention weights of ``attn`` on its input ``x`` (B, T, C) -> (B, n_head, T, T); rows sum to 1."""
    B, T, C = x.shape
    q, k, _ = attn.c_attn(x).split(attn.n_embd, dim=2)
    q = q.view(B, T, attn.n_head, C // attn.n_head).transpose(1, 2)  # (B, nh, T, hs)
    k = k.view(B, T, attn.n_head, C // attn.n_head).transpose(1, 2)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(k.shape[-1])
    future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)  # above the diagonal: later positions
    return F.softmax(scores.masked_fill(future, float("-inf")), dim=-1)


def _as_batch(model: GPT, idx: torch.Tensor) -> torch.Tensor:
    idx = torch.as_tensor(idx, dtype=torch.long)
    if idx.dim() == 1:
        idx = idx[None]
    if idx.dim() != 2 or idx.shape[0] != 1:
        raise ValueError(
            f"idx 应该是一行编号（形状 (T,) 或 (1, T)），收到形状 {tuple(idx.shape)}。 / "
            f"idx must be one sequence of ids, shape (T,) or (1, T); got {tuple(idx.shape)}."
        )
    if idx.shape[1] == 0:
        raise ValueError("idx 是空的：至少要有一个字符。 / idx is empty: pass at least one token.")
    return idx.to(next(model.parameters()).device)


@torch.no_grad()
def _per_layer(model: GPT, idx: torch.Tensor, measure: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Run ``model`` on ``idx`` (B, T) in eval mode; ``measure`` of each layer's weights (B, nh, T, T), stacked."""
    results: list[torch.Tensor] = []
    hooks = [
        block.attn.register_forward_hook(
            lambda module, inputs, output: results.append(measure(attention_weights(module, inputs[0])))
        )
        for block in model.transformer.h
    ]
    was_training = model.training
    model.eval()
    try:
        model(idx)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return torch.stack(results).cpu()


def attention_maps(model: GPT, idx: torch.Tensor) -> torch.Tensor:
    """Attention weights of every layer and head for one sequence: (n_layer, n_head, T, T).

    Row ``t`` of map ``[l, h]`` says how much position ``t`` takes from each position ``s <= t``.
    ``idx`` is one sequence, shape (T,) or (1, T), at most ``block_size`` long.
    """
    return _per_layer(model, _as_batch(model, idx), lambda weights: weights[0])


def _on_previous_token(weights: torch.Tensor) -> torch.Tensor:
    """(B, nh, T, T) -> (nh,): the weights row ``t`` gives column ``t - 1`` (the diagonal just below the main one), summed."""
    return weights.diagonal(offset=-1, dim1=-2, dim2=-1).double().sum(dim=(0, 2))


def previous_token_weight(model: GPT, data: torch.Tensor, *, windows: int, generator: torch.Generator,
                          batch_size: int = 64) -> torch.Tensor:
    """Mean weight each head puts on the token just before, (n_layer, n_head), each in [0, 1].

    Row ``t`` of each map gives position ``t - 1`` some weight; this averages it over positions
    ``t >= 1`` of ``windows`` random full windows of ``block_size`` tokens of ``data``, drawn with
    ``generator``. ``batch_size`` windows per forward pass bound the memory it takes.
    """
    data, size = torch.as_tensor(data), model.context_size
    if windows < 1:
        raise ValueError(f"windows={windows}：至少要取 1 个窗口。 / windows={windows}: draw at least 1 window.")
    if size < 2:
        raise ValueError(
            f"block_size={size}：窗口里没有“前一个词元”，至少要 2 个位置。 / "
            f"block_size={size}: a window needs 2 positions to have a previous token."
        )
    if len(data) < size:
        raise ValueError(
            f"数据只有 {len(data)} 个词元，不够一个 block_size={size} 的完整窗口：换更长的数据。 / "
            f"data has {len(data)} tokens, fewer than one window of block_size={size}; pass a longer split."
        )
    starts = torch.randint(len(data) - size + 1, (windows,), generator=generator)
    device = next(model.parameters()).device
    total = torch.zeros(model.config.n_layer, model.config.n_head, dtype=torch.float64)
    for first in range(0, windows, batch_size):
        idx = data[starts[first : first + batch_size, None] + torch.arange(size)].to(device)  # (B, block_size)
        total += _per_layer(model, idx, _on_previous_token)
    return (total / (windows * (size - 1))).float()


@torch.no_grad()
def next_char_distribution(model: GPT, idx: torch.Tensor, position: int = -1) -> torch.Tensor:
    """P(next token | idx[: position + 1]): the model's distribution after ``position`` (vocab,)."""
    idx = _as_batch(model, idx)
    T = idx.shape[1]
    if not -T <= position < T:
        raise ValueError(
            f"position={position} 超出了序列范围（长度 {T}，可用 0…{T - 1} 或负数）。 / "
            f"position {position} is outside a sequence of length {T}."
        )
    was_training = model.training
    model.eval()
    try:
        logits, _ = model(idx)
    finally:
        model.train(was_training)
    return F.softmax(logits[0, position], dim=-1).cpu()


def occurrences(data: torch.Tensor, context: list[int]) -> torch.Tensor:
    """End positions ``e`` where ``data[e - len(context) + 1 : e + 1] == context`` and a next token exists."""
    data = torch.as_tensor(data)
    n = len(context)
    if n == 0:
        raise ValueError("context 是空的：至少给一个字符。 / context is empty: give at least one token.")
    if len(data) <= n:
        return torch.empty(0, dtype=torch.long)
    windows = data[:-1].unfold(0, n, 1)  # every run of n tokens that still has a next token
    hits = (windows == torch.tensor(context, dtype=data.dtype)).all(dim=1).nonzero().view(-1)
    return hits + n - 1


def count_probability(data: torch.Tensor, context: list[int], target: int) -> tuple[float, int]:
    """How often ``target`` follows ``context`` in ``data``: (share, number of times ``context`` occurs)."""
    ends = occurrences(data, context)
    if len(ends) == 0:
        raise ValueError(f"上下文 {context} 在数据里一次也没出现。 / context {context} never occurs in the data.")
    return float((data[ends + 1] == target).double().mean()), len(ends)


def _full_window_ends(model: GPT, data: torch.Tensor, context: list[int]) -> torch.Tensor:
    """End positions of ``context`` in ``data`` that have a full window of ``block_size`` tokens and a next token."""
    ends = occurrences(data, context)
    ends = ends[ends >= model.context_size - 1]
    if len(ends) == 0:
        raise ValueError(f"上下文 {context} 在数据里没有完整的窗口。 / context {context} has no full window in the data.")
    return ends


@torch.no_grad()
def _next_probs(model: GPT, data: torch.Tensor, ends: torch.Tensor, batch_size: int) -> torch.Tensor:
    """P(next token | the ``block_size`` tokens ending at each of ``ends``): (len(ends), vocab), float64 on the CPU."""
    size = model.context_size
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    probs = []
    try:
        for first in range(0, len(ends), batch_size):
            chunk = ends[first : first + batch_size]
            windows = torch.stack([data[e - size + 1 : e + 1] for e in chunk.tolist()]).to(device)
            logits, _ = model(windows)
            probs.append(F.softmax(logits[:, -1].double(), dim=-1).cpu())
    finally:
        model.train(was_training)
    return torch.cat(probs)


def context_probability(model: GPT, data: torch.Tensor, context: list[int], target: int, *,
                        batch_size: int = 128) -> tuple[float, int]:
    """The model's mean P(``target`` | the ``block_size`` tokens ending with ``context``) over every place in ``data``
    where ``context`` ends at least ``block_size - 1`` tokens in (so each window is a full, real context):
    (mean probability, number of places). ``batch_size`` windows per forward pass bound the memory it takes."""
    ends = _full_window_ends(model, data, context)
    return float(_next_probs(model, data, ends, batch_size)[:, target].mean()), len(ends)


@dataclass(frozen=True)
class AtPlaces:
    """One context's places in a split (full windows only), and what the data, a GPT and a bigram say there."""

    places: int  # how many times the context ends with a full window before it
    counted: float  # the share of those places whose next token is the target: the data's own answer
    gpt: float  # the GPT's mean P(target | window)
    bigram: float  # the bigram's P(target | last token): one number for every place
    gpt_loss: float  # the GPT's mean −ln P(the real next token): lower predicts those places better
    bigram_loss: float  # the bigram's, at the same places


def compare_at_places(model: GPT, data: torch.Tensor, context: list[int], target: int, bigram_probs: torch.Tensor, *,
                      batch_size: int = 128) -> AtPlaces:
    """The GPT, a bigram table ``bigram_probs`` (vocab, vocab) and the data itself, all at the same places of ``data``."""
    ends = _full_window_ends(model, data, context)
    following = data[ends + 1]
    gpt = _next_probs(model, data, ends, batch_size)
    row = bigram_probs[context[-1]].double()
    return AtPlaces(
        places=len(ends),
        counted=float((following == target).double().mean()),
        gpt=float(gpt[:, target].mean()),
        bigram=float(row[target]),
        gpt_loss=float(-gpt[torch.arange(len(ends)), following].log().mean()),
        bigram_loss=float(-row[following].log().mean()),
    )
