"""Chapter 3 in a real browser: run every cell, then pick models and ways of attaching ``extra``."""
import re

import pytest

from nanogpt_lite.instruments.examples import EXAMPLE_MODELS, example_model
from nanogpt_lite.instruments.inspection import ATTACH_CODE

WIDGET = "nl-module-explorer"
MODEL_VIEW = f".{WIDGET} > :nth-child(3)"  # children: title, model dropdown, model view, title, attach buttons, ...
ATTACH_VIEW = f".{WIDGET} > :nth-child(6)"
# What PyTorch registers for each way of attaching ``extra`` (the lesson of 3.x), as the tree labels it.
TREE_LABEL = {"Parameter": "extra  (4,)  4  [参数]", "tensor": "[未注册]", "buffer": "extra  (4,)  4  [缓冲区]",
              "float": "extra = float 2.0  [未注册]", "ModuleList": "extra: ModuleList()  [子模块]"}


@pytest.fixture(scope="module")
def chapter(lab, browser):
    with lab.run_all(browser, "notebooks/03_parameters.ipynb") as opened:
        yield opened


@pytest.mark.parametrize("key", [key for key in EXAMPLE_MODELS if key != "bigram"] + ["bigram"])
def test_picking_a_model_shows_its_tree_and_parameter_count(chapter, key):
    call, _ = EXAMPLE_MODELS[key]
    model = example_model(key)
    total = sum(p.numel() for p in model.parameters())
    dropdown = chapter.widget(WIDGET).locator("select").first
    chapter.measure(WIDGET, MODEL_VIEW, lambda: dropdown.select_option(label=call), type(model).__name__)
    view = chapter.text(MODEL_VIEW)
    assert view.startswith(type(model).__name__)
    assert f"参数共 {total:,} 个数" in view
    for name, _ in model.named_parameters():
        assert name in view


@pytest.mark.parametrize("kind", list(TREE_LABEL))
def test_attaching_extra_another_way_remeasures_the_matrix(chapter, kind):
    buttons = chapter.widget(WIDGET).locator(".widget-toggle-buttons button")
    if "mod-active" in (buttons.get_by_text(kind, exact=True).get_attribute("class") or ""):
        buttons.get_by_text("float", exact=True).click()  # start from another kind so the click changes the view
        chapter.page.wait_for_function("s => document.querySelector(s).innerText.includes('float 2.0')", arg=ATTACH_VIEW)
    chapter.measure(WIDGET, ATTACH_VIEW, lambda: buttons.get_by_text(kind, exact=True).click(), re.escape(ATTACH_CODE[kind]))
    assert TREE_LABEL[kind] in chapter.text(ATTACH_VIEW)
    assert not chapter.errors(f".{WIDGET}")
    chapter.screenshot(WIDGET)


def test_thirty_model_picks_for_the_latency_probe(chapter):
    dropdown = chapter.widget(WIDGET).locator("select").first
    calls = [call for call, _ in EXAMPLE_MODELS.values()]
    names = {call: type(example_model(key)).__name__ for key, (call, _) in EXAMPLE_MODELS.items()}
    shown = dropdown.locator("option:checked").inner_text()
    start = calls.index(shown) + 1 if shown in calls else 0
    for n in range(30):  # the next model each time, never the one shown: 30 samples for the latency figure
        call = calls[(start + n) % len(calls)]
        chapter.measure(WIDGET, MODEL_VIEW, lambda: dropdown.select_option(label=call), names[call])
    assert chapter.text(MODEL_VIEW).startswith(names[call])


def test_readable_in_light_and_dark_at_900_and_600px(chapter):
    problems = chapter.readability(WIDGET)
    assert not problems, "\n".join(problems)


def test_widgets_survive_save_close_and_reopen(chapter):
    problems = chapter.save_and_reopen([WIDGET])
    assert not problems, "\n".join(problems)
