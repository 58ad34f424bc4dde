"""The series' texts, shipped inside the package (xz-compressed); split and batch as nanoGPT does.

``load_text()`` needs no network, no environment variable and no set-up step: tiny Shakespeare is
decompressed from the package and checked against its sha256 on every first load.
``load_text("tang")`` is 《全唐诗》 (57,607 Tang poems, traditional script; rebuilt by
``python -m tools.tang_poems``), checked the same way. ``load_text(path)`` reads a learner's own UTF-8 file.
"""
from __future__ import annotations

import hashlib
import lzma
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch


@dataclass(frozen=True)
class Corpus:
    """One text shipped in the package: its xz file and the sha256 and size of the UTF-8 text inside."""

    name: str
    file: str
    sha256: str
    size_bytes: int


SHAKESPEARE = Corpus("shakespeare", "tinyshakespeare.txt.xz",
                     "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1_115_394)
TANG = Corpus("tang", "tang_poems.txt.xz", "8b6c08522552eb1e18f8d65605601572159b7312865995b56fe79a467d327907", 12_663_009)
CORPORA = {corpus.name: corpus for corpus in (SHAKESPEARE, TANG)}
# tiny Shakespeare's figures under their first names (the doctor and the wheel test read them)
SHA256, SIZE_BYTES, PACKAGED_FILE = SHAKESPEARE.sha256, SHAKESPEARE.size_bytes, SHAKESPEARE.file


class DataError(RuntimeError):
    """The packaged data is damaged, or a learner's text file cannot be used."""


def _reinstall_hint() -> str:
    return (
        "请重新安装本项目 / reinstall the project: pip install --no-deps --force-reinstall -e .  "
        "(在仓库根目录 / in the repository root)"
    )


def decode_packaged(compressed: bytes, corpus: Corpus = SHAKESPEARE) -> str:
    """Decompress the packaged bytes and return the text, refusing anything whose sha256 is not ``corpus``'s."""
    try:
        raw = lzma.decompress(compressed)
    except lzma.LZMAError as exc:
        raise DataError(
            f"包内的数据文件 {corpus.file} 已损坏，无法解压 / the packaged data file {corpus.file} is corrupt "
            f"and cannot be decompressed ({exc}). {_reinstall_hint()}"
        ) from exc
    got = hashlib.sha256(raw).hexdigest()
    if got != corpus.sha256:
        raise DataError(
            f"包内的数据 {corpus.file} 校验失败 / the packaged data {corpus.file} failed its checksum: sha256 {got} "
            f"({len(raw):,} 字节 / bytes), 应为 / expected {corpus.sha256} ({corpus.size_bytes:,}). {_reinstall_hint()}"
        )
    return raw.decode("utf-8")


@lru_cache(maxsize=None)
def _packaged_text(name: str) -> str:
    corpus = CORPORA[name]
    source = resources.files(__package__).joinpath(corpus.file)
    try:
        compressed = source.read_bytes()
    except FileNotFoundError as exc:
        raise DataError(
            f"包里缺少数据文件 {corpus.file} / the package lacks its data file {corpus.file}. " + _reinstall_hint()
        ) from exc
    return decode_packaged(compressed, corpus)


def _read_own_file(path: str | os.PathLike) -> str:
    target = Path(path).expanduser()
    if not target.exists():
        raise DataError(f"找不到文件 / no such file: {target}。请检查路径 / check the path.")
    if target.is_dir():
        raise DataError(f"{target} 是文件夹，不是文本文件 / {target} is a folder, not a text file.")
    try:
        text = target.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{target} 不是 UTF-8 编码的文本 / is not UTF-8 text (第 {exc.start} 个字节 / at byte "
            f"{exc.start}). 请用 UTF-8 另存一份 / save it again as UTF-8 "
            "(记事本 / Notepad: 另存为 → 编码 UTF-8 / Save As → Encoding UTF-8)."
        ) from exc
    if not text:
        raise DataError(f"{target} 是空文件 / is empty: 至少需要几千个字符 / it needs some text to learn from.")
    return text


def _names() -> str:
    return ", ".join(repr(name) for name in CORPORA)


def load_text(source: str | os.PathLike | None = None) -> str:
    """Tiny Shakespeare as one string; a shipped corpus by name (``"tang"``); or the UTF-8 text file at ``source``."""
    if source is None:
        return _packaged_text(SHAKESPEARE.name)  # the same cache entry as load_text("shakespeare")
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"load_text 的参数必须是语料名（{_names()}）或文件路径（字符串或 pathlib.Path），收到 {source!r}"
            f"（{type(source).__name__}）。不传参数就是包里的 tiny Shakespeare：nl.load_text()。 / "
            f"load_text takes a corpus name ({_names()}) or a file path (a str or os.PathLike such as pathlib.Path), "
            f"got {source!r} ({type(source).__name__}); call nl.load_text() with no argument for tiny Shakespeare."
        )
    if isinstance(source, str) and source in CORPORA:
        return _packaged_text(source)
    looks_like_a_name = isinstance(source, str) and not any(c in source for c in "/\\.")
    if looks_like_a_name and not Path(source).exists():
        raise DataError(
            f"没有叫 {source!r} 的语料，也没有这个文件。包里的语料有：{_names()}。 / "
            f"there is no corpus named {source!r} and no such file; the package ships {_names()}."
        )
    return _read_own_file(source)


def split(data: torch.Tensor, train_fraction: float = 0.9) -> tuple[torch.Tensor, torch.Tensor]:
    """First ``train_fraction`` of the tokens for training, the rest for validation (as nanoGPT)."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(
            f"train_fraction 必须在 0 和 1 之间（不含两端），收到 {train_fraction}：nanoGPT 用 0.9。 / "
            f"train_fraction must be between 0 and 1, got {train_fraction}; nanoGPT uses 0.9."
        )
    n = int(train_fraction * len(data))
    return data[:n], data[n:]


def get_batch(
    data: torch.Tensor, batch_size: int, block_size: int, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``block_size`` tokens, and the same windows shifted by one."""
    if batch_size < 1:
        raise ValueError(
            f"batch_size 必须是 >= 1 的整数，收到 {batch_size!r}：一批至少要有一个窗口。请用正整数，例如 32。 / "
            f"batch_size must be a whole number >= 1, got {batch_size!r}; use a positive number such as 32."
        )
    if len(data) <= block_size:
        raise ValueError(
            f"数据只有 {len(data)} 个词元，需要多于 block_size={block_size} 个：换更长的数据或更小的 block_size。 / "
            f"data has {len(data)} tokens, need more than block_size={block_size}"
        )
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = starts[:, None] + torch.arange(block_size)  # (batch_size, block_size) positions
    return data[offsets], data[offsets + 1]
