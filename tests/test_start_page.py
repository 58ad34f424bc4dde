"""`make lab` opens a start page that says where to begin, with every chapter trusted."""
import re
import subprocess
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
START = ROOT / "notebooks" / "00_start.ipynb"


def start_text() -> str:
    return "\n".join(cell.source for cell in nbformat.read(START, as_version=4).cells)


def test_start_page_links_every_chapter_that_exists():
    chapters = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if p != START)
    links = re.findall(r"\]\(([0-9]{2}_\w+\.ipynb)\)", start_text())
    assert links == chapters


def test_start_page_says_how_to_run_and_what_raw_widget_text_means():
    text = start_text()
    assert "Run All Cells" in text and "运行全部单元格" in text
    assert "children=(" in text and "还没有运行" in text
    assert "python -m nanogpt_lite doctor" in text


def test_start_page_has_no_code_to_go_stale():
    assert all(cell.cell_type == "markdown" for cell in nbformat.read(START, as_version=4).cells)


def test_make_lab_trusts_the_notebooks_and_opens_the_start_page():
    dry = subprocess.run(["make", "-n", "-W", "requirements.lock", "lab", "TORCH_INDEX="], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    trust = dry.index("jupyter trust notebooks/*.ipynb")
    assert trust < dry.index("jupyter lab notebooks/00_start.ipynb")
    assert "overrides.json" in dry and '"fetchNews": "false"' in dry  # no news toast
