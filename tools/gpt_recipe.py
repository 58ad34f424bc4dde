"""Our CPU recipe against nanoGPT's README CPU recipe, both with nanogpt_lite's GPT, in one run.

    python -m tools.gpt_recipe                 # the two recipes, 1 thread
    python -m tools.gpt_recipe --threads 2     # the same on 2 threads
    python -m tools.gpt_recipe --levers        # also: per-step cost of each lever, and short runs for lr/batch

Loss per step is deterministic (explicit generators), wall time is not: on a shared machine a step
can take twice as long from one minute to the next. So the wall time of a recipe is its number of
steps times its *median* step time, and the levers' step times are measured in interleaved bursts
(A, B, A, B, ...) so that a busy minute slows them alike. Every figure printed says which it is.
"""
from __future__ import annotations

import argparse
import statistics
from typing import Any

import torch

import nanogpt_lite as nl
from nanogpt_lite.gpt import GPT
from nanogpt_lite.gpt_training import (
    CPU_RECIPE,
    NANOGPT_CPU_RECIPE,
    GPTHistory,
    model_from_recipe,
    split_loss,
    train_gpt,
    training_args,
)

TARGET = 1.90        # nanoGPT's README: "loss of only 1.88" on its CPU recipe
CHAPTER_GOAL = 1.80  # chapter 6's goal, within 90 s of training
RECIPES = {"ours": CPU_RECIPE, "nanoGPT README": NANOGPT_CPU_RECIPE}


def shakespeare() -> tuple[torch.Tensor, torch.Tensor]:
    text = nl.load_text()
    tok = nl.CharTokenizer.from_text(text)
    return nl.split(torch.tensor(tok.encode(text)), 0.9)


def run(recipe: dict[str, Any], train: torch.Tensor, val: torch.Tensor, *, eval_interval: int = 100,
        steps: int | None = None, compile_model: bool = False, flash: bool = True) -> tuple[GPT, GPTHistory]:
    model = model_from_recipe(recipe, 65)
    for block in model.transformer.h:
        block.attn.flash = flash
    args = training_args(recipe)
    if steps is not None:  # a shorter run with the schedule squeezed to fit
        args.update(steps=steps, lr_decay_iters=steps, warmup_iters=min(args["warmup_iters"], steps // 10))
    trained = torch.compile(model) if compile_model else model
    history = train_gpt(trained, train, val, generator=torch.Generator().manual_seed(1337),
                        eval_interval=eval_interval, progress=False, **args)
    return model, history


def step_ms(history: GPTHistory, cpu: bool = False) -> float:
    """Median milliseconds per training step (wall, or CPU time of all threads), skipping 10 warm-up steps."""
    return 1000 * statistics.median((history.step_cpu_seconds if cpu else history.step_seconds)[10:])


def val_at(history: GPTHistory, seconds: float, ms: float) -> float:
    """The last validation estimate taken before ``seconds`` of training at ``ms`` per step."""
    done = [v for s, v in zip(history.eval_steps, history.val_loss) if s * ms / 1000 <= seconds]
    return done[-1]


def time_to(history: GPTHistory, target: float, ms: float) -> float | None:
    """Seconds (steps x median step time) until the validation estimate first reaches ``target``."""
    for s, v in zip(history.eval_steps, history.val_loss):
        if v <= target:
            return s * ms / 1000
    return None


def side_by_side(train: torch.Tensor, val: torch.Tensor) -> dict[str, Any]:
    """Both recipes, one after the other in this process: per recipe its steps, median ms/step, training
    seconds (steps x median), the last estimate, the whole-split val loss, the estimate at the time the
    quicker recipe ends, and the seconds to val TARGET and to the chapter's 1.80."""
    runs = {}
    for name, recipe in RECIPES.items():
        model, history = run(recipe, train, val)
        runs[name] = (history, split_loss(model, val))
    # 1 thread: CPU time per step is what an idle core would take, whatever the neighbours do
    use_cpu = torch.get_num_threads() == 1
    clock = {name: step_ms(h, cpu=use_cpu) for name, (h, _) in runs.items()}
    equal = min(len(h.step_loss) * clock[name] / 1000 for name, (h, _) in runs.items())
    return {
        "clock": "CPU" if use_cpu else "wall", "threads": torch.get_num_threads(), "equal_s": equal, "target": TARGET,
        "recipes": {name: {
            "steps": len(h.step_loss), "ms_per_step": clock[name], "wall_ms_per_step": step_ms(h),
            "train_s": len(h.step_loss) * clock[name] / 1000, "val_estimate": h.val_loss[-1], "val_whole": full,
            "val_at_equal": val_at(h, equal, clock[name]), "s_to_target": time_to(h, TARGET, clock[name]),
            "s_to_chapter_goal": time_to(h, CHAPTER_GOAL, clock[name]),
            "curve": list(zip(h.eval_steps, h.val_loss)),
        } for name, (h, full) in runs.items()},
    }


def table(result: dict[str, Any]) -> list[str]:
    """The side-by-side as Markdown lines."""
    never = lambda s: "never" if s is None else f"{s:.0f}"  # noqa: E731
    lines = [f"| recipe | steps | median {result['clock']} ms/step | train s | val (est.) | val (whole split) "
             f"| val at {result['equal_s']:.0f} s | s to val {result['target']} | s to val {CHAPTER_GOAL} |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in result["recipes"].items():
        lines.append(f"| {name} | {r['steps']} | {r['ms_per_step']:.1f} | {r['train_s']:.0f} | {r['val_estimate']:.4f} "
                     f"| {r['val_whole']:.4f} | {r['val_at_equal']:.4f} | {never(r['s_to_target'])} "
                     f"| {never(r['s_to_chapter_goal'])} |")
    return lines


def compare(train: torch.Tensor, val: torch.Tensor) -> None:
    result = side_by_side(train, val)
    print(f"\nseconds below = steps x median {result['clock']} ms/step")
    print("\n".join(table(result)))
    print("\nvalidation estimate by step:")
    for name, r in result["recipes"].items():
        print(f"  {name}: " + ", ".join(f"{s}:{v:.3f}" for s, v in r["curve"]))


def burst_ms(setups: dict[str, tuple[dict[str, Any], dict[str, Any]]], train: torch.Tensor, val: torch.Tensor,
             rounds: int = 2, steps: int = 20) -> dict[str, float]:
    """Median ms/step of each setup, measured in interleaved bursts of ``steps`` steps."""
    times: dict[str, list[float]] = {name: [] for name in setups}
    cpu: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(rounds):
        for name, (recipe, options) in setups.items():
            _, history = run(recipe, train, val, steps=steps, eval_interval=10**9, **options)
            times[name] += history.step_seconds[5:]
            cpu[name] += history.step_cpu_seconds[5:]
    return {name: (1000 * statistics.median(times[name]), 1000 * statistics.median(cpu[name])) for name in setups}


def levers(train: torch.Tensor, val: torch.Tensor, *, short_runs: bool = False) -> None:
    ours = CPU_RECIPE
    setups = {
        "ours (SDPA)": (ours, {}),
        "ours, explicit mask": (ours, {"flash": False}),
        "ours, bias=True": ({**ours, "bias": True}, {}),
        "ours, batch 64": ({**ours, "batch_size": 64}, {}),
        "ours, block 128": ({**ours, "block_size": 128}, {}),
        "ours, n_embd 128": ({**ours, "n_embd": 128}, {}),
        "nanoGPT README": (NANOGPT_CPU_RECIPE, {}),
    }
    try:
        torch.compile(torch.nn.Linear(2, 2))(torch.zeros(1, 2))
        setups["ours, torch.compile"] = (ours, {"compile_model": True})
    except Exception as exc:  # any failure means "not available here"
        print(f"torch.compile unavailable here: {type(exc).__name__}: {str(exc)[:120]}")
    print(f"\nper-step cost, {torch.get_num_threads()} thread(s), interleaved bursts (median ms/step wall, CPU):")
    for name, (wall, cpu) in burst_ms(setups, train, val).items():
        print(f"  {name:24} {wall:7.1f} {cpu:7.1f}", flush=True)
    if not short_runs:
        return
    print("\nshort runs (600 steps, schedule squeezed), val estimate at the end:")
    for name, recipe in {"ours": ours, "ours, lr 1e-3": {**ours, "learning_rate": 1e-3, "min_lr": 1e-4},
                         "ours, batch 16": {**ours, "batch_size": 16}, "ours, n_embd 128": {**ours, "n_embd": 128}}.items():
        _, history = run(recipe, train, val, steps=600, eval_interval=600)
        print(f"  {name:24} {history.val_loss[-1]:.4f}  ({step_ms(history):.1f} ms/step wall, "
              f"{step_ms(history, cpu=True):.1f} CPU)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--levers", action="store_true", help="also measure what each lever is worth")
    parser.add_argument("--only-levers", action="store_true", help="skip the two full recipes")
    parser.add_argument("--short-runs", action="store_true", help="with the levers: 600-step runs for lr, batch, width")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train, val = shakespeare()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    if not args.only_levers:
        compare(train, val)
    if args.levers or args.only_levers:
        levers(train, val, short_runs=args.short_runs)


if __name__ == "__main__":
    main()
