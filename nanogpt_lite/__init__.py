"""nanogpt_lite: the small library behind the nanoGPT FAQ notebooks.

>>> import nanogpt_lite as nl
>>> text = nl.load_text()
>>> tok = nl.CharTokenizer.from_text(text)
>>> tok.encode("hello world")
[46, 43, 50, 50, 53, 1, 61, 53, 56, 50, 42]
"""
from .counts import best_smoothing, bigram_counts, bigram_probs, count_model, cross_entropy, unseen_pairs
from .data import DataError, get_batch, load_text, split
from .device import configure_threads, default_device
from .ipython import register_if_in_ipython
from .model import BigramLanguageModel
from .sampling import generate, generate_lecture, next_token_probs, sample_next
from .tokenizer import CharTokenizer, UnknownCharacterError
from .training import History, estimate_loss, exact_loss, train, train_full_batch

configure_threads()  # one thread unless the user chose (see device.configure_threads)
register_if_in_ipython()  # a NameError in a notebook also says: run the cells above first

__all__ = [
    "BigramLanguageModel",
    "CharTokenizer",
    "DataError",
    "History",
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
    "load_text",
    "next_token_probs",
    "sample_next",
    "split",
    "train",
    "train_full_batch",
    "unseen_pairs",
]
