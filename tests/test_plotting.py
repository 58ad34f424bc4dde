import re
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from nanogpt_lite import plotting  # noqa: E402
from nanogpt_lite.exercises.core import Feedback  # noqa: E402
from nanogpt_lite.instruments.inspection import Table, module_tree  # noqa: E402
from nanogpt_lite.model import BigramLanguageModel  # noqa: E402
from nanogpt_lite.instruments.text_stats import TextStats  # noqa: E402
from nanogpt_lite.tokenizer import CharTokenizer, UnknownCharacterError  # noqa: E402
from nanogpt_lite.instruments.vocab_compare import Comparison, char_report, word_report  # noqa: E402

SC, JP = "Noto Sans CJK SC", "Noto Sans CJK JP"
# The glyph warning exactly as matplotlib words it: 3.8, then 3.9 and later.
GLYPH_38 = "Glyph 25439 (\\N{CJK UNIFIED IDEOGRAPH-635F}) missing from current font."
GLYPH_39 = "Glyph 25439 (\\N{CJK UNIFIED IDEOGRAPH-635F}) missing from font(s) DejaVu Sans."


def fonts(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Pretend only the fonts ``names`` are installed."""
    entries = [font_manager.FontEntry(fname=f"/fonts/{name}.ttf", name=name) for name in ("DejaVu Sans", *names)]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", entries)


@pytest.mark.parametrize(("installed", "expected"), [
    ((SC,), SC),
    ((JP, SC), SC),  # SC first whenever there is a choice
    ((JP,), JP),  # Debian's .ttc with matplotlib < 3.11: only face 0 is registered
    (("Noto Sans CJK KR",), "Noto Sans CJK KR"),
    ((), None),
    (("Noto Sans", "Noto Serif CJK SC"), None),  # not a Noto Sans CJK face
])
def test_any_noto_sans_cjk_face_counts(monkeypatch, installed, expected):
    fonts(monkeypatch, *installed)
    assert plotting.cjk_font() == expected
    assert plotting.has_cjk_font() is (expected is not None)


@pytest.mark.parametrize("face", [SC, JP])
def test_setup_puts_the_installed_face_in_font_family(monkeypatch, face):
    fonts(monkeypatch, face)
    with matplotlib.rc_context():
        assert plotting.setup_matplotlib() is True
        assert matplotlib.rcParams["font.family"] == ["DejaVu Sans", face]


@pytest.mark.parametrize("message", [GLYPH_38, GLYPH_39])
def test_glyph_warning_pattern_matches_every_supported_matplotlib(message):
    assert re.compile(plotting.GLYPH_WARNING, re.I).match(message)  # how warnings.filterwarnings matches


def test_without_a_cjk_font_only_glyph_warnings_are_silenced(monkeypatch):
    fonts(monkeypatch)
    with warnings.catch_warnings(record=True) as caught, matplotlib.rc_context():
        warnings.simplefilter("always")
        assert plotting.setup_matplotlib() is False
        for message in (GLYPH_38, GLYPH_39, "Glyph 3 is fine"):
            warnings.warn(message, UserWarning)
    assert [str(w.message) for w in caught] == ["Glyph 3 is fine"]


def test_chinese_title_draws_without_warnings(monkeypatch):
    """The installed matplotlib, for real: with a CJK font the glyphs exist; without one the warnings are silenced."""
    for has_font in (True, False):
        if not has_font:
            fonts(monkeypatch)
        elif not plotting.has_cjk_font():
            continue
        with warnings.catch_warnings(), matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
            warnings.simplefilter("error")
            plotting.setup_matplotlib()
            fig, ax = plt.subplots()
            ax.set_title("训练损失 loss")
            fig.canvas.draw()
            plt.close(fig)


@pytest.mark.parametrize(("installed", "expected"), [((JP,), "损失"), ((), "loss")])
def test_figure_label_follows_the_font(monkeypatch, installed, expected):
    fonts(monkeypatch, *installed)
    assert plotting.figure_label("损失", "loss") == expected


def printed_texts() -> list[str]:
    """What the package prints, shows as HTML or raises, for a sample of its text helpers."""
    tok = CharTokenizer.from_text("hello world")
    with pytest.raises(UnknownCharacterError) as error:
        tok.encode("好")
    comparison = Comparison([char_report("to be or not", "to be"), word_report("to be or not", "to be")])
    table = Table(("字符", "编号"), (("h", 3),), caption="词表 vocabulary")
    feedback = Feedback("incorrect", "再数一数 count again")
    stats = TextStats(length=10, distinct=4, n=4, repeated_share=0.5, mean_log_likelihood=-2.0, cycle=None)
    return [str(error.value), repr(comparison), comparison._repr_html_(), repr(table), table._repr_html_(),
            repr(feedback), feedback._repr_html_(), str(stats), module_tree(BigramLanguageModel(tok.vocab_size))]


def test_printed_text_does_not_depend_on_fonts(monkeypatch):
    fonts(monkeypatch, SC)
    with_font = printed_texts()
    fonts(monkeypatch)
    assert printed_texts() == with_font
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in with_font)  # Chinese first, font or not
