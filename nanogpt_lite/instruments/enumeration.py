"""enumerate(), taken apart: what it yields, and how chapter 1 builds ``stoi``/``itos`` with it.

>>> [step.stoi for step in build_steps("ab")]
[{'a': 0}, {'a': 0, 'b': 1}]
>>> positions("hello", "l")
[2, 3]
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, TypeVar

T = TypeVar("T")


def _check_start(start: object) -> None:
    if not isinstance(start, int) or isinstance(start, bool):
        raise TypeError(
            f"start 必须是整数（第一个编号），收到 {start!r}（{type(start).__name__}）。 / "
            f"start must be an int (the first index), got {start!r} of type {type(start).__name__}"
        )


def enumerate_by_hand(iterable: Iterable[T], start: int = 0) -> Iterator[tuple[int, T]]:
    """What ``enumerate(iterable, start)`` does, written out: a lazy generator of (index, value)."""
    _check_start(start)
    i = start
    for value in iterable:
        yield i, value
        i += 1


class Step(NamedTuple):
    """One turn of ``for i, ch in enumerate(chars, start)``: the pair and both dicts right after it."""

    i: int
    ch: str
    stoi: dict[str, int]
    itos: dict[int, str]
    replaced: int | None  # the id ``stoi[ch]`` held before this step, if ``ch`` was seen already


def build_steps(chars: Sequence[str], start: int = 0) -> list[Step]:
    """Build ``stoi = {ch: i ...}`` and ``itos = {i: ch ...}`` one pair at a time, keeping every state.

    A repeated character overwrites its earlier id in ``stoi`` (``replaced`` says which), which is
    why chapter 1 enumerates ``sorted(set(text))`` rather than the text itself.
    """
    _check_start(start)
    for index, ch in enumerate(chars):
        if not isinstance(ch, str):
            raise TypeError(
                f"chars 里应当全是字符串，第 {index} 项是 {ch!r}（{type(ch).__name__}）。 / "
                f"chars must hold strings; item {index} is {ch!r} of type {type(ch).__name__}"
            )
    stoi: dict[str, int] = {}
    itos: dict[int, str] = {}
    steps = []
    for i, ch in enumerate(chars, start=start):
        replaced = stoi.get(ch)
        stoi[ch] = i
        itos[i] = ch
        steps.append(Step(i, ch, dict(stoi), dict(itos), replaced))
    return steps


def positions(text: str, ch: str) -> list[int]:
    """Every index at which the single character ``ch`` occurs in ``text`` (the FAQ's 'l' in 'hello')."""
    if not isinstance(text, str):
        raise TypeError(f"text 必须是字符串，收到 {type(text).__name__}。 / text must be a str, got {type(text).__name__}")
    if not isinstance(ch, str):
        raise TypeError(
            f"ch 必须是一个字符的字符串，收到 {type(ch).__name__}。 / ch must be a str of one character, got {type(ch).__name__}"
        )
    if len(ch) != 1:
        raise ValueError(
            f"ch 必须正好是一个字符，收到 {ch!r}（{len(ch)} 个字符）。 / "
            f"ch must be exactly one character, got {ch!r} ({len(ch)} characters)"
        )
    return [i for i, c in enumerate(text) if c == ch]
