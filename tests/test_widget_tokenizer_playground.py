import html
import re

import pytest
from ipywidgets.widgets import widget_output
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_lite.bpe import BPETokenizer
from nanogpt_lite.tokenizer import CharTokenizer
from nanogpt_lite.widgets import tokenizer_playground
from nanogpt_lite.widgets.tokenizer_playground import (
    UNKNOWN,
    TokenizerPlayground,
    chip_colour,
    chips_figure,
    pieces_of,
    render_tokens,
)
from tests.conftest import SMALL_TEXT

TOK = CharTokenizer.from_text(SMALL_TEXT)
BPE = BPETokenizer.train(SMALL_TEXT, 30)


def shown(markup: str) -> str:
    """The text a learner reads: tags and the style block removed, entities decoded, spaces collapsed."""
    text = re.sub(r"<style>.*?</style>|</?(div|br)\b[^>]*>", " ", markup, flags=re.S)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\s+", " ", html.unescape(text))


def chips(markup: str) -> list[tuple[str, str]]:
    """(token as shown, id as shown) for every chip."""
    found = re.findall(r'<span class="nl-chip[^"]*"[^>]*>(.*?)<br><small>(.*?)</small></span>', markup)
    return [(html.unescape(token), html.unescape(i)) for token, i in found]


def test_pieces_are_characters_or_bpe_tokens():
    assert pieces_of(TOK, "hear") == [("h", TOK.stoi["h"]), ("e", TOK.stoi["e"]), ("a", TOK.stoi["a"]), ("r", TOK.stoi["r"])]
    assert pieces_of(TOK, "h7") == [("h", TOK.stoi["h"]), ("7", None)]
    assert [t for t, _ in pieces_of(BPE, " speak")] == BPE.tokenize(" speak")


@given(st.text(max_size=40))
def test_pieces_cover_the_text(s):
    for tok in (TOK, BPE):
        assert "".join(t for t, _ in pieces_of(tok, s)) == s


def test_one_chip_per_character_with_its_id():
    page = render_tokens(TOK, "he ar\n")
    assert chips(page) == [(shown_as, str(TOK.stoi[ch])) for shown_as, ch in zip("he␣ar↵", "he ar\n")]
    assert "6 个字符 → 6 个词元" in shown(page) and "未知字符 0 个" in shown(page)
    assert "✔ decode(encode(text)) == text" in shown(page)


def test_unknown_characters_are_flagged_and_dropped_from_the_round_trip():
    page = render_tokens(TOK, "hear 我 7")
    assert chips(page)[-3:] == [("我", "?"), ("␣", str(TOK.stoi[" "])), ("7", "?")]
    assert page.count("nl-unknown") == 2 + 1  # two chips, plus the CSS rule
    text = shown(page)
    assert "未知字符 2 个" in text and "UnknownCharacterError：'7', '我' 不在词表里" in text
    assert text.rstrip().endswith("hear")  # "hear  " decoded with the two unknown characters gone


def test_bpe_chips_hold_merged_tokens():
    page = render_tokens(BPE, " speak")
    assert [t for t, _ in chips(page)] == [t.replace(" ", "␣") for t in BPE.tokenize(" speak")]
    assert f"词表大小 {BPE.vocab_size}" in shown(page)


def test_html_special_characters_are_escaped():
    tok = CharTokenizer.from_text("<a&b>")
    page = render_tokens(tok, "<a&b>")
    assert "<a&b>" not in page.split("</style>")[1] and "&lt;a&amp;b&gt;" in page


def test_long_text_shows_counts_but_caps_the_chips():
    page = render_tokens(TOK, "a" * (tokenizer_playground.MAX_CHIPS + 5))
    assert len(chips(page)) == tokenizer_playground.MAX_CHIPS and "只显示前" in page


def test_colours_are_stable_distinct_for_neighbours_and_red_for_unknown():
    assert chip_colour(46) == chip_colour(46) and re.fullmatch(r"#[0-9a-f]{6}", chip_colour(46))
    assert len({chip_colour(i) for i in range(10)}) == 10
    assert chip_colour(None) == UNKNOWN


def test_widget_updates_when_the_learner_types_and_switches_tokenizer():
    w = TokenizerPlayground({"字符级 char": TOK, "BPE": BPE}, text="hear")
    assert "nl-tokenizer-playground" in w._dom_classes
    assert [t for t, _ in chips(w.view.value)] == list("hear")
    w.text.value = "speak 7"
    assert "未知字符 1 个" in shown(w.view.value) and chips(w.view.value)[-1] == ("7", "?")
    w.mode.value = "BPE"
    assert [t for t, _ in chips(w.view.value)] == [t.replace(" ", "␣") for t, _ in BPE.pieces("speak 7")]
    assert w.out.outputs == ()


def test_errors_in_the_callback_are_shown_not_swallowed(monkeypatch):
    w = TokenizerPlayground({"字符级 char": TOK})

    def broken(tokenizer, text):
        raise RuntimeError("render failed")

    monkeypatch.setattr(tokenizer_playground, "render_tokens", broken)
    with pytest.raises(RuntimeError, match="render failed"):  # outside IPython the error propagates
        w.text.value = "new text"

    class Shell:  # inside IPython, Output.capture hands the error to the shell, which shows it in the widget
        shown: list[BaseException] = []

        def showtraceback(self, exc_tuple, tb_offset=None):
            self.shown.append(exc_tuple[1])

    monkeypatch.setattr(widget_output, "get_ipython", Shell)
    w.text.value = "other text"
    assert [str(error) for error in Shell.shown] == ["render failed"]


def test_no_tokenizer_is_refused():
    with pytest.raises(ValueError, match="tokenizers is empty"):
        TokenizerPlayground({})


def test_static_figure_draws_one_chip_and_one_id_per_piece():
    rows = {"char": pieces_of(TOK, "hi 7"), "BPE": pieces_of(BPE, "hi 7")}
    fig = chips_figure(rows, "title")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("?") == 2 and "7" in texts and "title" == fig.axes[0].get_title()
    assert len(texts) == 2 * (len(rows["char"]) + len(rows["BPE"])) + len(rows) + 1  # + row names + legend
