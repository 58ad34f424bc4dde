"""Turning logits into the next token: softmax, temperature, top-k, then multinomial or argmax."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _check_options(temperature: float, top_k: int | None) -> None:
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(
            f"温度必须是有限的非负数（0 表示贪婪解码），收到 {temperature!r}。请把 temperature 改成 0 或正数。 / "
            f"temperature must be a finite number >= 0 (0 means greedy), got {temperature!r}"
        )
    if top_k is not None and (int(top_k) != top_k or top_k < 1):
        raise ValueError(
            f"top_k 必须是 >= 1 的整数或 None，收到 {top_k!r}。 / top_k must be a whole number >= 1 or None, got {top_k!r}"
        )


def _check_logits(logits: torch.Tensor) -> None:
    """NaN and +inf are bugs; -inf is allowed (probability 0) as long as a row keeps one finite logit."""
    if torch.isnan(logits).any() or torch.isposinf(logits).any():
        raise ValueError("logits 里有 NaN 或 +inf，请检查模型的输出。 / logits contain NaN or +infinity; check the model's output")
    if not torch.isfinite(logits).any(dim=-1).all():
        raise ValueError("有一行 logits 全是 -inf：没有可选的词元。 / a row of logits is all -infinity: no token is possible")


def _vocab_size(model: nn.Module) -> int | None:
    """How many token ids ``model`` knows: ``config.vocab_size`` (GPT), else the rows of its
    ``token_embedding_table`` (bigram and the lecture's models); None for a model that says neither."""
    vocab_size = getattr(getattr(model, "config", None), "vocab_size", None)
    if isinstance(vocab_size, int):
        return vocab_size
    table = getattr(model, "token_embedding_table", None)
    return table.num_embeddings if isinstance(table, nn.Embedding) else None


def _check_ids(idx: torch.Tensor, vocab_size: int | None) -> None:
    """``idx`` is a tensor of integer ids, each in 0..vocab_size-1 (checked when ``vocab_size`` is known)."""
    if not isinstance(idx, torch.Tensor) or idx.dtype not in (torch.long, torch.int):
        got = idx.dtype if isinstance(idx, torch.Tensor) else type(idx).__name__
        raise TypeError(
            f"idx 必须是整数编号的张量（dtype torch.long），收到 {got}。"
            "请这样写：torch.tensor([ids], dtype=torch.long)。 / "
            f"idx must be a tensor of integer ids (dtype torch.long), got {got}; "
            "write torch.tensor([ids], dtype=torch.long)."
        )
    if vocab_size is None:
        return
    outside = (idx < 0) | (idx >= vocab_size)
    if not outside.any():
        return
    where = outside.nonzero()[0].tolist()  # the first bad id's position
    bad, at = int(idx[tuple(where)]), ", ".join(map(str, where))
    raise ValueError(
        f"编号 {bad}（idx[{at}]）超出模型的词表：模型的 vocab_size={vocab_size}，只认识 0..{vocab_size - 1}。"
        "多半是分词器和模型不是一套：请用训练这个模型时的分词器来编码。 / "
        f"id {bad} at idx[{at}] is outside the model's vocabulary: its vocab_size is {vocab_size}, "
        f"so valid ids are 0..{vocab_size - 1}. Most likely the tokenizer is not the one the model was "
        "trained with; encode with that tokenizer."
    )


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
        raise ValueError(
            "温度 0 就是贪婪解码：没有概率分布可返回，请直接用 argmax。 / "
            "temperature 0 is greedy decoding: it has no distribution to return; use argmax"
        )
    _check_logits(logits)
    return F.softmax(_scaled_logits(logits, temperature, top_k), dim=-1)


def _draw(
    logits: torch.Tensor, temperature: float, top_k: int | None, greedy: bool, generator: torch.Generator | None
) -> torch.Tensor:
    """sample_next without checking its options (the caller did). Bad logits still raise ValueError."""
    _check_logits(logits)
    if greedy or temperature == 0:
        return torch.argmax(logits, dim=-1, keepdim=True)  # greedy: always the most likely token
    probs = F.softmax(_scaled_logits(logits, temperature, top_k), dim=-1)  # scores -> probabilities
    if generator is not None:
        probs = probs.to(generator.device)  # draw where the generator lives, so a seed means the same on any device
    ids = torch.multinomial(probs, num_samples=1, generator=generator)  # draw by probability
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
    """Extend ``idx`` (B, T) by ``max_new_tokens`` tokens sampled from ``model``, as nanoGPT's ``generate``.

    Each step feeds the last ``model.context_size`` tokens (all of them for a model that does not
    say how far it sees), keeps the logits after the last one and draws the next token.
    The model is in eval mode meanwhile (no dropout); its mode is restored afterwards.
    """
    _check_options(temperature, top_k)
    _check_ids(idx, _vocab_size(model))
    context_size = getattr(model, "context_size", None)
    was_training = model.training
    model.eval()
    try:
        for _ in range(max_new_tokens):
            idx_cond = idx if context_size is None else idx[:, -context_size:]  # only what the model can see
            logits, _ = model(idx_cond)
            next_id = _draw(logits[:, -1, :], temperature, top_k, greedy, generator)  # after the last token
            idx = torch.cat((idx, next_id), dim=1)
    finally:
        model.train(was_training)
    return idx


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
