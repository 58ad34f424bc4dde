"""Chapter 7's ladder: chapter 6's GPT with nanochat's changes one at a time, each trained for the same CPU seconds.

Every rung starts from ``CPU_RECIPE`` (chapter 6) and seed 1337 and differs from it by the changes its name says
(:data:`nanogpt_lite.modern_gpt.LADDER`). A change that makes a step slower must win its cost back: each rung first
times a few steps on a copy of itself, then trains as many steps as fit into ``seconds`` of CPU time, with the
recipe's warm-up and cosine schedule fitted to those steps. The result records the val estimates against CPU
seconds (the curves) and the whole-split val loss at the end.

    python -m nanogpt_lite.ladder          # every rung for 60 s of CPU: nanogpt_lite/data/ladder.json (about 15 min)
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from .data import get_batch, load_text, split
from .gpt import GPTConfig
from .gpt_training import CPU_RECIPE, MODEL_KEYS, split_loss, train_gpt, training_args
from .modern_gpt import LADDER, ModernGPT, ladder
from .tokenizer import CharTokenizer

BASELINE = "nanoGPT"  # chapter 6's GPT and recipe, every switch off
RUNGS = (BASELINE, "rotary", "rmsnorm", "qk_norm", "relu2", "untied_head", "zero_init", "softcap", "muon", "all")
LADDER_FILE = Path(__file__).parent / "data" / "ladder.json"
SECONDS = 60.0  # the equal time: a minute of one CPU thread per rung
SEED = 1337
CALIBRATION_STEPS = 20  # timed after 3 warm-up steps, on a copy that is then thrown away
ESTIMATES = 12  # val estimates along each curve
NOISE_SEEDS = (1338, 1339)  # the baseline again from other seeds: how far a rung moves by chance


@dataclasses.dataclass
class RungResult:
    """One rung trained for a fixed CPU time."""

    rung: str
    params: int  # parameters counted once (a tied matrix once)
    ms_per_step: float  # CPU ms per training step, from the calibration
    steps: int
    cpu_seconds: float  # CPU time the training steps took (estimates excluded)
    curve_seconds: list[float]  # CPU seconds of training at each estimate
    curve_val: list[float]  # the val estimate there (the same batches every time)
    val: float  # the whole validation split at the end


def rung_model(rung: str, vocab_size: int, *, recipe: dict[str, Any] = CPU_RECIPE, seed: int = SEED) -> tuple[ModernGPT, dict[str, Any]]:
    """The rung's model, freshly initialised from ``seed``, and its optimizer options (``{"muon": …}``)."""
    if rung != BASELINE and rung not in LADDER:
        known = ", ".join((BASELINE, *LADDER))
        raise ValueError(f"没有叫 {rung!r} 的台阶。可用的台阶：{known}。 / unknown rung {rung!r}; the rungs are: {known}.")
    base = GPTConfig(vocab_size=vocab_size, **{k: recipe[k] for k in MODEL_KEYS})
    config, options = ladder(base) if rung == BASELINE else ladder(base, rung)
    torch.manual_seed(seed)
    return ModernGPT(config), options


def _optimizer(model: ModernGPT, recipe: dict[str, Any], options: dict[str, Any]) -> Any:
    return model.configure_optimizers(recipe["weight_decay"], recipe["learning_rate"], (0.9, recipe["beta2"]), "cpu", **options)


def calibrate(model: ModernGPT, options: dict[str, Any], train: torch.Tensor, recipe: dict[str, Any] = CPU_RECIPE,
              steps: int = CALIBRATION_STEPS) -> float:
    """CPU milliseconds per training step of ``model`` (timed on a copy, which is then thrown away)."""
    trial = copy.deepcopy(model)
    optimizer = _optimizer(trial, recipe, options)
    generator = torch.Generator().manual_seed(0)
    times = []
    for step in range(steps + 3):
        start = time.process_time()
        xb, yb = get_batch(train, recipe["batch_size"], recipe["block_size"], generator=generator)
        _, loss = trial(xb, yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trial.parameters(), recipe["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= 3:  # the first steps allocate and warm the caches
            times.append(time.process_time() - start)
    return 1000 * sorted(times)[len(times) // 2]


def fitted_recipe(recipe: dict[str, Any], steps: int) -> dict[str, Any]:
    """``recipe`` over ``steps`` steps: the cosine decays over them, the warm-up is at most a tenth of them."""
    return {**recipe, "steps": steps, "lr_decay_iters": steps, "warmup_iters": min(recipe["warmup_iters"], steps // 10)}


def train_rung(rung: str, train: torch.Tensor, val: torch.Tensor, *, seconds: float = SECONDS,
               recipe: dict[str, Any] = CPU_RECIPE, vocab_size: int = 65, seed: int = SEED,
               progress: bool = True, estimates: int = ESTIMATES) -> tuple[RungResult, ModernGPT]:
    """Train ``rung`` for about ``seconds`` of CPU time (steps = seconds / calibrated ms per step): what it
    measured, and the trained model. ``estimates``: how many val estimates along the curve (each costs 40 batches
    of forward passes; train_gpt adds one at the end); 1 when only the final whole-split val is wanted."""
    if not seconds > 0:
        raise ValueError(f"seconds 必须大于 0，收到 {seconds!r}。 / seconds must be > 0, got {seconds!r}.")
    if estimates < 1:
        raise ValueError(f"estimates 至少是 1，收到 {estimates!r}。 / estimates must be >= 1, got {estimates!r}.")
    model, options = rung_model(rung, vocab_size, recipe=recipe, seed=seed)
    ms = calibrate(model, options, train, recipe)
    fitted = fitted_recipe(recipe, max(1, round(1000 * seconds / ms)))
    history = train_gpt(model, train, val, generator=torch.Generator().manual_seed(seed), progress=progress,
                        eval_interval=max(1, fitted["steps"] // estimates), eval_iters=20,
                        optimizer=_optimizer(model, fitted, options), **training_args(fitted))
    elapsed = [0.0]
    for step_s in history.step_cpu_seconds:
        elapsed.append(elapsed[-1] + step_s)
    result = RungResult(rung=rung, params=model.get_num_params(non_embedding=False), ms_per_step=ms,
                        steps=fitted["steps"], cpu_seconds=elapsed[-1], curve_seconds=[elapsed[s] for s in history.eval_steps],
                        curve_val=list(history.val_loss), val=split_loss(model, val))
    return result, model


def shakespeare() -> tuple[torch.Tensor, torch.Tensor, CharTokenizer]:
    """Tiny Shakespeare's 90/10 split as chapter 6 makes it, and its tokenizer."""
    text = load_text()
    tok = CharTokenizer.from_text(text)
    train, val = split(torch.tensor(tok.encode(text)), 0.9)
    return train, val, tok


def save_results(path: Path, results: list[RungResult], seconds: float, noise: dict[int, float] | None = None) -> Path:
    """Write the ladder as JSON, whole or not at all, with the machine it ran on; ``noise``: the baseline's
    whole-split val from other seeds (seed -> val)."""
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").is_file():
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), cpu)
    payload = {"seconds": seconds, "threads": torch.get_num_threads(), "torch": torch.__version__.split("+")[0],
               "cpu": cpu, "date": dt.date.today().isoformat(), "recipe": CPU_RECIPE,
               "noise": {str(seed): val for seed, val in (noise or {}).items()},
               "rungs": [dataclasses.asdict(r) for r in results]}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=1, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_results(path: str | Path = LADDER_FILE) -> tuple[dict[str, Any], dict[str, RungResult]]:
    """The shipped ladder: what it ran on (seconds, threads, torch, cpu, date), and each rung's result by name."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"找不到阶梯的结果 {path}：请在项目根目录运行 `make ladder` 重新生成（约 15 分钟）。 / "
                                f"{path} is missing; rebuild it with `make ladder`.")
    payload = json.loads(path.read_text(encoding="utf-8"))
    rungs = {row["rung"]: RungResult(**row) for row in payload.pop("rungs")}
    return payload, rungs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nanogpt_lite.ladder", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=LADDER_FILE)
    parser.add_argument("--seconds", type=float, default=SECONDS, help="CPU seconds of training per rung")
    parser.add_argument("--rungs", nargs="+", default=list(RUNGS), choices=RUNGS)
    parser.add_argument("--noise-seeds", nargs="*", type=int, default=list(NOISE_SEEDS),
                        help="train the baseline again from these seeds (none: skip)")
    args = parser.parse_args(argv)
    train, val, tok = shakespeare()
    results = []
    for rung in args.rungs:
        result, _ = train_rung(rung, train, val, seconds=args.seconds, vocab_size=tok.vocab_size)
        results.append(result)
        print(f"{rung:12} {result.params:8,} params  {result.ms_per_step:6.1f} ms/step  {result.steps:5} steps  "
              f"val {result.val:.4f}", flush=True)
    noise = {}
    for seed in args.noise_seeds:
        result, _ = train_rung(BASELINE, train, val, seconds=args.seconds, vocab_size=tok.vocab_size, seed=seed)
        noise[seed] = result.val
        print(f"{BASELINE} seed {seed}: val {result.val:.4f}", flush=True)
    save_results(args.out, results, args.seconds, noise)
    return 0


if __name__ == "__main__":
    sys.exit(main())
