"""nanogpt_lite: the small library behind the nanoGPT FAQ notebooks.

>>> import nanogpt_lite as nl
>>> text = nl.load_text()
>>> tok = nl.CharTokenizer.from_text(text)
>>> tok.encode("hello world")
[46, 43, 50, 50, 53, 1, 61, 53, 56, 50, 42]
"""
from .checkpoint import (
    CheckpointError,
    load_char_checkpoint,
    load_meta,
    load_nanogpt_checkpoint,
    save_nanogpt_checkpoint,
)
from .counts import best_smoothing, bigram_counts, bigram_probs, count_model, cross_entropy, unseen_pairs
from .data import DataError, get_batch, load_text, split
from .device import configure_threads, default_device
from .gpt import GPT, GPTConfig
from .gpt_training import get_lr, split_loss, train_gpt
from .ipython import register_if_in_ipython
from .model import BigramLanguageModel
from .modern_gpt import ModernConfig, ModernGPT
from .sampling import generate, generate_lecture, next_token_probs, sample_next
from .tokenizer import CharTokenizer, UnknownCharacterError
from .training import History, estimate_loss, exact_loss, train, train_full_batch

configure_threads()  # one thread unless the user chose (see device.configure_threads)
register_if_in_ipython()  # a NameError in a notebook also says: run the cells above first

__all__ = [
    "BigramLanguageModel",
    "CharTokenizer",
    "CheckpointError",
    "DataError",
    "GPT",
    "GPTConfig",
    "History",
    "ModernConfig",
    "ModernGPT",
    "UnknownCharacterError",
    "best_smoothing",
    "bigram_counts",
    "bigram_probs",
    "count_model",
    "configure_threads",
    "cross_entropy",
    "default_device",
    "estimate_loss",
    "exact_loss",
    "generate",
    "generate_lecture",
    "get_batch",
    "get_lr",
    "load_char_checkpoint",
    "load_meta",
    "load_nanogpt_checkpoint",
    "load_text",
    "next_token_probs",
    "sample_next",
    "save_nanogpt_checkpoint",
    "split",
    "split_loss",
    "train",
    "train_full_batch",
    "train_gpt",
    "unseen_pairs",
]
