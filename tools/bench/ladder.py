"""Chapter 7's goal: nanochat's changes all together against chapter 6's recipe and nanoGPT's README CPU recipe,
each trained for the same 60 s of one CPU thread in this process, one after the other (about four minutes).

Also the CPU seconds each needs before its val estimate reaches 1.80 (the first estimate at or under it).
"""
from __future__ import annotations

from typing import Any

from nanogpt_lite.gpt_training import CPU_RECIPE, NANOGPT_CPU_RECIPE
from nanogpt_lite.ladder import SECONDS, train_rung

from .lesson import Lesson
from .report import Figure, Goal, markdown_table

MODERN_GOAL = 1.72  # issue 28: whole-split val within 60 s of one thread (the moonshot is 1.70)
MARK = 1.80
RECIPES = {"modern (all rungs)": ("all", CPU_RECIPE), "chapter 6 (CPU_RECIPE)": ("nanoGPT", CPU_RECIPE),
           "nanoGPT README CPU recipe": ("nanoGPT", NANOGPT_CPU_RECIPE)}


def seconds_to(curve_seconds: list[float], curve_val: list[float], mark: float = MARK) -> float | None:
    """CPU seconds at the first estimate at or under ``mark`` (None: never)."""
    return next((s for s, v in zip(curve_seconds, curve_val) if v <= mark), None)


def measure(args: Any, lesson: Lesson) -> dict[str, Any]:
    rows = {}
    for name, (rung, recipe) in RECIPES.items():
        result, _ = train_rung(rung, lesson.train, lesson.val, seconds=SECONDS, recipe=recipe, progress=False)
        rows[name] = {"val": result.val, "ms_per_step": result.ms_per_step, "steps": result.steps, "params": result.params,
                      "s_to_mark": seconds_to(result.curve_seconds, result.curve_val)}
    return {"seconds": SECONDS, "recipes": rows}


def figures(result: dict[str, Any]) -> list[Figure]:
    modern = result["recipes"]["modern (all rungs)"]
    found = [Figure(f"chapter 7 modern recipe: whole-split val after {result['seconds']:.0f} s", modern["val"], "",
                    Goal(MODERN_GOAL, ""))]
    for name, row in result["recipes"].items():
        found.append(Figure(f"{name}: CPU s until the val estimate is ≤ {MARK}", row["s_to_mark"], "s",
                            note="" if row["s_to_mark"] is not None else f"not reached in {result['seconds']:.0f} s"))
    return found


def render(result: dict[str, Any]) -> list[str]:
    rows = [[name, f"{row['params']:,}", f"{row['ms_per_step']:.1f}", f"{row['steps']:,}", f"{row['val']:.4f}",
             "—" if row["s_to_mark"] is None else f"{row['s_to_mark']:.0f}"] for name, row in result["recipes"].items()]
    return ["", f"## Chapter 7: three recipes at {result['seconds']:.0f} s of one CPU thread", "",
            "`nanogpt_lite.ladder.train_rung` for each (steps = the CPU seconds / the ms per step timed on a copy; the "
            "schedule fitted to those steps), one after the other in this process.", "",
            markdown_table(["recipe", "params", "ms/step", "steps", "whole-split val", f"CPU s to ≤ {MARK}"], rows)]
