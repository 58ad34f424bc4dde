"""The core-path reading time (tools/reading_time.py): the rule itself, and every chapter under 45 minutes."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tools.reading_time import core_reading_time, main

ROOT = Path(__file__).parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("0[1-9]_*.ipynb"))
CORE_PATH_MINUTES = 45


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def optional(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell.metadata["tags"] = ["optional"]
    return cell


def test_the_rule_counts_han_words_and_code_cells_outside_optional() -> None:
    nb = notebook(
        nbformat.v4.new_markdown_cell("张量" * 90 + " tensor shape dtype"),  # 180 Han, 3 words
        nbformat.v4.new_code_cell("x = 1"),
        optional(nbformat.v4.new_markdown_cell("选读" * 500)),
        optional(nbformat.v4.new_code_cell("y = 2")),
    )
    t = core_reading_time(nb)
    assert (t.han, t.words, t.code_cells) == (180, 3, 1)
    assert t.minutes == pytest.approx(1 + 3 / 150 + 1)


def test_the_command_fails_over_the_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "99_long.ipynb"
    nbformat.write(notebook(*[nbformat.v4.new_code_cell("pass") for _ in range(3)]), path)
    assert main([str(path), "--max", "2"]) == 1
    assert "99_long.ipynb: 3.0 min" in capsys.readouterr().err
    assert main([str(path), "--max", "3"]) == 0


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name[:2])
def test_core_path_fits_in_45_minutes(path: Path) -> None:
    minutes = core_reading_time(nbformat.read(path, as_version=4)).minutes
    assert minutes <= CORE_PATH_MINUTES, (
        f"{path.name}: core path {minutes:.1f} min by tools/reading_time.py's rule; move what a first "
        f"reading can skip into a 选读 section (heading ending （选读）, cells tagged optional) or cut repeats")
