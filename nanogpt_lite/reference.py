"""Chapter 6's reference GPT: ``CPU_RECIPE`` trained once, shipped inside the package as a nanoGPT ``ckpt.pt``.

Its numbers are fixed: chapter 6 analyses this model, so what it prints does not depend on the CPU that
runs it (a model trained live does: float sums round differently on other kernels, and 2400 steps turn
that into another model). The file holds what nanoGPT's ``train.py`` saves, the training optimizer's
Adam moments included, so ``train.py --init_from=resume`` can go on from it; ``config`` has train.py's
settings under nanoGPT's names, plus the curves chapter 6 plots under ``config["nanogpt_lite"]``.

Rebuild it (about two minutes on one thread; ``make reference`` does exactly this)::

    python -m nanogpt_lite.reference
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointError, CheckpointInfo, load_nanogpt_checkpoint, save_nanogpt_checkpoint
from .data import load_text, split
from .gpt import GPT
from .gpt_training import CPU_RECIPE, GPTHistory, model_from_recipe, split_loss, train_gpt, training_args
from .tokenizer import CharTokenizer

REFERENCE_FILE = Path(__file__).parent / "data" / "shakespeare_char_ckpt.pt"
SEED = 1337  # torch.manual_seed for the weights, and the batch generator's seed
EVAL = {"eval_interval": 250, "eval_iters": 20}
HISTORY_KEYS = ("eval_steps", "train_loss", "val_loss", "step_loss", "grad_norm", "lr")


def nanogpt_config(recipe: dict[str, Any]) -> dict[str, Any]:
    """``recipe`` under the names nanoGPT's ``train.py`` saves in ``checkpoint['config']``."""
    return {
        "dataset": "shakespeare_char", "init_from": "scratch", "device": "cpu", "compile": False, "seed": SEED,
        **{k: recipe[k] for k in ("n_layer", "n_head", "n_embd", "block_size", "bias", "dropout", "batch_size",
                                  "learning_rate", "min_lr", "warmup_iters", "lr_decay_iters", "weight_decay",
                                  "beta2", "grad_clip")},
        "max_iters": recipe["steps"], "beta1": 0.9, "decay_lr": True, "gradient_accumulation_steps": 1, **EVAL,
    }


def recipe_of(config: dict[str, Any]) -> dict[str, Any]:
    """The ``CPU_RECIPE``-style dict that :func:`nanogpt_config` wrote into ``config``."""
    return {k: (config["max_iters"] if k == "steps" else config[k]) for k in CPU_RECIPE}


def build_reference(path: str | Path = REFERENCE_FILE, *, steps: int | None = None, progress: bool = True) -> Path:
    """Train ``CPU_RECIPE`` from seed 1337 on tiny Shakespeare and write it to ``path`` as nanoGPT's ``ckpt.pt``.

    ``steps`` shortens the run (the schedule decays over those steps), for tests of this code path.
    The file appears whole or not at all (:func:`save_nanogpt_checkpoint`).
    """
    recipe = dict(CPU_RECIPE) if steps is None else {**CPU_RECIPE, "steps": steps, "lr_decay_iters": steps}
    text = load_text()
    tok = CharTokenizer.from_text(text)
    train, val = split(torch.tensor(tok.encode(text)), 0.9)
    model = model_from_recipe(recipe, tok.vocab_size, seed=SEED)
    history = train_gpt(model, train, val, generator=torch.Generator().manual_seed(SEED), progress=progress,
                        **EVAL, **training_args(recipe))
    val_loss = split_loss(model, val)
    config = nanogpt_config(recipe)
    config["nanogpt_lite"] = {
        "history": {k: list(getattr(history, k)) for k in HISTORY_KEYS},
        "torch": torch.__version__.split("+")[0],
        "threads": torch.get_num_threads(),
    }
    return save_nanogpt_checkpoint(path, model, history.optimizer, iter_num=recipe["steps"],
                                   best_val_loss=val_loss, config=config)


def load_reference(
    path: str | Path = REFERENCE_FILE, *, map_location: str | torch.device | None = None
) -> tuple[GPT, GPTHistory, CheckpointInfo]:
    """The reference GPT (eval mode), the curves it was trained with, and the rest of its checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"找不到参考检查点 {path}。它随本项目一起发布；请在项目根目录运行 `make reference` 重新生成"
            f"（单线程约两分钟）。 / the reference checkpoint {path} is missing; rebuild it with `make reference`."
        )
    model, info = load_nanogpt_checkpoint(path, map_location=map_location)
    recorded = info.train_config.get("nanogpt_lite", {}).get("history")
    if recorded is None:
        raise CheckpointError(
            f"{path} 是 nanoGPT 的检查点，但不是本系列的参考模型（config 里没有训练曲线）。请用 `make reference` 重新生成。 / "
            f"{path} is a nanoGPT checkpoint but not this series' reference (no training curves); run `make reference`."
        )
    history = GPTHistory(**{k: list(recorded[k]) for k in HISTORY_KEYS})
    return model, history, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nanogpt_lite.reference", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REFERENCE_FILE, help="where to write ckpt.pt (default: the packaged file)")
    parser.add_argument("--steps", type=int, default=None, help="a shorter run, for trying the command (default: the recipe's)")
    args = parser.parse_args(argv)
    path = build_reference(args.out, steps=args.steps)
    _, _, info = load_reference(path)
    print(f"wrote {path}: {info.iter_num} steps, whole-split val {info.best_val_loss:.4f}, "
          f"{path.stat().st_size / 1e6:.2f} MB, {torch.get_num_threads()} thread(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
