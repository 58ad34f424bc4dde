"""Execute notebooks top to bottom in a fresh kernel and save their outputs, as nbval will re-run them.

    python -m tools.execute_notebooks notebooks/*.ipynb
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tools.isolated_env import isolate


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(nb, path)


def main(paths: list[str]) -> int:
    isolate(Path(tempfile.mkdtemp(prefix="nanogpt-exec-")))
    for name in paths:
        print(f"executing {name}", flush=True)
        execute(Path(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
