"""Chapter 7 in a real browser: run every cell (two short rungs train under tests), then drive the ladder explorer."""
import pytest

WIDGET = "nl-ladder-explorer"
# children: (label, baseline, one checkbox per rung), (all, baseline only), the view (SVG + table), output
VIEW = f".{WIDGET} > :nth-child(3)"
CURVES = f"{VIEW} polyline.nl-ladder-curve"


@pytest.fixture(scope="module")
def chapter(lab, browser):
    with lab.run_all(browser, "notebooks/07_nanochat.ipynb") as opened:
        yield opened


def shown(chapter) -> list[str]:
    return chapter.page.locator(CURVES).evaluate_all("els => els.map(e => e.dataset.rung)")


def box(chapter, rung: str):
    return chapter.widget(WIDGET).locator(f".widget-checkbox:has(span:text-is('{rung}')) input[type=checkbox]")


def test_ticking_rungs_adds_and_removes_their_curves(chapter):
    assert shown(chapter) == ["nanoGPT", "all"]  # the baseline is always drawn; 'all' is ticked at the start
    chapter.measure(WIDGET, VIEW, lambda: box(chapter, "muon").check())
    assert shown(chapter) == ["nanoGPT", "muon", "all"]
    assert chapter.page.locator(f"{VIEW} tr.nl-ladder-row[data-rung='muon']").count() == 1
    chapter.measure(WIDGET, VIEW, lambda: box(chapter, "all").uncheck())
    assert shown(chapter) == ["nanoGPT", "muon"]
    assert not chapter.errors(f".{WIDGET}")
    chapter.screenshot(WIDGET)


def test_all_and_baseline_only_buttons(chapter):
    buttons = chapter.widget(WIDGET).locator("button")
    chapter.measure(WIDGET, VIEW, lambda: buttons.filter(has_text="全选").click())
    assert len(shown(chapter)) == 10
    chapter.measure(WIDGET, VIEW, lambda: buttons.filter(has_text="只看基准").click())
    assert shown(chapter) == ["nanoGPT"]
    assert chapter.page.locator(f"{VIEW} line.nl-ladder-equal-time").count() == 1


def test_twenty_toggles_for_the_latency_probe(chapter):
    for n in range(20):
        rung = ("rotary", "rmsnorm", "relu2", "softcap")[n % 4]
        on = (n // 4) % 2 == 0
        action = (lambda r=rung: box(chapter, r).check()) if on else (lambda r=rung: box(chapter, r).uncheck())
        chapter.measure(WIDGET, VIEW, action)  # any change of the view's text (its legend and table name the rungs)
        assert (rung in shown(chapter)) is on
    assert not chapter.errors(f".{WIDGET}")


def test_readable_in_light_and_dark_at_900_and_600px(chapter):
    problems = chapter.readability(WIDGET)
    assert not problems, "\n".join(problems)


def test_widgets_survive_save_close_and_reopen(chapter):
    problems = chapter.save_and_reopen([WIDGET])
    assert not problems, "\n".join(problems)
