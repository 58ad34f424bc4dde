"""Tokenizer playground: type text, see every token as a coloured chip with its id.

The view is :func:`render_tokens` (pure HTML) over :func:`pieces_of`; :func:`chips_figure` draws
the same chips for the printed handout. Characters outside the vocabulary are flagged in red.
"""
from __future__ import annotations

import colorsys
import html

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..bpe import BPETokenizer
from ..plotting import cjk_font, figure_label
from ..tokenizer import CharTokenizer
from .inputs import CHIP_INK, ErrorGuard
from .saved import chapter_widget

Tokenizer = CharTokenizer | BPETokenizer
Piece = tuple[str, int | None]  # (token text, id); id None: not in the vocabulary

UNKNOWN = "#ffcdd2"  # background of an unknown character
UNKNOWN_EDGE = "#c62828"
MAX_CHIPS = 400  # beyond this the view shows the counts but not every chip
VISIBLE = {"\n": "↵", " ": "␣", "\t": "⇥"}
# Chips keep their light colours in every theme, so they name their text colour too; the round-trip box uses the
# theme's second layout colour with the theme's text colour (the fallbacks are a matching light pair).
CSS = f"""<style>
.nl-tokenizer-view .nl-chip {{display:inline-block; margin:2px; padding:1px 4px; border:1px solid #999;
  border-radius:4px; text-align:center; font-family:monospace; line-height:1.2; color:{CHIP_INK}}}
.nl-tokenizer-view .nl-unknown {{border:2px solid {UNKNOWN_EDGE}}}
.nl-tokenizer-view .nl-roundtrip {{font-family:monospace; white-space:pre-wrap; overflow-wrap:anywhere; padding:2px 4px;
  background:var(--jp-layout-color2, #f5f5f5); color:var(--jp-content-font-color1, #212121)}}
</style>"""


def pieces_of(tokenizer: Tokenizer, text: str) -> list[Piece]:
    """``text`` as (token, id) pieces; a character outside the vocabulary comes back as (ch, None)."""
    if isinstance(tokenizer, BPETokenizer):
        return tokenizer.pieces(text)
    return [(ch, tokenizer.stoi.get(ch)) for ch in text]


def chip_colour(token_id: int | None) -> str:
    """A light colour per id (golden-angle hues, so neighbouring ids differ); red for unknown."""
    if token_id is None:
        return UNKNOWN
    r, g, b = colorsys.hls_to_rgb((token_id * 0.381966) % 1.0, 0.85, 0.7)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def visible(token: str) -> str:
    """Show whitespace: newline ↵, space ␣, tab ⇥."""
    return "".join(VISIBLE.get(ch, ch) for ch in token)


def _cells(token: str) -> float:
    """Width of a chip in the figure, in character cells (a Chinese character takes two)."""
    return sum(2.0 if ord(ch) > 0x2E7F else 1.0 for ch in visible(token))


def render_tokens(tokenizer: Tokenizer, text: str) -> str:
    """HTML: counts, one chip per token (id underneath, unknown characters flagged), and the round trip."""
    pieces = pieces_of(tokenizer, text)
    ids = [i for _, i in pieces if i is not None]
    unknown = [(n, token) for n, (token, i) in enumerate(pieces) if i is None]
    counts = (
        f"<div>{len(text)} 个字符 → {len(pieces)} 个词元（{len(set(ids))} 个不同编号），"
        f"未知字符 {len(unknown)} 个 · 词表大小 {tokenizer.vocab_size}</div>"
    )
    chips = "".join(
        f'<span class="nl-chip{" nl-unknown" if i is None else ""}" style="background:{chip_colour(i)}" '
        f'title="{html.escape(repr(token))}">{html.escape(visible(token))}<br><small>{"?" if i is None else i}</small></span>'
        for token, i in pieces[:MAX_CHIPS]
    )
    if len(pieces) > MAX_CHIPS:
        chips += f"<span> … 只显示前 {MAX_CHIPS} 个词元</span>"
    decoded = tokenizer.decode(ids)
    if not unknown:
        verdict = "✔ decode(encode(text)) == text：原样还原" if decoded == text else "✘ 解码结果与原文不同"
    else:
        shown = ", ".join(sorted({repr(token) for _, token in unknown}))
        verdict = (
            f"✘ encode 会报 UnknownCharacterError：{shown} 不在词表里。"
            f"下面是去掉 {len(unknown)} 个未知字符后的编号解码回来的文字"
        )
    roundtrip = f'<div>{verdict}</div><div class="nl-roundtrip">{html.escape(decoded)}</div>'
    return f'{CSS}<div class="nl-tokenizer-view">{counts}<div>{chips}</div>{roundtrip}</div>'


class TokenizerPlayground(widgets.VBox):
    """Type in ``self.text``; pick a tokenizer in ``self.mode``; ``self.view`` shows the chips."""

    def __init__(self, tokenizers: dict[str, Tokenizer], text: str = "hello world") -> None:
        if not tokenizers:
            raise ValueError(
                "tokenizers 是空的：至少传一个分词器，例如 {'字符级 char': tok}。 / "
                "tokenizers is empty: pass at least one, e.g. {'字符级 char': tok}"
            )
        self.tokenizers = dict(tokenizers)
        self.text = widgets.Textarea(value=text, description="文本 text", layout=widgets.Layout(width="95%"))
        self.mode = widgets.ToggleButtons(options=list(self.tokenizers), description="分词 tokenizer",
                                          style={"description_width": "initial", "button_width": "auto"})
        self.view = widgets.HTML()
        self.out = widgets.Output()  # errors raised in the callback appear here
        super().__init__([self.text, self.mode, self.view, self.out])
        chapter_widget(self, "nl-tokenizer-playground")
        self._refresh = ErrorGuard(self.out)(self._show)  # a working input sends nothing to self.out
        for control in (self.text, self.mode):
            control.observe(self._refresh, names="value")
        self._refresh()

    def _show(self, change: object = None) -> None:
        self.view.value = render_tokens(self.tokenizers[self.mode.value], self.text.value)


def chips_figure(rows: dict[str, list[Piece]], title: str) -> Figure:
    """The playground's chips as a picture: one row of chips per tokenizer, ids underneath."""
    face = cjk_font()
    mono = ["DejaVu Sans Mono", face] if face else ["DejaVu Sans Mono"]  # CJK glyphs fall back
    gap = 1.1  # space between chips, in character cells
    width = max((sum(_cells(t) + gap for t, _ in pieces) for pieces in rows.values()), default=1.0)
    fig = Figure(figsize=(min(14.0, 1.0 + 0.11 * (width + 8)), 0.8 * len(rows) + 0.9), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(-8, width)
    ax.set_ylim(len(rows) - 0.1, -0.6)
    ax.axis("off")
    ax.set_title(title)
    for row, (name, pieces) in enumerate(rows.items()):
        ax.text(-7.8, row, name, va="center", fontsize=10)
        x = 0.0
        for token, i in pieces:
            centre, edge = x + _cells(token) / 2, UNKNOWN_EDGE if i is None else "#999"
            ax.text(centre, row - 0.07, visible(token), ha="center", va="center", family=mono, fontsize=11,
                    bbox={"boxstyle": "round,pad=0.25", "facecolor": chip_colour(i), "edgecolor": edge})
            ax.text(centre, row + 0.26, "?" if i is None else str(i), ha="center", va="center", fontsize=7,
                    color=UNKNOWN_EDGE if i is None else "#333")
            x += _cells(token) + gap
    ax.text(-7.8, len(rows) - 0.3, figure_label("红框：不在词表里的字符（编号 ?）", "red frame: not in the vocabulary (id ?)"),
            fontsize=8, color=UNKNOWN_EDGE)
    return fig
