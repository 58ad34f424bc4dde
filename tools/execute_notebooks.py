"""Execute notebooks top to bottom in a fresh kernel and save their outputs, as nbval will re-run them.

    python -m tools.execute_notebooks notebooks/*.ipynb           # run and save the outputs
    python -m tools.execute_notebooks --check notebooks/*.ipynb   # run only: fail on an error, save nothing

Saving runs one notebook at a time (some outputs are timings); --check runs one per CPU core at once.
"""
from __future__ import annotations

import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tools import kernels
from tools.isolated_env import isolate


def merge_streams(outputs: list[dict]) -> list[dict]:
    """Join consecutive stdout (or stderr) chunks: a busy kernel may flush one print in pieces."""
    merged: list[dict] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if output["output_type"] == "stream" and previous and previous["output_type"] == "stream" and previous["name"] == output["name"]:
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def record_kernels(nb: nbformat.NotebookNode) -> None:
    """Note which CPU kernels made the outputs, where a cell tagged ``cpu-dependent`` needs it (tools/kernels.py)."""
    nb.metadata.pop(kernels.METADATA_KEY, None)
    if any(kernels.TAG in cell.metadata.get("tags", []) for cell in nb.cells):
        nb.metadata[kernels.METADATA_KEY] = {"kernels": kernels.fingerprint()}


def execute(path: Path, save: bool = True) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    if save:
        record_kernels(nb)
        nbformat.write(nb, path)


def check(name: str) -> str:
    execute(Path(name), save=False)
    return name


def main(args: list[str]) -> int:
    save = "--check" not in args
    names = [a for a in args if a != "--check"]
    isolate(Path(tempfile.mkdtemp(prefix="nanogpt-exec-")))
    if save:
        for name in names:
            print(f"executing {name}", flush=True)
            execute(Path(name))
        return 0
    with ProcessPoolExecutor(max_workers=max(1, min(len(names), os.cpu_count() or 1))) as pool:
        for name in pool.map(check, names):  # the first error is raised here, with its cell
            print(f"checked {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
