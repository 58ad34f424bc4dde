"""What a trained GPT attends to: every head's attention weights, read without changing the model.

A forward hook on each block's ``attn`` module catches its input (the output of ``ln_1``) and
recomputes softmax(q kᵀ / √d) with the causal mask from the block's own ``c_attn`` weights: the
same numbers ``scaled_dot_product_attention`` uses inside, which it never returns.
"""
from __future__ import annotations

import math

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
def attention_maps(model: GPT, idx: torch.Tensor) -> torch.Tensor:
    """Attention weights of every layer and head for one sequence: (n_layer, n_head, T, T).

    Row ``t`` of map ``[l, h]`` says how much position ``t`` takes from each position ``s <= t``.
    ``idx`` is one sequence, shape (T,) or (1, T), at most ``block_size`` long.
    """
    idx = _as_batch(model, idx)
    maps: list[torch.Tensor] = []
    hooks = [
        block.attn.register_forward_hook(lambda module, inputs, output: maps.append(attention_weights(module, inputs[0])[0]))
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
    return torch.stack(maps).cpu()


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
