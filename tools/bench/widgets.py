"""Widget callback latency in this process: every widget class in nanogpt_lite/widgets/ is built with the notebooks'
kind of arguments and each of its input controls is set to a sweep of values (buttons clicked). No kernel and no
browser: the comm messages are not included (:mod:`tools.bench.browser` reads the browser's figures)."""
from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import io
import time
from typing import Any, Callable

import ipywidgets as widgets

from nanogpt_lite.bpe import BPETokenizer

from .lesson import Lesson, chapter4_model, timed as _timed
from .report import Figure, Goal, markdown_table, ms as _ms, percentile
from .series import ROOT

GOAL_MS = 100


def control_values(control: Any, n: int, sample_text: str) -> list[Any]:
    """``n`` new values a learner might give ``control``, each different from the one before.

    Sliders and bounded boxes sweep their range; unbounded number boxes count up; check boxes
    toggle; choices cycle through the options (by index); text boxes take slices of
    ``sample_text`` as long as the current text. Buttons have no value: see :func:`is_button`.
    """
    if isinstance(control, (widgets.widget_int._IntRange, widgets.widget_float._FloatRange)):
        raise TypeError(f"no benchmark values for a {type(control).__name__} (a range: two values)")
    if isinstance(control, widgets.widget_bool._Bool):
        return [not control.value if i % 2 == 0 else control.value for i in range(n)]
    if isinstance(control, widgets.widget_selection._Selection):
        count = len(control.options)
        if count < 2:
            return []
        start = control.index if control.index is not None else 0
        return [(start + 1 + i) % count for i in range(n)]  # indices: see set_control
    if isinstance(control, (widgets.Text, widgets.Textarea)):
        width = max(1, len(control.value))
        stride = max(1, (len(sample_text) - width) // max(n, 1))
        return [sample_text[i * stride : i * stride + width] for i in range(n)]
    if isinstance(control, (widgets.widget_int._Int, widgets.widget_float._Float)):
        is_int = isinstance(control, widgets.widget_int._Int)
        low, high = getattr(control, "min", None), getattr(control, "max", None)
        if low is None or high is None:
            return [control.value + i + 1 for i in range(n)]
        grid = [low + (high - low) * i / max(n - 1, 1) for i in range(n)]
        step = getattr(control, "step", None) or (1 if is_int else (high - low) / 100)
        snapped = [min(high, low + round((v - low) / step) * step) for v in grid]
        values = [int(v) for v in snapped] if is_int else [round(v, 10) for v in snapped]
        if values and values[0] == control.value:
            values = values[1:] + values[:1]
        return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
    raise TypeError(f"no benchmark values for a {type(control).__name__}")


def is_button(control: Any) -> bool:
    return isinstance(control, widgets.Button)


def input_controls(widget: Any) -> dict[str, Any]:
    """The widget's attributes a learner changes: value controls and buttons. Play is left out:
    it drives its slider through jslink, in the browser, so in Python it calls nothing."""
    kinds = (widgets.widget_bool._Bool, widgets.widget_selection._Selection, widgets.Text, widgets.Textarea,
             widgets.widget_int._Int, widgets.widget_float._Float, widgets.Button)
    return {
        name: control
        for name, control in vars(widget).items()
        if isinstance(control, kinds) and not getattr(control, "disabled", False)
        and not isinstance(control, (widgets.Play, widgets.widget_int._IntRange, widgets.widget_float._FloatRange))
    }


def set_control(control: Any, value: Any) -> None:
    """What a learner's input does in Python: click a button, pick an option (by index), set a value."""
    if is_button(control):
        control.click()
    elif isinstance(control, widgets.widget_selection._Selection):
        control.index = value
    else:
        control.value = value


# ---------------------------------------------------------------- measurements


def widget_factories(lesson: Lesson) -> dict[str, Callable[[], Any]]:
    """Constructor arguments by parameter name, for widgets that need real objects (as the notebooks pass)."""
    return {
        "model": functools.cache(lambda: chapter4_model(lesson)),
        "tok": lambda: lesson.tok,
        "tokenizers": functools.cache(lambda: {
            "字符级 char": lesson.tok,
            "BPE（256 次合并）": BPETokenizer.train(lesson.text[: len(lesson.train)], num_merges=256),
        }),
    }


def _widget_classes() -> list[type]:
    found = []
    for path in sorted((ROOT / "nanogpt_lite" / "widgets").glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"nanogpt_lite.widgets.{path.stem}")
        found += [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                  if issubclass(obj, widgets.Box) and obj.__module__ == module.__name__]
    return found


def time_widget(widget: Any, samples: int, sample_text: str) -> dict[str, Any]:
    """Time each input control's Python callback (setting its value, or a click) ``samples`` times."""
    per_control, errors = {}, []
    for name, control in input_controls(widget).items():
        values = [None] * samples if is_button(control) else control_values(control, samples, sample_text)
        times = []
        for value in values:
            start = time.perf_counter()
            try:
                with contextlib.redirect_stdout(io.StringIO()):  # a callback's prints would land in the report
                    set_control(control, value)
            except Exception as error:  # noqa: BLE001  (outside a kernel, Output.capture re-raises)
                errors.append(f"{name}={value!r}: {type(error).__name__}: {error}")
            times.append(1000 * (time.perf_counter() - start))
        if times:
            per_control[name] = {"samples_ms": times, "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}
    everything = [t for control in per_control.values() for t in control["samples_ms"]]
    return {
        "controls": per_control,
        "samples": len(everything),
        "p50_ms": percentile(everything, 50) if everything else None,
        "p95_ms": percentile(everything, 95) if everything else None,
        "errors": errors,
    }


def measure_widgets(lesson: Lesson, samples: int) -> dict[str, Any]:
    """Every widget class in nanogpt_lite/widgets/, built with the notebooks' kind of arguments, timed."""
    factories = widget_factories(lesson)
    results = {}
    for cls in _widget_classes():
        needed = [p for p in inspect.signature(cls).parameters.values()
                  if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        unknown = [p.name for p in needed if p.name not in factories]
        key = f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"
        if unknown:
            results[key] = {"skipped": f"constructor needs {', '.join(unknown)} (add it to widget_factories)"}
            continue
        arguments = {p.name: factories[p.name]() for p in needed}
        with contextlib.redirect_stdout(io.StringIO()):
            build_s, widget = _timed(lambda: cls(**arguments))
        css = next((c for c in widget._dom_classes if c.startswith("nl-")), "")
        results[key] = {"css_class": css, "build_ms": 1000 * build_s, **time_widget(widget, samples, lesson.text)}
    return results




def measure(args: Any, lesson: Lesson) -> dict[str, Any]:
    return measure_widgets(lesson, args.widget_samples)


def figures(result: dict[str, Any]) -> list[Figure]:
    return [Figure(f"{row['css_class'] or key}: Python callback p95", row["p95_ms"], "ms", Goal(GOAL_MS, "ms"))
            for key, row in result.items() if "skipped" not in row]


def render(result: dict[str, Any]) -> list[str]:
    out = ["", "## Widget callback latency (in process)", "",
            "Python callback time in this process: each input control set to a sweep of values (buttons clicked); "
            "no kernel, so the comm messages to the browser are not included.", ""]
    rows = []
    for key, r in result.items():
        if "skipped" in r:
            rows.append([key, "", "", "", "", "", "", r["skipped"]])
            continue
        slowest = max(r["controls"].items(), key=lambda item: item[1]["p95_ms"], default=("—", {"p95_ms": None}))
        rows.append([key, r["css_class"], _ms(r["build_ms"]), r["samples"], _ms(r["p50_ms"]), _ms(r["p95_ms"]),
                     f"{slowest[0]} ({_ms(slowest[1]['p95_ms'])})", f"{len(r['errors'])} errors" if r["errors"] else ""])
    out.append(markdown_table(["widget", "class", "build ms", "samples", "p50 ms", "p95 ms", "slowest control (p95 ms)", "note"], rows))
    for key, r in result.items():
        for error in r.get("errors", [])[:3]:
            out.append(f"- {key}: {error}")
    return out
