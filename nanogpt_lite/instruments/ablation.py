"""Switching attention heads off, to see what the model predicts without them.

Each head writes its output to its own slice of channels of ``y``, ``h * head_size`` up to
``(h + 1) * head_size``, before the block's ``attn.c_proj`` mixes the heads into the residual
stream. Inside :func:`heads_off`, a forward pre-hook on ``c_proj`` sets the chosen heads' channels
to zero, so those heads add nothing. The weights are never touched: when the ``with`` block ends
(normally or by an error) the hooks are removed and the model computes exactly what it did before.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch

from ..gpt import GPT

Head = tuple[int, int]  # (layer, head)


def layer_heads(model: GPT, layer: int) -> list[Head]:
    """Every head of ``layer``: ``[(layer, 0), …, (layer, n_head - 1)]``."""
    _check_layer(model, layer)
    return [(layer, head) for head in range(model.config.n_head)]


def all_heads(model: GPT) -> list[Head]:
    """Every head of every layer, layer by layer."""
    return [pair for layer in range(model.config.n_layer) for pair in layer_heads(model, layer)]


def _check_layer(model: GPT, layer: int) -> None:
    n_layer = model.config.n_layer
    if not 0 <= layer < n_layer:
        raise ValueError(
            f"layer={layer} 超出范围：模型有 {n_layer} 层，可用 0…{n_layer - 1}。 / "
            f"layer {layer} is out of range: the model has layers 0…{n_layer - 1}."
        )


def _check_head(model: GPT, layer: int, head: int) -> None:
    _check_layer(model, layer)
    n_head = model.config.n_head
    if not 0 <= head < n_head:
        raise ValueError(
            f"head={head}（第 {layer} 层）超出范围：每层有 {n_head} 个头，可用 0…{n_head - 1}。 / "
            f"head {head} (layer {layer}) is out of range: each layer has heads 0…{n_head - 1}."
        )


PreHook = Callable[[torch.nn.Module, tuple[torch.Tensor]], tuple[torch.Tensor]]


def _zero_channels(off: torch.Tensor) -> PreHook:
    """A forward pre-hook for ``c_proj``: its input ``y`` (B, T, n_embd) with the channels where ``off`` is True set to 0."""

    def hook(module: torch.nn.Module, args: tuple[torch.Tensor]) -> tuple[torch.Tensor]:
        (y,) = args
        return (y.masked_fill(off.to(y.device), 0.0),)

    return hook


@contextmanager
def heads_off(model: GPT, heads: Iterable[Head]) -> Iterator[GPT]:
    """Inside the ``with`` block, the listed (layer, head) pairs of ``model`` add nothing to the residual stream.

    ``with heads_off(model, layer_heads(model, 0)): ...`` runs the model without layer 0's attention;
    ``all_heads(model)`` switches off every head. No heads listed: the model is unchanged.
    """
    config = model.config
    heads = list(heads)
    for layer, head in heads:
        _check_head(model, layer, head)
    head_size = config.n_embd // config.n_head
    off = torch.zeros(config.n_layer, config.n_embd, dtype=torch.bool)
    for layer, head in heads:
        off[layer, head * head_size : (head + 1) * head_size] = True
    hooks = [
        block.attn.c_proj.register_forward_pre_hook(_zero_channels(off[layer]))
        for layer, block in enumerate(model.transformer.h)
        if off[layer].any()
    ]
    try:
        yield model
    finally:
        for hook in hooks:
            hook.remove()
