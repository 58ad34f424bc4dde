"""Sampling explorer: choose a context character, a temperature, a top-k and multinomial or argmax, and see
the distribution the next character is drawn from (the drawn one highlighted) and ~200 characters it leads to.

The view is :func:`explore` (the numbers) drawn by :func:`distribution_html` (the bars, as HTML/CSS: rebuilding them is
well under a millisecond, where a matplotlib PNG took ~200 ms) and :func:`explorer_report`;
:func:`temperature_grid_figure` (matplotlib, via :func:`draw_distribution`) is its static twin for the printed handout.
"""
from __future__ import annotations

import html
import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import torch
import torch.nn as nn
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..checkpoint import load_char_checkpoint
from ..instruments.distributions import entropy
from ..instruments.text_stats import TextStats, text_stats
from ..plotting import figure_label
from ..sampling import generate, next_token_probs
from ..tokenizer import CharTokenizer
from .inputs import ErrorGuard, IntField
from .saved import chapter_widget

PICKED = "#e65100"  # the character that was drawn
OTHER = "#90a4ae"
VISIBLE = {" ": "␣", "\n": "↵"}
SEED_BOUNDS = (0, 2**32 - 1)  # what the explorer accepts for torch.Generator().manual_seed


def show_char(ch: str) -> str:
    """A visible stand-in for a space (␣) or a newline (↵), for axis labels."""
    return VISIBLE.get(ch, ch)


def sampling_distribution(logits: torch.Tensor, *, temperature: float, top_k: int | None = None) -> torch.Tensor:
    """What the next token is drawn from: softmax(logits / T) with top-k; at T = 0 (greedy) all mass on the argmax."""
    if temperature == 0:  # the T -> 0 limit: every bit of probability on the most likely token
        most_likely = next_token_probs(logits, top_k=top_k).argmax(-1)
        return torch.nn.functional.one_hot(most_likely, logits.shape[-1]).to(logits.dtype)
    return next_token_probs(logits, temperature=temperature, top_k=top_k)


@dataclass(frozen=True)
class Exploration:
    """One setting of the explorer and what it produced."""

    context: str
    temperature: float
    top_k: int | None
    greedy: bool
    seed: int
    probs: torch.Tensor  # (vocab,) the distribution of the first new character
    chars: list[str]
    text: str  # the context character followed by the generated ones
    stats: TextStats

    @property
    def next_char(self) -> str:
        """The first generated character: the one drawn from ``probs``."""
        return self.text[1]

    @property
    def deterministic(self) -> bool:
        """argmax, or T = 0: the same text whatever the seed."""
        return self.greedy or self.temperature == 0


def explore(
    model: nn.Module,
    tok: CharTokenizer,
    context: str,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
    seed: int = 1337,
    length: int = 200,
) -> Exploration:
    """Generate ``length`` characters after ``context`` with these settings, from ``torch.Generator().manual_seed(seed)``."""
    if not isinstance(context, str) or len(context) != 1:
        raise ValueError(f"上下文必须是单个字符，收到 {context!r}。 / context must be a single character, got {context!r}")
    if length < 1:
        raise ValueError(f"生成长度 length 必须 >= 1，收到 {length}。 / length must be >= 1, got {length}")
    device = next(model.parameters()).device
    idx = torch.tensor([tok.encode(context)], device=device)
    with torch.no_grad():
        logits = model(idx)[0][0, -1].cpu()
    probs = sampling_distribution(logits, temperature=temperature, top_k=top_k)
    generator = torch.Generator().manual_seed(seed)
    out = generate(model, idx, length, temperature=temperature, top_k=top_k, greedy=greedy, generator=generator)[0].tolist()
    deterministic = greedy or temperature == 0
    stats = text_stats(out, model, deterministic=deterministic)
    return Exploration(context, temperature, top_k, greedy, seed, probs, list(tok.chars), tok.decode(out), stats)


def _settings(ex: Exploration) -> str:
    top_k = "全部" if ex.top_k is None or ex.top_k >= len(ex.chars) else str(ex.top_k)
    mode = "argmax" if ex.greedy else "multinomial"
    return f"上下文 {ex.context!r} · T={ex.temperature:g} · top-k={top_k} · {mode}"


@dataclass(frozen=True)
class Bar:
    """One bar of the explorer's chart."""

    char: str
    prob: float
    picked: bool  # the character that was drawn (or that argmax picks)


def distribution_bars(ex: Exploration, *, top: int = 20) -> list[Bar]:
    """The ``top`` most likely next characters, likeliest first, plus the drawn one at the end if it is rarer."""
    order = torch.argsort(ex.probs, descending=True, stable=True).tolist()[:top]
    picked = ex.chars.index(ex.next_char)
    if picked not in order:
        order.append(picked)
    probs = ex.probs.tolist()
    return [Bar(ex.chars[i], float(probs[i]), i == picked) for i in order]


def _verb(ex: Exploration) -> tuple[str, str]:
    """How the shown character was chosen, (zh, en): HTML always shows the Chinese; matplotlib needs the CJK font."""
    return ("argmax 选中", "argmax picks") if ex.deterministic else ("抽中", "drawn")


def _entropy(ex: Exploration) -> float:
    return float(entropy(ex.probs))


def draw_distribution(ax: Axes, ex: Exploration, *, top: int = 20) -> None:
    """Bars of the ``top`` most likely next characters (plus the drawn one if it is rarer), the drawn one highlighted."""
    bars = distribution_bars(ex, top=top)
    heights = [bar.prob for bar in bars]
    picked = next(i for i, bar in enumerate(bars) if bar.picked)
    ax.bar(range(len(bars)), heights, color=[PICKED if bar.picked else OTHER for bar in bars])
    ax.set_xticks(range(len(bars)), [show_char(bar.char) for bar in bars])
    ax.set_ylabel(figure_label("概率", "probability"))
    ax.set_ylim(0, max(1e-9, max(heights)) * 1.15)
    ax.annotate(f"{figure_label(*_verb(ex))} {show_char(ex.next_char)!r}", (picked, heights[picked]),
                xytext=(0, 4), textcoords="offset points", ha="center", color=PICKED, fontsize=9)
    ax.set_title(figure_label(f"{_settings(ex)} · 熵 {_entropy(ex):.2f} nats",
                       f"context {ex.context!r} · T={ex.temperature:g} · entropy {_entropy(ex):.2f} nats"), fontsize=10)


BAR_AREA_PX = 150  # height of the tallest bar in the HTML chart
# The chart's look. Text on the notebook's background takes the theme's colours (no fallback: elsewhere it inherits);
# the drawn character is marked with black on orange, a fixed pair. Each bar is a column as tall as the tallest one:
# the "drawn" note sits in the column's top slot, above every percentage, so it can never cover the subtitle. The
# bars scroll sideways in a narrow notebook (the HTML widget holding them may shrink below their width).
CHART_CSS = f"""<style>
.nl-distribution {{font-family:sans-serif; padding:4px 0}}
.nl-distribution .nl-dist-title {{font-size:13px}}
.nl-distribution .nl-dist-subtitle, .nl-distribution .nl-percent {{color:var(--jp-content-font-color2)}}
.nl-distribution .nl-dist-subtitle {{font-size:11px}}
.nl-distribution .nl-scroll {{overflow-x:auto}}
.widget-html-content:has(> .nl-distribution) {{min-width:0}}
.nl-distribution .nl-bars {{display:flex; align-items:stretch; width:max-content; padding:0 8px}}
.nl-distribution .nl-bar {{display:flex; flex-direction:column; align-items:center; justify-content:flex-end;
  width:30px; flex:none; min-height:{BAR_AREA_PX + 52}px}}
.nl-distribution .nl-rarer {{margin-left:14px}}
.nl-distribution .nl-drawn {{margin-bottom:auto; font-size:10px; white-space:nowrap}}
.nl-distribution .nl-percent {{font-size:9px}}
.nl-distribution .nl-bar-label {{width:100%; text-align:center; border-top:1px solid var(--jp-border-color1, #555);
  font-family:monospace; font-size:13px}}
.nl-distribution .nl-mark {{background:{PICKED}; color:#000; border-radius:3px; padding:0 2px; font-weight:bold}}
</style>"""


def _percent(p: float) -> str:
    """A bar's value in %, short enough to sit above a 30 px bar."""
    return f"{100 * p:.0f}" if p >= 0.1 else f"{100 * p:.1f}"


def distribution_html(ex: Exploration, *, top: int = 20) -> str:
    """The explorer's chart as HTML/CSS: bars of the ``top`` most likely next characters (plus the drawn one if it is
    rarer, after a gap), each with its probability in % on top, the drawn one in orange and marked; a title with the
    settings, the entropy and the drawn character. Cheap enough to rebuild on every change (no figure, no PNG)."""
    bars = distribution_bars(ex, top=top)
    tallest = max(max(bar.prob for bar in bars), 1e-9)
    verb = _verb(ex)[0]
    columns = []
    for position, bar in enumerate(bars):
        colour = PICKED if bar.picked else OTHER
        height = round(BAR_AREA_PX * bar.prob / tallest)
        rarer = " nl-rarer" if position == top else ""  # the drawn character, appended: not among the top ones
        note = f'<span class="nl-drawn nl-mark">{verb.split()[-1]}</span>' if bar.picked else ""  # 抽中 / 选中
        columns.append(
            f'<div class="nl-bar{" nl-picked" if bar.picked else ""}{rarer}" title="{html.escape(repr(bar.char))}: '
            f'p = {bar.prob:.4f}">{note}<span class="nl-percent">{_percent(bar.prob)}</span>'
            f'<div class="nl-fill" style="width:22px;height:{height}px;background:{colour}"></div>'
            f'<span class="nl-bar-label{" nl-mark" if bar.picked else ""}">{html.escape(show_char(bar.char))}</span>'
            "</div>"
        )
    title = (f"{html.escape(_settings(ex))} · 熵 {_entropy(ex):.2f} nats · "
             f'<span class="nl-mark">{html.escape(f"{verb} {show_char(ex.next_char)!r}")}</span>')
    return (
        f'{CHART_CSS}<div class="nl-distribution"><div class="nl-dist-title">{title}</div>'
        '<div class="nl-dist-subtitle">下一个字符的概率（柱上数字：%） · next-character probability (%)</div>'
        f'<div class="nl-scroll"><div class="nl-bars">{"".join(columns)}</div></div></div>'
    )


def explorer_report(ex: Exploration) -> str:
    """HTML: the settings, the generated text and its statistics."""
    return (
        f"<div><b>{html.escape(_settings(ex))} · 种子 {ex.seed}</b></div>"
        '<pre class="nl-sample" style="white-space:pre-wrap;overflow-wrap:anywhere;'
        f'border:1px solid var(--jp-border-color1, #ccc);padding:4px">{html.escape(ex.text)}</pre>'
        f'<div class="nl-stats">{html.escape(str(ex.stats))}</div>'
    )


def temperature_grid_figure(
    model: nn.Module,
    tok: CharTokenizer,
    context: str = "e",
    temperatures: Sequence[float] = (0.5, 1.0, 2.0),
    *,
    seed: int = 1337,
    length: int = 200,
) -> Figure:
    """The explorer at several temperatures side by side: the distribution on top, the generated text below."""
    fig = Figure(figsize=(5.2 * len(temperatures), 5.0), layout="constrained")
    axes = fig.subplots(2, len(temperatures), squeeze=False, height_ratios=[1, 0.75])
    for column, t in enumerate(temperatures):
        ex = explore(model, tok, context, temperature=t, seed=seed, length=length)
        draw_distribution(axes[0, column], ex)
        axes[0, column].set_title(figure_label(f"T = {t:g} · 熵 {float(entropy(ex.probs)):.2f} nats",
                                        f"T = {t:g} · entropy {float(entropy(ex.probs)):.2f} nats"), fontsize=10)
        lines = [piece for line in ex.text.split("\n") for piece in (textwrap.wrap(line, 52) or [""])]
        stats = ex.stats
        summary = figure_label(f"不同字符 {stats.distinct} · 重复 {stats.n}-gram {stats.repeated_share:.1%}\n"
                        f"平均对数似然 {stats.mean_log_likelihood:.3f} nats",
                        f"distinct {stats.distinct} · repeated {stats.n}-grams {stats.repeated_share:.1%}\n"
                        f"mean log-likelihood {stats.mean_log_likelihood:.3f} nats")
        text_ax = axes[1, column]
        text_ax.axis("off")
        text_ax.text(0, 1, "\n".join(lines[:10]), family="monospace", fontsize=7.5, va="top")
        text_ax.text(0, 0, summary, fontsize=9, va="bottom", color=PICKED)
    return fig


class SamplingExplorer(widgets.VBox):
    """Controls for context, temperature, top-k, multinomial/argmax and seed; redraws the chart and the text on every change."""

    def __init__(self, model: nn.Module, tok: CharTokenizer, *, context: str = "e", seed: int = 1337, length: int = 200) -> None:
        self.model, self.tok, self.length = model, tok, length
        self.context = widgets.Dropdown(options=[(repr(c), c) for c in tok.chars], value=context, description="上下文字符")
        self.temperature = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.05, description="温度 T",
                                               readout_format=".2f")
        self.top_k = widgets.IntSlider(value=tok.vocab_size, min=1, max=tok.vocab_size, description="top-k")
        self.mode = widgets.ToggleButtons(options=[("multinomial 随机采样", "multinomial"), ("argmax 贪婪", "argmax")],
                                          value="multinomial", style={"button_width": "auto"})  # whole labels
        self.seed = IntField(seed, "种子 seed", "seed", bounds=SEED_BOUNDS, width="220px")  # -5 is refused, not 0
        self.chart = widgets.HTML()  # the bars as HTML/CSS: no figure to lay out, no PNG to encode
        self.report = widgets.HTML()
        self.out = widgets.Output()  # errors raised in the callback appear here
        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")  # a narrow notebook wraps, never clips
        super().__init__([
            widgets.HBox([self.context, self.seed], layout=wrap),
            widgets.HBox([self.temperature, self.top_k], layout=wrap),
            self.mode,
            self.chart,
            self.report,
            self.out,
        ])
        chapter_widget(self, "nl-sampling-explorer")
        self._refresh = ErrorGuard(self.out)(self._show)  # a working input sends nothing to self.out
        for control in (self.context, self.temperature, self.top_k, self.mode, self.seed):
            control.observe(self._refresh, names="value")
        self._refresh()

    @classmethod
    def from_checkpoint(
        cls,
        ckpt_path: str | os.PathLike,
        meta_path: str | os.PathLike | None = None,
        *,
        map_location: str | torch.device | None = None,
        **kwargs: str | int,
    ) -> SamplingExplorer:
        """The explorer on the character-level GPT in nanoGPT's ``ckpt.pt`` (see ``nl.load_char_checkpoint``);
        ``kwargs`` go to the constructor. The context defaults to 'e' (the vocabulary's first character without one),
        the length to 200 characters or fewer: the text is scored in one pass, at most ``block_size`` tokens."""
        model, tok, _ = load_char_checkpoint(ckpt_path, meta_path, map_location=map_location)
        kwargs.setdefault("context", "e" if "e" in tok.stoi else tok.chars[0])
        kwargs.setdefault("length", min(200, model.config.block_size - 1))
        return cls(model, tok, **kwargs)

    def exploration(self) -> Exploration:
        """What the controls currently ask for."""
        top_k = None if self.top_k.value >= self.tok.vocab_size else self.top_k.value
        return explore(self.model, self.tok, self.context.value, temperature=self.temperature.value, top_k=top_k,
                       greedy=self.mode.value == "argmax", seed=self.seed.value, length=self.length)

    def _show(self, change: object = None) -> None:
        ex = self.exploration()
        self.chart.value = distribution_html(ex)
        self.report.value = explorer_report(ex)
