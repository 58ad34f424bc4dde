"""An integer box that refuses bad input visibly, a quiet error guard for callbacks, and the colours the widgets share.

ipywidgets' ``IntText`` turns "2.5" into 25 and ``BoundedIntText`` turns -5 into 0 without a word. :class:`IntField`
leaves what the learner typed alone, says what is wrong (Chinese first) and keeps its last good value;
:func:`parse_int` is the pure rule it applies.

Colours: text on the notebook's own background takes the theme's colour (JupyterLab's ``--jp-…`` variables, or
simply inherited); anything drawn on a background of its own also names its text colour, so it reads the same in
JupyterLab Light, Dark and the static HTML handout.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable

import ipywidgets as widgets
import traitlets

CHIP_INK = "#1a1a1a"  # text on a light chip of fixed colour (tokens, enumerate steps)
ERROR_NOTE = "background:#fdecea;color:#8e1b10;border-radius:3px;padding:1px 6px"  # a fixed pair: any theme
INTEGER = re.compile(r"[+-]?\d+")


def parse_int(text: str, name: str, bounds: tuple[int, int] | None = None) -> int:
    """``text`` as an int; ValueError (zh / en) naming ``name`` when it is not a whole number or lies outside the
    inclusive ``bounds``. Nothing is rounded or clamped: "2.5" and "-5" (for bounds 0..9) are errors, not 2 or 0."""
    if not INTEGER.fullmatch(text.strip()):
        raise ValueError(f"{name} 必须是整数 / {name} must be an integer: got {text!r}")
    value = int(text)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        low, high = bounds
        raise ValueError(f"{name} 必须在 {low} 到 {high} 之间 / {name} must be between {low} and {high}: got {value}")
    return value


def error_note(message: str) -> str:
    """HTML: ``message`` as a dark-red-on-pink note (an explicit colour pair, readable in every theme)."""
    return f'<span class="nl-input-error" style="{ERROR_NOTE}">{html.escape(message)}</span>' if message else ""


class IntField(widgets.HBox):
    """A text box for an integer: ``value`` is the last good one (observe it like any widget value); bad input stays
    as typed, with :func:`error_note` beside it, until the learner corrects it. Setting ``value`` shows it in the box."""

    value = traitlets.Int()

    def __init__(self, value: int, description: str, name: str, *, bounds: tuple[int, int] | None = None,
                 width: str = "160px") -> None:
        self.parameter, self.bounds = name, bounds
        placeholder = f"{bounds[0]} … {bounds[1]}" if bounds else "整数 integer"
        self.text = widgets.Text(value=str(value), description=description, placeholder=placeholder,
                                 continuous_update=False, layout=widgets.Layout(width=width))  # read on Enter or blur
        self.note = widgets.HTML()
        super().__init__([self.text, self.note], value=value,
                         layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.text.observe(self._read, names="value")
        self.observe(self._write, names="value")

    @traitlets.validate("value")
    def _valid(self, proposal: dict) -> int:
        return parse_int(str(proposal["value"]), self.parameter, self.bounds)

    def _read(self, change: object = None) -> None:
        """The learner typed: take the number, or keep the last good one and say why."""
        try:
            self.value = parse_int(self.text.value, self.parameter, self.bounds)
        except ValueError as error:
            self.note.value = error_note(str(error))
        else:
            self.note.value = ""

    def _write(self, change: dict) -> None:
        """``value`` was set from Python: show it, unless the box already says that number (e.g. "+7" for 7)."""
        try:
            shown = parse_int(self.text.value, self.parameter, self.bounds)
        except ValueError:
            shown = None
        if shown != change["new"]:
            self.text.value = str(change["new"])


class ErrorGuard:
    """Wraps widget callbacks so that their errors show in ``out`` (as ``@out.capture`` would) and vanish once fixed.

    Unlike ``out.capture(clear_output=True)``, it sends nothing to the browser while nothing fails: ``out.capture``
    sends four Output updates and a clear_output on every input, which is most of a slider's round trip.
    One guard per widget: the callbacks it wraps share one "has failed" state.
    """

    def __init__(self, out: widgets.Output) -> None:
        self.out = out
        self.failed = False

    def __call__(self, callback: Callable[..., None]) -> Callable[..., None]:
        def run(*args: object) -> None:
            try:
                callback(*args)
            except Exception:
                self.failed = True
                with self.out:  # in a kernel the traceback shows in the widget and stops here; elsewhere it propagates
                    self.out.clear_output(wait=True)
                    raise
                return
            if self.failed:  # the learner fixed it: the old traceback goes
                self.failed = False
                self.out.clear_output()

        return run
