"""A small byte-pair-encoding (BPE) tokenizer over characters, in the spirit of GPT-2's.

Training starts from single characters and repeatedly merges the most frequent adjacent pair
into one new token, ``num_merges`` times. Text is first cut into chunks (a word with its
leading space, a run of punctuation, a run of whitespace) and merges never cross a chunk
boundary, so " the" can become one token but "e t" never does.

>>> bpe = BPETokenizer.train("low low lower lowest", num_merges=3)
>>> bpe.merges
[('o', 'w'), ('l', 'ow'), (' ', 'low')]
>>> bpe.tokenize("low lower")
['low', ' low', 'e', 'r']
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import groupby

from .tokenizer import UnknownCharacterError

CHUNK_PATTERN = re.compile(r" ?\w+| ?[^\w\s]+|\s+")  # every character falls in exactly one chunk

Pair = tuple[str, str]


def chunks(text: str) -> list[str]:
    """Cut ``text`` into the pieces BPE works inside; ``"".join(chunks(text)) == text``."""
    return CHUNK_PATTERN.findall(text)


def byte_chunks(byte_text: str) -> list[str]:
    """:func:`chunks` for byte-level BPE: cut the *text* the bytes spell, then give each chunk as bytes
    (as GPT-2 and nanochat do), so a chunk never splits a character's UTF-8 bytes."""
    return [as_bytes(chunk) for chunk in chunks(from_bytes(byte_text))]


def as_bytes(text: str) -> str:
    """``text``'s UTF-8 bytes, one character per byte (chr(0)…chr(255)), so BPE can run over bytes."""
    return text.encode("utf-8").decode("latin-1")


def from_bytes(byte_text: str) -> str:
    """The inverse of :func:`as_bytes`: byte characters back to text (an incomplete character raises)."""
    return byte_text.encode("latin-1").decode("utf-8")


def bits_per_byte(nats_per_char: float, text: str) -> float:
    """A mean loss in nats per character of ``text`` as bits per UTF-8 byte, nanochat's measure (bpb):
    nats × characters / (bytes × ln 2). It compares models whatever their tokenizer, since bytes are the same."""
    return nats_per_char * len(text) / (len(text.encode("utf-8")) * math.log(2))


def merge_pair(symbols: list[str], pair: Pair) -> list[str]:
    """Replace every non-overlapping occurrence of ``pair`` (left to right) by the joined token."""
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return merged


def _pairs(symbols: list[str]) -> list[Pair]:
    return list(zip(symbols, symbols[1:]))


def learn_merges(text: str, num_merges: int, chunker: Callable[[str], list[str]] = chunks) -> list[Pair]:
    """The ``num_merges`` most useful merges for ``text``, most frequent first.

    Each step merges the most frequent adjacent pair (ties go to the alphabetically larger pair,
    so training is deterministic). Only the chunks that contain the winning pair are re-counted,
    which keeps a few hundred merges on a megabyte of text to a second or two. Stops early when no
    pair is left.
    """
    if isinstance(num_merges, bool) or not isinstance(num_merges, int) or num_merges < 0:
        raise ValueError(
            f"合并次数 num_merges 必须是 ≥ 0 的整数，收到 {num_merges!r}。 / "
            f"num_merges must be a whole number >= 0, got {num_merges!r}."
        )
    chunk_counts = Counter(chunker(text))
    words = [list(chunk) for chunk in chunk_counts]  # each distinct chunk as a list of symbols
    freqs = list(chunk_counts.values())
    pair_counts: Counter[Pair] = Counter()
    where: defaultdict[Pair, set[int]] = defaultdict(set)  # pair -> the words that contain it
    for w, symbols in enumerate(words):
        for pair in _pairs(symbols):
            pair_counts[pair] += freqs[w]
            where[pair].add(w)

    merges: list[Pair] = []
    while len(merges) < num_merges and pair_counts:
        _, best = max(zip(pair_counts.values(), pair_counts))  # highest count, then largest pair
        merges.append(best)
        for w in where.pop(best):
            for pair in _pairs(words[w]):  # forget the word's old pairs ...
                pair_counts[pair] -= freqs[w]
                if pair_counts[pair] == 0:
                    del pair_counts[pair]
            words[w] = merge_pair(words[w], best)
            for pair in _pairs(words[w]):  # ... and count its new ones
                pair_counts[pair] += freqs[w]
                where[pair].add(w)
    return merges


@dataclass(frozen=True)
class BPETokenizer:
    """Ids 0..len(alphabet)-1 are the single characters (sorted); each merge adds the next id."""

    alphabet: list[str]
    merges: list[Pair]
    byte_level: bool = False  # text is given as bytes (as_bytes) and chunked by byte_chunks
    tokens: list[str] = field(init=False, repr=False)  # id -> token text
    stoi: dict[str, int] = field(init=False, repr=False)  # token text -> id
    ranks: dict[Pair, int] = field(init=False, repr=False)  # pair -> when it was learnt
    _cache: dict[str, list[tuple[str, int | None]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.alphabet)) != len(self.alphabet) or any(len(ch) != 1 for ch in self.alphabet):
            raise ValueError(
                "字母表 alphabet 必须由互不相同的单个字符组成：用 sorted(set(text))。 / "
                "alphabet must be distinct single characters; use sorted(set(text))."
            )
        tokens, known = list(self.alphabet), set(self.alphabet)
        for rank, (left, right) in enumerate(self.merges):
            if left not in known or right not in known:
                raise ValueError(
                    f"第 {rank} 次合并 {(left, right)!r} 用到了一个之前没有合并出来的词元：检查合并的顺序。 / "
                    f"merge {rank} {(left, right)!r} uses a token that no earlier merge made."
                )
            tokens.append(left + right)
            known.add(left + right)
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "stoi", {token: i for i, token in enumerate(tokens)})
        object.__setattr__(self, "ranks", {pair: rank for rank, pair in enumerate(self.merges)})
        object.__setattr__(self, "_cache", {})

    @classmethod
    def train(cls, text: str, num_merges: int) -> "BPETokenizer":
        """Learn ``num_merges`` merges from ``text``; the alphabet is the characters of ``text``."""
        return cls(sorted(set(text)), learn_merges(text, num_merges))

    @classmethod
    def train_bytes(cls, text: str, num_merges: int) -> "BPETokenizer":
        """Byte-level BPE (GPT-2's and nanochat's kind): the alphabet is all 256 byte values, the merges are learnt
        over ``as_bytes(text)``. Any text then encodes (``encode(as_bytes(text))``): a character outside the
        training text is just its UTF-8 bytes, one token each until a merge joins them."""
        return cls([chr(b) for b in range(256)], learn_merges(as_bytes(text), num_merges, byte_chunks), byte_level=True)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def _merge_run(self, run: str) -> list[str]:
        """Apply the merges to a run of known characters, earliest-learnt pair first, as training did."""
        symbols = list(run)
        while len(symbols) > 1:
            pair = min(_pairs(symbols), key=lambda p: self.ranks.get(p, len(self.ranks)))
            if pair not in self.ranks:
                break
            symbols = merge_pair(symbols, pair)
        return symbols

    def _chunk_pieces(self, chunk: str) -> list[tuple[str, int | None]]:
        """One chunk's (token, id) pieces; characters outside the alphabet stay alone, with id None."""
        if chunk not in self._cache:
            pieces: list[tuple[str, int | None]] = []
            for known, run in groupby(chunk, key=lambda ch: ch in self.stoi):
                if known:
                    pieces.extend((token, self.stoi[token]) for token in self._merge_run("".join(run)))
                else:
                    pieces.extend((ch, None) for ch in run)
            self._cache[chunk] = pieces
        return self._cache[chunk]

    def pieces(self, text: str) -> list[tuple[str, int | None]]:
        """Every token of ``text`` as (token text, id); a character outside the alphabet is (ch, None)."""
        chunker = byte_chunks if self.byte_level else chunks
        return [piece for chunk in chunker(text) for piece in self._chunk_pieces(chunk)]

    def tokenize(self, text: str) -> list[str]:
        """``text`` as a list of token strings."""
        return [self.tokens[i] for i in self.encode(text)]

    def encode(self, text: str) -> list[int]:
        """Text -> ids. Raises UnknownCharacterError naming the first character outside the alphabet."""
        ids = [i for _, i in self.pieces(text)]
        if None in ids:
            position, ch = next((p, ch) for p, ch in enumerate(text) if ch not in self.stoi)
            raise UnknownCharacterError(
                f"字符 {ch!r}（U+{ord(ch):04X}，第 {position} 位）不在 BPE 的 {len(self.alphabet)} 个字符里："
                "BPE 只能合并训练时见过的字符，请删掉或替换它。"
                f" / character {ch!r} (U+{ord(ch):04X}) at index {position} is not in the BPE alphabet of "
                f"{len(self.alphabet)} characters; BPE can only merge characters it was trained on."
            )
        return [i for i in ids if i is not None]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text. Raises UnknownCharacterError naming the first id out of range."""
        ids = [int(i) for i in ids]
        for position, i in enumerate(ids):
            if not 0 <= i < self.vocab_size:
                raise UnknownCharacterError(
                    f"编号 {i}（第 {position} 位）超出范围：BPE 的有效编号是 0..{self.vocab_size - 1}。"
                    f" / id {i} at index {position} is out of range: valid BPE ids are 0..{self.vocab_size - 1}."
                )
        return "".join(self.tokens[i] for i in ids)
