import html
import re

import pytest
from ipywidgets.widgets.widget_link import Link

from nanogpt_lite.widgets import enumerate_stepper
from nanogpt_lite.widgets.enumerate_stepper import EnumerateStepper, render_step, sequence_of, steps_figure


def shown(markup: str) -> str:
    """The text a learner reads: tags and the style block removed, entities decoded, spaces collapsed."""
    text = re.sub(r"<style>.*?</style>|</?(div|br)\b[^>]*>", " ", markup, flags=re.S)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\s+", " ", html.unescape(text))


def newest(markup: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<span class="nl-newest">(.*?)</span>', markup)]


def test_sequence_is_the_text_or_chapter_ones_sorted_set():
    assert sequence_of("hello", unique=False) == ["h", "e", "l", "l", "o"]
    assert sequence_of("hello", unique=True) == ["e", "h", "l", "o"]


def test_before_the_first_next_both_dicts_are_empty():
    assert "还没调用 next()：stoi = {}，itos = {}" in shown(render_step(list("hi"), 0))
    assert "空序列" in shown(render_step([], 0))


def test_each_step_shows_the_pair_and_highlights_the_newest_entry():
    page = render_step(list("hello"), 3)
    assert "第 3 次 next() → (2, 'l')" in shown(page)
    assert "stoi = {'h': 0, 'e': 1, 'l': 2}" in shown(page)
    assert newest(page) == ["'l': 2", "2: 'l'"]  # one in stoi, one in itos
    assert '<span class="nl-chip nl-current">&#x27;l&#x27;<br><small>2</small>' in page


def test_a_repeated_character_is_overwritten_and_flagged():
    page = shown(render_step(list("hello"), 4))
    assert "stoi = {'h': 0, 'e': 1, 'l': 3}" in page and "len(stoi) = 3，len(itos) = 4" in page
    assert "已在 stoi 里（旧值 2），被覆盖成 3" in page
    assert "旧值" not in shown(render_step(list("hello"), 3))


def test_start_shifts_every_index_but_not_the_items():
    page = shown(render_step(list("abc"), 1, start=10))
    assert "(10, 'a')" in page and "enumerate(序列, start=10)" in page
    assert "enumerate('<b>', start=0)" in shown(render_step(list("<b>"), 0, name="'<b>'"))


def test_special_characters_are_escaped_and_shown_as_repr():
    page = render_step(["\n", "<"], 2)
    assert "<b>" in page and "'<'" not in page  # the character '<' never reaches the HTML raw
    assert "stoi = {'\\n': 0, '<': 1}" in shown(page)


def test_step_outside_the_sequence_is_named():
    with pytest.raises(ValueError, match=r"^第 k=6 步超出范围.*k=6 is outside 0\.\.5"):
        render_step(list("hello"), 6)


def test_widget_shows_what_the_slider_says():
    w = EnumerateStepper("hello")
    assert "nl-enumerate-stepper" in w._dom_classes
    assert w.step.max == w.play.max == 5 and w.link.source == (w.play, "value") and w.link.target == (w.step, "value")
    assert type(w.link) is Link  # both ways, in the browser (not a DirectionalLink): no update from Python to race
    assert "还没调用 next()" in shown(w.view.value) and "enumerate('hello', start=0)" in shown(w.view.value)
    w.step.value = 4
    assert "(3, 'l')" in shown(w.view.value) and "旧值 2" in shown(w.view.value)
    # Play goes on from where the slider is: the link does that in the browser (tests/browser/test_02_enumerate.py)
    w.start.value = 1
    assert "(4, 'l')" in shown(w.view.value) and "旧值 3" in shown(w.view.value)


def test_widget_follows_the_text_and_the_unique_box():
    w = EnumerateStepper("hello", start=0)
    w.step.value = 5
    w.unique.value = True  # e h l o: four items, the slider is pulled back to 4
    assert w.step.max == w.play.max == 4 and w.step.value == 4
    assert "enumerate(sorted(set('hello')), start=0)" in shown(w.view.value)
    assert "stoi = {'e': 0, 'h': 1, 'l': 2, 'o': 3}" in shown(w.view.value)
    w.text.value = "ab"
    assert w.step.max == 2 and "(1, 'b')" in shown(w.view.value)
    w.text.value = ""
    assert w.step.max == 0 and "空序列" in shown(w.view.value)


def test_start_refuses_what_is_not_an_integer_and_keeps_the_last_good_one():
    w = EnumerateStepper("hello", start=3)
    w.step.value = 1
    view = w.view.value
    w.start.text.value = "2.5"  # IntText would have read 25
    assert w.start.value == 3 and w.start.text.value == "2.5" and w.view.value == view
    assert html.escape("start 必须是整数 / start must be an integer: got '2.5'") in w.start.note.value
    w.start.text.value = "-2"
    assert w.start.note.value == "" and "(-2, 'h')" in shown(w.view.value)


def test_controls_wrap_instead_of_being_clipped():
    w = EnumerateStepper()
    assert all(row.layout.flex_flow == "row wrap" for row in w.children[:2])
    assert w.unique.layout.width == "auto" and not w.unique.indent


def test_errors_in_the_callback_are_not_swallowed(monkeypatch):
    w = EnumerateStepper("hello")

    def broken(*args):
        raise RuntimeError("view failed")

    monkeypatch.setattr(enumerate_stepper, "render_step", broken)
    with pytest.raises(RuntimeError, match="view failed"):  # in a kernel, Output.capture shows it instead
        w.step.value = 1


def test_static_figure_draws_every_stoi_entry_of_every_step():
    fig = steps_figure("hello")
    ax = fig.axes[0]
    boxes = [t for t in ax.texts if t.get_bbox_patch() is not None]
    assert len(boxes) == 1 + 2 + 3 + 3 + 4  # the repeated 'l' adds no entry
    red = [t.get_text() for t in boxes if t.get_bbox_patch().get_facecolor()[:3] == (0xEF / 255, 0x9A / 255, 0x9A / 255)]
    assert red == ["'l':3"]
    notes = [t.get_text() for t in ax.texts if t.get_text().startswith("←")]
    assert notes == ["← 旧值 2 被覆盖"] or notes == ["← old id 2 overwritten"]
    assert "enumerate('hello', start=0)" in ax.get_title()


def test_static_figure_respects_unique_start_and_max_steps():
    ax = steps_figure("hello world", start=1, unique=True, max_steps=3).axes[0]
    rows = [t.get_text() for t in ax.texts if t.get_bbox_patch() is None and t.get_text().startswith("(")]
    assert rows == ["(1, ' ')", "(2, 'd')", "(3, 'e')"]
    assert "sorted(set('hello world'))" in ax.get_title()


def test_a_failing_view_is_shown_then_cleared_once_it_works(monkeypatch):
    """Inside a kernel the Output shows the traceback; here (no kernel) it propagates, and the next good input clears."""
    w = EnumerateStepper("hello")
    cleared = []
    monkeypatch.setattr(w.out, "clear_output", lambda *a, **k: cleared.append(k))
    real = enumerate_stepper.render_step
    monkeypatch.setattr(enumerate_stepper, "render_step", lambda *a: (_ for _ in ()).throw(RuntimeError("broken")))
    with pytest.raises(RuntimeError, match="broken"):
        w.step.value = 1
    assert cleared == [{"wait": True}]
    monkeypatch.setattr(enumerate_stepper, "render_step", real)
    w.step.value = 2
    assert cleared == [{"wait": True}, {}] and "(1, 'e')" in shown(w.view.value)
    w.step.value = 3
    assert len(cleared) == 2  # a working input sends nothing to the Output widget

