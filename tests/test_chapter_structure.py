"""Every chapter has its map to nanoGPT and marks what a beginner may skip (选读).

A section outside the core path ends its heading with "（选读）"; every cell of that section (the
heading cell up to the next heading of the same or a higher level) carries the cell tag
``optional``, and no other cell does. The handout boxes these cells.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

CHAPTERS = sorted(p for p in (Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb")
                  if not p.name.startswith("00_"))
HEADING = re.compile(r"^(#{1,6})\s+(.*)$", re.M)
OPTIONAL_MARK = "（选读）"
OPTIONAL_TAG = "optional"


def heading(cell: nbformat.NotebookNode) -> tuple[int, str] | None:
    """(level, text) of a markdown cell that starts with a heading, else None."""
    if cell.cell_type != "markdown":
        return None
    match = HEADING.match(cell.source.lstrip())
    return (len(match.group(1)), match.group(2).strip()) if match else None


def optional_cells(nb: nbformat.NotebookNode) -> set[int]:
    """Indices of the cells that lie in a 选读 section, by the headings alone."""
    inside: set[int] = set()
    open_level: int | None = None
    for index, cell in enumerate(nb.cells):
        head = heading(cell)
        if head and open_level is not None and head[0] <= open_level:
            open_level = None
        if head and open_level is None and head[1].endswith(OPTIONAL_MARK):
            open_level = head[0]
        if open_level is not None:
            inside.add(index)
    return inside


def tagged(nb: nbformat.NotebookNode) -> set[int]:
    return {i for i, c in enumerate(nb.cells) if OPTIONAL_TAG in c.metadata.get("tags", [])}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name[:2])
def test_chapter_has_a_nanogpt_section(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    headings = [h[1] for c in nb.cells if (h := heading(c))]
    assert any("在 nanoGPT 里" in h for h in headings), f"{path.name}: no section '在 nanoGPT 里'"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name[:2])
def test_optional_sections_are_marked_and_tagged(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    by_heading, by_tag = optional_cells(nb), tagged(nb)
    assert by_heading, f"{path.name}: no section marked {OPTIONAL_MARK}"
    untagged = sorted(by_heading - by_tag)
    stray = sorted(by_tag - by_heading)
    assert not untagged, f"{path.name}: cells {untagged} are in a 选读 section but not tagged '{OPTIONAL_TAG}'"
    assert not stray, f"{path.name}: cells {stray} are tagged '{OPTIONAL_TAG}' outside any 选读 section"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name[:2])
def test_core_path_keeps_exercises_and_summary(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    core = [h[1] for i, c in enumerate(nb.cells) if (h := heading(c)) and i not in optional_cells(nb)]
    assert any("练习" in h for h in core) and any("小结" in h for h in core), path.name


def test_optional_sections_end_at_the_next_heading_of_the_same_level() -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## 1.1 核心"),
        nbformat.v4.new_markdown_cell("## 1.2 卡方（选读）"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("### 1.2.1 细节"),
        nbformat.v4.new_markdown_cell("## 1.3 又是核心"),
        nbformat.v4.new_code_cell("y = 2"),
    ])
    assert optional_cells(nb) == {1, 2, 3}
