"""Browser input-to-update latency per widget: a MutationObserver armed before each learner input, in a real
JupyterLab and chromium (``tests/browser/``), split into the browser's part, the round trip through the server and the
kernel, and rendering.

Three conditions, each from its own file:

- ``suite``: ``build/browser-latency.json``, written by the last browser run of the test suite (under ``make test``
  the machine is busy with the rest of the suite);
- ``idle`` and ``class`` (``--run-browser``): the chapters' browser tests run alone, then again beside a class:
  ``--class-learners`` kernels that run ``--load-chapter`` top to bottom over and over (:class:`tools.bench.load.BusyClass`).

    python -m tools.bench --only browser --run-browser --class-learners 4
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .load import BusyClass
from .report import Figure, Goal, markdown_table, ms
from .series import ROOT

LATENCY_FILE = ROOT / "build" / "browser-latency.json"
LATENCY_ENV = "NANOGPT_LITE_LATENCY_FILE"  # tests/browser/conftest.py writes its samples there
CONDITION_FILES = {"idle": ROOT / "build" / "browser-latency-idle.json",
                   "class": ROOT / "build" / "browser-latency-class.json"}
CONDITION_NAMES = {"suite": "during make test", "idle": "idle", "class": "beside a class"}
GOAL_MS, STRETCH_MS, MIN_SAMPLES = 100, 50, 30
# The chapters' widget drives; the readability and save-and-reopen checks time nothing.
LATENCY_TESTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "browser").glob("test_0*.py"))
LATENCY_SELECTION = "not readable and not survive"


def read_latency(path: Path = LATENCY_FILE) -> dict[str, Any] | None:
    """The latencies a browser run wrote to ``path``, if it has run."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
            "modified": dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds"), "widgets": data}


def run_browser_tests(latency_file: Path) -> dict[str, Any]:
    """Run the chapters' widget drives in one pytest process, their samples going to ``latency_file`` (emptied first)."""
    latency_file.unlink(missing_ok=True)
    env = dict(os.environ, NANOGPT_LITE_REQUIRE_BROWSER="1", NANOGPT_LITE_QUICK="1", OMP_NUM_THREADS="1",
               **{LATENCY_ENV: str(latency_file)})
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", *LATENCY_TESTS, "-q", "-p", "no:cacheprovider",
                           "-k", LATENCY_SELECTION], cwd=ROOT, env=env, check=False, capture_output=True, text=True)
    summary = (done.stdout.strip().splitlines() or [""])[-1]
    return {"returncode": done.returncode, "summary": summary, "wall_s": time.perf_counter() - began}


def measure(args: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"conditions": {}}
    if getattr(args, "run_browser", False):
        found["idle_run"] = run_browser_tests(CONDITION_FILES["idle"])
        with BusyClass(ROOT / args.load_chapter, args.class_learners) as busy:
            found["class_run"] = run_browser_tests(CONDITION_FILES["class"])
        found["class"] = {"learners": args.class_learners, "notebook": args.load_chapter, "chapter_runs": busy.runs,
                          "errors": busy.errors[:5]}
    for condition, path in {"suite": LATENCY_FILE, **CONDITION_FILES}.items():
        latency = read_latency(path)
        if latency is not None:
            found["conditions"][condition] = latency
    return found


def figures(browser: dict[str, Any]) -> list[Figure]:
    if not browser["conditions"]:
        return [Figure("browser input-to-update p95", None, "ms", Goal(GOAL_MS, "ms"), "not run: run the browser suite")]
    found = []
    for condition, latency in browser["conditions"].items():
        for css, row in latency["widgets"].items():
            samples = len(row.get("samples_ms", []))
            note = f"{samples} samples" + (f" (fewer than {MIN_SAMPLES})" if samples < MIN_SAMPLES else "")
            stretch = row.get("p95_ms") is not None and row["p95_ms"] <= STRETCH_MS
            found.append(Figure(f"{css}: browser input-to-update p95, {CONDITION_NAMES[condition]}", row.get("p95_ms"), "ms",
                                Goal(GOAL_MS, "ms"), note + ("; stretch ≤ 50 ms met" if stretch else "")))
    return found


def _split(row: dict[str, Any], key: str) -> str:
    parts = row.get("split_p50_ms")
    return "—" if not parts else ms(parts.get(key))


def render(browser: dict[str, Any]) -> list[str]:
    if not browser["conditions"]:
        return ["", "Browser input-to-update latency: not run (no build/browser-latency.json; run the browser suite)."]
    out = ["", "## Browser input-to-update latency", "",
           f"Goal ≤ {GOAL_MS} ms p95 per widget, stretch ≤ {STRETCH_MS} ms; at least {MIN_SAMPLES} samples each. "
           "The last three columns split the median sample: the browser until its first websocket frame, that frame "
           "until the last frame received before the update (server and kernel), and rendering."]
    if "class" in browser:
        busy = browser["class"]
        out += ["", f"Beside a class: {busy['learners']} kernels ran {Path(busy['notebook']).stem} over and over "
                    f"({busy['chapter_runs']} whole runs during the measurement)."
                + (f" Errors: {'; '.join(busy['errors'])}" if busy["errors"] else "")]
    for run in ("idle_run", "class_run"):
        if run in browser:
            out += [f"- {run.replace('_run', '')} run: {browser[run]['summary']} in {browser[run]['wall_s']:.0f} s"]
    rows = []
    for condition, latency in browser["conditions"].items():
        for css, row in latency["widgets"].items():
            samples = row.get("samples_ms", [])
            rows.append([css, f"{CONDITION_NAMES[condition]} ({latency['modified']})", len(samples), ms(row.get("p50_ms")),
                         ms(row.get("p95_ms")), ms(max(samples) if samples else None),
                         _split(row, "browser_ms"), _split(row, "kernel_ms"), _split(row, "render_ms")])
    out += ["", markdown_table(["class", "condition", "samples", "p50 ms", "p95 ms", "max ms", "browser ms", "round trip ms",
                                "render ms"], rows)]
    return out
