"""Keep Jupyter, IPython and matplotlib state out of $HOME while tests and tools run."""
from __future__ import annotations

import os
from pathlib import Path

VARIABLES = {
    "JUPYTER_CONFIG_DIR": "jupyter/config",
    "JUPYTER_DATA_DIR": "jupyter/data",
    "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
    "JUPYTERLAB_SETTINGS_DIR": "jupyterlab/settings",
    "JUPYTERLAB_WORKSPACES_DIR": "jupyterlab/workspaces",
    "IPYTHONDIR": "ipython",
    "MPLCONFIGDIR": "matplotlib",
    "XDG_CONFIG_HOME": "xdg/config",
    "XDG_CACHE_HOME": "xdg/cache",
    "XDG_DATA_HOME": "xdg/data",
}


def isolate(root: Path) -> dict[str, str]:
    """Point every per-user directory at ``root`` (created), set them in os.environ and return them.

    Also builds matplotlib's font cache there once, so its "building the font cache" message never
    lands in a notebook cell.
    """
    values = {}
    for name, sub in VARIABLES.items():
        path = root / sub
        path.mkdir(parents=True, exist_ok=True)
        values[name] = str(path)
    os.environ.update(values)
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # debugpy's frozen-modules note on stderr
    from matplotlib import font_manager  # noqa: F401  (builds the cache in MPLCONFIGDIR)

    return values
