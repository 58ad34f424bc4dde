"""Matplotlib set-up for Chinese figures without "Glyph missing" warnings, and the chapters' figure helpers.

Printed text (print, HTML, widget text, error messages, tables) is always plain Chinese-first text,
whatever fonts are installed. Only text drawn *inside* a figure may fall back to English, through
:func:`figure_label`, on a machine without a CJK font.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

CJK_FONTS = tuple(f"Noto Sans CJK {region}" for region in ("SC", "JP", "TC", "KR", "HK"))
"""The Noto Sans CJK faces, preferred first. Each one draws simplified Chinese: with matplotlib < 3.11
only face 0 of Debian's ``fonts-noto-cjk`` .ttc ("Noto Sans CJK JP") is registered."""

GLYPH_WARNING = r"Glyph \d+ \(.*\) missing from (?:current font|font\(s\))"
"""matplotlib's per-glyph warning: "... missing from current font." (3.8), "... missing from font(s) NAMES." (3.9+)."""


def cjk_font() -> str | None:
    """The preferred installed Noto Sans CJK face, or None when there is none."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((face for face in CJK_FONTS if face in installed), None)


def has_cjk_font() -> bool:
    """Whether any Noto Sans CJK face is installed, so Chinese glyphs in figures will render."""
    return cjk_font() is not None


def setup_matplotlib() -> bool:
    """Use DejaVu Sans with the installed Noto Sans CJK face as per-glyph fallback.

    Returns whether Chinese glyphs will render. Without the font, Chinese labels show as boxes
    (install Noto Sans CJK, e.g. Debian's ``fonts-noto-cjk``), and matplotlib's per-glyph
    "Glyph ... missing" warnings are silenced so they do not bury the notebook's output.
    """
    matplotlib.rcParams["figure.dpi"] = 90
    matplotlib.rcParams["axes.unicode_minus"] = False
    face = cjk_font()
    if face is not None:
        matplotlib.rcParams["font.family"] = ["DejaVu Sans", face]
        return True
    warnings.filterwarnings("ignore", message=GLYPH_WARNING, category=UserWarning)
    return False


def figure_label(zh: str, en: str) -> str:
    """Text drawn inside a figure: ``zh``, or ``en`` when no CJK font can draw it.

    For figures only: never print it, put it in HTML or widget text, or raise it; those stay ``zh``.
    """
    return zh if has_cjk_font() else en



# --- The chapters' figures: the set-up lives here, so a notebook cell only says what to draw -------------

Label = str | tuple[str, str]
"""Text for a figure: a plain string, or a ``(zh, en)`` pair passed through :func:`figure_label`."""


def _text(label: Label) -> str:
    return figure_label(*label) if isinstance(label, tuple) else label


def _same_length(what: str, expected: int, values: Sequence[float]) -> None:
    if len(values) != expected:
        raise ValueError(f"{what} 应有 {expected} 个值，收到 {len(values)} 个。 / {what} needs {expected} values, got {len(values)}")


def show(fig: Figure) -> None:
    """Show ``fig`` in the notebook, then let it go (closed, not kept in ``Out``), so its memory is freed."""
    from IPython.display import display  # only when showing: importing this module needs no IPython

    display(fig)
    from matplotlib import pyplot  # a figure made with pyplot stays registered until it is closed

    pyplot.close(fig)


def grouped_bars(
    labels: Sequence[str],
    series: Mapping[Label, Sequence[float]],
    *,
    colors: Sequence[str] | None = None,
    ylabel: Label = "",
    title: Label = "",
    figsize: tuple[float, float] = (9, 3.2),
) -> Figure:
    """Side-by-side bars: one group per label, one bar per series (in order), with a legend."""
    if not series:
        raise ValueError("至少要有一组数据。 / series must not be empty")
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(series)
    for k, (name, values) in enumerate(series.items()):
        _same_length(f"series {_text(name)!r}", len(labels), values)
        offset = (k - (len(series) - 1) / 2) * width
        color = None if colors is None else colors[k]
        ax.bar([i + offset for i in range(len(labels))], [float(v) for v in values], width, color=color, label=_text(name))
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel(_text(ylabel))
    ax.set_title(_text(title))
    ax.legend()
    return fig


def frequency_convergence_figure(
    labels: Sequence[str],
    probs: Sequence[float],
    freqs: Mapping[int, Sequence[float]],
    sizes: Sequence[int],
    distances: Sequence[float],
) -> Figure:
    """Left: probabilities (bars) and the frequencies of N draws (markers). Right: distance against N, log-log,
    with a 1/sqrt(N) line through the second point for comparison."""
    _same_length("distances", len(sizes), distances)
    if len(sizes) < 2:
        raise ValueError(f"至少要两个 N 才能画出趋势，收到 {list(sizes)}。 / need at least two sizes, got {list(sizes)}")
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.bar(range(len(labels)), [float(p) for p in probs], color="#cfd8dc", label=figure_label("真实概率", "probability"))
    for (n, values), marker in zip(freqs.items(), "osx^v"):
        _same_length(f"freqs[{n}]", len(labels), values)
        left.plot(range(len(labels)), [float(v) for v in values], marker, label=f"N = {n:,}")
    left.set_xticks(range(len(labels)), labels)
    left.set_title(figure_label("抽样频率 vs 概率", "frequency vs probability"))
    left.legend()
    right.loglog(sizes, distances, "o-", label=figure_label("实测", "measured"))
    anchor_n, anchor_d = sizes[1], distances[1]
    right.loglog(sizes, [anchor_d * math.sqrt(anchor_n / n) for n in sizes], "--", color="gray", label="∝ 1/√N")
    right.set_xlabel(figure_label("抽样次数 N", "draws N"))
    right.set_ylabel(figure_label("总变差距离", "total variation"))
    right.legend()
    return fig


def entropy_temperature_figure(
    temperatures: Sequence[float],
    curves: Mapping[Label, Sequence[float]],
    levels: Mapping[str, float],
    *,
    mark: float = 1.0,
    title: Label = "",
) -> Figure:
    """Entropy against temperature (log x axis), one curve per entry, with dashed reference ``levels``
    (e.g. ``{"ln 65": math.log(65)}``) and a vertical line at T = ``mark``."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    for name, values in curves.items():
        _same_length(f"curve {_text(name)!r}", len(temperatures), values)
        ax.semilogx(temperatures, values, label=_text(name))
    for (name, level), style in zip(levels.items(), ["--", ":", "-."]):
        ax.axhline(level, ls=style, color="gray")
        ax.text(min(temperatures) * 1.1, level - 0.3, name, color="gray")
    ax.axvline(mark, color="#e65100", lw=0.8)
    ax.text(mark * 1.1, 0.2, f"T = {mark:g}", color="#e65100")
    ax.set_xlabel(figure_label("温度 T（对数坐标）", "temperature T (log scale)"))
    ax.set_ylabel(figure_label("熵（nats）", "entropy (nats)"))
    ax.set_title(_text(title))
    ax.legend()
    return fig
