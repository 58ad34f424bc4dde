"""Generation speed of ``nl.generate`` on the count-table bigram: tokens/s for one sequence and for batches.

(The former "≥ 3× the lecture's generate()" goal is retired, issue 11 §8: it was a benchmark number, not something a
learner feels. The throughput stays reported.)
"""
from __future__ import annotations

from statistics import median
from typing import Any

import torch

import nanogpt_lite as nl

from .lesson import Lesson, sync, timed
from .report import Figure, markdown_table

LENGTHS = (500, 2000, 10_000)
BATCHES = (1, 16, 256)


def measure_lesson(lesson: Lesson, repeats: int) -> dict[str, Any]:
    """tokens/s of nl.generate at a few lengths (one sequence) and for batches of 500-token sequences."""
    device = nl.default_device()
    model = lesson.count_model().to(device)

    def run(idx: torch.Tensor, tokens: int, seed: int) -> float:
        generator = torch.Generator(device=device).manual_seed(seed)
        return timed(lambda: (nl.generate(model, idx, tokens, generator=generator), sync(device)))[0]

    start = torch.zeros(1, 1, dtype=torch.long, device=device)
    run(start, 50, 0)  # warm-up: the first call pays one-off costs
    lengths = [{"tokens": tokens, "generate_tok_s": tokens / median([run(start, tokens, seed) for seed in range(repeats)])}
               for tokens in LENGTHS]
    batched = []
    for batch in BATCHES:
        idx = torch.zeros(batch, 1, dtype=torch.long, device=device)
        batched.append({"sequences": batch, "tokens_each": 500,
                        "tok_s": batch * 500 / median([run(idx, 500, seed) for seed in range(repeats)])})
    for row in batched:
        row["vs_one_sequence"] = row["tok_s"] / batched[0]["tok_s"]
    return {"device": str(device), "lengths": lengths, "batched": batched}


def measure(args: Any, lesson: Lesson) -> dict[str, Any]:
    return measure_lesson(lesson, args.repeats)


def figures(generation: dict[str, Any]) -> list[Figure]:
    return [Figure(f"nl.generate, one sequence of {row['tokens']:,} tokens", row["generate_tok_s"], "tok/s")
            for row in generation["lengths"]]


def render(generation: dict[str, Any]) -> list[str]:
    return ["", f"## Generation ({generation['device']}, count-table bigram)", "",
            markdown_table(["new tokens", "nl.generate tok/s"],
                           [[f"{r['tokens']:,}", f"{r['generate_tok_s']:,.0f}"] for r in generation["lengths"]]),
            "", "Batched (`nl.generate` on many sequences at once, 500 tokens each):", "",
            markdown_table(["sequences", "tok/s", "vs one sequence"],
                           [[r["sequences"], f"{r['tok_s']:,.0f}", f"{r['vs_one_sequence']:.1f}×"] for r in generation["batched"]])]
