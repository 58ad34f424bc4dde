"""Character-level tokenizer: every distinct character of the training text gets an id."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


class UnknownCharacterError(ValueError):
    """A character (or id) that is not in the vocabulary."""


@dataclass(frozen=True)
class CharTokenizer:
    """``stoi`` maps character -> id, ``itos`` maps id -> character, ids follow sorted order."""

    chars: list[str]
    stoi: dict[str, int] = field(init=False, repr=False)
    itos: dict[int, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        repeated = sorted({ch for ch in self.chars if self.chars.count(ch) > 1})
        if repeated:
            raise ValueError(
                f"词表里的字符必须互不相同，{repeated!r} 出现了不止一次：用 sorted(set(text)) 去重。"
                f" / chars must be distinct, {repeated!r} occur more than once; deduplicate with sorted(set(text))."
            )
        object.__setattr__(self, "stoi", {ch: i for i, ch in enumerate(self.chars)})
        object.__setattr__(self, "itos", {i: ch for i, ch in enumerate(self.chars)})

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        """The vocabulary is the sorted set of characters that occur in ``text``; ``text`` must not be empty."""
        if not text:
            raise ValueError(
                f"文本是空的（收到 {text!r}）：没有字符可以组成词表。请传入训练文本，例如 nl.load_text()。"
                f" / the text is empty (got {text!r}): there are no characters to build a vocabulary from; "
                "pass the training text, e.g. nl.load_text()."
            )
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def unknown_chars(self, text: str) -> list[tuple[int, str]]:
        """Every (position, character) of ``text`` that is not in the vocabulary."""
        return [(i, ch) for i, ch in enumerate(text) if ch not in self.stoi]

    def encode(self, text: str) -> list[int]:
        """Text -> list of ids. Raises UnknownCharacterError naming the first unknown character."""
        try:
            return [self.stoi[ch] for ch in text]
        except KeyError:
            (position, ch), *rest = self.unknown_chars(text)
            more_zh = f"（后面还有 {len(rest)} 个未知字符）" if rest else ""
            more = f" ({len(rest)} more unknown after it)" if rest else ""
            raise UnknownCharacterError(
                f"字符 {ch!r}（U+{ord(ch):04X}，第 {position} 位）不在词表里{more_zh}。"
                f"词表只有训练文本里的 {self.vocab_size} 个字符：请删掉或替换这个字符，或用包含它的文本重建分词器。"
                f" / character {ch!r} (U+{ord(ch):04X}) at index {position} is not in the vocabulary{more}. "
                f"The vocabulary holds the {self.vocab_size} characters of the training text; "
                "remove or replace the character, or build the tokenizer from a text that contains it."
            ) from None

    def decode(self, ids: Iterable[int]) -> str:
        """List of ids -> text. Raises UnknownCharacterError naming the first id out of range."""
        ids = [int(i) for i in ids]
        for position, i in enumerate(ids):
            if i not in self.itos:
                raise UnknownCharacterError(
                    f"编号 {i}（第 {position} 位）超出范围：有效的编号是 0..{self.vocab_size - 1}"
                    f"（训练文本的 {self.vocab_size} 个字符）。"
                    f" / id {i} at index {position} is out of range: valid ids are 0..{self.vocab_size - 1} "
                    f"(the {self.vocab_size} characters of the training text)."
                )
        return "".join(self.itos[i] for i in ids)
