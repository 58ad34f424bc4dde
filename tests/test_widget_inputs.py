import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_lite.instruments.inspection import Table
from nanogpt_lite.widgets import enumerate_stepper, inputs, sampling_explorer, tokenizer_playground
from nanogpt_lite.widgets.inputs import CHIP_INK, ErrorGuard, IntField, error_note, parse_int


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_parse_int_takes_whole_numbers_only():
    assert [parse_int(t, "start") for t in ("7", " -3 ", "+4", "0")] == [7, -3, 4, 0]
    for typed in ("2.5", "", " ", "1e3", "abc", "1_000", "--1", "3 4"):
        with pytest.raises(ValueError) as error:
            parse_int(typed, "start")
        assert str(error.value) == f"start 必须是整数 / start must be an integer: got {typed!r}"


def test_parse_int_names_the_bounds_instead_of_clamping():
    assert parse_int("0", "seed", (0, 9)) == 0 and parse_int("9", "seed", (0, 9)) == 9
    with pytest.raises(ValueError, match=r"^seed 必须在 0 到 9 之间 / seed must be between 0 and 9: got -5$"):
        parse_int("-5", "seed", (0, 9))
    with pytest.raises(ValueError, match="got 10$"):
        parse_int("10", "seed", (0, 9))


@given(st.integers(min_value=-10**30, max_value=10**30))
def test_parse_int_reads_back_every_int(n):
    assert parse_int(str(n), "n") == n


def test_int_field_keeps_what_was_typed_and_the_last_good_value():
    field = IntField(3, "start=", "start")
    seen = []
    field.observe(lambda change: seen.append(change["new"]), names="value")
    assert field.value == 3 and field.text.value == "3" and field.note.value == ""
    field.text.value = "2.5"
    assert field.value == 3 and field.text.value == "2.5" and seen == []
    assert "start 必须是整数 / start must be an integer: got &#x27;2.5&#x27;" in field.note.value
    field.text.value = "+12"
    assert field.value == 12 and field.text.value == "+12" and field.note.value == "" and seen == [12]
    field.value = 4  # set from Python: the box shows it
    assert field.text.value == "4" and seen == [12, 4]


def test_int_field_bounds_are_shown_and_enforced():
    field = IntField(5, "种子 seed", "seed", bounds=(0, 100))
    assert field.text.placeholder == "0 … 100" and not field.text.continuous_update  # read on Enter, not per key
    field.text.value = "-5"
    assert field.value == 5 and "got -5" in field.note.value
    with pytest.raises(ValueError, match="between 0 and 100"):
        field.value = 101
    with pytest.raises(ValueError, match="between 0 and 100"):
        IntField(-1, "种子 seed", "seed", bounds=(0, 100))


def test_error_note_is_escaped_and_empty_for_no_message():
    assert error_note("") == ""
    note = error_note("start 必须是整数 / start must be an integer: got '<b>'")
    assert "&lt;b&gt;" in note and "<b>" not in note
    assert html.unescape(re.sub(r"<[^>]+>", "", note)) == "start 必须是整数 / start must be an integer: got '<b>'"


def test_fixed_colour_pairs_are_readable_in_any_theme():
    """Text drawn on a background of its own colour: WCAG AA (4.5:1) whatever the theme around it."""
    background, ink = re.search(r"background:(#\w{6});color:(#\w{6})", inputs.ERROR_NOTE).groups()
    assert contrast(background, ink) >= 4.5
    chips = [tokenizer_playground.chip_colour(i) for i in range(400)] + [tokenizer_playground.chip_colour(None)]
    assert min(contrast(c, CHIP_INK) for c in chips) >= 4.5
    steps = (enumerate_stepper.DONE, enumerate_stepper.NEWEST, enumerate_stepper.REPLACED)
    assert min(contrast(c, CHIP_INK) for c in steps) >= 4.5
    assert contrast(sampling_explorer.PICKED, "#000000") >= 4.5  # the drawn character's mark
    marks = re.findall(r"color:(#\w{6})", Table(("yes", "no"), ((True, False),))._repr_html_())
    assert len(marks) == 2 and min(contrast(c, "#ffffff") for c in marks) >= 4.5  # ✓/✗ cells: white in the explorer


def test_error_guard_reraises_outside_a_kernel_and_clears_once_fixed():
    import ipywidgets as widgets

    out = widgets.Output()
    guard = ErrorGuard(out)
    calls = []
    broken = guard(lambda x: calls.append(1 / x))
    with pytest.raises(ZeroDivisionError):  # no kernel: the Output cannot swallow it, so the test sees it
        broken(0)
    assert guard.failed
    cleared = []
    out.clear_output = lambda *a, **k: cleared.append(k)  # noqa: ARG005 - record the call only
    broken(2)
    assert calls == [0.5] and not guard.failed and cleared == [{}]
    broken(4)
    assert cleared == [{}]  # nothing sent while nothing fails


def _chapter_widgets(tok, data) -> dict[str, tuple[object, object, object, object]]:
    """Each chapter widget that has an error Output: (widget, a control, a new value for it, the view it updates)."""
    import torch

    import nanogpt_lite as nl
    from nanogpt_lite.gpt import GPT, GPTConfig
    from nanogpt_lite.widgets.attention_explorer import AttentionExplorer
    from nanogpt_lite.ladder import load_results
    from nanogpt_lite.widgets.gradient_inspector import GradientInspector
    from nanogpt_lite.widgets.ladder_explorer import LadderExplorer
    from nanogpt_lite.widgets.module_explorer import ModuleExplorer

    torch.manual_seed(0)
    gpt = GPT(GPTConfig(block_size=16, vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=8))
    bigram = nl.count_model(nl.bigram_probs(nl.bigram_counts(data, tok.vocab_size), smoothing=0.1))
    playground = tokenizer_playground.TokenizerPlayground({"char": tok}, text="hello")
    stepper = enumerate_stepper.EnumerateStepper("hello")
    explorer = ModuleExplorer()
    sampler = sampling_explorer.SamplingExplorer(bigram, tok, length=20)
    attention = AttentionExplorer(gpt, tok, ["hello world"])
    inspector = GradientInspector()
    meta, rungs = load_results()
    ladder = LadderExplorer(rungs, meta["seconds"])
    ladder_box = next(box for box in ladder.boxes.values() if not box.value)
    return {"tokenizer playground": (playground, playground.text, "hello w", playground.view),
            "enumerate stepper": (stepper, stepper.step, 2, stepper.view),
            "module explorer": (explorer, explorer.attach, explorer.attach.options[-1], explorer.attach_html),
            "sampling explorer": (sampler, sampler.temperature, 0.5, sampler.report),
            "attention explorer": (attention, attention.position, 3, attention.view),
            "gradient inspector": (inspector, inspector.lr, 0.05, inspector.view),
            "ladder explorer": (ladder, ladder_box, True, ladder.view)}


def test_a_working_input_sends_nothing_to_a_widgets_error_output(small_tok, small_data, monkeypatch):
    """``out.capture(clear_output=True)`` sends a clear_output and four Output updates on every input, most of a
    widget's round trip in the browser; ErrorGuard sends nothing until a callback fails."""
    from ipywidgets import Output

    sent: list[str] = []
    monkeypatch.setattr(Output, "clear_output", lambda self, *a, **k: sent.append("clear_output"))
    monkeypatch.setattr(Output, "__enter__", lambda self: sent.append("capture"))
    for name, (widget, control, value, view) in _chapter_widgets(small_tok, small_data).items():
        sent.clear()
        before = view.value
        control.value = value
        assert view.value != before, f"{name}: the input did not change its view"
        assert sent == [], f"{name} sent {sent} to its error Output"
