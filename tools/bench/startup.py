"""Start-up: seconds and MiB, in fresh interpreters, for ``import torch``, ``import nanogpt_lite``, the first
``torch.optim`` optimizer (it imports ``torch._dynamo``) and the heavy libraries the chapters' instruments import."""
from __future__ import annotations

import json
import subprocess
import sys
from statistics import median
from typing import Any

from .report import Figure, markdown_table
from .series import ROOT

# Each runs in a fresh interpreter after `import torch` and prints {name: [seconds, MiB added]}.
STEPS = {
    "import nanogpt_lite": "import nanogpt_lite",
    "first torch.optim optimizer": "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)",
    "import matplotlib.figure": "import matplotlib.figure",
    "import scipy.stats": "import scipy.stats",
    "import ipywidgets": "import ipywidgets",
}
SNIPPET = """import json, time, psutil
p = psutil.Process(); rss = lambda: p.memory_info().rss / 2**20
r0 = rss(); t = time.perf_counter(); import torch; out = {{'import torch': [time.perf_counter() - t, rss() - r0]}}
r0 = rss(); t = time.perf_counter(); {code}; out[{name!r}] = [time.perf_counter() - t, rss() - r0]
print(json.dumps(out))"""


def measure_repeats(repeats: int) -> dict[str, dict[str, float]]:
    """Median seconds and MiB per step (each step in its own interpreter, after ``import torch``)."""
    found: dict[str, list[list[float]]] = {}
    for _ in range(repeats):
        for name, code in STEPS.items():  # interleaved
            out = subprocess.run([sys.executable, "-c", SNIPPET.format(code=code, name=name)], cwd=ROOT,
                                 capture_output=True, text=True, check=True)
            for key, pair in json.loads(out.stdout.strip().splitlines()[-1]).items():
                found.setdefault(key, []).append(pair)
    return {key: {"s": median(p[0] for p in pairs), "mib": median(p[1] for p in pairs)} for key, pairs in found.items()}


def measure(args: Any) -> dict[str, Any]:
    return measure_repeats(args.repeats)


def figures(startup: dict[str, Any]) -> list[Figure]:
    return [Figure(name, row["s"], "s", note=f"+{row['mib']:.0f} MiB") for name, row in startup.items()]


def render(startup: dict[str, Any]) -> list[str]:
    return ["", "## Start-up", "",
            "Each step in a fresh interpreter after `import torch` (medians); MiB is the RSS it adds. Every kernel of the "
            "venv loads `nanogpt_lite.ipython`, which imports `nanogpt_lite` and so torch, before the first cell runs.", "",
            markdown_table(["step", "seconds", "MiB added"],
                           [[name, f"{row['s']:.2f}", f"{row['mib']:.0f}"] for name, row in startup.items()])]
