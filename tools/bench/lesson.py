"""Tiny Shakespeare loaded once for the in-process parts (training, sampling, widgets), and the notebooks' models."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import torch

import nanogpt_lite as nl


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def sync(device: Any) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@dataclass
class Lesson:
    """The text, its tokenizer, the 90/10 split, the count tables and the exact floors."""

    text: str
    tok: nl.CharTokenizer
    train: torch.Tensor
    val: torch.Tensor
    train_counts: torch.Tensor
    val_counts: torch.Tensor
    best_k: float
    train_floor: float
    val_floor: float

    @classmethod
    def load(cls) -> "Lesson":
        text = nl.load_text()
        tok = nl.CharTokenizer.from_text(text)
        data = torch.tensor(tok.encode(text))
        train, val = nl.split(data, 0.9)
        train_counts = nl.bigram_counts(train, tok.vocab_size)
        best_k = nl.best_smoothing(train_counts, val)
        return cls(
            text, tok, train, val, train_counts, nl.bigram_counts(val, tok.vocab_size), best_k,
            nl.cross_entropy(nl.bigram_probs(train_counts), train),
            nl.cross_entropy(nl.bigram_probs(train_counts, best_k), val),
        )

    def count_model(self) -> nl.BigramLanguageModel:
        return nl.count_model(nl.bigram_probs(self.train_counts, self.best_k))


def chapter4_model(lesson: Lesson) -> nl.BigramLanguageModel:
    """The bigram notebook 04 trains (and samples from), trained the same way."""
    torch.manual_seed(1337)
    model = nl.BigramLanguageModel(lesson.tok.vocab_size).to(nl.default_device())
    nl.train_full_batch(model, lesson.train_counts, steps=60, lr=0.3, progress=False)
    return model


def chapter5_model(lesson: Lesson) -> nl.BigramLanguageModel:
    """The bigram notebook 05 trains with the lecture's loop (batch 32, block 8, lr 1e-2, 3000 steps)."""
    torch.manual_seed(1337)
    model = nl.BigramLanguageModel(lesson.tok.vocab_size).to(nl.default_device())
    nl.train(model, lesson.train, steps=3000, batch_size=32, block_size=8, lr=1e-2, eval_every=300,
             generator=torch.Generator().manual_seed(1337), val_data=lesson.val, progress=False)
    return model
