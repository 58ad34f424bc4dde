"""Reading and writing nanoGPT's ``ckpt.pt``: the dict that karpathy/nanoGPT's ``train.py`` saves.

``{'model': state_dict, 'optimizer': state_dict, 'model_args': dict(n_layer, n_head, n_embd,
block_size, bias, vocab_size, dropout), 'iter_num': int, 'best_val_loss': tensor or float,
'config': dict of train.py's settings}``. A model trained under ``torch.compile`` saves its keys
with the prefix ``_orig_mod.``; nanoGPT from before PyTorch 2 also saved the causal mask
(``.attn.bias``), which we rebuild ourselves. Both are accepted here.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from .device import default_device
from .gpt import GPT, GPTConfig

CHECKPOINT_KEYS = ("model", "optimizer", "model_args", "iter_num", "best_val_loss", "config")
MODEL_ARGS = tuple(f.name for f in fields(GPTConfig))  # block_size, vocab_size, n_layer, n_head, n_embd, dropout, bias
COMPILED_PREFIX = "_orig_mod."


class CheckpointError(ValueError):
    """A file that is not a usable nanoGPT checkpoint; the message says what is wrong and what to do."""


@dataclass
class CheckpointInfo:
    """What a checkpoint says besides the weights."""

    config: GPTConfig
    iter_num: int
    best_val_loss: float
    train_config: dict[str, Any] = field(default_factory=dict)  # train.py's settings ('config' in the file)
    optimizer: dict[str, Any] | None = None  # the optimizer's state_dict, to resume training


def _read(path: Path, map_location: str | torch.device) -> Any:
    if not path.is_file():
        what = "是文件夹" if path.is_dir() else "不存在"
        raise CheckpointError(f"{path} {what}，不是检查点文件。请给出 ckpt.pt 的路径。 / {path} is not a file; pass the path of a ckpt.pt.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch.load raises many kinds on a file that is not its own
        if _looks_truncated(path):
            raise CheckpointError(
                f"{path} 不完整（文件被截断了，可能复制或下载没有完成）。请重新复制一份。 / "
                f"{path} is truncated (an unfinished copy or download?); copy it again. ({exc})"
            ) from exc
        raise CheckpointError(
            f"{path} 不是 PyTorch 检查点（torch.load 读不了它）。请给出 nanoGPT 的 train.py 写出的 ckpt.pt。 / "
            f"{path} is not a torch checkpoint; pass the ckpt.pt written by nanoGPT's train.py. ({exc})"
        ) from exc


def _looks_truncated(path: Path) -> bool:
    """torch.save writes a zip archive: a file that starts like one but has no end record was cut short."""
    with path.open("rb") as f:
        starts_like_zip = f.read(4) == b"PK\x03\x04"
    return starts_like_zip and not zipfile.is_zipfile(path)


def _check_dict(checkpoint: Any, path: Path) -> None:
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{path} 里是 {type(checkpoint).__name__}，不是 nanoGPT 的检查点字典。 / "
            f"{path} holds a {type(checkpoint).__name__}, not nanoGPT's checkpoint dict."
        )
    missing = [k for k in ("model", "model_args") if k not in checkpoint]
    if missing:
        raise CheckpointError(
            f"{path} 缺少键 {missing}（nanoGPT 的检查点有 {list(CHECKPOINT_KEYS)}）。 / "
            f"{path} lacks the keys {missing}; a nanoGPT checkpoint has {list(CHECKPOINT_KEYS)}."
        )
    args = checkpoint["model_args"]
    missing = [k for k in MODEL_ARGS if not isinstance(args, dict) or k not in args]
    if missing:
        raise CheckpointError(
            f"{path} 的 model_args 缺少 {missing}。 / {path}'s model_args lacks {missing}."
        )


def _clean_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop torch.compile's ``_orig_mod.`` prefix and the old causal-mask buffers (``.attn.bias``)."""
    cleaned = {}
    for key, value in state_dict.items():
        key = key.removeprefix(COMPILED_PREFIX)
        if not key.endswith(".attn.bias"):  # the mask, saved by nanoGPT before PyTorch 2: we rebuild it
            cleaned[key] = value
    return cleaned


def load_nanogpt_checkpoint(
    path: str | os.PathLike, tokenizer: Any = None, *, map_location: str | torch.device | None = None
) -> tuple[GPT, CheckpointInfo]:
    """The GPT saved in nanoGPT's ``ckpt.pt`` at ``path`` (in eval mode), and what else the file says.

    ``tokenizer`` (anything with ``vocab_size``) is checked against the model's vocabulary.
    """
    path = Path(path).expanduser()
    device = default_device() if map_location is None else torch.device(map_location)
    checkpoint = _read(path, device)
    _check_dict(checkpoint, path)
    config = GPTConfig(**{k: checkpoint["model_args"][k] for k in MODEL_ARGS})
    if tokenizer is not None and tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(
            f"检查点的词表有 {config.vocab_size} 个词元，而分词器有 {tokenizer.vocab_size} 个：它们不是一套。"
            f"请用训练这个模型时的分词器（nanoGPT 的 meta.pkl）。 / the checkpoint's vocab_size is "
            f"{config.vocab_size} but the tokenizer has {tokenizer.vocab_size}; use the tokenizer the model was trained with."
        )
    model = GPT(config)
    try:
        model.load_state_dict(_clean_state_dict(checkpoint["model"]))
    except RuntimeError as exc:  # missing, unexpected or mis-shaped tensors
        raise CheckpointError(
            f"{path} 的权重和它的 model_args {checkpoint['model_args']} 对不上。 / "
            f"{path}'s weights do not match its model_args: {exc}"
        ) from exc
    model.to(device).eval()
    best = checkpoint.get("best_val_loss", float("nan"))
    info = CheckpointInfo(
        config=config,
        iter_num=int(checkpoint.get("iter_num", 0)),
        best_val_loss=float(best),
        train_config=dict(checkpoint.get("config", {})),
        optimizer=checkpoint.get("optimizer"),
    )
    return model, info


def save_nanogpt_checkpoint(
    path: str | os.PathLike,
    model: GPT,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    iter_num: int = 0,
    best_val_loss: float = float("nan"),
    config: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` as nanoGPT's ``train.py`` would, so its ``sample.py --init_from=resume`` can read it.

    The file appears whole or not at all: it is written next to ``path`` and then renamed over it.
    """
    path = Path(path).expanduser()
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else {},
        "model_args": {k: getattr(model.config, k) for k in MODEL_ARGS},
        "iter_num": int(iter_num),
        "best_val_loss": torch.tensor(float(best_val_loss)),  # train.py stores a 0-d tensor here
        "config": dict(config or {}),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
        os.replace(tmp, path)  # atomic on the same file system
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
