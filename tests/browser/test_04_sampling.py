"""Chapter 4 in a real browser: run every cell, then turn the sampling explorer's knobs."""
import re

import pytest

WIDGET = "nl-sampling-explorer"
# children: (context, seed), (temperature, top-k), mode buttons, chart (HTML bars), report, error output
CHART = f".{WIDGET} > :nth-child(4) .nl-distribution"
REPORT = f".{WIDGET} > :nth-child(5)"
SAMPLE = f"{REPORT} pre.nl-sample"


@pytest.fixture(scope="module")
def chapter(lab, browser):
    with lab.run_all(browser, "notebooks/04_sampling.ipynb") as opened:
        yield opened


def chart_html(chapter) -> str:
    return chapter.page.locator(CHART).first.inner_html()


def set_seed(chapter, seed: int) -> None:
    box = chapter.widget(WIDGET).locator(".widget-text:has-text('种子') input")
    chapter.measure(WIDGET, REPORT, lambda: (box.fill(str(seed)), box.press("Enter")), rf"种子 {seed}$|种子 {seed}\n")


def test_temperature_keys_redraw_the_chart_and_the_text(chapter):
    handle = chapter.widget(WIDGET).locator(".widget-hslider:has-text('温度') .noUi-handle")
    handle.focus()
    for step in range(1, 6):
        before = chart_html(chapter)
        temperature = 1 + 0.05 * step
        chapter.measure(WIDGET, REPORT, lambda: chapter.page.keyboard.press("ArrowRight"), rf"T={temperature:g} ·")
        assert chart_html(chapter) != before, "the chart did not change with the temperature"
        assert f"T={temperature:g} ·" in chapter.text(f"{CHART} .nl-dist-title")
        assert chapter.page.locator(f"{CHART} .nl-bar.nl-picked").count() == 1  # the drawn character, highlighted
    assert chapter.text(SAMPLE).startswith("e")  # the explorer starts from context 'e'
    chapter.screenshot(WIDGET)


def test_multinomial_text_depends_on_the_seed(chapter):
    set_seed(chapter, 1)
    first = chapter.text(SAMPLE)
    set_seed(chapter, 2)
    assert chapter.text(SAMPLE) != first
    set_seed(chapter, 1)
    assert chapter.text(SAMPLE) == first  # same seed, same text


def test_argmax_ignores_the_seed(chapter):
    buttons = chapter.widget(WIDGET).locator(".widget-toggle-buttons button")
    chapter.measure(WIDGET, REPORT, lambda: buttons.get_by_text("argmax 贪婪").click(), "argmax")
    greedy = chapter.text(SAMPLE)
    set_seed(chapter, 99)
    assert chapter.text(SAMPLE) == greedy
    chapter.measure(WIDGET, REPORT, lambda: buttons.get_by_text("multinomial 随机采样").click(), "multinomial")


def test_top_k_one_is_greedy_and_context_sets_the_first_character(chapter):
    explorer = chapter.widget(WIDGET)
    chapter.measure(WIDGET, REPORT, lambda: explorer.locator("select").select_option(label="'t'"), r"上下文 't'")
    assert chapter.text(SAMPLE).startswith("t")
    handle = explorer.locator(".widget-hslider:has-text('top-k') .noUi-handle")
    handle.focus()
    chapter.measure(WIDGET, REPORT, lambda: chapter.page.keyboard.press("Home"), r"top-k=1 ")
    top1 = chapter.text(SAMPLE)
    buttons = explorer.locator(".widget-toggle-buttons button")
    chapter.measure(WIDGET, REPORT, lambda: buttons.get_by_text("argmax 贪婪").click(), "argmax")
    assert chapter.text(SAMPLE) == top1  # keeping only the likeliest character is argmax
    assert not chapter.errors(f".{WIDGET}")


def test_seed_refuses_a_negative_number(chapter):
    set_seed(chapter, 7)
    box = chapter.widget(WIDGET).locator(".widget-text:has-text('种子') input")
    report = chapter.text(REPORT)
    box.fill("-5")
    box.press("Enter")
    chapter.widget(WIDGET).get_by_text("got -5").wait_for()
    assert box.input_value() == "-5" and chapter.text(REPORT) == report  # the typed text stays; so does the sample


def test_thirty_temperature_steps_for_the_latency_probe(chapter):
    handle = chapter.widget(WIDGET).locator(".widget-hslider:has-text('温度') .noUi-handle")
    handle.focus()
    temperature = float(re.search(r"T=([\d.]+) ·", chapter.text(REPORT)).group(1))
    for n in range(30):  # 15 steps up, 15 down: 30 samples for the latency figure
        temperature = round(temperature + (0.05 if n < 15 else -0.05), 2)
        chapter.measure(WIDGET, REPORT, lambda: chapter.page.keyboard.press("ArrowRight" if n < 15 else "ArrowLeft"),
                        rf"T={temperature:g} ·")
    assert not chapter.errors(f".{WIDGET}")


def test_readable_in_light_and_dark_at_900_and_600px(chapter):
    argmax = chapter.widget(WIDGET).locator(".widget-toggle-buttons button").get_by_text("argmax 贪婪")
    if "mod-active" not in (argmax.get_attribute("class") or ""):
        chapter.measure(WIDGET, REPORT, argmax.click, "argmax")  # the picked bar is the tallest one
    problems = chapter.readability(WIDGET)
    note, subtitle = (chapter.page.locator(f"{CHART} {part}").bounding_box() for part in (".nl-drawn", ".nl-dist-subtitle"))
    assert note["y"] >= subtitle["y"] + subtitle["height"], "the picked bar's label overlaps the subtitle"
    assert not problems, "\n".join(problems)


def test_widgets_survive_save_close_and_reopen(chapter):
    problems = chapter.save_and_reopen([WIDGET])
    assert not problems, "\n".join(problems)
