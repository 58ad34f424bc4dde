"""The small models chapter 3 takes apart: the FAQ's ``MyModel`` and ``TestModel``, a two-layer bigram,
and two pieces of nanoGPT's ``model.py`` in miniature (a causal-mask buffer; a GPT with no blocks)."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..model import BigramLanguageModel


class MyModel(nn.Module):
    """The FAQ's example: five attributes attached five ways; ``forward`` uses all but the buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.weight1 = nn.Parameter(torch.randn(10, 10))  # ✓ registered: a Parameter
        self.linear = nn.Linear(10, 10)  # ✓ registered: a submodule (its weight and bias)
        self.temp_tensor = torch.randn(10, 10)  # ✗ not registered: a plain tensor
        self.scale_factor = 2.0  # ✗ not registered: a Python float
        self.register_buffer("running_mean", torch.zeros(10))  # a buffer: saved, not trained

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.scale_factor
        x = x + self.temp_tensor
        x = x @ self.weight1
        x = self.linear(x)
        return x  # running_mean is not used, as in the FAQ


class TestModel(nn.Module):
    """The FAQ's "实际验证": a Parameter and a plain tensor, both used in ``forward``."""

    __test__ = False  # not a pytest test class, despite the FAQ's name

    def __init__(self) -> None:
        super().__init__()
        self.param1 = nn.Parameter(torch.randn(5, 5))
        self.tensor1 = torch.randn(5, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.param1 + self.tensor1


class TwoLayerModel(nn.Module):
    """The lecture's next step after the bigram: embed each token in ``n_embd`` numbers, then a linear head."""

    context_size = 1

    def __init__(self, vocab_size: int, n_embd: int = 16) -> None:
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx`` (B, T) -> logits (B, T, vocab); loss is the mean cross-entropy when targets are given."""
        logits = self.lm_head(self.token_embedding_table(idx))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten())


class CausalAverage(nn.Module):
    """Each position becomes the mean of itself and the positions before it, through a causal mask.

    The mask is a buffer named ``bias``, as in nanoGPT's ``CausalSelfAttention`` when PyTorch has no
    flash attention: saved and moved with the module, never trained.
    """

    def __init__(self, block_size: int) -> None:
        super().__init__()
        self.register_buffer("bias", torch.tril(torch.ones(block_size, block_size)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (B, T, C) -> (B, T, C): row t averages rows 0..t."""
        T = x.size(1)
        scores = torch.zeros(T, T, dtype=x.dtype, device=x.device)
        scores = scores.masked_fill(self.bias[:T, :T] == 0, float("-inf"))  # the future is hidden
        return F.softmax(scores, dim=-1) @ x


class ZeroLayerGPT(nn.Module):
    """nanoGPT's ``GPT`` with no transformer blocks: token and position embeddings, a final LayerNorm and
    an output layer tied to the token embedding. The parameter names are nanoGPT's."""

    def __init__(self, vocab_size: int = 65, block_size: int = 8, n_embd: int = 16) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd),  # token embedding
            wpe=nn.Embedding(block_size, n_embd),  # position embedding
            ln_f=nn.LayerNorm(n_embd),
        ))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying: one Parameter under two names

    @property
    def context_size(self) -> int:
        """How many tokens the model can see: ``block_size``, the rows of the position embedding."""
        return self.transformer.wpe.num_embeddings

    def get_num_params(self, non_embedding: bool = True) -> int:
        """Parameters counted once each; ``non_embedding`` leaves out the position embedding (as nanoGPT)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx`` (B, T) with T ≤ block_size -> logits (B, T, vocab); loss when targets are given."""
        T = idx.size(1)
        if T > self.context_size:
            raise ValueError(f"序列长 {T}，超过了 block_size={self.context_size}。请先截到最后 "
                             f"{self.context_size} 个词元。 / sequence length {T} > block_size "
                             f"{self.context_size}; crop idx to its last {self.context_size} tokens.")
        pos = torch.arange(T, device=idx.device)
        x = self.transformer.ln_f(self.transformer.wte(idx) + self.transformer.wpe(pos))
        logits = self.lm_head(x)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten())


EXAMPLE_MODELS: dict[str, tuple[str, Callable[[], nn.Module]]] = {
    "bigram": ("BigramLanguageModel(65)", lambda: BigramLanguageModel(65)),
    "mymodel": ("MyModel()  (FAQ)", MyModel),
    "two_layer": ("TwoLayerModel(65, n_embd=16)", lambda: TwoLayerModel(65, n_embd=16)),
    "zero_layer_gpt": ("ZeroLayerGPT(65, block_size=8, n_embd=16)", lambda: ZeroLayerGPT(65, 8, 16)),
}
"""Key -> (the constructor call a learner would type, a builder)."""


def example_model(name: str, *, seed: int = 1337) -> nn.Module:
    """A fresh example model by key (one of ``EXAMPLE_MODELS``), initialised from ``seed``."""
    if name not in EXAMPLE_MODELS:
        raise ValueError(f"没有 {name!r} 这个示例模型，可选的是 {list(EXAMPLE_MODELS)}。 / "
                         f"unknown example model {name!r}; choose one of {list(EXAMPLE_MODELS)}")
    with torch.random.fork_rng(devices=[]):  # seeded without disturbing the caller's random stream
        torch.manual_seed(seed)
        return EXAMPLE_MODELS[name][1]()
