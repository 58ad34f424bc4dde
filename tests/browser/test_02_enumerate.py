"""Chapter 2 in a real browser: run every cell, then step enumerate('hello') with the stepper's controls."""
import pytest

WIDGET = "nl-enumerate-stepper"
VIEW = f".{WIDGET} .widget-html"
HELLO = [(0, "h"), (1, "e"), (2, "l"), (3, "l"), (4, "o")]


@pytest.fixture(scope="module")
def chapter(lab, browser):
    with lab.run_all(browser, "notebooks/02_enumerate.ipynb") as opened:
        yield opened


def test_slider_keys_step_through_hello(chapter):
    stepper = chapter.widget(WIDGET)
    handle = stepper.locator(".widget-slider .noUi-handle")
    handle.focus()
    for k, (i, ch) in enumerate(HELLO, start=1):
        chapter.measure(WIDGET, VIEW, lambda: chapter.page.keyboard.press("ArrowRight"),
                        rf"第 {k} 次 next\(\) → \({i}, '{ch}'\)")
    view = chapter.text(VIEW)
    assert "已调用 next() 5 次" in view
    assert "stoi = {'h': 0, 'e': 1, 'l': 3, 'o': 4}" in view
    chapter.screenshot(WIDGET)


def test_the_second_l_overwrites_stoi(chapter):
    handle = chapter.widget(WIDGET).locator(".widget-slider .noUi-handle")
    handle.focus()
    chapter.measure(WIDGET, VIEW, lambda: chapter.page.keyboard.press("ArrowLeft"), r"第 4 次 next\(\)")
    assert "'l' 已在 stoi 里（旧值 2），被覆盖成 3" in chapter.text(VIEW)


def test_typing_a_new_text_resizes_the_steps(chapter):
    text_box = chapter.widget(WIDGET).locator(".widget-text input").first
    chapter.measure(WIDGET, VIEW, lambda: text_box.fill("abc"), r"3 个元素")
    view = chapter.text(VIEW)
    assert "已调用 next() 3 次" in view  # the step (4) was pulled down to the new length
    assert "第 3 次 next() → (2, 'c')" in view


def test_start_changes_only_the_numbers(chapter):
    start_box = chapter.widget(WIDGET).locator(".widget-inline-hbox:has-text('start=') input")

    def type_start():
        start_box.fill("1")
        start_box.press("Enter")

    chapter.measure(WIDGET, VIEW, type_start, r"start=1")
    assert "第 3 次 next() → (3, 'c')" in chapter.text(VIEW)


def test_unique_checkbox_dedupes_like_chapter_1(chapter):
    stepper = chapter.widget(WIDGET)
    text_box = stepper.locator(".widget-text input").first
    chapter.measure(WIDGET, VIEW, lambda: text_box.fill("hello"), r"5 个元素")
    chapter.measure(WIDGET, VIEW, lambda: stepper.locator(".widget-checkbox input").check(), r"4 个元素")
    assert "'e'" in chapter.text(VIEW) and "⚠" not in chapter.text(VIEW)


def test_drag_to_the_end_and_play(chapter):
    stepper = chapter.widget(WIDGET)
    handle = stepper.locator(".widget-slider .noUi-handle")
    track = stepper.locator(".widget-slider .noUi-base").bounding_box()
    start = handle.bounding_box()
    mouse = chapter.page.mouse

    def drag_to_end():
        mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
        mouse.down()
        mouse.move(track["x"] + track["width"] + 20, start["y"] + start["height"] / 2, steps=5)
        mouse.up()

    chapter.measure(WIDGET, VIEW, drag_to_end, r"已调用 next\(\) 4 次")
    handle.focus()
    chapter.measure(WIDGET, VIEW, lambda: chapter.page.keyboard.press("Home"), r"还没调用 next\(\)")
    stepper.locator(".widget-play button").first.click()  # Play runs in the browser (jslink), one step per interval
    chapter.page.wait_for_function(
        "sel => document.querySelector(sel).innerText.includes('已调用 next() 2 次')", arg=VIEW, timeout=10_000)
    assert not chapter.errors(f".{WIDGET}")
