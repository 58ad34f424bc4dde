"""Bigram training against the exact count floor: the notebooks' models, steps to within 1% for three recipes,
and what torch's default thread count costs a training step."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from statistics import median
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F

import nanogpt_lite as nl
from nanogpt_lite.gpt_training import CPU_RECIPE, model_from_recipe

from .lesson import Lesson, chapter4_model, chapter5_model, sync as _sync, timed as _timed
from .report import Figure, Goal, markdown_table, seconds as _s

def steps_to_threshold(curve: Iterable[tuple[int, float]], threshold: float) -> int | None:
    """The first step of ``(step, loss)`` pairs whose loss is at or below ``threshold``; None if never."""
    for step, loss in curve:
        if loss <= threshold:
            return step
    return None



def count_loss(weight: torch.Tensor, counts: torch.Tensor) -> float:
    """Exact mean cross-entropy of a bigram whose logit table is ``weight`` on the text whose bigram
    counts are ``counts``: one (vocab, vocab) product instead of one row per character."""
    log_probs = F.log_softmax(weight.detach().double(), dim=-1)
    counts = counts.to(log_probs.device, log_probs.dtype)
    return float(-(counts * log_probs).sum() / counts.sum())



@dataclass
class Race:
    """A training run checked against the exact floors, stopped once within 1% of both."""

    recipe: str
    seed: int
    lesson: Lesson
    curve: list[tuple[int, float, float]] = field(default_factory=list)  # (step, exact train, exact val)
    seconds: float | None = None  # training time (evaluation excluded) until within 1% of both floors
    steps_run: int = 0
    ms_per_step: float = 0.0
    final_val: float = math.nan  # nl.exact_loss at the end: a cross-check of count_loss

    @property
    def train_steps(self) -> int | None:
        return steps_to_threshold([(s, t) for s, t, _ in self.curve], 1.01 * self.lesson.train_floor)

    @property
    def val_steps(self) -> int | None:
        return steps_to_threshold([(s, v) for s, _, v in self.curve], 1.01 * self.lesson.val_floor)

    def record(self, step: int, model: nl.BigramLanguageModel, seconds: float) -> bool:
        """Add the exact losses after ``step``; True (and the time is kept) once both floors are within 1%."""
        weight = model.token_embedding_table.weight
        self.curve.append((step, count_loss(weight, self.lesson.train_counts), count_loss(weight, self.lesson.val_counts)))
        self.steps_run, self.ms_per_step = step, 1000 * seconds / step
        if self.train_steps is not None and self.val_steps is not None:
            self.seconds = seconds
            return True
        return False


def minibatch_race(lesson: Lesson, lr: float, seed: int, max_steps: int, eval_every: int = 10) -> Race:
    """nanoGPT's loop (AdamW, batch 32, block 8) with the exact losses checked every ``eval_every`` steps."""
    device = nl.default_device()
    torch.manual_seed(seed)
    model = nl.BigramLanguageModel(lesson.tok.vocab_size).to(device)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    race = Race(f"AdamW lr {lr:g}, batch 32, block 8", seed, lesson)
    elapsed = 0.0
    for step in range(1, max_steps + 1):
        start = time.perf_counter()
        xb, yb = nl.get_batch(lesson.train, 32, 8, generator=generator)
        _, loss = model(xb.to(device), yb.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        _sync(device)
        elapsed += time.perf_counter() - start
        if (step % eval_every == 0 or step == max_steps) and race.record(step, model, elapsed):
            break
    race.final_val = nl.exact_loss(model, lesson.val)
    return race


def full_batch_race(lesson: Lesson, seed: int, max_steps: int) -> Race:
    """nl.train_full_batch from a fresh model for 1, 2, 3, ... steps until within 1% of both floors."""
    device = nl.default_device()
    race = Race("nl.train_full_batch (Adam lr 0.3)", seed, lesson)
    for steps in range(1, max_steps + 1):
        torch.manual_seed(seed)
        model = nl.BigramLanguageModel(lesson.tok.vocab_size).to(device)
        seconds, _ = _timed(lambda: (nl.train_full_batch(model, lesson.train_counts, steps=steps, progress=False), _sync(device)))
        if race.record(steps, model, seconds):
            break
    race.final_val = nl.exact_loss(model, lesson.val)
    return race


def _median_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return median(present) if present else None


def bigram_step(lesson: Lesson) -> Callable[[], None]:
    """One step of chapter 5's loop (AdamW lr 1e-2, batch 32, block 8) on the bigram."""
    model = nl.BigramLanguageModel(lesson.tok.vocab_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        xb, yb = nl.get_batch(lesson.train, 32, 8, generator=generator)
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def gpt_step(lesson: Lesson) -> Callable[[], None]:
    """One step of chapter 6's recipe (CPU_RECIPE) on its GPT: forward, backward, clip, AdamW."""
    model = model_from_recipe(CPU_RECIPE, lesson.tok.vocab_size)
    optimizer = model.configure_optimizers(CPU_RECIPE["weight_decay"], CPU_RECIPE["learning_rate"], (0.9, 0.99), "cpu")
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        xb, yb = nl.get_batch(lesson.train, CPU_RECIPE["batch_size"], CPU_RECIPE["block_size"], generator=generator)
        _, loss = model(xb, yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CPU_RECIPE["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def thread_cost(step: Callable[[], None], repeats: int, steps: int) -> dict[str, float]:
    """ms per ``step()`` with one torch thread per core (torch's default when OMP_NUM_THREADS is unset)
    and with one thread (the series' default, see ``nl.configure_threads``), interleaved in this process."""
    cores = os.cpu_count() or 1
    timings: dict[int, list[float]] = {cores: [], 1: []}

    def run() -> None:
        for _ in range(steps):
            step()

    try:
        step()  # warm-up: allocations and the optimizer's state
        for _ in range(repeats):
            for threads in timings:
                torch.set_num_threads(threads)
                timings[threads].append(1000 * _timed(run)[0] / steps)
    finally:
        torch.set_num_threads(1)
    return {"default_threads": cores, "default_ms": median(timings[cores]), "one_thread_ms": median(timings[1])}


def _above_floor(lesson: Lesson, model: nl.BigramLanguageModel) -> dict[str, float]:
    val = nl.exact_loss(model, lesson.val)
    return {"val": val, "above_floor_pct": 100 * (val / lesson.val_floor - 1)}


def measure_lesson(lesson: Lesson, repeats: int) -> dict[str, Any]:
    """Floors, the notebooks' model, and steps/seconds to within 1% of the floors for three recipes."""
    seeds = [1337 + i for i in range(repeats)]
    races = {
        "faq": [minibatch_race(lesson, 1e-3, seed, max_steps=15_000) for seed in seeds],
        "lecture": [minibatch_race(lesson, 1e-2, seed, max_steps=5_000) for seed in seeds],
        "full_batch": [full_batch_race(lesson, seed, max_steps=150) for seed in seeds],
    }
    recipes = {}
    for key, runs in races.items():
        recipes[key] = {
            "recipe": runs[0].recipe,
            "seeds": seeds,
            "train_steps": _median_or_none(r.train_steps for r in runs),
            "val_steps": _median_or_none(r.val_steps for r in runs),
            "seconds": _median_or_none(r.seconds for r in runs),
            "reached": sum(r.seconds is not None for r in runs),
            "steps_run": max(r.steps_run for r in runs),
            "ms_per_step": median([r.ms_per_step for r in runs]),
            "final_val": median([r.final_val for r in runs]),
            "count_loss_agrees": all(abs(r.final_val - r.curve[-1][2]) < 1e-5 for r in runs),
        }
    return {
        "train_floor": lesson.train_floor,
        "val_floor": lesson.val_floor,
        "best_k": lesson.best_k,
        "notebook_models": [
            {"chapter": "04_sampling", "recipe": "nl.train_full_batch, 60 steps, lr 0.3, seed 1337", **_above_floor(lesson, chapter4_model(lesson))},
            {"chapter": "05_backward", "recipe": "nl.train, AdamW lr 1e-2, batch 32, block 8, 3000 steps, seed 1337",
             **_above_floor(lesson, chapter5_model(lesson))},
        ],
        "recipes": recipes,
        "threads": thread_cost(bigram_step(lesson), repeats, steps=200),
        "gpt_threads": thread_cost(gpt_step(lesson), repeats, steps=20),
    }



def measure(args: Any, lesson: Lesson) -> dict[str, Any]:
    return measure_lesson(lesson, args.repeats)


def _fmt_steps(steps: float | None) -> str:
    return "not reached" if steps is None else f"{steps:,.0f}"


def figures(training: dict[str, Any]) -> list[Figure]:
    found = [Figure(f"{model['chapter']} model: exact val above the floor", model["above_floor_pct"], "%", Goal(1, "%"))
             for model in training["notebook_models"]]
    for key, label in (("faq", "FAQ recipe (lr 1e-3)"), ("lecture", "lecture recipe (lr 1e-2)"), ("full_batch", "full batch")):
        row = training["recipes"][key]
        note = "" if row["reached"] else f"not reached in {row['steps_run']:,} steps"
        found.append(Figure(f"{label}: steps to within 1% of val floor", row["val_steps"], "steps", note=note))
    return found


def render(training: dict[str, Any]) -> list[str]:
    out = ["", "## Bigram training against the exact floor", "",
            f"Exact count floor: train {training['train_floor']:.6f}; val {training['val_floor']:.6f} "
            f"(add-k, k = {training['best_k']:.3f}). Within 1% means ≤ {1.01 * training['val_floor']:.4f} on val.", "",
            "The models the notebooks train, retrained here the same way (exact loss on the whole val split):", "",
            markdown_table(["notebook", "recipe", "exact val", "above the val floor"],
                           [[m["chapter"], m["recipe"], f"{m['val']:.4f}", f"{m['above_floor_pct']:+.2f}%"]
                            for m in training["notebook_models"]]), "",
            "Steps to within 1% (exact losses checked every 10 steps; full batch: every step), medians over seeds "
            f"{', '.join(map(str, next(iter(training['recipes'].values()))['seeds']))}:", "",
            markdown_table(["recipe", "steps → train floor +1%", "steps → val floor +1%", "seconds (training only)",
                            "ms/step", "runs that reached it"],
                           [[r["recipe"], _fmt_steps(r["train_steps"]), _fmt_steps(r["val_steps"]), _s(r["seconds"]),
                             f"{r['ms_per_step']:.2f}", f"{r['reached']}/{len(r['seeds'])}"] for r in training["recipes"].values()])]
    agree = all(r["count_loss_agrees"] for r in training["recipes"].values())
    out += ["", "The exact losses above come from the count matrices; at each run's end they "
            + ("agree with `nl.exact_loss` (within 1e-5)." if agree else "**disagree** with `nl.exact_loss`: a bug.")]
    for key, model in (("threads", "the bigram (chapter 5's loop)"), ("gpt_threads", "chapter 6's GPT (CPU_RECIPE)")):
        threads = training.get(key)
        if threads:
            out += ["", f"*Threads, {model}:* one training step takes {threads['default_ms']:.2f} ms with "
                        f"{threads['default_threads']} threads (torch's default without OMP_NUM_THREADS) and "
                        f"{threads['one_thread_ms']:.2f} ms with one, the series' default "
                        f"({threads['default_ms'] / threads['one_thread_ms']:.2f}×), same process, interleaved."]
    return out
