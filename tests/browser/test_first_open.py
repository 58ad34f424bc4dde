"""Each chapter as a learner first opens it, before running anything: its saved widgets drawn from the file, with no
error-looking icon (ipywidgets marks a widget with no live kernel by red "broken chain" icons; ours show one grey line
instead, saying that they wait for the chapter to run: nanogpt_lite/widgets/saved.py), and no output that takes room
but shows nothing (a training cell's finished progress bar stays on the page, tqdm's ``leave=True``).

Not checked: the tab's "modified" mark. With saveState on (what makes widgets survive a save, `make lab` and
tests/browser/conftest.py), ipywidgets' manager marks the notebook modified as it restores each saved widget model
(jupyterlab-manager's register_model → setDirty), so every chapter with a widget shows it on open. Measured here:
with saveState off, chapter 2 opens unmodified.
"""
from __future__ import annotations

from pathlib import Path

import pytest

CHAPTERS = sorted(p.name for p in (Path(__file__).parents[2] / "notebooks").glob("0[1-9]_*.ipynb"))
BROKEN_CHAIN = "\uf127"  # Font Awesome's chain-broken glyph, ipywidgets' disconnected icon


@pytest.fixture(scope="module")
def page(lab, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.mark.parametrize("name", CHAPTERS)
def test_first_open_shows_waiting_widgets_and_no_blank_gap(lab, page, name):
    seen = lab.first_open(page, f"notebooks/{name}")
    assert not seen["errors"], seen["errors"]
    assert not seen["blank"], seen["blank"]
    red = [icon for icon in seen["icons"] if BROKEN_CHAIN in icon["content"]]
    assert not red, f"{name}: {len(red)} broken-chain icons on its saved widgets"
    roots = [icon for icon in seen["icons"] if icon["root"]]
    assert roots and all("运行" in icon["content"] for icon in roots), roots
