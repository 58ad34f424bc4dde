"""Reading and writing nanoGPT's ``ckpt.pt``: the dict that karpathy/nanoGPT's ``train.py`` saves.

``{'model': state_dict, 'optimizer': state_dict, 'model_args': dict(n_layer, n_head, n_embd,
block_size, bias, vocab_size, dropout), 'iter_num': int, 'best_val_loss': tensor or float,
'config': dict of train.py's settings}``. A model trained under ``torch.compile`` saves its keys
with the prefix ``_orig_mod.``; nanoGPT from before PyTorch 2 also saved the causal mask
(``.attn.bias``), which we rebuild ourselves. Both are accepted here.

A character-level model also needs nanoGPT's ``meta.pkl`` (``{'vocab_size', 'itos', 'stoi'}``, written by
``data/<dataset>/prepare.py``): :func:`load_meta` reads it without letting the pickle run code, and
:func:`load_char_checkpoint` finds it, checks it against the checkpoint, and checks the model fits in memory.
"""
from __future__ import annotations

import os
import pickle
import reprlib
import tempfile
import zipfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch

from .device import default_device
from .gpt import GPT, GPTConfig
from .tokenizer import CharTokenizer

CHECKPOINT_KEYS = ("model", "optimizer", "model_args", "iter_num", "best_val_loss", "config")
MODEL_ARGS = tuple(f.name for f in fields(GPTConfig))  # block_size, vocab_size, n_layer, n_head, n_embd, dropout, bias
COMPILED_PREFIX = "_orig_mod."
META_KEYS = ("vocab_size", "itos", "stoi")  # what nanoGPT's prepare.py pickles into meta.pkl
BPE_VOCAB = 1000  # more tokens than any text has distinct characters: a BPE vocabulary (GPT-2: 50257, padded to 50304)
MEMORY_SHARE = 0.5  # the weights may take this share of the free memory; the rest runs the model and the notebook


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
    meta_path: Path | None = None  # the meta.pkl the tokenizer came from (load_char_checkpoint)


def _read(path: Path, map_location: str | torch.device, *, mmap: bool = False) -> Any:
    if not path.is_file():
        what = "是文件夹" if path.is_dir() else "不存在"
        raise CheckpointError(f"{path} {what}，不是检查点文件。请给出 ckpt.pt 的路径。 / {path} is not a file; pass the path of a ckpt.pt.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
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


def _config(checkpoint: dict[str, Any]) -> GPTConfig:
    return GPTConfig(**{k: checkpoint["model_args"][k] for k in MODEL_ARGS})


def _build(checkpoint: dict[str, Any], config: GPTConfig, path: Path, device: torch.device) -> GPT:
    """The GPT of ``config`` holding the checkpoint's weights, on ``device``, in eval mode."""
    model = GPT(config)
    try:
        model.load_state_dict(_clean_state_dict(checkpoint["model"]))
    except RuntimeError as exc:  # missing, unexpected or mis-shaped tensors
        raise CheckpointError(
            f"{path} 的权重和它的 model_args {checkpoint['model_args']} 对不上。 / "
            f"{path}'s weights do not match its model_args: {exc}"
        ) from exc
    return model.to(device).eval()


def _info(checkpoint: dict[str, Any], config: GPTConfig) -> CheckpointInfo:
    return CheckpointInfo(
        config=config,
        iter_num=int(checkpoint.get("iter_num", 0)),
        best_val_loss=float(checkpoint.get("best_val_loss", float("nan"))),
        train_config=dict(checkpoint.get("config", {})),
        optimizer=checkpoint.get("optimizer"),
    )


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
    config = _config(checkpoint)
    if tokenizer is not None and tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(
            f"检查点的词表有 {config.vocab_size} 个词元，而分词器有 {tokenizer.vocab_size} 个：它们不是一套。"
            f"请用训练这个模型时的分词器（nanoGPT 的 meta.pkl）。 / the checkpoint's vocab_size is "
            f"{config.vocab_size} but the tokenizer has {tokenizer.vocab_size}; use the tokenizer the model was trained with."
        )
    return _build(checkpoint, config, path, device), _info(checkpoint, config)


class _RefusedGlobal(pickle.UnpicklingError):
    """The pickle asked for a class or function by name (``module.name``)."""


class _PlainDataUnpickler(pickle.Unpickler):
    """Rebuilds dicts, lists, ints and strs only: every class or function a pickle names is refused, so none runs."""

    def find_class(self, module: str, name: str) -> Any:
        raise _RefusedGlobal(f"{module}.{name}")


def _first_difference(stoi: Any, inverse: dict[str, int]) -> str:
    """Where ``stoi`` departs from the inverse of ``itos``, as ``itos[i] = ch, stoi[ch] = j``."""
    if not isinstance(stoi, dict):
        return f"stoi: {type(stoi).__name__}"
    for ch, i in inverse.items():
        if stoi.get(ch) != i:
            return f"itos[{i}] = {ch!r}, stoi[{ch!r}] = {stoi.get(ch)!r}"
    extra = next(ch for ch in stoi if ch not in inverse)
    return f"stoi[{extra!r}] = {stoi[extra]!r}, itos: -"


def _meta_chars(meta: Any, path: Path) -> list[str]:
    """The characters of nanoGPT's meta dict in id order, once ``itos``, ``stoi`` and ``vocab_size`` agree."""
    missing = [k for k in META_KEYS if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise CheckpointError(
            f"{path} 不是 nanoGPT 的 meta.pkl：里面是 {reprlib.repr(meta)}，缺少 {missing}"
            f"（prepare.py 写的是含 {list(META_KEYS)} 的字典）。请给出 data/<数据集>/meta.pkl。 / "
            f"{path} is not nanoGPT's meta.pkl: it holds {reprlib.repr(meta)}, lacking {missing} "
            f"(prepare.py writes a dict with {list(META_KEYS)}); pass data/<dataset>/meta.pkl."
        )
    itos, stoi, vocab_size = meta["itos"], meta["stoi"], meta["vocab_size"]
    chars = [itos.get(i) for i in range(len(itos))] if isinstance(itos, dict) else [None]
    if not all(isinstance(ch, str) and len(ch) == 1 for ch in chars) or len(set(chars)) != len(chars):
        raise CheckpointError(
            f"{path} 的 itos 应该把编号 0…n-1 各对应一个不同的字符，实际是 {reprlib.repr(itos)}：这个 meta.pkl 坏了，"
            f"请重新运行 nanoGPT 的 prepare.py。 / {path}: itos must map the ids 0..n-1 to distinct single characters, "
            f"it is {reprlib.repr(itos)}; the meta.pkl is damaged, run nanoGPT's prepare.py again."
        )
    inverse = {ch: i for i, ch in enumerate(chars)}
    if stoi != inverse:
        where = _first_difference(stoi, inverse)
        raise CheckpointError(
            f"{path} 的 stoi 和 itos 不互逆（{where}）：这个 meta.pkl 坏了，请重新运行 nanoGPT 的 prepare.py。 / "
            f"{path}: stoi and itos are not inverses ({where}); the meta.pkl is damaged, run nanoGPT's prepare.py again."
        )
    if vocab_size != len(chars):
        raise CheckpointError(
            f"{path} 说 vocab_size={vocab_size!r}，但 itos 有 {len(chars)} 个字符：这个 meta.pkl 坏了，"
            f"请重新运行 nanoGPT 的 prepare.py。 / {path} says vocab_size={vocab_size!r} but itos has {len(chars)} "
            "characters; the meta.pkl is damaged, run nanoGPT's prepare.py again."
        )
    return chars


def load_meta(path: str | os.PathLike) -> CharTokenizer:
    """The tokenizer of nanoGPT's ``meta.pkl`` (same ids as its ``itos``), read without letting the pickle run code."""
    path = Path(path).expanduser()
    if not path.is_file():
        what = "是文件夹" if path.is_dir() else "不存在"
        raise CheckpointError(
            f"{path} {what}，不是 meta.pkl。nanoGPT 的 data/<数据集>/prepare.py 把 meta.pkl 写在 train.bin 旁边：请检查路径。 / "
            f"{path} is not a file; nanoGPT's data/<dataset>/prepare.py writes meta.pkl next to train.bin: check the path."
        )
    try:
        with path.open("rb") as f:
            meta = _PlainDataUnpickler(f).load()
    except _RefusedGlobal as exc:
        raise CheckpointError(
            f"{path} 要加载 {exc}，已拒绝：nanoGPT 的 meta.pkl 只含字典、整数和字符串，这个文件不是 prepare.py 写的。"
            f"不要用 pickle.load 打开它：pickle 文件可以运行任意代码。 / {path} asks for {exc}, refused: nanoGPT's "
            "meta.pkl holds only dicts, ints and strs, so prepare.py did not write this file. Do not open it with "
            "pickle.load: a pickle can run any code."
        ) from None
    except Exception as exc:  # pickle raises many kinds on a file that is cut short or not a pickle
        raise CheckpointError(
            f"{path} 读不出来（不完整，或不是 pickle 文件）：请重新运行 nanoGPT 的 prepare.py，或重新复制一份。 / "
            f"{path} cannot be read (cut short, or not a pickle); run nanoGPT's prepare.py again or copy it again. ({exc!r})"
        ) from exc
    return CharTokenizer(_meta_chars(meta, path))


def _meta_places(ckpt: Path, dataset: Any) -> list[Path]:
    """Where nanoGPT's meta.pkl may be: next to ``ckpt.pt``, then ``data/<dataset>/`` under the current folder and
    under the checkpoint folder's parent (``out-shakespeare-char/ckpt.pt`` inside a nanoGPT checkout)."""
    places = [ckpt.absolute().parent / "meta.pkl"]
    if isinstance(dataset, str) and dataset:
        places += [root / "data" / dataset / "meta.pkl" for root in (Path.cwd(), ckpt.absolute().parent.parent)]
    return list(dict.fromkeys(places))


def _find_meta(ckpt: Path, config: GPTConfig, dataset: Any) -> Path:
    places = _meta_places(ckpt, dataset)
    found = next((place for place in places if place.is_file()), None)
    if found is not None:
        return found
    looked = "\n".join(f"  {place}" for place in places)
    if config.vocab_size > BPE_VOCAB:
        raise CheckpointError(
            f"{ckpt} 的词表有 {config.vocab_size} 个词元，也没有 meta.pkl：这是 GPT-2 的 BPE 模型（tiktoken 的 gpt2 编码），"
            f"不是字符级模型。本系列的工具只处理字符级模型：请用 nanoGPT 的 data/shakespeare_char/prepare.py 和 train.py "
            f"训练出的 ckpt.pt。 / {ckpt} has a vocabulary of {config.vocab_size} tokens and no meta.pkl: it is a GPT-2 BPE "
            "model (tiktoken's gpt2 encoding), not a character-level one. This series' tools are character-level: use a "
            f"ckpt.pt trained with nanoGPT's data/shakespeare_char/prepare.py and train.py. Looked for meta.pkl at:\n{looked}"
        )
    folder = f"data/{dataset}/" if isinstance(dataset, str) and dataset else "data/<dataset>/"
    raise CheckpointError(
        f"找不到 {ckpt} 的 meta.pkl（字符和编号的对照表），找过：\n{looked}\n它由 nanoGPT 的 {folder}prepare.py 写在 "
        f"{folder} 里：请用 meta_path 给出它的路径，例如 load_char_checkpoint({str(ckpt)!r}, "
        f"meta_path='<nanoGPT 的文件夹>/{folder}meta.pkl')，或把它复制到 ckpt.pt 旁边。 / no meta.pkl (the character "
        f"<-> id table) for {ckpt} in the places above; nanoGPT's {folder}prepare.py writes it into {folder}: pass its "
        f"path, e.g. load_char_checkpoint({str(ckpt)!r}, meta_path='<nanoGPT folder>/{folder}meta.pkl'), "
        "or copy it next to ckpt.pt."
    )


def _size(n: int) -> str:
    return f"{n:,} B ({n / 2**20:,.1f} MiB)"


def _memory_limit() -> tuple[int, str, str] | None:
    """(bytes, why zh, why en): ``MEMORY_SHARE`` of the free memory; None without psutil (it comes with Jupyter)."""
    try:
        import psutil
    except ImportError:
        return None
    available = psutil.virtual_memory().available
    share = f"{MEMORY_SHARE:.0%}"
    return (int(available * MEMORY_SHARE), f"可用内存 {_size(available)} 的 {share}",
            f"{share} of the {_size(available)} of free memory")


def _check_memory(config: GPTConfig, path: Path, max_bytes: int | None) -> None:
    """Refuse a GPT whose weights (and mask buffers) need more than ``max_bytes``, before any of it is allocated."""
    limit = _memory_limit() if max_bytes is None else (max_bytes, "max_bytes", "max_bytes")
    if limit is None:
        return
    with torch.device("meta"):  # the shapes, without the memory
        shell = GPT(config)
    need = sum(t.numel() * t.element_size() for t in (*shell.parameters(), *shell.buffers()))
    cap, why_zh, why_en = limit
    if need > cap:
        n_params = sum(p.numel() for p in shell.parameters())
        raise CheckpointError(
            f"{path} 的模型（{n_params:,} 个参数，n_layer={config.n_layer}，n_embd={config.n_embd}）需要 {_size(need)} "
            f"内存，超过上限 {_size(cap)}（{why_zh}）：在这台机器上打开它可能会卡死。请在训练它的机器上探索它，"
            f"或关掉别的程序和内核再试；确定够用时可以传 max_bytes=... 提高上限。 / the model in {path} "
            f"({n_params:,} parameters) needs {_size(need)} of memory, over the limit of {_size(cap)} ({why_en}); "
            "opening it here could freeze the machine. Explore it on the machine that trained it, or close other "
            "programs and kernels; pass max_bytes=... to raise the limit if you are sure."
        )


def load_char_checkpoint(
    ckpt_path: str | os.PathLike,
    meta_path: str | os.PathLike | None = None,
    *,
    map_location: str | torch.device | None = None,
    max_bytes: int | None = None,
) -> tuple[GPT, CharTokenizer, CheckpointInfo]:
    """The character-level GPT in nanoGPT's ``ckpt.pt`` (eval mode), its tokenizer, and what else the file says.

    ``meta_path`` defaults to the first ``meta.pkl`` found next to ``ckpt.pt``, then in ``data/<dataset>/`` under
    the current folder and under the checkpoint folder's parent. The model must fit in ``max_bytes`` (default: half
    the free memory), checked before it is built. ``info.optimizer`` is None: exploring needs no optimizer state.
    """
    path = Path(ckpt_path).expanduser()
    device = default_device() if map_location is None else torch.device(map_location)
    checkpoint = _read(path, "cpu", mmap=True)  # the tensors stay in the file until the GPT copies them
    _check_dict(checkpoint, path)
    config = _config(checkpoint)
    info = _info(checkpoint, config)
    dataset = info.train_config.get("dataset")  # train.py's setting: the folder under data/ it read
    meta = _find_meta(path, config, dataset) if meta_path is None else Path(meta_path).expanduser()
    tok = load_meta(meta)
    if tok.vocab_size != config.vocab_size:
        raise CheckpointError(
            f"{meta} 有 {tok.vocab_size} 个字符，而 {path} 的模型有 {config.vocab_size} 个词元：这个 meta.pkl 属于别的数据。"
            f"请给出训练这个模型的数据集（检查点里 dataset={dataset!r}）的 meta.pkl。 / {meta} has {tok.vocab_size} "
            f"characters but the model in {path} has vocab_size {config.vocab_size}: this meta.pkl belongs to other data; "
            f"pass the meta.pkl of the dataset the model was trained on (the checkpoint says dataset={dataset!r})."
        )
    _check_memory(config, path, max_bytes)
    model = _build(checkpoint, config, path, device)
    return model, tok, replace(info, optimizer=None, meta_path=meta)


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
