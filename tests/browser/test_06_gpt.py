"""Chapter 6 in a real browser: run every cell (your GPT trains 200 steps under tests; the explorer shows the reference GPT
loaded from its nanoGPT ckpt.pt), then drive the attention explorer."""
import re

import pytest

WIDGET = "nl-attention-explorer"
# children: (line dropdown, text box), (layer, head, position), error note, attention view, next-character table, output
NOTE = f".{WIDGET} > :nth-child(3)"
VIEW = f".{WIDGET} > :nth-child(4)"
NEXT = f".{WIDGET} > :nth-child(5)"
TITLE = f"{VIEW} .nl-att-title"


@pytest.fixture(scope="module")
def chapter(lab, browser):
    with lab.run_all(browser, "notebooks/06_gpt.ipynb") as opened:
        yield opened


def position(chapter) -> int:
    return int(re.search(r"位置 (\d+)", chapter.text(TITLE)).group(1))


def dropdown(chapter, label: str):
    return chapter.widget(WIDGET).locator(f".widget-dropdown:has-text('{label}') select")


def test_position_keys_move_the_highlight_and_the_prediction(chapter):
    handle = chapter.widget(WIDGET).locator(".widget-hslider:has-text('位置') .noUi-handle")
    handle.focus()
    start = position(chapter)
    for step in range(1, 6):
        before = chapter.text(NEXT)
        chapter.measure(WIDGET, VIEW, lambda: chapter.page.keyboard.press("ArrowLeft"), rf"位置 {start - step} ")
        future = chapter.page.locator(f"{VIEW} .nl-att-future").count()
        assert future == step, "the characters after the position are not greyed out"
        assert chapter.page.locator(f"{VIEW} .nl-att-here").count() == 1
        assert chapter.text(NEXT) != before  # a shorter context: a new distribution under a new heading
    assert not chapter.errors(f".{WIDGET}")
    chapter.screenshot(WIDGET)


def test_layer_and_head_change_the_weights(chapter):
    weights = lambda: chapter.page.locator(f"{VIEW} [data-weight]").evaluate_all("els => els.map(e => e.dataset.weight)")
    first = weights()
    chapter.measure(WIDGET, VIEW, lambda: dropdown(chapter, "层 layer").select_option(label="第 3 层"), r"第 3 层")
    assert weights() != first
    chapter.measure(WIDGET, VIEW, lambda: dropdown(chapter, "头 head").select_option(label="各头平均"), r"各头平均")
    shown = [float(w) for w in weights()]
    assert sum(shown) == pytest.approx(1.0, abs=0.01)  # one row of attention weights sums to 1
    chapter.measure(WIDGET, VIEW, lambda: dropdown(chapter, "头 head").select_option(label="头 1"), r"头 1 ")


def test_typing_a_line_and_refusing_an_unknown_character(chapter):
    box = chapter.widget(WIDGET).locator(".widget-text:has-text('或输入') input")
    line = "To be, or not to be, that is the question"
    chapter.measure(WIDGET, VIEW, lambda: (box.fill(line), box.press("Enter")), rf"位置 {len(line) - 1} 'n'")
    assert chapter.page.locator(f"{VIEW} .nl-att-char").count() == len(line)
    assert "之后，GPT 给下一个字符的概率" in chapter.text(NEXT)
    view = chapter.text(VIEW)
    box.fill("naïve")  # 'ï' is not in tiny Shakespeare
    box.press("Enter")
    chapter.widget(WIDGET).get_by_text("not in the vocabulary").wait_for()
    assert box.input_value() == "naïve" and chapter.text(VIEW) == view  # the typed text stays; so does the view
    chapter.measure(WIDGET, VIEW, lambda: dropdown(chapter, "选一行").select_option(index=1), r"位置 \d+")
    assert chapter.text(NOTE) == ""


def test_thirty_position_steps_for_the_latency_probe(chapter):
    handle = chapter.widget(WIDGET).locator(".widget-hslider:has-text('位置') .noUi-handle")
    at = position(chapter)
    first, back = ("ArrowLeft", "ArrowRight") if at >= 15 else ("ArrowRight", "ArrowLeft")
    for n in range(30):  # 15 steps one way, 15 back: 30 samples for the latency figure
        key = first if n < 15 else back
        at += -1 if key == "ArrowLeft" else 1
        handle.focus()  # the view's redraw may take the focus away from the slider
        chapter.measure(WIDGET, VIEW, lambda key=key: chapter.page.keyboard.press(key), rf"位置 {at} ")
    assert not chapter.errors(f".{WIDGET}")


def test_readable_in_light_and_dark_at_900_and_600px(chapter):
    problems = chapter.readability(WIDGET)
    assert not problems, "\n".join(problems)


def test_widgets_survive_save_close_and_reopen(chapter):
    problems = chapter.save_and_reopen([WIDGET])
    assert not problems, "\n".join(problems)
