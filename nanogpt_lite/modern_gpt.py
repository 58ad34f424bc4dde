"""nanoGPT's GPT with karpathy/nanochat's changes, one switch each: the bridge of chapter 7.

With every switch off, :class:`ModernGPT` computes exactly what :class:`nanogpt_lite.gpt.GPT`
computes, under the same parameter names (a GPT's ``state_dict()`` loads into it). Each switch of
:class:`ModernConfig` turns on one change that nanochat's ``nanochat/gpt.py`` made; the comments
give nanochat's name for it:

- ``rotary``: rotary position embeddings in attention instead of ``wpe`` (``apply_rotary_emb``)
- ``rmsnorm``: parameter-free RMSNorm instead of LayerNorm, also right after the embedding (``norm``)
- ``qk_norm``: RMSNorm on every query and key, then x1.2 ("QK norm")
- ``relu2``: ReLU² instead of GELU in the MLP (``MLP.forward``)
- ``untied_head``: ``lm_head`` and ``wte`` are separate matrices ("untied weights")
- ``bias=False``: no biases, "no_bias" on the ladder (``Linear(..., bias=False)``)
- ``zero_init``: the output projections start at zero (``GPT.init_weights``)
- ``softcap``: logits squashed into (-softcap, softcap) by tanh (``softcap = 15``)
- ``n_kv_head``: fewer key/value heads than query heads, grouped-query attention (``n_kv_head``)

Muon is an optimizer change, not a model switch: ``configure_optimizers(..., muon=True)``
(nanochat ``optim.py``: ``MuonAdamW``), with :class:`Muon`, torch's ``torch.optim.Muon`` in float32.
:func:`generate_cached` generates with a :class:`KVCache` (nanochat ``engine.py``: ``KVCache``,
``Engine.generate``). :func:`ladder` builds the configurations rung by rung.

Written for this course from reading nanochat (github.com/karpathy/nanochat at 92d63d4, July 2026); no code of
nanochat's is copied. Left out: its value embeddings, per-layer residual scalars, "smear" and
"backout", sliding-window attention, its own Muon variant (Polar Express, NorMuon, cautious weight
decay), bfloat16 compute and its initialisation scales beyond ``zero_init``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from .gpt import GPT, GPTConfig, LayerNorm
from .sampling import _check_ids, _check_options, _draw, _vocab_size

ROTARY_BASE = 100_000  # nanochat: _precompute_rotary_embeddings(..., base=100000); RoFormer and GPT-NeoX use 10000
ROTARY_TABLE_FACTOR = 10  # nanochat: rotary_seq_len = 10 * sequence_len (10x the trained length)
QK_NORM_SCALE = 1.2  # nanochat: q, k = norm(q) * 1.2, norm(k) * 1.2 (a sharper softmax than unit-RMS q and k)
NANOCHAT_SOFTCAP = 15.0  # nanochat: softcap = 15
MUON_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # Keller Jordan's quintic, torch.optim.Muon's default


@dataclass
class ModernConfig:
    """nanoGPT's fields (as :class:`~nanogpt_lite.gpt.GPTConfig`), then one switch per nanochat change, all off."""

    block_size: int = 64
    vocab_size: int = 65
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True  # nanochat has none: bias=False
    rotary: bool = False  # rotary position embeddings instead of the learned wpe
    rmsnorm: bool = False  # parameter-free RMSNorm instead of LayerNorm, and one right after the embedding
    qk_norm: bool = False  # RMSNorm on queries and keys
    relu2: bool = False  # ReLU(x)² instead of GELU
    untied_head: bool = False  # lm_head its own matrix, not wte's
    zero_init: bool = False  # c_proj (attention and MLP) and an untied lm_head start at zero
    softcap: float = 0.0  # 0: off; else logits = softcap * tanh(logits / softcap), nanochat uses 15
    n_kv_head: int | None = None  # None: n_head (plain multi-head); fewer: grouped-query attention

    @property
    def kv_heads(self) -> int:
        """How many key/value heads: ``n_kv_head``, or ``n_head`` when it is None."""
        return self.n_head if self.n_kv_head is None else self.n_kv_head


# The ladder: each rung is one of nanochat's changes, as fields of ModernConfig (or the optimizer's "muon").
LADDER: dict[str, dict[str, Any]] = {
    "rotary": {"rotary": True},
    "rmsnorm": {"rmsnorm": True},
    "qk_norm": {"qk_norm": True},
    "relu2": {"relu2": True},
    "untied_head": {"untied_head": True},
    "no_bias": {"bias": False},
    "zero_init": {"zero_init": True},
    "softcap": {"softcap": NANOCHAT_SOFTCAP},
    "muon": {"muon": True},  # not a model change: configure_optimizers(..., muon=True)
}
LADDER["all"] = {key: value for changes in list(LADDER.values()) for key, value in changes.items()}
OPTIMIZER_OPTIONS = ("muon",)  # the ladder's keys that go to configure_optimizers, not to ModernConfig


def ladder(base: ModernConfig | GPTConfig, *rungs: str) -> tuple[ModernConfig, dict[str, Any]]:
    """``base`` with the changes of ``rungs`` (names in :data:`LADDER`), and the optimizer options.

    >>> config, options = ladder(ModernConfig(), "rotary", "muon")
    >>> config.rotary, options
    (True, {'muon': True})

    Pass the options on: ``model.configure_optimizers(wd, lr, betas, device_type, **options)``.
    """
    known = ", ".join(LADDER)
    changes: dict[str, Any] = {}
    for rung in rungs:
        if rung not in LADDER:
            raise ValueError(
                f"没有叫 {rung!r} 的台阶。可用的台阶：{known}。请检查拼写。 / "
                f"unknown ladder rung {rung!r}; the rungs are: {known}."
            )
        changes.update(LADDER[rung])
    options = {"muon": False}
    options.update({key: changes.pop(key) for key in OPTIMIZER_OPTIONS if key in changes})
    if isinstance(base, GPTConfig):  # a GPT's config: same names for nanoGPT's fields
        base = ModernConfig(**dataclasses.asdict(base))
    return dataclasses.replace(base, **changes), options


def _check_config(config: ModernConfig) -> None:
    """The learner-facing checks: heads that split n_embd, rotary's pairs, GQA's groups."""
    if config.n_embd % config.n_head != 0:
        raise ValueError(
            f"n_embd={config.n_embd} 不能被 n_head={config.n_head} 整除：每个头要分到同样多的维度。"
            f"请让 n_embd 是 n_head 的整数倍。 / n_embd must be a multiple of n_head."
        )
    head_size = config.n_embd // config.n_head
    if config.rotary and head_size % 2 != 0:
        raise ValueError(
            f"旋转位置编码要把每个头的维度两两配对，但 head_size = n_embd / n_head = "
            f"{config.n_embd} / {config.n_head} = {head_size} 是奇数。请让 n_embd / n_head 为偶数，"
            f"或者关掉 rotary。 / rotary embeddings rotate pairs of channels, but the head size "
            f"n_embd / n_head = {head_size} is odd; make it even or set rotary=False."
        )
    kv = config.kv_heads
    if not (1 <= kv <= config.n_head and config.n_head % kv == 0):
        raise ValueError(
            f"n_head={config.n_head} 个查询头要平均分给 n_kv_head={kv} 个键/值头，但分不开。"
            f"请让 n_kv_head 是 n_head 的约数（例如 1 或 {config.n_head}），或设为 None。 / "
            f"n_head={config.n_head} query heads must split evenly over n_kv_head={kv} key/value heads; "
            f"make n_kv_head a divisor of n_head (1 ... {config.n_head}) or None."
        )
    if not (config.softcap >= 0 and math.isfinite(config.softcap)):
        raise ValueError(f"softcap 必须是 >= 0 的有限数（0 表示关闭），收到 {config.softcap!r}。 / "
                         f"softcap must be a finite number >= 0 (0: off), got {config.softcap!r}")


def rms_norm(x: torch.Tensor) -> torch.Tensor:
    """x divided by its root-mean-square over the last dimension; no weight (nanochat: ``norm``).

    The same as ``F.rms_norm(x, (x.size(-1),))`` (torch >= 2.4), written out: eps is torch's default.
    """
    eps = torch.finfo(x.dtype).eps
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


class RMSNorm(nn.Module):
    """``rms_norm`` as a module, so it shows in the model's tree where the LayerNorm was. No parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x)


def rotary_tables(seq_len: int, head_size: int, base: float = ROTARY_BASE) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the angle position * frequency, (seq_len, head_size // 2) each.

    nanochat: ``GPT._precompute_rotary_embeddings``. Channel pair i turns at the frequency
    base ** (-2i / head_size): the first pairs turn fast (near positions differ), the last slowly.
    """
    inv_freq = 1.0 / (base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size))
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def apply_rotary_emb(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x[..., i], x[..., i + half]) by the angle of its position.

    ``x`` is (..., T, head_size), ``cos`` and ``sin`` are (T, head_size // 2). nanochat:
    ``apply_rotary_emb`` (it pairs the two halves, not neighbours, and turns by -angle; only the
    difference between a query's and a key's angle enters q·k, so the direction does not matter).
    """
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos + x2 * sin, x2 * cos - x1 * sin], dim=-1)


class KVCache:
    """Every layer's keys and values for the positions seen so far (nanochat ``engine.py``: ``KVCache``).

    Memory for ``seq_len`` positions is taken at once; each forward writes its new keys and
    values after the old ones, so a new token needs one row of attention, not the whole triangle.
    Layout (layer, B, heads, T, head_size), as torch's attention wants it (nanochat keeps
    (layer, B, T, heads, head_size), Flash Attention 3's layout).
    """

    def __init__(
        self, batch_size: int, num_heads: int, seq_len: int, head_dim: int, num_layers: int,
        device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
    ) -> None:
        shape = (num_layers, batch_size, num_heads, seq_len, head_dim)
        self.k_cache = torch.zeros(shape, device=device, dtype=dtype)
        self.v_cache = torch.zeros(shape, device=device, dtype=dtype)
        self.max_seq_len = seq_len
        self.n_layers = num_layers
        self.pos = 0  # how many positions are filled (the same for every row)

    def get_pos(self) -> int:
        """How many positions the cache holds."""
        return self.pos

    def reset(self) -> None:
        """Empty again (the memory is reused)."""
        self.pos = 0

    def insert(self, layer_idx: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write ``k``, ``v`` (B, heads, T, hs) after the cached positions; return all keys and values so far."""
        end = self.pos + k.shape[2]
        if end > self.max_seq_len:
            raise ValueError(
                f"KV 缓存只有 {self.max_seq_len} 个位置，已经用了 {self.pos} 个，放不下再来的 {k.shape[2]} 个。"
                f"请建一个更大的缓存（seq_len >= {end}）。 / the KV cache holds {self.max_seq_len} positions, "
                f"{self.pos} are used, {k.shape[2]} more do not fit; make one with seq_len >= {end}."
            )
        self.k_cache[layer_idx, :, :, self.pos : end] = k
        self.v_cache[layer_idx, :, :, self.pos : end] = v
        return self.k_cache[layer_idx, :, :, :end], self.v_cache[layer_idx, :, :, :end]

    def advance(self, num_tokens: int) -> None:
        """Count ``num_tokens`` more positions as filled (after the last layer wrote them)."""
        self.pos += num_tokens


class CausalSelfAttention(nn.Module):
    """nanoGPT's attention, plus rotary, QK norm, grouped-query heads and a KV cache (each when asked)."""

    flash = True  # True: torch's scaled_dot_product_attention; False: the explicit mask + softmax

    def __init__(self, config: ModernConfig, layer_idx: int) -> None:
        super().__init__()
        self.n_head, self.n_kv_head = config.n_head, config.kv_heads
        self.head_size = config.n_embd // config.n_head
        # one matmul for q, k, v as nanoGPT's c_attn; with GQA the k and v parts are narrower
        # (nanochat: separate c_q, c_k, c_v of widths n_head * hs, n_kv_head * hs, n_kv_head * hs)
        self.sizes = [self.n_head * self.head_size, self.n_kv_head * self.head_size, self.n_kv_head * self.head_size]
        self.c_attn = nn.Linear(config.n_embd, sum(self.sizes), bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.dropout = config.dropout
        self.qk_norm = config.qk_norm
        self.layer_idx = layer_idx  # which slice of a KV cache is this layer's

    def forward(
        self, x: torch.Tensor, cos_sin: tuple[torch.Tensor, torch.Tensor] | None = None,
        kv_cache: KVCache | None = None,
    ) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.sizes, dim=2)
        q = q.view(B, T, self.n_head, self.head_size).transpose(1, 2)  # (B, n_head, T, hs)
        k = k.view(B, T, self.n_kv_head, self.head_size).transpose(1, 2)  # (B, n_kv_head, T, hs)
        v = v.view(B, T, self.n_kv_head, self.head_size).transpose(1, 2)
        if cos_sin is not None:  # nanochat: apply_rotary_emb on q and k (never on v)
            q, k = apply_rotary_emb(q, *cos_sin), apply_rotary_emb(k, *cos_sin)
        if self.qk_norm:  # nanochat: "QK norm", every query and key to RMS 1, then x1.2
            q, k = rms_norm(q) * QK_NORM_SCALE, rms_norm(k) * QK_NORM_SCALE
        if kv_cache is not None:  # nanochat: KVCache; attend to the cached past and the new positions
            k, v = kv_cache.insert(self.layer_idx, k, v)
        if self.n_kv_head < self.n_head:  # nanochat: GQA; each k/v head serves n_head // n_kv_head query heads
            # (SDPA's enable_gqa=True, torch >= 2.5, does the same without the copy)
            k = k.repeat_interleave(self.n_head // self.n_kv_head, dim=1)
            v = v.repeat_interleave(self.n_head // self.n_kv_head, dim=1)
        Tk = k.shape[2]  # keys: T, or the cached positions plus T
        # query t sits at position Tk - T + t: it may look at keys 0 .. Tk - T + t
        mask = torch.ones(T, Tk, dtype=torch.bool, device=x.device).tril(diagonal=Tk - T)
        if self.flash:
            dropout_p = self.dropout if self.training else 0.0
            if Tk == T:  # no cache: the plain causal triangle, which SDPA builds itself
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_size)
            att = att.masked_fill(~mask, float("-inf"))
            y = self.attn_dropout(F.softmax(att, dim=-1)) @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class ReLUSquared(nn.Module):
    """ReLU(x)²: zero for x < 0, x² above (nanochat ``MLP.forward``: ``F.relu(x).square()``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x).square()


class MLP(nn.Module):
    """Per position: widen 4x, GELU (or ReLU²), project back."""

    def __init__(self, config: ModernConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.act = ReLUSquared() if config.relu2 else nn.GELU()  # nanochat: relu^2
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


def _norm(config: ModernConfig) -> nn.Module:
    """nanoGPT's LayerNorm, or nanochat's parameter-free RMSNorm (``norm``) when ``config.rmsnorm``."""
    return RMSNorm() if config.rmsnorm else LayerNorm(config.n_embd, bias=config.bias)


class Block(nn.Module):
    """Pre-norm transformer block, as nanoGPT's (nanochat's ``Block`` has the same two residual steps)."""

    def __init__(self, config: ModernConfig, layer_idx: int) -> None:
        super().__init__()
        self.ln_1 = _norm(config)
        self.attn = CausalSelfAttention(config, layer_idx)
        self.ln_2 = _norm(config)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, cos_sin: tuple[torch.Tensor, torch.Tensor] | None = None,
        kv_cache: KVCache | None = None,
    ) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cos_sin, kv_cache)
        return x + self.mlp(self.ln_2(x))


class ModernGPT(nn.Module):
    """nanoGPT's GPT with nanochat's changes as switches; all off, it is :class:`~nanogpt_lite.gpt.GPT`."""

    def __init__(self, config: ModernConfig) -> None:
        super().__init__()
        _check_config(config)
        self.config = config
        modules: dict[str, nn.Module] = dict(wte=nn.Embedding(config.vocab_size, config.n_embd))
        if not config.rotary:  # nanochat: no positional embeddings (rotary instead)
            modules["wpe"] = nn.Embedding(config.block_size, config.n_embd)
        if config.rmsnorm:  # nanochat: norm after token embedding
            modules["ln_emb"] = RMSNorm()
        modules["drop"] = nn.Dropout(config.dropout)
        modules["h"] = nn.ModuleList([Block(config, i) for i in range(config.n_layer)])
        modules["ln_f"] = _norm(config)
        self.transformer = nn.ModuleDict(modules)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if not config.untied_head:  # nanochat: untied weights for token embedding and lm_head
            self.transformer.wte.weight = self.lm_head.weight
        if config.rotary:  # nanochat: rotary_seq_len, cos and sin as non-persistent buffers (not in state_dict)
            self.rotary_seq_len = ROTARY_TABLE_FACTOR * config.block_size
            cos, sin = rotary_tables(self.rotary_seq_len, config.n_embd // config.n_head)
            self.register_buffer("cos", cos, persistent=False)
            self.register_buffer("sin", sin, persistent=False)
        self.apply(GPT._init_weights)  # nanoGPT's: normal(0, 0.02) for Linear and Embedding, zero biases
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2's scaled init, as nanoGPT
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))
        if config.zero_init:  # nanochat: init_weights, "projections are zero"
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):
                    torch.nn.init.zeros_(p)
            if config.untied_head:  # a tied head is wte: zeroing it would zero every token's embedding
                torch.nn.init.zeros_(self.lm_head.weight)

    @property
    def context_size(self) -> int:
        """How many past tokens the model sees in training: ``nl.generate`` crops to this many."""
        return self.config.block_size

    @property
    def max_cache_len(self) -> int:
        """How many positions a KV cache may reach: the rotary table (10 x block_size) or wpe's block_size."""
        return self.rotary_seq_len if self.config.rotary else self.config.block_size

    def get_num_params(self, non_embedding: bool = True) -> int:
        """Parameters counted once (a tied matrix once); ``non_embedding`` leaves out ``wpe``, as nanoGPT."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding and "wpe" in self.transformer:
            n -= self.transformer.wpe.weight.numel()
        return n

    def _check_length(self, start: int, T: int, cached: bool) -> None:
        if not cached and T > self.config.block_size:
            raise ValueError(
                f"输入有 {T} 个词元，但模型最多只能看 block_size={self.config.block_size} 个。"
                f"请只传最后 {self.config.block_size} 个：idx[:, -{self.config.block_size}:]。 / "
                f"got {T} tokens but block_size is {self.config.block_size}; "
                f"pass idx[:, -{self.config.block_size}:]."
            )
        limit = self.max_cache_len
        if cached and start + T > limit:
            table = (f"旋转位置表只有 {limit} 个位置（10 x block_size）" if self.config.rotary
                     else f"位置嵌入 wpe 只有 block_size={limit} 个位置")
            table_en = (f"the rotary table has {limit} positions (10 x block_size)" if self.config.rotary
                        else f"the position embedding wpe has block_size={limit} positions")
            raise ValueError(
                f"KV 缓存要走到第 {start + T} 个位置，但{table}。缓存不能丢掉开头重来："
                f"请少生成一些，或改用 nl.generate（它每步只看最后 {self.config.block_size} 个词元）。 / "
                f"the KV cache would reach position {start + T}, but {table_en}; a cache cannot drop "
                f"its start: generate fewer tokens, or use nl.generate (it crops the context every step)."
            )

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, kv_cache: KVCache | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx`` (B, T) -> logits (B, T, vocab) and the mean cross-entropy when targets are given.

        With ``kv_cache``, ``idx`` continues the cached positions (nanochat: ``forward(..., kv_cache)``).
        """
        B, T = idx.shape
        start = 0 if kv_cache is None else kv_cache.get_pos()
        self._check_length(start, T, cached=kv_cache is not None)
        x = self.transformer.wte(idx)
        if not self.config.rotary:
            x = x + self.transformer.wpe(torch.arange(start, start + T, dtype=torch.long, device=idx.device))
        if self.config.rmsnorm:
            x = self.transformer.ln_emb(x)
        x = self.transformer.drop(x)
        cos_sin = (self.cos[start : start + T], self.sin[start : start + T]) if self.config.rotary else None
        for block in self.transformer.h:
            x = block(x, cos_sin, kv_cache)
        if kv_cache is not None:
            kv_cache.advance(T)  # every layer wrote its keys and values for these positions
        logits = self.lm_head(self.transformer.ln_f(x))
        if self.config.softcap > 0:  # nanochat: logit softcap, smoothly into (-softcap, softcap)
            logits = self.config.softcap * torch.tanh(logits / self.config.softcap)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T), ignore_index=-1)
        return logits, loss

    def configure_optimizers(
        self, weight_decay: float, learning_rate: float, betas: tuple[float, float], device_type: str,
        *, muon: bool = False, matrix_lr: float | None = None, embedding_lr: float | None = None,
        unembedding_lr: float | None = None,
    ) -> torch.optim.Optimizer | MuonAdamW:
        """AdamW as nanoGPT (``muon=False``), or nanochat's split (``muon=True``): a :class:`MuonAdamW`.

        With Muon: :class:`Muon` (torch's ``Muon`` with ``adjust_lr_fn="match_rms_adamw"``, so AdamW's
        learning rate suits it too) for the 2-D matrices inside the blocks, at ``matrix_lr``; AdamW for the
        embeddings (``embedding_lr``), an untied ``lm_head`` (``unembedding_lr``), with weight decay,
        and for the 1-D parameters (biases, LayerNorm weights) at ``learning_rate`` without.
        Each rate defaults to ``learning_rate``; every group keeps ``lr_scale`` = its rate / ``learning_rate``.
        """
        extra = {"fused": True} if device_type == "cuda" else {}  # the fused kernel exists on CUDA only
        params = [(n, p) for n, p in self.named_parameters() if p.requires_grad]  # a tied matrix once
        if not muon:
            groups = [
                {"params": [p for _, p in params if p.dim() >= 2], "weight_decay": weight_decay},
                {"params": [p for _, p in params if p.dim() < 2], "weight_decay": 0.0},
            ]
            return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, **extra)

        def group(kind: str, name: str, chosen: list[torch.Tensor], lr: float | None, decay: float) -> dict[str, Any]:
            lr = learning_rate if lr is None else lr
            scale = lr / learning_rate if learning_rate else 1.0
            return dict(params=chosen, kind=kind, name=name, lr=lr, lr_scale=scale, weight_decay=decay)

        # nanochat: setup_optimizer; matrices of the blocks to Muon, everything else to AdamW
        matrices = [p for n, p in params if n.startswith("transformer.h.") and p.dim() == 2]
        embeddings = [p for n, p in params if n.startswith(("transformer.wte.", "transformer.wpe."))]
        head = [p for n, p in params if n.startswith("lm_head.")]  # empty when tied (then it is wte)
        vectors = [p for _, p in params if p.dim() < 2]
        assert len(matrices) + len(embeddings) + len(head) + len(vectors) == len(params)
        muon_groups = [group("muon", "matrix", matrices, matrix_lr, weight_decay)]
        adamw_groups = [group("adamw", "embedding", embeddings, embedding_lr, weight_decay),
                        group("adamw", "unembedding", head, unembedding_lr, weight_decay),
                        group("adamw", "vector", vectors, None, 0.0)]
        return MuonAdamW(
            Muon([g for g in muon_groups if g["params"]], lr=learning_rate, weight_decay=weight_decay,
                 momentum=0.95, nesterov=True),
            torch.optim.AdamW([g for g in adamw_groups if g["params"]], lr=learning_rate, betas=betas, **extra),
        )


class Muon(torch.optim.Optimizer):
    """Momentum, then Newton-Schulz, for 2-D parameters: what ``torch.optim.Muon`` does in a step.

    The same as ``torch.optim.Muon(params, lr, weight_decay, momentum, nesterov, ns_steps=ns_steps,
    adjust_lr_fn="match_rms_adamw")``, except that :func:`newton_schulz` runs in the parameter's dtype
    (float32 here) where torch's runs in bfloat16: on a CPU bfloat16 matmuls are 6 to 9 times slower.
    nanochat ``optim.py`` (``muon_step_fused``) has the same momentum; the module docstring lists what
    it adds on top.
    """

    def __init__(self, params: Any, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_steps: int = 5) -> None:
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "nesterov": nesterov,
                    "ns_steps": ns_steps}  # as torch's, less ns_coefficients, eps and adjust_lr_fn (fixed here)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() != 2:
                    raise ValueError(
                        f"Muon 只更新矩阵（2 维参数），收到形状 {tuple(p.shape)}。"
                        f"偏置、LayerNorm 的权重和其他参数请交给 AdamW。 / Muon updates matrices (2-D parameters) "
                        f"only, got shape {tuple(p.shape)}; give biases, norm weights and the rest to AdamW."
                    )

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:  # torch and nanochat: state["momentum_buffer"], zeros
                    state["momentum_buffer"] = torch.zeros_like(p.grad)
                buf = state["momentum_buffer"]
                buf.lerp_(p.grad, 1 - momentum)  # torch and nanochat: buf = momentum * buf + (1 - momentum) * grad
                # torch and nanochat: "nesterov", grad.lerp(buf, momentum) = (1 - momentum) * grad + momentum * buf
                update = p.grad.lerp(buf, momentum) if group["nesterov"] else buf
                update = newton_schulz(update, group["ns_steps"])  # torch: _zeropower_via_newtonschulz
                # torch: decoupled weight decay, param.mul_(1 - lr * weight_decay), with the unscaled lr, first
                p.mul_(1 - lr * group["weight_decay"])
                # torch: _adjust_lr(lr, "match_rms_adamw", shape) = lr * 0.2 * sqrt(max(rows, cols)), an update
                # with the RMS of AdamW's; nanochat scales by sqrt(max(1, rows / cols)) (torch's "original")
                p.add_(update, alpha=-lr * 0.2 * math.sqrt(max(p.shape)))
        return loss


class MuonAdamW:
    """:class:`Muon` and torch's AdamW stepped as one (nanochat ``optim.py``: ``MuonAdamW``, one class for both).

    ``param_groups`` lists Muon's groups then AdamW's (each has ``kind`` "muon" or "adamw" and a
    ``name``), so a training loop that sets ``group["lr"]`` in every group works unchanged.
    """

    def __init__(self, muon: torch.optim.Optimizer, adamw: torch.optim.Optimizer) -> None:
        self.muon, self.adamw = muon, adamw

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.muon.param_groups + self.adamw.param_groups

    def step(self) -> None:
        self.muon.step()
        self.adamw.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.muon.zero_grad(set_to_none=set_to_none)
        self.adamw.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.muon.load_state_dict(state["muon"])
        self.adamw.load_state_dict(state["adamw"])


def newton_schulz(
    G: torch.Tensor, steps: int = 5, coefficients: tuple[float, float, float] = MUON_COEFFICIENTS, eps: float = 1e-7
) -> torch.Tensor:
    """What Muon does to an update: ``G = U S Vᵀ`` becomes about ``U Vᵀ`` (singular values near 1).

    Divide by the Frobenius norm (so every singular value is <= 1), then ``steps`` times
    X <- a X + b (X Xᵀ) X + c (X Xᵀ)² X, which acts on each singular value s as
    a s + b s³ + c s⁵ and leaves U and V alone. These coefficients push small values up fast and
    settle in a band around 1 (about 0.7 to 1.2) rather than at 1 exactly. torch's Muon
    (``_zeropower_via_newtonschulz``) computes this in bfloat16; here it is in ``G``'s dtype.
    nanochat first had this as ``zeropower_via_newtonschulz5``; it now uses "Polar Express"
    coefficients, a different (a, b, c) at every step.
    """
    if G.dim() != 2:
        raise ValueError(f"newton_schulz 只接受矩阵（2 维），收到形状 {tuple(G.shape)}。 / "
                         f"newton_schulz takes a matrix (2-D), got shape {tuple(G.shape)}")
    a, b, c = coefficients
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G  # work with the wide side: X Xᵀ is the smaller square
    X = X / X.norm().clamp(min=eps)
    for _ in range(steps):
        # addmm(C, M, N, beta, alpha) = beta C + alpha M @ N in one call: 20-30% faster here than the written-out sums
        A = X @ X.T  # nanochat: A; torch: gram_matrix
        B = torch.addmm(A, A, A, beta=b, alpha=c)  # b A + c A @ A (nanochat: B; torch: gram_update)
        X = torch.addmm(X, B, X, beta=a)  # a X + B @ X (torch: ortho_grad)
    return X.T if tall else X


@torch.no_grad()
def generate_cached(
    model: ModernGPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``nl.generate`` with a :class:`KVCache` (nanochat ``engine.py``: ``Engine.generate``).

    One forward over the prompt fills the cache; then each step feeds only the newest token. While
    the whole sequence fits in ``block_size`` this draws the same tokens as ``nl.generate`` with the
    same generator. A cache cannot crop its start, so it goes no further than ``model.max_cache_len``
    positions (rotary: 10 x block_size, seeing more than it was trained on; wpe: block_size), and
    raises before starting if asked to.
    """
    _check_options(temperature, top_k)
    _check_ids(idx, _vocab_size(model))  # the same checks and messages as nl.generate
    B, T0 = idx.shape
    if max_new_tokens <= 0:
        return idx
    positions = T0 + max_new_tokens - 1  # the last new token is drawn, never fed
    model._check_length(0, positions, cached=True)  # fail before any work, with the model's message
    param = next(model.parameters())
    config = model.config
    cache = KVCache(batch_size=B, num_heads=config.kv_heads, seq_len=positions, head_dim=config.n_embd // config.n_head,
                    num_layers=config.n_layer, device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    try:
        logits, _ = model(idx, kv_cache=cache)  # prefill: the whole prompt at once
        for step in range(max_new_tokens):
            next_id = _draw(logits[:, -1, :], temperature, top_k, greedy, generator)
            idx = torch.cat((idx, next_id), dim=1)
            if step < max_new_tokens - 1:
                logits, _ = model(next_id, kv_cache=cache)  # decode: one new position
    finally:
        model.train(was_training)
    return idx
