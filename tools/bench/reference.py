"""Chapter 6's reference GPT rebuilt from scratch, as ``make reference`` does, and compared with the shipped file.

A fresh interpreter runs ``python -m nanogpt_lite.reference --out TMP`` on one thread (about two minutes on an
idle core). The rebuild's whole-split val loss should equal the shipped one where the CPU kernels are those that
saved it; elsewhere it is another model of about the same quality (tools/kernels.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nanogpt_lite.reference import REFERENCE_FILE, load_reference

from .report import Figure, Goal, markdown_table
from .series import ROOT

MAX_MB = 3.0  # issue 29: the shipped checkpoint adds at most 3 MB to the wheel
REBUILD_TOLERANCE = 0.05  # another CPU's kernels give another model; this much worse or better is still the recipe


def measure(args: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "ckpt.pt"
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nanogpt_lite.reference", "--out", str(out)], cwd=ROOT, check=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - began
        rebuilt = load_reference(out)[2].best_val_loss
    shipped = load_reference()[2].best_val_loss
    return {"rebuild_s": seconds, "rebuilt_val": rebuilt, "shipped_val": shipped,
            "file_mb": REFERENCE_FILE.stat().st_size / 1e6}


def figures(result: dict[str, Any]) -> list[Figure]:
    return [
        Figure("reference GPT: |rebuilt − shipped| whole-split val", abs(result["rebuilt_val"] - result["shipped_val"]), "",
               Goal(REBUILD_TOLERANCE, ""), f"rebuilt {result['rebuilt_val']:.4f}, shipped {result['shipped_val']:.4f}"),
        Figure("reference GPT: the shipped file", result["file_mb"], "MB", Goal(MAX_MB, "MB")),
        Figure("reference GPT: `make reference` (whole process)", result["rebuild_s"], "s"),
    ]


def render(result: dict[str, Any]) -> list[str]:
    return ["", "## Chapter 6's reference GPT, rebuilt", "",
            "`python -m nanogpt_lite.reference --out TMP` in a fresh interpreter on one thread, then both files' "
            "whole-split val loss (recorded by the same code path).", "",
            markdown_table(["rebuild (s)", "rebuilt val", "shipped val", "shipped file"],
                           [[f"{result['rebuild_s']:.0f}", f"{result['rebuilt_val']:.4f}", f"{result['shipped_val']:.4f}",
                             f"{result['file_mb']:.2f} MB"]])]
