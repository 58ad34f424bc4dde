"""Browser input-to-update latency per widget, from ``build/browser-latency.json`` (written by the browser suite,
``tests/browser/``: a MutationObserver armed before each learner input, in a real JupyterLab and chromium).

``python -m tools.bench --only browser --run-browser`` runs the suite first (a few minutes)."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .report import Figure, Goal, markdown_table, ms
from .series import ROOT

LATENCY_FILE = ROOT / "build" / "browser-latency.json"
GOAL_MS, STRETCH_MS, MIN_SAMPLES = 100, 50, 30


def read_latency(path: Path = LATENCY_FILE) -> dict[str, Any] | None:
    """The browser suite's latencies, if it has run."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
            "modified": dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds"), "widgets": data}


def measure(args: Any) -> dict[str, Any] | None:
    if getattr(args, "run_browser", False):
        subprocess.run([sys.executable, "-m", "pytest", "tests/browser", "-q", "-p", "no:cacheprovider"], cwd=ROOT,
                       env=dict(os.environ, NANOGPT_LITE_REQUIRE_BROWSER="1"), check=False)
    return read_latency()


def figures(browser: dict[str, Any] | None) -> list[Figure]:
    if browser is None:
        return [Figure("browser input-to-update p95", None, "ms", Goal(GOAL_MS, "ms"), "not run: run the browser suite")]
    found = []
    for css, row in browser["widgets"].items():
        samples = len(row.get("samples_ms", []))
        note = f"{samples} samples" + (f" (fewer than {MIN_SAMPLES})" if samples < MIN_SAMPLES else "")
        stretch = row.get("p95_ms") is not None and row["p95_ms"] <= STRETCH_MS
        found.append(Figure(f"{css}: browser input-to-update p95", row.get("p95_ms"), "ms", Goal(GOAL_MS, "ms"),
                            note + ("; stretch ≤ 50 ms met" if stretch else "")))
    return found


def render(browser: dict[str, Any] | None) -> list[str]:
    if browser is None:
        return ["", "Browser input-to-update latency: not run (no build/browser-latency.json; run the browser suite)."]
    return ["", f"## Browser input-to-update latency (from {browser['file']}, written {browser['modified']})", "",
            f"Goal ≤ {GOAL_MS} ms p95 per widget, stretch ≤ {STRETCH_MS} ms; at least {MIN_SAMPLES} samples each.", "",
            markdown_table(["class", "samples", "p50 ms", "p95 ms", "max ms"],
                           [[css, len(r.get("samples_ms", [])), ms(r.get("p50_ms")), ms(r.get("p95_ms")),
                             ms(max(r["samples_ms"]) if r.get("samples_ms") else None)]
                            for css, r in browser["widgets"].items()])]
