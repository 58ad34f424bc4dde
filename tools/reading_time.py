"""How long a chapter's core path takes a first reader, by a fixed rule anyone can re-run.

The rule (README, "Reading time"): every cell outside 选读 (cells tagged `optional`) counts.
- Markdown: Han characters at 180 a minute (careful reading of technical Chinese), Latin words
  (names, code spans, English terms) at 150 a minute.
- Code: one minute a cell, to read it, run it and read what it prints.
The constants were set so that the rule reproduces, within 3 minutes, the review's own reading
times of chapters 1-5 before they were cut (55, 40, 60, 55, 65 minutes; issue 30).

    python -m tools.reading_time notebooks/*.ipynb          # a table
    python -m tools.reading_time --max 45 notebooks/*.ipynb  # exit 1 if a chapter is over 45 min
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

HAN_PER_MINUTE = 180
WORDS_PER_MINUTE = 150
MINUTES_PER_CODE_CELL = 1.0
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'.-]*")


@dataclass(frozen=True)
class ReadingTime:
    """The core path of one notebook, counted by the rule."""

    han: int
    words: int
    code_cells: int

    @property
    def minutes(self) -> float:
        return self.han / HAN_PER_MINUTE + self.words / WORDS_PER_MINUTE + self.code_cells * MINUTES_PER_CODE_CELL


def is_optional(cell: nbformat.NotebookNode) -> bool:
    return "optional" in cell.get("metadata", {}).get("tags", [])


def core_reading_time(nb: nbformat.NotebookNode) -> ReadingTime:
    """Count the cells a reader who skips every 选读 section reads."""
    han = words = code = 0
    for cell in nb.cells:
        if is_optional(cell):
            continue
        if cell.cell_type == "markdown":
            han += len(HAN.findall(cell.source))
            words += len(WORD.findall(cell.source))
        elif cell.cell_type == "code":
            code += 1
    return ReadingTime(han, words, code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--max", type=float, default=None, help="exit 1 if a chapter's core path is longer")
    args = parser.parse_args(argv)
    print("| chapter | Han characters | Latin words | code cells | core path (min) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    over = []
    for path in args.notebooks:
        t = core_reading_time(nbformat.read(path, as_version=4))
        print(f"| {path.stem} | {t.han:,} | {t.words:,} | {t.code_cells} | {t.minutes:.0f} |")
        if args.max is not None and t.minutes > args.max:
            over.append(f"{path.name}: {t.minutes:.1f} min")
    if over:
        print(f"超过 {args.max:g} 分钟的核心路径 / core paths over {args.max:g} min: " + "; ".join(over), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
