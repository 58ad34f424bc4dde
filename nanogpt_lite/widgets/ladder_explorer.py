"""Ladder explorer (chapter 7): tick rungs of the ladder and compare their val-loss curves against CPU seconds with
nanoGPT's, every rung having trained for the same CPU time; a small table gives each rung's numbers at the end.

It only draws results it is given (:func:`nanogpt_lite.ladder.load_results`); no callback trains anything.
:func:`ladder_rows` computes the table (Δ against the baseline), :func:`curves_svg` draws the curves as an inline SVG
built in Python (cheap enough to rebuild on every click) and :func:`ladder_html` puts both together;
:func:`ladder_figure` (matplotlib, imported only when it draws) is the static twin for the printed handout.

    from nanogpt_lite.widgets.ladder_explorer import LadderExplorer
    LadderExplorer.from_file()        # the shipped nanogpt_lite/data/ladder.json
"""
from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..ladder import BASELINE, LADDER_FILE, RUNGS, RungResult, load_results
from .inputs import ErrorGuard
from .saved import chapter_widget

if TYPE_CHECKING:  # matplotlib (~30 MiB in a kernel) is imported only when ladder_figure draws
    from matplotlib.figure import Figure

Results = Mapping[str, RungResult] | Iterable[RungResult]

BASELINE_SVG = "currentColor"  # the reference line takes the theme's text colour (light, dark, the handout)
BASELINE_FIGURE = "#212121"
COLORS = {  # one colour per rung, readable on a light and on a dark background
    "rotary": "#1f77b4",
    "rmsnorm": "#ff7f0e",
    "qk_norm": "#2ca02c",
    "relu2": "#9467bd",
    "untied_head": "#8c564b",
    "zero_init": "#e377c2",
    "softcap": "#17becf",
    "muon": "#bcbd22",
    "all": "#d62728",
}
SPARE_COLORS = ("#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5", "#c49c94")  # rungs not in COLORS, in turn
EQUAL_TIME = "#e65100"
NOTES = {  # what each rung changes, for tooltips
    BASELINE: "第 6 章的 GPT 和训练配方，什么都没改（基准）",
    "rotary": "旋转位置编码，代替位置嵌入 wpe",
    "rmsnorm": "RMSNorm 代替 LayerNorm，嵌入之后也加一个",
    "qk_norm": "对每个 q 和 k 做 RMSNorm",
    "relu2": "MLP 里用 ReLU² 代替 GELU",
    "untied_head": "输出层 lm_head 不再和 wte 权重绑定",
    "no_bias": "去掉所有偏置",
    "zero_init": "输出投影从零开始",
    "softcap": "分数（logits）用 tanh 压进 (-15, 15)",
    "muon": "矩阵参数改用 Muon 优化器",
    "all": "以上全部改动一起用",
}
DEFAULT_CHOSEN = ("all",)
# the SVG's layout, in its own units (viewBox): the plot, with room for tick labels on the left and below, the legend right
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 136, 14, 44


# --- the results --------------------------------------------------------------------------------------------------

def by_name(results: Results) -> dict[str, RungResult]:
    """``results`` (``{name: RungResult}`` as :func:`load_results` returns them, or a list of RungResult) by rung name,
    checked: each name once, each curve as many seconds as val estimates, the baseline present."""
    if isinstance(results, Mapping):
        for name, result in results.items():
            if name != result.rung:
                raise ValueError(f"键 {name!r} 对应的结果属于台阶 {result.rung!r}。 / "
                                 f"the key {name!r} holds the result of rung {result.rung!r}.")
        named = dict(results)
    else:
        named = {}
        for result in results:
            if result.rung in named:
                raise ValueError(f"台阶 {result.rung!r} 的结果出现了两次。 / rung {result.rung!r} appears twice.")
            named[result.rung] = result
    if BASELINE not in named:
        raise ValueError(f"结果里没有基准台阶 {BASELINE!r}：Δ 要和它比。 / the results have no {BASELINE!r} rung, "
                         f"the baseline every delta is measured against.")
    for name, result in named.items():
        if len(result.curve_seconds) != len(result.curve_val):
            raise ValueError(f"台阶 {name!r} 的曲线有 {len(result.curve_seconds)} 个时间点，却有 "
                             f"{len(result.curve_val)} 个损失值。 / rung {name!r} has {len(result.curve_seconds)} "
                             f"curve_seconds but {len(result.curve_val)} curve_val.")
    return named


def ordered(names: Iterable[str]) -> list[str]:
    """``names`` in the ladder's order (:data:`RUNGS`), the baseline first; names not on the ladder after, as given."""
    names = list(dict.fromkeys(names))
    return [n for n in RUNGS if n in names] + [n for n in names if n not in RUNGS]


def shown_rungs(results: Results, chosen: Iterable[str]) -> list[str]:
    """The rungs drawn for ``chosen``: the baseline (always) and the chosen ones, in the ladder's order."""
    named = by_name(results)
    chosen = list(chosen) if not isinstance(chosen, str) else [chosen]
    unknown = [name for name in chosen if name not in named]
    if unknown:
        have = ", ".join(ordered(named))
        raise ValueError(f"没有这些台阶的结果：{unknown}。有结果的台阶：{have}。 / no results for {unknown}; "
                         f"the results have: {have}.")
    return ordered([BASELINE, *chosen])


def colors(names: Sequence[str], *, baseline: str = BASELINE_SVG) -> dict[str, str]:
    """A colour per rung: :data:`COLORS`, ``baseline`` for nanoGPT, :data:`SPARE_COLORS` in turn for the others
    (pass every rung of the results, in the ladder's order, so that a rung keeps its colour whatever is shown)."""
    spare = iter(SPARE_COLORS * (1 + len(names) // len(SPARE_COLORS)))
    return {name: baseline if name == BASELINE else COLORS.get(name) or next(spare) for name in names}


def _check_seconds(seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < math.inf:
        raise ValueError(f"seconds 必须是大于 0 的有限数（每个台阶训练的 CPU 秒数），收到 {seconds!r}。 / "
                         f"seconds must be a finite number > 0 (each rung's CPU seconds), got {seconds!r}.")
    return float(seconds)


@dataclass(frozen=True)
class Row:
    """One rung's line of the table."""

    rung: str
    params: int
    ms_per_step: float
    steps: int
    val: float  # the whole validation split at the end
    delta: float  # val - nanoGPT's val: negative = better than the baseline

    @property
    def baseline(self) -> bool:
        return self.rung == BASELINE


def ladder_rows(results: Results) -> list[Row]:
    """Every rung's row, in the ladder's order, with Δ = its whole-split val loss minus nanoGPT's."""
    named = by_name(results)
    base = named[BASELINE].val
    return [Row(name, named[name].params, named[name].ms_per_step, named[name].steps, named[name].val,
                named[name].val - base) for name in ordered(named)]


# --- the live view: SVG and HTML --------------------------------------------------------------------------------

def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round ticks inside [``low``, ``high``]: the smallest step of 1, 2, 2.5 or 5 × 10^k that splits the range into
    at most ``count`` + 3 parts (so at least three ticks, at most ``count`` + 4)."""
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise ValueError(f"刻度的范围必须是有限数且 low < high，收到 {low!r}…{high!r}。 / "
                         f"the tick range must be finite with low < high, got {low!r}..{high!r}.")
    span = high - low
    power = 10.0 ** math.floor(math.log10(span / (count + 3)))
    step = next(m * p for p in (power, 10 * power) for m in (1, 2, 2.5, 5) if span / (m * p) <= count + 3 + 1e-9)
    digits = max(0, 1 - math.floor(math.log10(step)))  # enough decimals for steps like 0.25
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    return [round(k * step, digits) for k in range(first, last + 1)]


def axis_range(values: Sequence[float], *, start: float | None = None, pad: float = 0.04) -> tuple[float, float]:
    """The axis around ``values``: from ``start`` (or a little below the smallest) to a little above the largest."""
    low = min(values) if start is None else start
    high = max(values)
    if high <= low:
        half = abs(high) * 0.05 or 0.5
        return low - half, high + half
    margin = pad * (high - low)
    return (low if start is not None else low - margin), high + margin


def _tick_label(value: float) -> str:
    return f"{value:g}"


def _finite_points(result: RungResult) -> list[tuple[float, float]]:
    return [(s, v) for s, v in zip(result.curve_seconds, result.curve_val) if math.isfinite(s) and math.isfinite(v)]


def curves_svg(results: Results, chosen: Iterable[str], seconds: float, *, width: int = WIDTH,
               height: int = HEIGHT) -> str:
    """An inline SVG: the val-loss estimates of nanoGPT and the ``chosen`` rungs against CPU seconds (one polyline and
    its points per rung), axes with round ticks, a dotted vertical line at ``seconds`` (the equal time) and a legend.
    Non-finite estimates (a rung that diverged) are left out."""
    seconds = _check_seconds(seconds)
    if width < LEFT + RIGHT + 100 or height < TOP + BOTTOM + 60:
        raise ValueError(f"SVG 太小：至少 {LEFT + RIGHT + 100}×{TOP + BOTTOM + 60}，收到 {width}×{height}。 / "
                         f"the SVG must be at least {LEFT + RIGHT + 100}x{TOP + BOTTOM + 60}, got {width}x{height}.")
    named = by_name(results)
    names = shown_rungs(named, chosen)
    palette = colors(ordered(named))  # over every rung of the results: the same colours as the table's
    points = {name: _finite_points(named[name]) for name in names}
    xs = [s for pts in points.values() for s, _ in pts]
    ys = [v for pts in points.values() for _, v in pts]
    (x0, x1), (y0, y1) = axis_range([seconds, *xs], start=0.0), axis_range(ys or [0.0, 1.0])
    x_ticks, y_ticks = nice_ticks(x0, x1), nice_ticks(y0, y1)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM

    def x(value: float) -> float:
        return LEFT + (value - x0) / (x1 - x0) * plot_w

    def y(value: float) -> float:
        return TOP + (y1 - value) / (y1 - y0) * plot_h

    bottom, right = TOP + plot_h, LEFT + plot_w
    parts = [(f'<svg class="nl-ladder-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
              f'width="{width}" height="{height}" role="img" aria-label="验证集损失（估计）对训练的 CPU 秒数" '
              f'font-family="sans-serif" font-size="11" fill="currentColor">')]
    parts.append('<g class="nl-ladder-axes" stroke="currentColor">')
    for t in x_ticks:
        parts.append(f'<line x1="{x(t):.1f}" y1="{TOP}" x2="{x(t):.1f}" y2="{bottom}" stroke-opacity="0.12"/>'
                     f'<line x1="{x(t):.1f}" y1="{bottom}" x2="{x(t):.1f}" y2="{bottom + 4}"/>'
                     f'<text class="nl-ladder-xtick" x="{x(t):.1f}" y="{bottom + 16}" text-anchor="middle" '
                     f'stroke="none">{_tick_label(t)}</text>')
    for t in y_ticks:
        parts.append(f'<line x1="{LEFT}" y1="{y(t):.1f}" x2="{right}" y2="{y(t):.1f}" stroke-opacity="0.12"/>'
                     f'<line x1="{LEFT - 4}" y1="{y(t):.1f}" x2="{LEFT}" y2="{y(t):.1f}"/>'
                     f'<text class="nl-ladder-ytick" x="{LEFT - 7}" y="{y(t) + 4:.1f}" text-anchor="end" '
                     f'stroke="none">{_tick_label(t)}</text>')
    parts.append(f'<polyline fill="none" points="{LEFT},{TOP} {LEFT},{bottom} {right},{bottom}"/></g>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">训练的 CPU 秒数</text>'
                 f'<text x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">验证集损失（估计）</text>')
    at = x(seconds)
    parts.append(f'<line class="nl-ladder-equal-time" data-seconds="{seconds:g}" x1="{at:.1f}" y1="{TOP}" '
                 f'x2="{at:.1f}" y2="{bottom}" stroke="{EQUAL_TIME}" stroke-width="1.5" stroke-dasharray="2 3"/>'
                 f'<text x="{at - 4:.1f}" y="{TOP + 12}" text-anchor="end" fill="{EQUAL_TIME}">'
                 f'相同时间 {seconds:g} 秒</text>')
    for name in names:  # the baseline first, so the rungs are drawn over it
        label, color = html.escape(name), palette[name]
        thick = "2.5" if name == BASELINE else "1.8"
        coords = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in points[name])
        dots = "".join(f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="2"/>' for s, v in points[name])
        parts.append(f'<g class="nl-ladder-rung" data-rung="{label}" fill="{color}"><title>{label}</title>'
                     f'<polyline class="nl-ladder-curve" data-rung="{label}" fill="none" stroke="{color}" '
                     f'stroke-width="{thick}" stroke-linejoin="round" points="{coords}"/>{dots}</g>')
    parts.append('<g class="nl-ladder-legend">')
    for k, name in enumerate(names):
        label, color, row = html.escape(name), palette[name], TOP + 8 + 18 * k
        suffix = "（基准）" if name == BASELINE else ""
        parts.append(f'<line x1="{right + 12}" y1="{row}" x2="{right + 32}" y2="{row}" stroke="{color}" '
                     f'stroke-width="{2.5 if name == BASELINE else 1.8}"/>'
                     f'<text x="{right + 37}" y="{row + 4}">{label}{suffix}</text>')
    parts.append("</g></svg>")
    return "".join(parts)


def _signed(delta: float) -> str:
    return f"{delta:+.4f}".replace("-", "−")  # a real minus sign: as wide as the plus


def rows_html(rows: Sequence[Row], chosen: Iterable[str] | None = None) -> str:
    """The table of ``rows`` (all of them, or only nanoGPT's and the ``chosen`` rungs'): rung, parameters, ms per step,
    steps, whole-split val loss and Δ against nanoGPT (negative = better)."""
    keep = None if chosen is None else {BASELINE, *([chosen] if isinstance(chosen, str) else chosen)}
    palette = colors([row.rung for row in rows])
    body = []
    for row in rows:
        if keep is not None and row.rung not in keep:
            continue
        swatch = f'<span class="nl-ladder-swatch" style="background:{palette[row.rung]}"></span>'
        delta = "基准" if row.baseline else _signed(row.delta)
        note = html.escape(NOTES.get(row.rung, ""))
        body.append(f'<tr class="nl-ladder-row" data-rung="{html.escape(row.rung)}">'
                    f'<td class="nl-ladder-name" title="{note}">{swatch}<code>{html.escape(row.rung)}</code></td>'
                    f"<td>{row.params:,}</td><td>{row.ms_per_step:.1f}</td><td>{row.steps:,}</td>"
                    f'<td>{row.val:.4f}</td><td class="nl-ladder-delta">{delta}</td></tr>')
    head = ("<tr><th>台阶</th><th>参数</th><th>毫秒/步</th><th>步数</th><th>验证集损失（整个验证集）</th>"
            f"<th>Δ 对 {BASELINE}（负 = 更好）</th></tr>")
    return f'<table class="nl-ladder-table">{head}{"".join(body)}</table>'


CSS = """<style>
.nl-ladder-view {font-family:sans-serif; padding:4px 0}
.nl-ladder-view .nl-ladder-svg {max-width:100%; height:auto}
.nl-ladder-view table {border-collapse:collapse; font-size:12px; margin-top:4px}
.nl-ladder-view th, .nl-ladder-view td {padding:1px 8px; text-align:right}
.nl-ladder-view th:first-child, .nl-ladder-view td:first-child {text-align:left}
.nl-ladder-view th {border-bottom:1px solid var(--jp-border-color1, #ccc)}
.nl-ladder-view .nl-ladder-swatch {display:inline-block; width:10px; height:10px; margin-right:4px; border-radius:2px}
.nl-ladder-view .nl-ladder-note {font-size:11px; color:var(--jp-content-font-color2)}
</style>"""


def ladder_html(results: Results, chosen: Iterable[str], seconds: float) -> str:
    """The explorer's view: :func:`curves_svg` and the table of nanoGPT and the ``chosen`` rungs."""
    chosen = list(chosen) if not isinstance(chosen, str) else [chosen]
    svg = curves_svg(results, chosen, seconds)  # checks results, chosen and seconds
    note = (f"每个台阶都训练了大约 {seconds:g} 秒 CPU 时间（虚线），所以更慢的改动走的步数更少。"
            f"曲线是训练中途的估计；表里的损失是训练结束后在整个验证集上测的。")
    return (f'{CSS}<div class="nl-ladder-view">{svg}{rows_html(ladder_rows(results), chosen)}'
            f'<div class="nl-ladder-note">{html.escape(note)}</div></div>')


# --- the static twin ----------------------------------------------------------------------------------------------

def ladder_figure(results: Results, rungs: Iterable[str] | None, seconds: float) -> Figure:
    """Static twin of the explorer: left, the val-loss curves of nanoGPT and ``rungs`` (None: every rung in the
    results) against CPU seconds, with the equal time ``seconds`` marked; right, each rung's Δ against nanoGPT."""
    from matplotlib.figure import Figure

    from ..plotting import figure_label

    seconds = _check_seconds(seconds)
    named = by_name(results)
    names = shown_rungs(named, named if rungs is None else rungs)
    palette = colors(ordered(named), baseline=BASELINE_FIGURE)
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    curves, bars = fig.subplots(1, 2, width_ratios=(3, 2))
    for name in names:
        result = named[name]
        curves.plot(result.curve_seconds, result.curve_val, "-o", markersize=2.5, color=palette[name],
                    lw=2.5 if name == BASELINE else 1.6, label=name, zorder=3 if name == BASELINE else 2)
    curves.axvline(seconds, color=EQUAL_TIME, ls=":", lw=1.2)
    curves.text(seconds, 1.0, figure_label(f"相同时间 {seconds:g} 秒", f"equal time {seconds:g} s"),
                transform=curves.get_xaxis_transform(), color=EQUAL_TIME, ha="right", va="bottom", fontsize=8)
    curves.set_xlabel(figure_label("训练的 CPU 秒数", "CPU seconds of training"))
    curves.set_ylabel(figure_label("验证集损失（估计）", "val loss (estimate)"))
    curves.legend(fontsize=8)
    others = [name for name in names if name != BASELINE]
    base = named[BASELINE].val
    deltas = [named[name].val - base for name in others]
    drawn = bars.barh(range(len(others)), deltas, color=[palette[name] for name in others])
    bars.bar_label(drawn, [_signed(d) for d in deltas], padding=3, fontsize=8)
    bars.margins(x=0.2)  # room for the labels
    bars.set_yticks(range(len(others)), others)
    bars.invert_yaxis()  # the ladder's order, top to bottom
    bars.axvline(0, color=BASELINE_FIGURE, lw=0.8)
    bars.set_xlabel(figure_label(f"验证集损失 − {BASELINE} 的（负 = 更好）", f"val loss − {BASELINE}'s (negative = better)"))
    bars.set_title(figure_label(f"整个验证集上比 {BASELINE}", f"whole val split vs {BASELINE}"), fontsize=10)
    return fig


# --- the widget ---------------------------------------------------------------------------------------------------

class LadderExplorer(widgets.VBox):
    """A checkbox per rung (nanoGPT always drawn, as the reference); every click redraws the curves and the table
    from the given results. Errors show in the widget."""

    def __init__(self, results: Results, seconds: float, *, chosen: Iterable[str] | None = None) -> None:
        self.results = by_name(results)
        self.seconds = _check_seconds(seconds)
        rungs = [name for name in ordered(self.results) if name != BASELINE]
        chosen = [name for name in DEFAULT_CHOSEN if name in self.results] if chosen is None else list(chosen)
        shown_rungs(self.results, chosen)  # refuses unknown names, before anything is drawn
        snug = widgets.Layout(width="auto", margin="0 12px 0 4px")
        self.reference = widgets.Checkbox(value=True, disabled=True, indent=False, layout=snug,
                                          description=f"{BASELINE}（基准，总是显示）", tooltip=NOTES[BASELINE])
        self.boxes = {name: widgets.Checkbox(value=name in chosen, description=name, indent=False, layout=snug,
                                             tooltip=NOTES.get(name, ""))
                      for name in rungs}
        self.all_button = widgets.Button(description="全选", layout=widgets.Layout(width="auto"))
        self.none_button = widgets.Button(description="只看基准", layout=widgets.Layout(width="auto"))
        self.view = widgets.HTML()
        self.out = widgets.Output()  # errors raised in a callback appear here
        self._guard = ErrorGuard(self.out)
        self._holding = False  # True while select() ticks several boxes: one redraw at the end
        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")
        super().__init__([
            widgets.HBox([widgets.Label("选台阶："), self.reference, *self.boxes.values()], layout=wrap),
            widgets.HBox([self.all_button, self.none_button], layout=wrap),
            self.view,
            self.out,
        ])
        chapter_widget(self, "nl-ladder-explorer")
        for box in self.boxes.values():
            box.observe(self._guard(self._changed), names="value")
        self.all_button.on_click(self._guard(lambda _: self.select(rungs)))
        self.none_button.on_click(self._guard(lambda _: self.select([])))
        self._show()

    @classmethod
    def from_file(cls, path: str | os.PathLike = LADDER_FILE, **kwargs: Iterable[str] | None) -> LadderExplorer:
        """The explorer on a ladder saved by ``python -m nanogpt_lite.ladder`` (default: the shipped one)."""
        meta, results = load_results(path)
        return cls(results, meta["seconds"], **kwargs)

    def chosen(self) -> list[str]:
        """The ticked rungs, in the ladder's order (nanoGPT, always drawn, not among them)."""
        return [name for name, box in self.boxes.items() if box.value]

    def select(self, names: Iterable[str]) -> None:
        """Tick exactly ``names`` (the others unticked), then redraw once."""
        names = list(names)
        shown_rungs(self.results, names)
        self._holding = True
        try:
            for name, box in self.boxes.items():
                box.value = name in names
        finally:
            self._holding = False
        self._show()

    def _changed(self, change: object = None) -> None:
        if not self._holding:
            self._show()

    def _show(self) -> None:
        self.view.value = ladder_html(self.results, self.chosen(), self.seconds)
