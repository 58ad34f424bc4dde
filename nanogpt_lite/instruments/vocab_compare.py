"""Character vs BPE vs word tokens, measured: vocabulary size, corpus length, unknown words.

Every tokenizer is built from the training split only, then judged on the validation split, the
way a model would meet new text. A validation word is *unknown* to a tokenizer when the
tokenizer cannot encode it: for word tokens, the word never occurs in training; for character
and BPE tokens, the word holds a character that never occurs in training.
"""
from __future__ import annotations

import html
import re
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from ..bpe import BPETokenizer, chunks
from ..tokenizer import CharTokenizer


def words(text: str) -> list[str]:
    """Whitespace words, punctuation attached: ``"Speak, speak."`` -> ``["Speak,", "speak."]``."""
    return text.split()


def plain_words(text: str) -> list[str]:
    """Lower-case runs of letters (apostrophes kept): a kinder word tokenizer than :func:`words`."""
    return re.findall(r"[a-z']*[a-z][a-z']*", text.lower())


def unknown_shares(known: Callable[[str], bool], val_words: list[str]) -> tuple[float, float]:
    """(share of word occurrences, share of distinct words) of ``val_words`` that are not ``known``."""
    if not val_words:
        raise ValueError("val_words 是空的：没有词可以量。 / val_words is empty: there is nothing to measure")
    distinct = set(val_words)
    by_occurrence = sum(not known(w) for w in val_words) / len(val_words)
    by_distinct = sum(not known(w) for w in distinct) / len(distinct)
    return by_occurrence, by_distinct


def next_char_shares(text: str, context: str, top: int = 5) -> tuple[int, list[tuple[str, float]]]:
    """How often ``context`` is followed by a character, and the ``top`` next characters with their shares."""
    if not context:
        raise ValueError("context 至少要有一个字符。 / context must hold at least one character")
    ends = (m.start() + len(context) for m in re.finditer(f"(?={re.escape(context)})", text))  # overlaps count
    following = Counter(text[end] for end in ends if end < len(text))
    total = sum(following.values())
    if total == 0:
        raise ValueError(
            f"{context!r} 在这段文本里后面从来没有跟着字符：换一个上下文。 / "
            f"{context!r} is never followed by a character in this text"
        )
    ranked = sorted(following.items(), key=lambda item: (-item[1], item[0]))[:top]
    return total, [(ch, n / total) for ch, n in ranked]


@dataclass(frozen=True)
class TokenizerReport:
    """One column of the comparison: how one kind of token treats the training and validation text."""

    name: str
    vocab_size: int
    train_chars: int
    train_tokens: int  # length of the training split, in tokens
    median_count: float  # how often the median vocabulary entry occurs in training: its examples to learn from
    once_share: float  # share of the vocabulary that occurs at most once in training
    unknown_occurrences: float  # share of validation word occurrences the tokenizer cannot encode
    unknown_distinct: float  # share of distinct validation words the tokenizer cannot encode

    @property
    def chars_per_token(self) -> float:
        return self.train_chars / self.train_tokens


def _report(
    name: str, vocab: list[str], train_text: str, counts: Counter[str], known: Callable[[str], bool], val_text: str
) -> TokenizerReport:
    """``counts``: how often each token occurs when the tokenizer cuts up ``train_text``."""
    per_entry = [counts[entry] for entry in vocab]
    by_occurrence, by_distinct = unknown_shares(known, words(val_text))
    return TokenizerReport(
        name=name,
        vocab_size=len(vocab),
        train_chars=len(train_text),
        train_tokens=sum(counts.values()),
        median_count=statistics.median(per_entry),
        once_share=sum(n <= 1 for n in per_entry) / len(vocab),
        unknown_occurrences=by_occurrence,
        unknown_distinct=by_distinct,
    )


def char_report(train_text: str, val_text: str) -> TokenizerReport:
    """Characters: the vocabulary is every character of the training text."""
    tok = CharTokenizer.from_text(train_text)
    known = lambda word: not tok.unknown_chars(word)  # noqa: E731
    return _report("字符级 char", tok.chars, train_text, Counter(train_text), known, val_text)


def bpe_report(train_text: str, val_text: str, bpe: BPETokenizer) -> TokenizerReport:
    """BPE: characters plus merged pieces; it knows a word when it knows all the word's characters."""
    known = lambda word: all(ch in bpe.stoi for ch in word)  # noqa: E731
    counts: Counter[str] = Counter()
    for chunk, n in Counter(chunks(train_text)).items():  # each distinct chunk is cut up once
        for token, _ in bpe.pieces(chunk):
            counts[token] += n
    return _report(f"BPE（{len(bpe.merges)} 次合并）", bpe.tokens, train_text, counts, known, val_text)


def word_report(train_text: str, val_text: str) -> TokenizerReport:
    """Whitespace words: the vocabulary is every distinct word of the training text."""
    counts = Counter(words(train_text))
    return _report("词级 word（空白切分）", sorted(counts), train_text, counts, counts.__contains__, val_text)


_ROWS = [
    ("词表大小 vocabulary size", lambda r: f"{r.vocab_size:,}"),
    ("训练集长度（词元）train tokens", lambda r: f"{r.train_tokens:,}"),
    ("平均每个词元的字符数 chars / token", lambda r: f"{r.chars_per_token:.2f}"),
    ("词表条目在训练集出现次数的中位数", lambda r: f"{r.median_count:,.0f}"),
    ("训练集中最多出现 1 次的词表条目", lambda r: f"{r.once_share:.1%}"),
    ("验证集无法编码的词（按出现次数）", lambda r: f"{r.unknown_occurrences:.1%}"),
    ("验证集无法编码的词（按不同词）", lambda r: f"{r.unknown_distinct:.1%}"),
]


class RowsTable:
    """A table of strings (``rows()``: a header row, then the body) that shows as HTML in a notebook and as aligned
    text in ``print`` and ``repr``."""

    css_class: ClassVar[str]

    def rows(self) -> list[list[str]]:
        raise NotImplementedError

    def __repr__(self) -> str:
        table = self.rows()
        widths = [max(_width(row[c]) for row in table) for c in range(len(table[0]))]
        return "\n".join(
            "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths)).rstrip() for row in table
        )

    def _repr_html_(self) -> str:
        head, *body = self.rows()
        th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        trs = "".join(
            f"<tr><td style='text-align:left'>{html.escape(row[0])}</td>"
            + "".join(f"<td style='text-align:right'>{html.escape(c)}</td>" for c in row[1:])
            + "</tr>"
            for row in body
        )
        return f"<table class='{self.css_class}'><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


@dataclass(frozen=True, repr=False)
class Comparison(RowsTable):
    """The comparison table of the three tokenizers."""

    reports: list[TokenizerReport]
    css_class: ClassVar[str] = "nl-vocab-compare"

    def rows(self) -> list[list[str]]:
        """The table as strings: a header row, then one row per measure."""
        return [["", *(r.name for r in self.reports)]] + [
            [label, *(cell(r) for r in self.reports)] for label, cell in _ROWS
        ]


def _width(cell: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in cell)


def compare_tokenizers(train_text: str, val_text: str, bpe: BPETokenizer) -> Comparison:
    """Character, BPE (already trained on ``train_text``) and whitespace-word tokens side by side."""
    return Comparison(
        [char_report(train_text, val_text), bpe_report(train_text, val_text, bpe), word_report(train_text, val_text)]
    )
