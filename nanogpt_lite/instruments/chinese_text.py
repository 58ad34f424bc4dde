"""Character-level tokenization of Chinese text, measured as chapter 1 §1.5 measures English.

A Han character is one character to Python but three UTF-8 bytes (four outside the Basic Multilingual
Plane), so a byte-level tokenizer (GPT-2's, nanochat's) sees three symbols where a character-level
one sees one, until merges learnt on Chinese text join them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..bpe import BPETokenizer, as_bytes
from .vocab_compare import RowsTable


def is_han(ch: str) -> bool:
    """A CJK unified ideograph (basic block, extension A, or the supplementary planes' extensions)."""
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x3FFFF


@dataclass(frozen=True)
class CharLevelFigures:
    """One text under character-level tokenization, split as nanoGPT splits (first 90 % train)."""

    name: str
    chars: int
    vocab_size: int  # distinct characters of the whole text
    train_vocab_size: int  # distinct characters of the training split: what a tokenizer built on it knows
    unseen_distinct: int  # distinct validation characters the training split never shows
    unseen_share: float  # share of validation positions holding such a character
    bytes_per_char: float  # UTF-8 bytes per character, over the whole text
    n_embd: int

    @property
    def embedding_params(self) -> int:
        """Parameters of a token-embedding table with one row per vocabulary entry."""
        return self.vocab_size * self.n_embd


def char_level_figures(name: str, text: str, *, train_fraction: float = 0.9, n_embd: int = 64) -> CharLevelFigures:
    cut = int(train_fraction * len(text))
    train, val = text[:cut], text[cut:]
    known = set(train)
    unseen = set(val) - known
    return CharLevelFigures(
        name=name,
        chars=len(text),
        vocab_size=len(set(text)),
        train_vocab_size=len(known),
        unseen_distinct=len(unseen),
        unseen_share=sum(ch in unseen for ch in val) / len(val),
        bytes_per_char=len(text.encode("utf-8")) / len(text),
        n_embd=n_embd,
    )


def han_bytes_per_char(text: str) -> float:
    """Mean UTF-8 bytes of the Han characters of ``text``."""
    han = "".join(ch for ch in text if is_han(ch))
    return len(han.encode("utf-8")) / len(han)


def byte_tokens_per_char(bpe: BPETokenizer, text: str) -> float:
    """Tokens per character when the byte-level ``bpe`` encodes ``text``."""
    return len(bpe.encode(as_bytes(text))) / len(text)


_ROWS = [
    ("字符数 characters", lambda f: f"{f.chars:,}"),
    ("词表大小（不同字符）vocabulary", lambda f: f"{f.vocab_size:,}"),
    ("训练集里的不同字符 train vocabulary", lambda f: f"{f.train_vocab_size:,}"),
    ("验证集里训练集没见过的字符（种）unseen", lambda f: f"{f.unseen_distinct:,}"),
    ("这些字符占验证集的位置 unseen share", lambda f: f"{f.unseen_share:.2%}"),
    ("嵌入表参数 embedding params", lambda f: f"{f.vocab_size:,} × {f.n_embd} = {f.embedding_params:,}"),
    ("每个字符的 UTF-8 字节 bytes/char", lambda f: f"{f.bytes_per_char:.2f}"),
]


@dataclass(frozen=True, repr=False)
class FiguresTable(RowsTable):
    """Texts side by side, one column each."""

    figures: list[CharLevelFigures]
    css_class: ClassVar[str] = "nl-chinese-text"

    def rows(self) -> list[list[str]]:
        return [["", *(f.name for f in self.figures)]] + [
            [label, *(cell(f) for f in self.figures)] for label, cell in _ROWS
        ]
