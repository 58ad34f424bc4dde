"""The report's pure pieces: percentiles, goals with verdicts, figures and Markdown tables (tests/test_bench.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

MIB = 1024 * 1024


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolating linearly between ranks (numpy's default)."""
    if len(values) == 0:
        raise ValueError("percentile of an empty list of values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def format_value(value: float, unit: str) -> str:
    """``12.3 s``, ``310 MiB``, ``0.28%``, ``3.4×``: three significant figures, no unit gap for % and ×."""
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text}{unit}" if unit in ("%", "×") else f"{text} {unit}".rstrip()


@dataclass(frozen=True)
class Goal:
    """A target for one figure: ``value <= limit`` when ``at_most``, else ``value >= limit``."""

    limit: float
    unit: str
    at_most: bool = True

    def __str__(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {format_value(self.limit, self.unit)}"

    def met(self, value: float) -> bool:
        return value <= self.limit if self.at_most else value >= self.limit

    def verdict(self, value: float | None) -> str:
        """``met``, or by how much the goal is missed (absolute, and as a multiple of the goal)."""
        if value is None or math.isnan(value):
            return "not measured"
        if self.met(value):
            return "met"
        gap = abs(value - self.limit)
        times = f" ({value / self.limit:.2f}× the goal)" if self.limit else ""
        return f"missed by {format_value(gap, self.unit)}{times}"


@dataclass
class Figure:
    """One reported number, with its goal when the issue sets one."""

    name: str
    value: float | None
    unit: str
    goal: Goal | None = None
    note: str = ""

    def cells(self) -> list[str]:
        shown = "—" if self.value is None else format_value(self.value, self.unit)
        if self.goal is None:
            return [self.name, shown, "", self.note]
        verdict = self.goal.verdict(self.value)
        mark = "✅" if verdict == "met" else ("⚠️" if verdict == "not measured" else "❌")
        return [self.name, shown, str(self.goal), f"{mark} {verdict}" + (f"; {self.note}" if self.note else "")]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "value": self.value, "unit": self.unit, "note": self.note}
        if self.goal is not None:
            out["goal"] = str(self.goal)
            out["verdict"] = self.goal.verdict(self.value)
        return out


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub Markdown table; ``|`` inside a cell is escaped."""
    cell = lambda value: str(value).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"
