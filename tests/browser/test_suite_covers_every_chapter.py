"""The browser suite keeps up with the series: every chapter has a module that drives each of its widgets."""
import json
from pathlib import Path

HERE = Path(__file__).parent
NOTEBOOKS = HERE.parents[1] / "notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def saved_widget_classes(notebook: Path) -> set[str]:
    """The nl-* CSS classes in the notebook's saved widget state (one per chapter widget)."""
    state = json.loads(notebook.read_text(encoding="utf-8"))["metadata"].get("widgets", {}).get(WIDGET_STATE, {})
    return {c for model in state.get("state", {}).values() for c in model["state"].get("_dom_classes", [])
            if c.startswith("nl-")}


def test_every_chapter_has_a_browser_module_that_drives_its_widgets():
    chapters = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p.stem != "00_start")  # the start page has no widget
    assert chapters, f"no chapter notebooks in {NOTEBOOKS}"
    for notebook in chapters:
        module = HERE / f"test_{notebook.stem}.py"
        assert module.is_file(), f"{notebook.name} has no browser test: add {module.relative_to(HERE.parents[1])}"
        source = module.read_text(encoding="utf-8")
        assert f'"notebooks/{notebook.name}"' in source, f"{module.name} does not open {notebook.name}"
        for css_class in saved_widget_classes(notebook):
            assert f'"{css_class}"' in source, f"{module.name} never drives the .{css_class} widget"
