"""Prose and outputs cannot drift apart: every number a chapter's markdown quotes is in its cells.

A number written in a markdown cell (``29.2%``, ``4,561``, ``2.4519``) must appear in that notebook's
code or its saved outputs: written the same way (thousands separators aside), or as a printed number
with more decimals that rounds to it (prose "2.47" for a printed "2.4724"). Re-executing a
notebook with new figures therefore makes stale prose fail here. What is not a measurement is
exempt: headings' section numbers and bare citations of them ("见 4.2"), "第 N 章", code spans, links, block
quotes of the FAQ, and the short allow-list below (each entry says why).
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted(p for p in (Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb")
                   if not p.name.startswith("00_"))

# A number: digits with optional thousands commas and decimals, not glued to letters or underscores
# (so names such as ``q1``, ``ch05``, ``float64`` and ``n_embd`` are not numbers).
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])")

# What the prose may say without a cell printing it.
EXEMPT_PATTERNS = [
    r"`[^`\n]*`",                      # code spans
    r"```.*?```",                      # fenced code
    r"\]\([^)]*\)",                    # link targets
    r"<[^>]+>",                        # HTML tags and their attributes
    r"^[ \t]*>[^\n]*",                  # block quotes (the FAQ's own words)
    r"^#+\s*[\d.]+",                   # a heading's section number
    r"第\s*[\d一二三四五六七八九十]+\s*[章节步格题]",  # chapter / section / step references
    r"§\s*[\d.]+",                     # section references
    r"\b\d+(?:\.\d+)+\s*节",           # "4.1 节"
    r"(?:练习|问题|exercise|q)\s*\d+",   # exercise numbers
    r"(?:Python|PyTorch|torch|JupyterLab|ipywidgets|matplotlib|nbval|GPT-?|AVX-)\s*\d+(?:\.\d+)*",  # versions, names
    r"\d+\s*(?:-|–|~|到)\s*\d+\s*(?:章)",  # chapter ranges
]
EXEMPT = re.compile("|".join(EXEMPT_PATTERNS), re.M | re.S | re.I)

# Small counting words a sentence uses without measuring anything ("两个", "第 1 个", "3 种").
SMALL_INTEGERS = {str(n) for n in range(0, 11)}


def _normalize(integer: str, decimals: str | None) -> str:
    return integer.replace(",", "") + (decimals or "")


def roundings(number: str) -> set[str]:
    """``number`` and every shorter rounding of it: "2.4724" -> {"2.4724", "2.472", "2.47", "2.5", "2"}."""
    value = Decimal(number)
    places = -value.as_tuple().exponent if "." in number else 0
    out = {number}
    for d in range(places):
        quantum = Decimal(1).scaleb(-d)
        for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN):
            out.add(str(value.quantize(quantum, rounding=mode)))
    return out


def numbers_in(text: str) -> set[str]:
    """Every number in ``text``, normalised (thousands separators removed, decimals kept as written)."""
    return {_normalize(m.group(1), m.group(2)) for m in NUMBER.finditer(text)}


def section_numbers(nb: nbformat.NotebookNode) -> set[str]:
    """The notebook's own section numbers ("4.2"), which prose may cite bare ("见 4.2")."""
    return {m.group(1) for cell in nb.cells if cell.cell_type == "markdown"
            for m in re.finditer(r"^#+\s*(\d+\.\d+)", cell.source, re.M)}


def prose_numbers(markdown: str, sections: set[str] = frozenset()) -> set[str]:
    """The numbers a markdown cell states, after removing what is exempt."""
    return {n for n in numbers_in(EXEMPT.sub(" ", markdown)) if n not in SMALL_INTEGERS | sections}


def _output_text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return "\n".join(data.get(kind, "") if isinstance(data.get(kind, ""), str) else "".join(data[kind])
                     for kind in ("text/plain", "text/html", "text/markdown", "text/latex"))


def evidence(nb: nbformat.NotebookNode) -> set[str]:
    """Every number that the notebook's code or saved outputs contain, with its roundings."""
    found: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        found |= numbers_in(cell.source)
        for output in cell.get("outputs", []):
            found |= numbers_in(_output_text(output))
    # The saved widget state (the first frame a reader sees before running anything).
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    for model in state.get("state", {}).values():
        value = model.get("state", {}).get("value")
        if isinstance(value, str):
            found |= numbers_in(value)
    return {r for n in found for r in roundings(n)}


# Numbers a chapter may state without printing them, with the reason. Keep it short.
ALLOWED: dict[str, dict[str, str]] = {}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_number_in_the_prose_is_in_the_notebooks_cells(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    have = evidence(nb) | set(ALLOWED.get(path.name[:2], {}))
    sections = section_numbers(nb)
    stale = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for number in sorted(prose_numbers(cell.source, sections) - have):
            line = next((ln for ln in cell.source.splitlines() if number in ln.replace(",", "")), "")
            stale.append(f"cell {index}: {number!r} in: {line.strip()[:120]}")
    assert not stale, (
        f"{path.name}: numbers in the prose that no cell prints (re-executed outputs changed, or the "
        "prose quotes something unmeasured). Print the number in a cell, fix the prose, or add it to "
        "ALLOWED with a reason:\n  " + "\n  ".join(stale))


@pytest.mark.parametrize(("markdown", "expected"), [
    ("损失是 2.4519，约 29.2% 的词元", {"2.4519", "29.2"}),
    ("共 4,561 行", {"4561"}),
    ("## 4.7 卡方检验（选读）\n第 3 章说过 `q1` 和 `x = 12345`", set()),
    ("> FAQ：概率 40%\n\n实测 46.2%", {"46.2"}),
    ("两个数：3 和 42", {"42"}),
    ("在 q1 里，float64 与 n_embd", set()),
    ("见 [链接](https://example.com/a/123) 与 Python 3.11", set()),
    ("AVX2 还是 AVX-512", set()),
])
def test_prose_numbers_finds_measurements_and_skips_what_is_exempt(markdown: str, expected: set[str]) -> None:
    assert prose_numbers(markdown) == expected


@pytest.mark.parametrize(("printed", "quoted", "matches"), [
    ("2.4724", "2.47", True), ("2.4724", "2.5", True), ("36.9", "37", True), ("0.0153", "0.015", True),
    ("2.4724", "2.48", False), ("2.47", "2.4724", False), ("4,561", "4561", True), ("1.5", "2", True),
])
def test_a_quoted_number_may_round_what_is_printed(printed: str, quoted: str, matches: bool) -> None:
    assert (quoted in {r for n in numbers_in(printed) for r in roundings(n)}) is matches


def test_a_stale_number_fails() -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(round(2.45194, 4))", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="2.4519\n")]),
        nbformat.v4.new_markdown_cell("验证集损失是 2.4519，不是 2.4600。"),
    ])
    assert prose_numbers(nb.cells[1].source) - evidence(nb) == {"2.4600"}
