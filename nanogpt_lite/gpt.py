"""A GPT with nanoGPT's architecture: token + position embeddings, pre-LayerNorm blocks, a tied head.

Parameter names and shapes are those of karpathy/nanoGPT's ``model.py``, so a ``ckpt.pt`` written by
nanoGPT's ``train.py`` loads here (see :mod:`nanogpt_lite.checkpoint`) and ours loads there.

The causal mask: nanoGPT registers a ``bias`` buffer only when PyTorch lacks
``scaled_dot_product_attention`` (then ``.attn.bias`` is in its checkpoints); with PyTorch >= 2 it
uses SDPA with ``is_causal=True`` and has no buffer. We always register the mask, as a
*non-persistent* buffer: it is there to look at and for the explicit path (``flash = False``), but it
never enters ``state_dict()``, so our keys are exactly those of a modern nanoGPT checkpoint.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    """nanoGPT's fields; the defaults are a small character-level model for a CPU."""

    block_size: int = 64  # the longest context the model can see
    vocab_size: int = 65  # tiny Shakespeare's characters
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True  # biases in the Linears and LayerNorms, as GPT-2


class LayerNorm(nn.Module):
    """LayerNorm whose bias can be switched off (``nn.LayerNorm`` had no ``bias=False`` before torch 2.1)."""

    def __init__(self, ndim: int, bias: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    """``n_head`` heads of masked self-attention computed together, then one output projection."""

    flash = True  # True: torch's scaled_dot_product_attention; False: the explicit mask + softmax below

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(
                f"n_embd={config.n_embd} 不能被 n_head={config.n_head} 整除：每个头要分到同样多的维度。"
                f"请让 n_embd 是 n_head 的整数倍。 / n_embd must be a multiple of n_head."
            )
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v in one matmul
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        mask = torch.tril(torch.ones(config.block_size, config.block_size)).view(1, 1, config.block_size, config.block_size)
        self.register_buffer("bias", mask, persistent=False)  # 1 where a position may look (itself and the past)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size): every head attends on its own slice of the channels
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if self.flash:
            dropout_p = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(k.shape[-1])  # (B, nh, T, T) scaled similarities
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))  # no looking at the future
            att = self.attn_dropout(F.softmax(att, dim=-1))  # each row: weights over the past, summing to 1
            y = att @ v  # weighted average of the values
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Per position: widen 4x, GELU, project back."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: positions talk (attention), then each thinks alone (MLP)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))  # residual connections: each sub-layer adds to x
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """nanoGPT's GPT; ``forward`` returns logits at every position (as the lecture's gpt.py)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),  # token embedding
                wpe=nn.Embedding(config.block_size, config.n_embd),  # position embedding
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying: one matrix embeds and un-embeds
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2: shrink the projections that feed the residual stream
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @property
    def context_size(self) -> int:
        """How many past tokens the model can see: ``nl.generate`` crops to this many."""
        return self.config.block_size

    def get_num_params(self, non_embedding: bool = True) -> int:
        """Parameters counted once (the tied matrix once); ``non_embedding`` leaves out ``wpe``, as nanoGPT."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx`` (B, T) -> logits (B, T, vocab); loss is the mean cross-entropy when targets are given."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(
                f"输入有 {T} 个词元，但模型最多只能看 block_size={self.config.block_size} 个。"
                f"请只传最后 {self.config.block_size} 个：idx[:, -{self.config.block_size}:]。 / "
                f"got {T} tokens but block_size is {self.config.block_size}; "
                f"pass idx[:, -{self.config.block_size}:]."
            )
        pos = torch.arange(T, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))  # (B, T, n_embd)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))  # (B, T, vocab): every position, not only the last
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T), ignore_index=-1)
        return logits, loss

    def configure_optimizers(
        self, weight_decay: float, learning_rate: float, betas: tuple[float, float], device_type: str
    ) -> torch.optim.AdamW:
        """AdamW with weight decay on tensors of 2+ dimensions (matmuls, embeddings), none on biases and LayerNorms."""
        params = [p for p in self.parameters() if p.requires_grad]  # parameters() yields the tied matrix once
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        extra = {"fused": True} if device_type == "cuda" else {}  # the fused kernel exists on CUDA only
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, **extra)
