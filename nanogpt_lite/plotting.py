"""Matplotlib set-up for Chinese labels without "Glyph missing" warnings."""
from __future__ import annotations

import warnings

import matplotlib
from matplotlib import font_manager

CJK_FONT = "Noto Sans CJK SC"


def has_cjk_font() -> bool:
    return any(f.name == CJK_FONT for f in font_manager.fontManager.ttflist)


def setup_matplotlib() -> bool:
    """Use DejaVu Sans with Noto Sans CJK SC as per-glyph fallback when it is installed.

    Returns whether Chinese glyphs will render. Without the font, Chinese labels show as boxes
    (install Noto Sans CJK, e.g. Debian's ``fonts-noto-cjk``), and matplotlib's per-glyph
    "Glyph ... missing" warnings are silenced so they do not bury the notebook's output.
    """
    matplotlib.rcParams["figure.dpi"] = 90
    matplotlib.rcParams["axes.unicode_minus"] = False
    if has_cjk_font():
        matplotlib.rcParams["font.family"] = ["DejaVu Sans", CJK_FONT]
        return True
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
    return False


def label(zh: str, en: str) -> str:
    """A Chinese label when the CJK font is installed, else the English one."""
    return zh if has_cjk_font() else en
