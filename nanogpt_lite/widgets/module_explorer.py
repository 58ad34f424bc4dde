"""Module explorer: pick a model to see its tree and its parameters/buffers table; pick how an attribute
is attached to see the registered / optimized / saved / moved matrix measured again, live."""
from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..instruments.examples import EXAMPLE_MODELS, example_model
from ..instruments.inspection import (
    ATTACH_CODE,
    ATTACH_KINDS,
    AttachDemo,
    attach_table,
    matrix_table,
    measure_attach,
    module_tree,
    parameter_table,
)
from .inputs import ErrorGuard
from .saved import chapter_widget

if TYPE_CHECKING:  # matplotlib (~30 MiB in a kernel) is imported only when attach_figure draws
    from matplotlib.figure import Figure

# Tables and trees sit in a sideways scroller (a narrow notebook scrolls them, never squeezes a header to one
# character a line); the HTML widgets around them may shrink below their content's width, or nothing would scroll. The ✓/✗ cells carry fixed green/red text (inspection.Table), so they get a fixed white
# background: readable in JupyterLab Dark too.
_STYLE = """<style>
.nl-module-explorer .nl-scroll { overflow-x: auto; }
.nl-module-explorer .widget-html-content { min-width: 0; }
.nl-module-explorer table { border-collapse: collapse; margin: 4px 0; }
.nl-module-explorer th, .nl-module-explorer td { padding: 2px 10px; border-bottom: 1px solid var(--jp-border-color2, #ddd); }
.nl-module-explorer th, .nl-module-explorer caption { white-space: nowrap; }
.nl-module-explorer td[style*="color:"] { background: #fff; }
.nl-module-explorer caption { caption-side: top; text-align: left; color: var(--jp-content-font-color2); }
.nl-module-explorer pre { line-height: 1.3; margin: 4px 0; }
</style>"""


def _pre(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


def _scroll(markup: str) -> str:
    """``markup`` in a box that scrolls sideways when the notebook is narrower than it."""
    return f'<div class="nl-scroll">{markup}</div>'


def model_view(key: str) -> str:
    """HTML: the tree of example model ``key`` and its parameters/buffers table."""
    model = example_model(key)
    return _scroll(_pre(module_tree(model))) + _scroll(parameter_table(model)._repr_html_())


def attach_view(kind: str) -> str:
    """HTML: the line that attaches ``extra``, the module tree it gives, and its measured matrix row."""
    if kind not in ATTACH_CODE:
        raise ValueError(f"unknown attach kind {kind!r}; choose one of {list(ATTACH_KINDS)}")
    code = f"class AttachDemo(nn.Module):\n    def __init__(self):\n        ...\n        {ATTACH_CODE[kind]}"
    trees = _pre(code) + _pre(module_tree(AttachDemo(kind)))
    return _scroll(trees) + _scroll(matrix_table([measure_attach(kind)])._repr_html_())


_COLUMNS = [("得到\n.grad", "gets\n.grad"), ("被 AdamW\n改变", "changed\nby AdamW"), ("在\nparameters()", "in\nparameters()"),
            ("在\nstate_dict()", "in\nstate_dict()"), ("被 .to(float64)\n转换", "moved by\n.to(float64)")]


def attach_figure(kinds: Sequence[str] = ATTACH_KINDS) -> Figure:
    """The widget's second part for every attach kind at once: a measured ✓/✗ grid (``attach_table`` as a figure)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from ..plotting import figure_label

    table = attach_table(kinds)
    fig = Figure(figsize=(10, 0.45 * len(table.rows) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    for row, cells in enumerate(table.rows):
        for col, value in enumerate(cells[2:]):
            colour, ink = ("#1b7f3b", "white") if value else ("#e4e4e4", "#777")
            ax.add_patch(Rectangle((col - 0.46, row - 0.42), 0.92, 0.84, facecolor=colour, edgecolor="white"))
            ax.text(col, row, "✓" if value else "✗", ha="center", va="center", fontsize=13, color=ink)
    ax.set_xlim(-0.5, len(_COLUMNS) - 0.5)
    ax.set_ylim(len(table.rows) - 0.5, -0.5)
    ax.set_xticks(range(len(_COLUMNS)), [figure_label(zh, en) for zh, en in _COLUMNS], fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(table.rows)), [cells[1] for cells in table.rows], family="monospace", fontsize=9)
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    ax.set_title(figure_label("extra 的七种写法：一步 AdamW、state_dict()、.to() 实测碰到了谁",
                       "Seven ways to attach extra: what one AdamW step, state_dict() and .to() reach (measured)"),
                 fontsize=11, pad=12)
    return fig


class AttachGrid:
    """The measured ✓/✗ grid of :func:`attach_figure` as plain SVG: a static figure without matplotlib."""

    CELL_W, CELL_H, LABEL_W, HEAD_H = 96, 30, 430, 58

    def __init__(self, kinds: Sequence[str] = ATTACH_KINDS) -> None:
        self.table = attach_table(kinds)

    @property
    def marks(self) -> list[list[bool]]:
        return [list(cells[2:]) for cells in self.table.rows]

    def _repr_svg_(self) -> str:
        w, h, lw, hh = self.CELL_W, self.CELL_H, self.LABEL_W, self.HEAD_H
        width, height = lw + w * len(_COLUMNS), hh + h * len(self.table.rows) + 8
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Noto Sans CJK SC, sans-serif">',
               f'<rect width="{width}" height="{height}" fill="white"/>']
        for col, (zh, en) in enumerate(_COLUMNS):
            x = lw + w * col + w / 2
            for line, text in enumerate([*zh.split("\n"), en.replace("\n", " ")]):
                size, colour = (12, "#222") if line < 2 else (9, "#777")
                out.append(f'<text x="{x:.0f}" y="{16 + 15 * line}" font-size="{size}" fill="{colour}" '
                           f'text-anchor="middle">{html.escape(text)}</text>')
        for row, cells in enumerate(self.table.rows):
            y = hh + h * row
            out.append(f'<text x="{lw - 8}" y="{y + h / 2 + 4:.0f}" font-size="11" font-family="DejaVu Sans Mono, monospace" '
                       f'text-anchor="end" fill="#222">{html.escape(cells[1])}</text>')
            for col, value in enumerate(cells[2:]):
                fill, ink, mark = ("#1b7f3b", "white", "✓") if value else ("#e4e4e4", "#777", "✗")
                out.append(f'<rect x="{lw + w * col + 2}" y="{y + 2}" width="{w - 4}" height="{h - 4}" fill="{fill}"/>'
                           f'<text x="{lw + w * col + w / 2:.0f}" y="{y + h / 2 + 5:.0f}" font-size="14" fill="{ink}" '
                           f'text-anchor="middle">{mark}</text>')
        out.append("</svg>")
        return "\n".join(out)


class ModuleExplorer(widgets.VBox):
    """``self.model`` picks an example model; ``self.attach`` picks how ``extra`` is attached."""

    def __init__(self, model: str = "bigram", attach: str = "Parameter") -> None:
        options = [(label, key) for key, (label, _) in EXAMPLE_MODELS.items()]
        self.model = widgets.Dropdown(options=options, value=model, description="模型")
        self.model_html = widgets.HTML()
        self.attach = widgets.ToggleButtons(options=ATTACH_KINDS, value=attach, description="extra 写法",
                                            style={"button_width": "auto"}, layout=widgets.Layout(flex_flow="row wrap"))
        self.attach_html = widgets.HTML()
        self.out = widgets.Output()  # shows an error raised inside a callback
        super().__init__([
            widgets.HTML(_STYLE + "<b>① 选一个模型：它注册了什么？</b>"), self.model, self.model_html,
            widgets.HTML("<b>② 换一种方式挂上 <code>extra</code>：一步 AdamW、state_dict()、.to() 各碰到了什么？</b>"),
            self.attach, self.attach_html, self.out,
        ])
        chapter_widget(self, "nl-module-explorer")
        guard = ErrorGuard(self.out)  # a working input sends nothing to self.out
        self._show_model = guard(self._show_model)
        self._show_attach = guard(self._show_attach)
        self.model.observe(self._show_model, names="value")
        self.attach.observe(self._show_attach, names="value")
        self._show_model()
        self._show_attach()

    def _show_model(self, change: dict | None = None) -> None:
        self.model_html.value = model_view(self.model.value)

    def _show_attach(self, change: dict | None = None) -> None:
        self.attach_html.value = attach_view(self.attach.value)
