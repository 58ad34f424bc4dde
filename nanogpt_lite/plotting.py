"""Matplotlib set-up for Chinese figures without "Glyph missing" warnings.

Printed text (print, HTML, widget text, error messages, tables) is always plain Chinese-first text,
whatever fonts are installed. Only text drawn *inside* a figure may fall back to English, through
:func:`figure_label`, on a machine without a CJK font.
"""
from __future__ import annotations

import warnings

import matplotlib
from matplotlib import font_manager

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

