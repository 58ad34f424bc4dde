"""Enumerate stepper: press Play and watch ``for i, ch in enumerate(seq, start)`` fill ``stoi`` and ``itos``.

The view is :func:`render_step` (pure HTML) over :func:`nanogpt_lite.instruments.enumeration.build_steps`;
:func:`steps_figure` draws the same steps for the printed handout.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..instruments.enumeration import Step, build_steps
from ..plotting import figure_label
from .inputs import CHIP_INK, ErrorGuard, IntField
from .saved import chapter_widget

NEWEST = "#ffb74d"  # the entry the current step added
REPLACED = "#ef9a9a"  # an entry the current step overwrote
DONE = "#e8f5e9"  # an item enumerate has already yielded
# Every coloured box names its text colour too (the page's text may be white: JupyterLab Dark); uncoloured ones
# take the theme's.
CSS = f"""<style>
.nl-enumerate-view .nl-chip {{display:inline-block; margin:2px; padding:1px 5px; border:1px solid var(--jp-border-color1, #bbb);
  border-radius:4px; font-family:monospace; text-align:center}}
.nl-enumerate-view .nl-done {{background:{DONE}; color:{CHIP_INK}}}
.nl-enumerate-view .nl-current {{background:{NEWEST}; color:{CHIP_INK}; border-color:#e65100; font-weight:bold}}
.nl-enumerate-view .nl-newest {{background:{NEWEST}; color:{CHIP_INK}; font-weight:bold}}
.nl-enumerate-view .nl-replaced {{background:{REPLACED}; color:{CHIP_INK}; padding:2px 4px}}
.nl-enumerate-view .nl-dict {{font-family:monospace; white-space:pre-wrap; overflow-wrap:anywhere}}
</style>"""


def sequence_of(text: str, unique: bool) -> list[str]:
    """What the stepper enumerates: the characters of ``text``, or chapter 1's ``sorted(set(text))``."""
    return sorted(set(text)) if unique else list(text)


def _dict_html(entries: list[tuple[str, str]], newest: int | None) -> str:
    items = [
        f'<span class="nl-newest">{html.escape(k)}: {html.escape(v)}</span>' if n == newest
        else f"{html.escape(k)}: {html.escape(v)}"
        for n, (k, v) in enumerate(entries)
    ]
    return "{" + ", ".join(items) + "}"


def render_step(seq: list[str], k: int, start: int = 0, name: str = "序列") -> str:
    """HTML for the state after ``k`` calls of next() on ``enumerate(seq, start)`` (k = 0: none yet).

    ``name`` is how the header writes the sequence, e.g. ``"sorted(set('hello'))"``.
    """
    if not 0 <= k <= len(seq):
        raise ValueError(
            f"第 k={k} 步超出范围：这个序列有 {len(seq)} 个元素，k 只能是 0..{len(seq)}。 / "
            f"step k={k} is outside 0..{len(seq)} (the sequence has {len(seq)} items)"
        )
    steps = build_steps(seq, start)
    chips = "".join(
        f'<span class="nl-chip {"nl-current" if n == k - 1 else "nl-done" if n < k - 1 else ""}">'
        f"{html.escape(repr(item))}<br><small>{start + n}</small></span>"
        for n, item in enumerate(seq)
    )
    head = (
        f"<div>enumerate({html.escape(name)}, start={start})：{len(seq)} 个元素，已调用 next() {k} 次</div>"
        f"<div>{chips}</div>"
    )
    if k == 0:
        body = "<div>还没调用 next()：stoi = {}，itos = {}</div>" if seq else "<div>空序列：enumerate 什么也不产生</div>"
        return f'{CSS}<div class="nl-enumerate-view">{head}{body}</div>'
    step: Step = steps[k - 1]
    ch = html.escape(repr(step.ch))
    stoi_entries = [(repr(c), str(i)) for c, i in step.stoi.items()]
    itos_entries = [(str(i), repr(c)) for i, c in step.itos.items()]
    body = (
        f"<div><b>第 {k} 次 next() → {html.escape(repr((step.i, step.ch)))}</b>，"
        f"于是 stoi[{ch}] = {step.i}，itos[{step.i}] = {ch}</div>"
        f'<div class="nl-dict">stoi = {_dict_html(stoi_entries, list(step.stoi).index(step.ch))}</div>'
        f'<div class="nl-dict">itos = {_dict_html(itos_entries, len(itos_entries) - 1)}</div>'
        f"<div>大小：len(stoi) = {len(stoi_entries)}，len(itos) = {len(itos_entries)}</div>"
    )
    if step.replaced is not None:
        body += (
            f'<div class="nl-replaced">⚠ {ch} 已在 stoi 里（旧值 {step.replaced}），'
            f"被覆盖成 {step.i}：重复的字符只留下最后一个编号，stoi 和 itos 不再互逆。"
            "所以第 1 章先用 sorted(set(text)) 去重。</div>"
        )
    return f'{CSS}<div class="nl-enumerate-view">{head}{body}</div>'


class EnumerateStepper(widgets.VBox):
    """Play / slider through ``enumerate(text, start)`` and see the (i, ch) pair and the dicts grow."""

    def __init__(self, text: str = "hello", start: int = 0, unique: bool = False, interval_ms: int = 900) -> None:
        self.text = widgets.Text(value=text, description="序列 text")
        self.unique = widgets.Checkbox(value=unique, description="先 sorted(set(text))（第 1 章的做法）", indent=False,
                                       style={"description_width": "initial"}, layout=widgets.Layout(width="auto"))
        self.start = IntField(start, "start=", "start")  # "2.5" is refused with a note, never read as 25
        self.play = widgets.Play(interval=interval_ms, min=0, step=1)
        self.step = widgets.IntSlider(min=0, description="next() 次数")
        # Play and the slider move each other in the browser (jslink). Keeping Play in step from Python instead (one
        # message less per move) let a late Play update pull the slider back under fast key presses.
        self.link = widgets.jslink((self.play, "value"), (self.step, "value"))
        self.view = widgets.HTML()
        self.out = widgets.Output()  # errors raised in the callback appear here
        self._guard = ErrorGuard(self.out)  # callbacks' errors show in self.out
        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")  # a narrow notebook wraps, never clips
        super().__init__([
            widgets.HBox([self.text, self.start, self.unique], layout=wrap),
            widgets.HBox([self.play, self.step], layout=wrap),
            self.view,
            self.out,
        ])
        chapter_widget(self, "nl-enumerate-stepper")
        self._refresh = self._guard(self._show)
        for control in (self.text, self.unique):
            control.observe(self._resize, names="value")
        for control in (self.start, self.step):
            control.observe(self._refresh, names="value")
        self._resize()


    @property
    def sequence(self) -> list[str]:
        return sequence_of(self.text.value, self.unique.value)

    @property
    def name(self) -> str:
        """The enumerated expression as the learner would write it."""
        return f"sorted(set({self.text.value!r}))" if self.unique.value else repr(self.text.value)

    def _resize(self, change: object = None) -> None:
        n = len(self.sequence)
        self.play.max = self.step.max = n  # lowering max also pulls the value down
        self._refresh()

    def _show(self, change: object = None) -> None:
        self.view.value = render_step(self.sequence, self.step.value, self.start.value, self.name)


def steps_figure(text: str = "hello", start: int = 0, unique: bool = False, max_steps: int = 8) -> Figure:
    """The stepper's frames as one picture: a row per next() call, the newest stoi entry highlighted."""
    steps = build_steps(sequence_of(text, unique), start)[:max_steps]
    call = f"enumerate(sorted(set({text!r})), start={start})" if unique else f"enumerate({text!r}, start={start})"
    boxes = [[f"{ch!r}:{i}" for ch, i in step.stoi.items()] for step in steps]
    spacing = 0.12 * max((len(b) for row in boxes for b in row), default=1) + 0.4
    fig = Figure(figsize=(9, 0.5 * len(steps) + 0.8), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, max(10.0, 2.5 + spacing * max((len(row) for row in boxes), default=0)))
    ax.set_ylim(len(steps) - 0.5, -0.9)
    ax.axis("off")
    ax.set_title(figure_label(f"{call} 一步步建出 stoi", f"{call} builds stoi"))
    ax.text(0.1, -0.6, figure_label("next() 给出", "next() yields"), fontsize=9, color="#555")
    ax.text(2.3, -0.6, figure_label("之后的 stoi（橙色：新加；红色：覆盖）", "stoi after (orange: new; red: overwritten)"),
            fontsize=9, color="#555")
    for row, (step, texts) in enumerate(zip(steps, boxes)):
        ax.text(0.1, row, repr((step.i, step.ch)), family="monospace", va="center", fontsize=11)
        for col, (ch, box) in enumerate(zip(step.stoi, texts)):
            colour = (REPLACED if step.replaced is not None else NEWEST) if ch == step.ch else "#eeeeee"
            ax.text(2.3 + spacing * col, row, box, family="monospace", va="center", fontsize=10,
                    bbox={"boxstyle": "round,pad=0.25", "facecolor": colour, "edgecolor": "#999"})
        if step.replaced is not None:
            note = figure_label(f"← 旧值 {step.replaced} 被覆盖", f"← old id {step.replaced} overwritten")
            ax.text(2.3 + spacing * len(texts), row, note, va="center", fontsize=9, color="#b3261e")
    return fig
