"""Chapter 6's CPU recipe against nanoGPT's README CPU recipe, both with our GPT, in this process (one thread).

The same side-by-side as ``python -m tools.gpt_recipe``: about four minutes (ours 2,400 steps, nanoGPT's 2,000
steps of a model twice as wide). Seconds are steps x the median CPU ms per step, so a busy neighbour slows
the report, not the verdict.
"""
from __future__ import annotations

from typing import Any

from nanogpt_lite.gpt_training import CPU_RECIPE, NANOGPT_CPU_RECIPE
from tools.gpt_recipe import CHAPTER_GOAL, side_by_side, table

from .lesson import Lesson
from .report import Figure, Goal

OURS, THEIRS = "ours", "nanoGPT README"
TRAIN_GOAL_S = 90  # issue 12: val <= 1.80 within 90 s of training on a 2-core CPU


def measure(args: Any, lesson: Lesson) -> dict[str, Any]:
    return side_by_side(lesson.train, lesson.val)


def figures(result: dict[str, Any]) -> list[Figure]:
    ours, theirs = result["recipes"][OURS], result["recipes"][THEIRS]
    return [
        Figure("chapter 6 recipe: whole-split val loss", ours["val_whole"], "", Goal(CHAPTER_GOAL, "")),
        Figure(f"chapter 6 recipe: training s until the val estimate is ≤ {CHAPTER_GOAL}", ours["s_to_chapter_goal"], "s",
               Goal(TRAIN_GOAL_S, "s"), "" if ours["s_to_chapter_goal"] is not None else f"not reached in {ours['steps']} steps"),
        Figure(f"chapter 6 recipe minus nanoGPT's README recipe, val estimate at equal time ({result['equal_s']:.0f} s)",
               ours["val_at_equal"] - theirs["val_at_equal"], "", Goal(0.0, "")),
    ]


def _recipe(recipe: dict[str, Any]) -> str:
    return (f"n_embd {recipe['n_embd']}, batch {recipe['batch_size']}, lr {recipe['learning_rate']:g} → {recipe['min_lr']:g}, "
            f"{recipe['steps']:,} steps")


def render(result: dict[str, Any]) -> list[str]:
    return ["", "## Chapter 6's recipe against nanoGPT's README CPU recipe", "",
            f"Both with `nanogpt_lite`'s GPT, one after the other, {result['threads']} thread(s); seconds are steps × the "
            f"median {result['clock']} ms per step (evaluations excluded). nanoGPT's recipe: {_recipe(NANOGPT_CPU_RECIPE)}; "
            f"ours (`CPU_RECIPE`): {_recipe(CPU_RECIPE)}.", "",
            *table(result)]
