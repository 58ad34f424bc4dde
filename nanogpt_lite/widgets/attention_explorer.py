"""Attention explorer: type or pick a line, choose a layer, a head and a position, and see which earlier
characters that position attends to, and the GPT's next-character distribution there.

The numbers come from :func:`look` (over :func:`~nanogpt_lite.instruments.attention.attention_maps` and
:func:`~nanogpt_lite.instruments.attention.next_char_distribution`); :func:`attention_html` and
:func:`next_char_html` draw them as HTML/CSS (cheap to rebuild on every change). :func:`attention_figure`
(matplotlib) is the static twin for the printed handout: one heat map per head of a layer.
"""
from __future__ import annotations

import html
import os
from dataclasses import dataclass

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from ..checkpoint import load_char_checkpoint
from ..data import load_text
from ..gpt import GPT
from ..instruments.attention import attention_maps, next_char_distribution
from ..plotting import figure_label
from ..tokenizer import CharTokenizer
from .inputs import CHIP_INK, ErrorGuard, error_note
from .saved import chapter_widget

VISIBLE = {" ": "␣", "\n": "↵"}
HIGHLIGHT = (230, 81, 0)  # the attended characters: from white to orange in proportion to the weight
MEAN_HEAD = -1  # "head" value meaning: the mean over the layer's heads
LINE_LENGTHS = (40, 64)  # the chapter's lines: long enough to attend far back, short enough to read at a glance


def show_char(ch: str) -> str:
    """A visible stand-in for a space (␣) or a newline (↵)."""
    return VISIBLE.get(ch, ch)


@dataclass(frozen=True)
class AttentionLook:
    """What position ``position`` of ``text`` attends to in one head (or the mean of a layer's heads)."""

    text: str
    layer: int
    head: int  # MEAN_HEAD: the mean over heads
    position: int
    weights: torch.Tensor  # (position + 1,): how much it takes from each of text[: position + 1]; sums to 1
    probs: torch.Tensor  # (vocab,): P(next character | text[: position + 1])
    chars: list[str]  # the vocabulary

    def top_attended(self, k: int = 3) -> list[tuple[int, str, float]]:
        """The ``k`` positions with the largest weight: (position, character, weight), largest first."""
        order = torch.argsort(self.weights, descending=True, stable=True)[:k].tolist()
        return [(i, self.text[i], float(self.weights[i])) for i in order]

    def top_next(self, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` most likely next characters: (character, probability), likeliest first."""
        order = torch.argsort(self.probs, descending=True, stable=True)[:k].tolist()
        return [(self.chars[i], float(self.probs[i])) for i in order]


def _check_text(tok: CharTokenizer, text: str, block_size: int) -> list[int]:
    if not text:
        raise ValueError("文本是空的：至少输入一个字符。 / the text is empty: type at least one character.")
    if len(text) > block_size:
        raise ValueError(f"文本有 {len(text)} 个字符，模型最多只看 block_size={block_size} 个：请缩短它。 / "
                         f"the text has {len(text)} characters but the model sees at most {block_size}; shorten it.")
    unknown = sorted({ch for ch in text if ch not in tok.stoi})
    if unknown:
        raise ValueError(f"字符 {unknown} 不在词表里（tiny Shakespeare 没有它们）：请删掉或替换。 / "
                         f"{unknown} are not in the vocabulary; remove or replace them.")
    return tok.encode(text)


def look(model: GPT, tok: CharTokenizer, text: str, *, layer: int, head: int, position: int) -> AttentionLook:
    """The attention row of ``position`` in ``layer``/``head`` (``MEAN_HEAD``: mean over heads) and the next-character
    distribution after ``text[: position + 1]``. Errors (zh / en) name the bad value and its range."""
    ids = _check_text(tok, text, model.config.block_size)
    n_layer, n_head = model.config.n_layer, model.config.n_head
    if not 0 <= layer < n_layer:
        raise ValueError(f"layer={layer} 超出范围：这个模型有 {n_layer} 层（0…{n_layer - 1}）。 / layer must be 0..{n_layer - 1}.")
    if not (0 <= head < n_head or head == MEAN_HEAD):
        raise ValueError(f"head={head} 超出范围：每层有 {n_head} 个头（0…{n_head - 1}，或 -1 表示平均）。 / "
                         f"head must be 0..{n_head - 1} or -1 (mean).")
    if not 0 <= position < len(ids):
        raise ValueError(f"position={position} 超出范围：文本有 {len(ids)} 个字符（0…{len(ids) - 1}）。 / "
                         f"position must be 0..{len(ids) - 1}.")
    maps = attention_maps(model, torch.tensor(ids))[layer]  # (n_head, T, T)
    row = (maps.mean(0) if head == MEAN_HEAD else maps[head])[position, : position + 1]
    probs = next_char_distribution(model, torch.tensor(ids), position)
    return AttentionLook(text, layer, head, position, row, probs, list(tok.chars))


def _head_name(head: int) -> str:
    return "各头平均" if head == MEAN_HEAD else f"头 {head}"


CSS = f"""<style>
.nl-attention-view {{font-family:sans-serif; padding:4px 0}}
.nl-attention-view .nl-att-title {{font-size:13px; margin-bottom:4px}}
.nl-attention-view .nl-att-line {{font-family:monospace; font-size:16px; line-height:1.9; overflow-wrap:anywhere}}
.nl-attention-view .nl-att-char {{padding:1px 1px; border-radius:2px; color:{CHIP_INK}}}
.nl-attention-view .nl-att-future {{color:var(--jp-content-font-color2, #757575); background:none}}
.nl-attention-view .nl-att-here {{outline:2px solid #1565c0}}
.nl-attention-view .nl-att-note, .nl-attention-view .nl-next-note {{font-size:11px; color:var(--jp-content-font-color2)}}
.nl-attention-view table {{border-collapse:collapse; font-size:12px}}
.nl-attention-view td {{padding:1px 6px}}
.nl-attention-view .nl-next-bar {{display:inline-block; height:10px; background:#90a4ae}}
</style>"""


def attention_html(view: AttentionLook) -> str:
    """The line, each earlier character shaded by the weight position ``view.position`` gives it (later characters
    greyed: the mask hides them), the position itself outlined, and the three largest weights spelled out."""
    spans = []
    top = max(float(view.weights.max()), 1e-9)
    for i, ch in enumerate(view.text):
        label = html.escape(show_char(ch))
        if i > view.position:
            spans.append(f'<span class="nl-att-char nl-att-future" title="看不到 masked">{label}</span>')
            continue
        w = float(view.weights[i])
        alpha = 0.08 + 0.92 * w / top  # the largest weight fully orange, nothing attended still faintly tinted
        here = " nl-att-here" if i == view.position else ""
        r, g, b = (round(255 + (c - 255) * alpha) for c in HIGHLIGHT)  # opaque: dark ink stays readable in Dark too
        spans.append(f'<span class="nl-att-char{here}" data-weight="{w:.4f}" title="{i}: {w:.1%}" '
                     f'style="background:rgb({r},{g},{b})">{label}</span>')
    tops = "，".join(f"{show_char(ch)!r}（位置 {i}）{w:.1%}" for i, ch, w in view.top_attended(3))
    title = (f"第 {view.layer} 层 · {_head_name(view.head)} · 位置 {view.position} "
             f"{show_char(view.text[view.position])!r} 看向前面的字符")
    return (f'{CSS}<div class="nl-attention-view"><div class="nl-att-title"><b>{html.escape(title)}</b></div>'
            f'<div class="nl-att-line">{"".join(spans)}</div>'
            f'<div class="nl-att-note nl-att-top">权重最大：{html.escape(tops)}</div></div>')


def next_char_html(view: AttentionLook, *, top: int = 10) -> str:
    """A small table of the ``top`` most likely next characters after ``text[: position + 1]``."""
    rows = []
    for ch, p in view.top_next(top):
        rows.append(f'<tr><td class="nl-next-char"><code>{html.escape(show_char(ch))}</code></td>'
                    f'<td class="nl-next-p">{p:.1%}</td>'
                    f'<td><span class="nl-next-bar" style="width:{round(160 * p)}px"></span></td></tr>')
    context = html.escape(repr(view.text[max(0, view.position - 11) : view.position + 1]))
    return (f'{CSS}<div class="nl-attention-view"><div class="nl-next-note">…{context} 之后，GPT 给下一个字符的概率 · '
            f'next-character distribution</div><table class="nl-next">{"".join(rows)}</table></div>')


def attention_figure(model: GPT, tok: CharTokenizer, text: str, *, layer: int = 0) -> Figure:
    """Static twin of the explorer: one heat map per head of ``layer`` (rows: positions, columns: what they look at)."""
    ids = _check_text(tok, text, model.config.block_size)
    maps = attention_maps(model, torch.tensor(ids))[layer]
    n_head = maps.shape[0]
    fig = Figure(figsize=(3.3 * n_head, 3.6), layout="constrained")
    axes = fig.subplots(1, n_head, squeeze=False)[0]
    labels = [show_char(ch) for ch in text]
    for h, ax in enumerate(axes):
        ax.imshow(maps[h].numpy(), cmap="Oranges", vmin=0, vmax=1)
        ax.set_xticks(range(len(text)), labels, fontsize=7, family="monospace")
        ax.set_yticks(range(len(text)), labels, fontsize=7, family="monospace")
        ax.set_title(figure_label(f"第 {layer} 层 · 头 {h}", f"layer {layer} · head {h}"), fontsize=10)
        ax.set_xlabel(figure_label("被看的位置", "attended position"), fontsize=8)
    axes[0].set_ylabel(figure_label("当前位置", "position"), fontsize=8)
    return fig


def checkpoint_lines(tok: CharTokenizer, block_size: int, n: int = 5) -> list[str]:
    """``n`` lines of tiny Shakespeare's validation text (its last 10%) for a model of this vocabulary: 40 to 64
    characters (cut to ``block_size`` when that is shorter), every character one the tokenizer knows."""
    text = load_text()
    shortest, longest = (min(length, block_size) for length in LINE_LENGTHS)
    cut = (line[:block_size] for line in text[int(0.9 * len(text)):].split("\n"))
    fitting = [line for line in cut if shortest <= len(line) <= longest and all(ch in tok.stoi for ch in line)]
    if not fitting:
        raise ValueError(
            f"tiny Shakespeare 的验证集里没有一行只用这个词表（{tok.vocab_size} 个字符）里的字符写成：请自己传 "
            f"lines=[...]，每行最多 {block_size} 个字符。 / no line of tiny Shakespeare's validation text uses only "
            f"this vocabulary's {tok.vocab_size} characters; pass lines=[...] yourself, each at most {block_size} characters."
        )
    return list(dict.fromkeys(fitting))[:n]


class AttentionExplorer(widgets.VBox):
    """A line (typed or picked), layer, head and position controls; redraws the attention row and the next-character
    table on every change. Errors (an unknown character, a line too long) show in the widget, the last view stays."""

    def __init__(self, model: GPT, tok: CharTokenizer, lines: list[str], *, position: int | None = None) -> None:
        self.model, self.tok = model, tok
        block = model.config.block_size
        self.line = _check_text(tok, lines[0], block) and lines[0]  # the last good line: what is shown
        self.pick = widgets.Dropdown(options=[(repr(line), line) for line in lines], value=lines[0], description="选一行",
                                     layout=widgets.Layout(width="100%", max_width="520px"))
        self.text = widgets.Text(value=lines[0], description="或输入", continuous_update=False,
                                 layout=widgets.Layout(width="100%", max_width="520px"))  # narrower in a narrow window
        self.layer = widgets.Dropdown(options=[(f"第 {i} 层", i) for i in range(model.config.n_layer)], value=0,
                                      description="层 layer")
        heads = [(f"头 {h}", h) for h in range(model.config.n_head)] + [("各头平均", MEAN_HEAD)]
        self.head = widgets.Dropdown(options=heads, value=0, description="头 head")
        last = min(len(lines[0]), block) - 1
        self.position = widgets.IntSlider(value=last if position is None else position, min=0, max=last,
                                          description="位置")
        self.note = widgets.HTML()  # what was wrong with the typed line, if anything
        self.view = widgets.HTML()
        self.next = widgets.HTML()
        self.out = widgets.Output()  # errors raised in the callback appear here
        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")
        super().__init__([
            widgets.HBox([self.pick, self.text], layout=wrap),
            widgets.HBox([self.layer, self.head, self.position], layout=wrap),
            self.note,
            self.view,
            self.next,
            self.out,
        ])
        chapter_widget(self, "nl-attention-explorer")
        self._refresh = ErrorGuard(self.out)(self._show)  # a working input sends nothing to self.out
        self.pick.observe(lambda change: setattr(self.text, "value", change["new"]), names="value")
        self.text.observe(self._new_text, names="value")
        for control in (self.layer, self.head, self.position):
            control.observe(self._refresh, names="value")
        self._refresh()

    @classmethod
    def from_checkpoint(
        cls,
        ckpt_path: str | os.PathLike,
        meta_path: str | os.PathLike | None = None,
        *,
        lines: list[str] | None = None,
        map_location: str | torch.device | None = None,
        **kwargs: int | None,
    ) -> AttentionExplorer:
        """The explorer on the character-level GPT in nanoGPT's ``ckpt.pt`` (see ``nl.load_char_checkpoint``);
        ``lines`` default to :func:`checkpoint_lines`, ``kwargs`` go to the constructor."""
        model, tok, _ = load_char_checkpoint(ckpt_path, meta_path, map_location=map_location)
        return cls(model, tok, checkpoint_lines(tok, model.config.block_size) if lines is None else lines, **kwargs)

    def _new_text(self, change: dict) -> None:
        """A new line: check it, fit the position slider to its length (keeping the position when it still fits)."""
        try:
            _check_text(self.tok, change["new"], self.model.config.block_size)
        except ValueError as error:
            self.note.value = error_note(str(error))
            return
        self.note.value = ""
        self.line = change["new"]
        last = len(self.line) - 1
        with self.position.hold_trait_notifications():
            if self.position.value > last:
                self.position.value = last
            self.position.max = last
        self._refresh()

    def current(self) -> AttentionLook:
        """What the controls currently ask for."""
        return look(self.model, self.tok, self.line, layer=self.layer.value, head=self.head.value,
                    position=self.position.value)

    def _show(self, change: object = None) -> None:
        view = self.current()
        self.view.value = attention_html(view)
        self.next.value = next_char_html(view)
