"""Where tensors live (the GPU when there is one, else the CPU) and how many CPU threads they use."""
from __future__ import annotations

import os

import torch

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NANOGPT_LITE_THREADS")


def default_device() -> torch.device:
    """``cuda`` when available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def configure_threads(environ: os._Environ | dict[str, str] = os.environ) -> int:
    """Use one CPU thread unless the user chose a count; return the count in force.

    The series' models are tiny: a bigram step takes about half a millisecond on one thread and
    gains nothing from more, while on a busy laptop (or a hub with many kernels) one thread per
    core makes the threads spin against each other. ``NANOGPT_LITE_THREADS=N`` (or
    ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``, which torch reads itself) overrides this.
    """
    chosen = environ.get("NANOGPT_LITE_THREADS")
    if chosen is not None:
        try:
            count = int(chosen)
        except ValueError:
            raise ValueError(
                f"NANOGPT_LITE_THREADS 必须是正整数 / must be a positive integer, got {chosen!r}"
            ) from None
        if count < 1:
            raise ValueError(f"NANOGPT_LITE_THREADS 必须是正整数 / must be a positive integer, got {chosen!r}")
        torch.set_num_threads(count)
    elif not any(environ.get(name) for name in THREAD_VARIABLES):
        torch.set_num_threads(1)
    return torch.get_num_threads()
