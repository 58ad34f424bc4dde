"""`make lab` opens a start page that says where to begin, with every chapter trusted."""
import re
import subprocess
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def make_dry(*args: str) -> str:
    """``make -n ARGS`` as on a fresh shell: no TORCH_INDEX or variables from a calling make."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in {"TORCH_INDEX", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    return subprocess.run(["make", "-n", "-W", "requirements.lock", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True).stdout
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
    assert "上次保存时的样子" in text and "不会有反应" in text  # a saved widget is a picture until the chapter runs
    assert "python -m nanogpt_lite doctor" in text


def test_start_page_gives_each_chapters_core_path_minutes_by_the_rule():
    """The table's last column is tools/reading_time.py's figure for that chapter, rounded: never stale."""
    from tools.reading_time import core_reading_time

    rows = re.findall(r"^\| \d \| \[(\d{2}_\w+)\]\(.*\| (\d+) \|$", start_text(), re.M)
    chapters = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if p != START)
    assert [name for name, _ in rows] == [p.stem for p in chapters]
    for (name, minutes), path in zip(rows, chapters):
        assert int(minutes) == round(core_reading_time(nbformat.read(path, as_version=4)).minutes), name


def test_start_page_has_no_code_to_go_stale():
    assert all(cell.cell_type == "markdown" for cell in nbformat.read(START, as_version=4).cells)


def test_make_lab_trusts_the_notebooks_and_opens_the_start_page():
    dry = make_dry("lab", "TORCH_INDEX=")
    trust = dry.index("jupyter trust notebooks/*.ipynb")
    assert trust < dry.index("jupyter lab notebooks/00_start.ipynb")
    assert "overrides.json" in dry and '"fetchNews": "false"' in dry  # no news toast
    assert '"extensions": ["nanogpt_lite.ipython"]' in dry and "etc/ipython/ipython_kernel_config.json" in dry


def _dry_setup(*overrides: str) -> str:
    return make_dry("setup", *overrides)


def test_linux_without_a_gpu_gets_the_cpu_torch_first():
    import platform
    import shutil

    import pytest

    if platform.system() != "Linux" or shutil.which("nvidia-smi"):
        pytest.skip("the CPU index is the default only on Linux without nvidia-smi")
    dry = _dry_setup()
    cpu = dry.index("--no-deps --index-url https://download.pytorch.org/whl/cpu torch==2.13.0")
    assert cpu < dry.index("-r requirements.lock")


def test_torch_index_can_be_turned_off_or_pointed_at_a_mirror():
    assert "index-url" not in _dry_setup("TORCH_INDEX=")
    assert "--index-url https://mirror.example/cpu torch==2.13.0" in _dry_setup("TORCH_INDEX=https://mirror.example/cpu")
