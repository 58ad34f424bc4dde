"""Chapter 2 in a real browser: run every cell, then step enumerate('hello') with the stepper's controls."""
import pytest

WIDGET = "nl-enumerate-stepper"
VIEW = f".{WIDGET} > .widget-html"  # the view, not the start box's note
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
    chapter.page.keyboard.press("Home")  # wherever the slider was
    chapter.page.locator(VIEW).get_by_text("还没调用 next()").wait_for()
    stepper.locator(".widget-play button").first.click()  # Play runs in the browser (jslink), one step per interval
    chapter.page.wait_for_function(
        "sel => document.querySelector(sel).innerText.includes('已调用 next() 2 次')", arg=VIEW, timeout=10_000)
    assert not chapter.errors(f".{WIDGET}")


def test_start_refuses_what_is_not_an_integer(chapter):
    start_box = chapter.widget(WIDGET).locator(".widget-inline-hbox:has-text('start=') input")
    before = chapter.text(VIEW)
    start_box.fill("2.5")
    start_box.press("Enter")
    chapter.widget(WIDGET).get_by_text("start 必须是整数 / start must be an integer: got '2.5'").wait_for()
    assert start_box.input_value() == "2.5" and chapter.text(VIEW) == before  # the typed text stays; so does the view


def test_thirty_slider_steps_for_the_latency_probe(chapter):
    stepper = chapter.widget(WIDGET)
    stepper.locator(".widget-checkbox input").set_checked(False)
    chapter.measure(WIDGET, VIEW, lambda: stepper.locator(".widget-text input").first.fill("hello world"), r"11 个元素")
    stepper.locator(".widget-play button").nth(1).click()  # stop: back to 0
    chapter.page.locator(VIEW).get_by_text("还没调用 next()").wait_for()
    stepper.locator(".widget-slider .noUi-handle").focus()
    k = 0
    for n in range(30):  # ten steps right, ten back, ten right: 30 samples for the latency figure
        key, k = ("ArrowRight", k + 1) if (n // 10) % 2 == 0 else ("ArrowLeft", k - 1)
        chapter.measure(WIDGET, VIEW, lambda: chapter.page.keyboard.press(key), rf"已调用 next\(\) {k} 次")
    assert "已调用 next() 10 次" in chapter.text(VIEW)


def test_readable_in_light_and_dark_at_900_and_600px(chapter):
    stepper = chapter.widget(WIDGET)
    stepper.locator(".widget-checkbox input").set_checked(False)
    chapter.measure(WIDGET, VIEW, lambda: stepper.locator(".widget-text input").first.fill("hello!"), r"6 个元素")
    stepper.locator(".widget-play button").nth(1).click()  # stop: back to 0, and Play no longer steps on its own
    chapter.page.locator(VIEW).get_by_text("还没调用 next()").wait_for()
    stepper.locator(".widget-slider .noUi-handle").focus()
    for k in range(1, 5):  # step 4 overwrites 'l': done, current, newest and replaced boxes all show
        chapter.measure(WIDGET, VIEW, lambda: chapter.page.keyboard.press("ArrowRight"), rf"已调用 next\(\) {k} 次")
    assert "被覆盖成" in chapter.text(VIEW)
    problems = chapter.readability(WIDGET)
    assert not problems, "\n".join(problems)


def test_widgets_survive_save_close_and_reopen(chapter):
    problems = chapter.save_and_reopen([WIDGET])
    assert not problems, "\n".join(problems)
