"""Tiny Shakespeare: download (or copy) once, verify, load; split and batch as nanoGPT does.

Command line::

    python -m nanogpt_lite.data fetch                 # from the canonical URL (or $NANOGPT_LITE_DATA_URL)
    python -m nanogpt_lite.data fetch --from PATH_OR_URL   # from a local copy or a mirror
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

import torch
from tqdm.auto import tqdm

CANONICAL_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SIZE_BYTES = 1_115_394
URL_ENV = "NANOGPT_LITE_DATA_URL"
DIR_ENV = "NANOGPT_LITE_DATA_DIR"


class DataError(RuntimeError):
    """The data file is missing, unreachable or corrupt."""


def data_dir() -> Path:
    """Where the data lives: $NANOGPT_LITE_DATA_DIR, else the repository's ``data/``, else a user cache."""
    if os.environ.get(DIR_ENV):
        return Path(os.environ[DIR_ENV]).expanduser()
    repo_data = Path(__file__).resolve().parents[2] / "data"
    if repo_data.is_dir():
        return repo_data
    return Path.home() / ".cache" / "nanogpt_lite"


def data_path() -> Path:
    """The path of tiny Shakespeare's ``input.txt`` (it may not exist yet)."""
    return data_dir() / "tinyshakespeare" / "input.txt"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _how_to_get_it(dest: Path) -> str:
    return (
        f"Tiny Shakespeare is not at {dest} and could not be fetched. Three ways to get it:\n"
        f"  1. online:  python -m nanogpt_lite.data fetch   (downloads {CANONICAL_URL})\n"
        f"  2. a mirror: set {URL_ENV}=https://your.mirror/input.txt (or file:///path/input.txt), then fetch\n"
        f"  3. offline: python -m nanogpt_lite.data fetch --from /path/to/input.txt   (a USB stick, a shared drive)\n"
        f"The file is {SIZE_BYTES:,} bytes with sha256 {SHA256}."
    )


def _copy_stream(src, dst, total: int | None, label: str) -> None:
    with tqdm(total=total, unit="B", unit_scale=True, desc=label, leave=False) as bar:
        for block in iter(lambda: src.read(1 << 16), b""):
            dst.write(block)
            bar.update(len(block))


def fetch(source: str | os.PathLike | None = None, dest: Path | None = None) -> Path:
    """Install the data file at ``dest`` from a URL or local path, verifying its sha256.

    ``source`` defaults to $NANOGPT_LITE_DATA_URL, else the canonical URL. The bytes go to a
    temporary file next to ``dest``; only a file with the right checksum is renamed into place,
    so a failed or corrupt fetch leaves nothing behind.
    """
    dest = Path(dest) if dest is not None else data_path()
    source = str(source) if source is not None else os.environ.get(URL_ENV) or CANONICAL_URL
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".input.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            if "://" in source:
                try:
                    with urllib.request.urlopen(source, timeout=30) as response:
                        total = response.headers.get("Content-Length")
                        _copy_stream(response, out, int(total) if total else None, "tinyshakespeare")
                except OSError as exc:  # URLError, HTTPError and timeouts are all OSErrors
                    raise DataError(f"Could not download {source}: {exc}\n\n" + _how_to_get_it(dest)) from exc
            else:
                path = Path(source).expanduser()
                if not path.is_file():
                    raise DataError(f"No file at {path}.\n\n" + _how_to_get_it(dest))
                with open(path, "rb") as src:
                    _copy_stream(src, out, path.stat().st_size, "tinyshakespeare")
        got = sha256_of(tmp)
        if got != SHA256:
            raise DataError(
                f"{source} is not tiny Shakespeare: its sha256 is {got}, expected {SHA256} "
                f"({tmp.stat().st_size:,} bytes, expected {SIZE_BYTES:,}). "
                "It was not saved; fetch a clean copy."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def load_text(path: str | os.PathLike | None = None) -> str:
    """Return tiny Shakespeare as one string, fetching it on first use.

    A file already in place is checked by size (cheap) and, if the size is wrong, refused as corrupt.
    """
    target = Path(path) if path is not None else data_path()
    if not target.exists():
        if path is not None:
            raise DataError(f"No file at {target}.")
        fetch(dest=target)
    size = target.stat().st_size
    if path is None and size != SIZE_BYTES:
        raise DataError(
            f"{target} is {size:,} bytes, expected {SIZE_BYTES:,}: the file is corrupt or truncated. "
            f"Delete it and run: python -m nanogpt_lite.data fetch"
        )
    return target.read_text(encoding="utf-8")


def split(data: torch.Tensor, train_fraction: float = 0.9) -> tuple[torch.Tensor, torch.Tensor]:
    """First ``train_fraction`` of the tokens for training, the rest for validation (as nanoGPT)."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be between 0 and 1, got {train_fraction}")
    n = int(train_fraction * len(data))
    return data[:n], data[n:]


def get_batch(
    data: torch.Tensor, batch_size: int, block_size: int, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``block_size`` tokens, and the same windows shifted by one."""
    if len(data) <= block_size:
        raise ValueError(f"data has {len(data)} tokens, need more than block_size={block_size}")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = starts[:, None] + torch.arange(block_size)  # (batch_size, block_size) positions
    return data[offsets], data[offsets + 1]
