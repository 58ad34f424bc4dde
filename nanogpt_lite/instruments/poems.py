"""五言 lines from 《全唐诗》 for chapter 7's 动手试一试: the same GPT trained on Chinese, one character per token.

A 五言 couplet line is five Han characters, "，", five more and "。" (or "？", "！"): twelve characters. The
training text keeps only the poems made entirely of such lines and of the ``common`` most frequent characters,
one line per row: a short run on a CPU then has one shape to learn and a vocabulary of about 2,000 rows instead
of 9,700, and its samples can be counted: how many come out as a 五言 line.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

import torch
from torch import nn

from ..gpt_training import CPU_RECIPE
from ..sampling import generate
from ..tokenizer import CharTokenizer

# Chapter 6's GPT and optimizer settings; a window of two and a half lines, and 600 steps (about a minute on one CPU
# thread; live_recipe shortens it under tests).
POEM_RECIPE: dict[str, Any] = {**CPU_RECIPE, "block_size": 32, "steps": 600, "lr_decay_iters": 600, "warmup_iters": 30}
WUYAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]{5}，[\u3400-\u4dbf\u4e00-\u9fff]{5}[。？！]$")


def is_wuyan(line: str) -> bool:
    """Whether ``line`` has the shape of a 五言 couplet line (not whether it scans or rhymes)."""
    return bool(WUYAN.match(line))


def wuyan_text(corpus: str, common: int | None = 2000) -> str:
    """The bodies of the poems whose every line is a 五言 line and whose characters are all among the ``common``
    most frequent of those poems (``None``: no such limit), one line per row, a blank row between poems.

    ``corpus`` is ``load_text("tang")``: a title row, the poem's rows, a blank row."""
    poems = []
    for poem in corpus.split("\n\n"):
        lines = poem.strip("\n").split("\n")[1:]  # drop the title
        if lines and all(is_wuyan(line) for line in lines):
            poems.append("\n".join(lines))
    if common is not None:
        counts = Counter(ch for poem in poems for ch in poem if ch != "\n")
        kept = {ch for ch, _ in counts.most_common(common)} | {"\n"}
        poems = [poem for poem in poems if set(poem) <= kept]
    return "".join(poem + "\n\n" for poem in poems)[:-1]


@torch.no_grad()
def sample_lines(model: nn.Module, tok: CharTokenizer, starts: str, *, generator: torch.Generator,
                 max_len: int = 14) -> list[str]:
    """One line per character of ``starts``: the model continues "\\n" + that character up to the next newline
    (or ``max_len`` characters)."""
    lines = []
    for start in starts:
        idx = torch.tensor([tok.encode("\n" + start)])
        out = tok.decode(generate(model, idx, max_len, generator=generator)[0, 1:].tolist())
        lines.append(out.split("\n")[0])
    return lines
