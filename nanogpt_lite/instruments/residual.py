"""What residual connections do to the gradient: a GPT without them, and the gradient that reaches each block.

nanoGPT's ``Block`` computes ``x = x + attn(ln_1(x))`` then ``x = x + mlp(ln_2(x))``. :func:`without_residual`
gives a copy that computes ``x = mlp(ln_2(attn(ln_1(x))))`` instead (same weights), and
:func:`block_input_grad_norms` measures, after one ``backward()``, how long the gradient of the loss is at
each block's input: with the ``x +`` paths the gradient flows straight down to every layer.
"""
from __future__ import annotations

import copy
import functools

import torch

from ..gpt import GPT, Block


def _forward_without_residual(block: Block, x: torch.Tensor) -> torch.Tensor:
    return block.mlp(block.ln_2(block.attn(block.ln_1(x))))


def without_residual(model: GPT) -> GPT:
    """A copy of ``model`` whose blocks drop the ``x +`` of both residual connections; ``model`` is unchanged."""
    plain = copy.deepcopy(model)
    for block in plain.transformer.h:
        block.forward = functools.partial(_forward_without_residual, block)
    return plain


def block_input_grad_norms(model: GPT, idx: torch.Tensor, targets: torch.Tensor) -> list[float]:
    """The length of d loss / d (input of block l) for l = 0 … n_layer − 1, after one backward on (idx, targets).

    The parameters' gradients are cleared again afterwards (``zero_grad(set_to_none=True)``).
    """
    inputs: list[torch.Tensor] = []

    def keep(module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        args[0].retain_grad()  # a non-leaf tensor keeps its .grad only when asked
        inputs.append(args[0])

    hooks = [block.register_forward_pre_hook(keep) for block in model.transformer.h]
    try:
        model.zero_grad(set_to_none=True)
        _, loss = model(idx, targets)
        loss.backward()
    finally:
        for hook in hooks:
            hook.remove()
        model.zero_grad(set_to_none=True)
    return [x.grad.norm().item() for x in inputs]
