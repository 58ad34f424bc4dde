"""One term per concept: the chapters and the exercises' feedback use CONTRIBUTING.md's fixed terms.

Each rejected variant names the fixed term to use instead. Code (code spans, fenced blocks, HTML
tags, link targets) is not prose and is not checked.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).parents[1]
CHAPTERS = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
FEEDBACK = sorted((ROOT / "nanogpt_lite" / "exercises").glob("ch*.py"))

# rejected variant -> the fixed term (CONTRIBUTING.md, "Fixed terms")
REJECTED = {
    "登记": "注册",
    "得分": "分数（logits）",
    "对数几率": "logits / 分数（对数几率 means log-odds）",
    "平均猜": "均匀猜测",
    "均匀瞎猜": "均匀猜测",
    "本书": "本系列",
    "本讲义": "本系列",
    "单字": "一元频率 (单字 also means a single hanzi)",
    "权重共享": "权重绑定 (weight tying, as chapter 3 names it)",
    "共享权重": "权重绑定 (weight tying, as chapter 3 names it)",
    "批量": "批次（batch）, then 批次",
}
CODE = re.compile(r"```.*?```|`[^`\n]*`|<[^>]+>|\]\([^)]*\)", re.S)
# "bigram" in prose only right after its Chinese name: 二元模型（bigram）
BARE_BIGRAM = re.compile(r"(?<!二元模型（)\bbigrams?\b(?!）)", re.I)
# likewise "batch" and "micro-batch": 批次（batch） and 微批次（micro-batch）, then the Chinese word
BARE_BATCH = re.compile(r"(?<!批次（)(?<!微批次（)(?<![-_\w])(micro-)?batch(es)?\b(?![-_）])", re.I)


def prose(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, markdown without code) for each markdown cell outside the glossary."""
    out, in_glossary = [], False
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        if cell.source.lstrip().startswith("#"):
            in_glossary = "术语表" in cell.source.splitlines()[0]
        out.append((index, CODE.sub(" ", cell.source) if not in_glossary else ""))
    return out


def rejected_terms(text: str) -> list[str]:
    found = [f"{bad} -> {good}" for bad, good in REJECTED.items() if bad in text]
    found += [f"bare '{m.group(0)}' -> 二元模型（bigram） once, then 二元模型" for m in BARE_BIGRAM.finditer(text)]
    found += [f"bare '{m.group(0)}' -> 批次（batch） / 微批次（micro-batch） once, then the Chinese word"
              for m in BARE_BATCH.finditer(text)]
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name[:2])
def test_chapter_prose_uses_the_fixed_terms(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    bad = [f"cell {i}: {t}" for i, text in prose(nb) for t in rejected_terms(text)]
    assert not bad, f"{path.name}:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("path", FEEDBACK, ids=lambda p: p.stem)
def test_exercise_feedback_uses_the_fixed_terms(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    bad = [f"{bad} -> {good}" for bad, good in REJECTED.items() if bad in text]
    assert not bad, f"{path.name}: {bad}"


@pytest.mark.parametrize(("text", "count"), [
    ("二元模型（bigram）是最简单的语言模型", 0),
    ("这个 bigram 只看一个字符", 1),
    ("`BigramLanguageModel` 和 `bigram.py`", 0),
    ("参数登记在 _parameters 里；本讲义", 2),
    ("每个批次（batch）有 32 行；微批次（micro-batch）再分", 0),
    ("一个 batch 分成 4 个 micro-batch", 2),
    ("一个 micro-batch 和共享权重", 2),
    ("`get_batch` 和 batch_size、Batches", 1),
])
def test_rejected_terms_are_found_outside_code(text: str, count: int) -> None:
    assert len(rejected_terms(CODE.sub(" ", text))) == count
