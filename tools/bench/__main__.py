"""``python -m tools.bench [--only PART ...]``: run the parts, print the Markdown report, write build/bench.json.

    python -m tools.bench                                 # every part (about 15 minutes; `--only gpt`, `--only load` alone)
    python -m tools.bench --only reference                # rebuild chapter 6's reference GPT and compare it with the shipped one
    python -m tools.bench --only memory                   # per-chapter kernel memory, cell by cell
    python -m tools.bench --only load --learners 4 --load-chapter notebooks/02_enumerate.ipynb
    python -m tools.bench --only browser --run-browser    # widget latency in the browser, idle and beside a class of 4
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import browser, gpt, ladder, load, memory, reference, sampling, series, startup, training, widgets
from .report import MIB, Figure, Goal, markdown_table
from .series import ROOT

# name: (module, needs the in-process Lesson). All run by default; `--only` picks some.
PARTS = {"series": (series, False), "memory": (memory, False), "training": (training, True), "sampling": (sampling, True),
         "widgets": (widgets, True), "browser": (browser, False), "startup": (startup, False), "gpt": (gpt, True),
         "reference": (reference, False), "ladder": (ladder, True), "load": (load, False)}
DEFAULT_PARTS = list(PARTS)
HEAVY_PARTS = ("gpt", "reference", "ladder", "load")  # GPT trainings (minutes each) and a class of 20
BENCH_GOAL_S = 300  # for the other parts


def machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
                   if line.startswith("model name"))
    memory_gib = None
    with contextlib.suppress(OSError, StopIteration):
        memory_gib = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
                              if line.startswith("MemTotal"))) / MIB
    git = lambda *args: subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, encoding="utf-8").stdout.strip()  # noqa: E731
    commit = git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if git("status", "--porcelain", "--", "nanogpt_lite", "notebooks") else "")
    return {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "cores": os.cpu_count(), "cpu": cpu,
            "memory_gib": memory_gib, "python": platform.python_version(), "torch": torch.__version__,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"), "commit": commit, "load_average_start": os.getloadavg()}


def build_figures(results: dict[str, Any]) -> list[Figure]:
    """The issue's figures with their goals, from whatever parts ran (in the order of PARTS)."""
    found: list[Figure] = []
    for name, (module, _) in PARTS.items():
        if name in results:
            found += module.figures(results[name])
    part_s = results["machine"].get("part_s", {})
    light = sum(t for name, t in part_s.items() if name not in HEAVY_PARTS) if part_s else results["machine"]["bench_s"]
    heavy = ", ".join(HEAVY_PARTS[:-1]) + " and " + HEAVY_PARTS[-1]
    found.append(Figure(f"this benchmark's own run time without {heavy} (set-up excluded)", light, "s",
                        Goal(BENCH_GOAL_S, "s")))
    return found


def render(results: dict[str, Any], figures: list[Figure]) -> str:
    meta = results["machine"]
    out = ["# nanogpt_lite benchmark", "",
           f"{meta['date']} · {meta['cores']} cores ({meta['cpu']}), {meta['memory_gib']:.0f} GiB · Python {meta['python']} · "
           f"torch {meta['torch']} · commit {meta['commit']} · load average {meta['load_average_start'][0]:.1f} at start, "
           f"{meta['load_average_end'][0]:.1f} at end · took {meta['bench_s']:.0f} s", "",
           "Times are medians over repeats; the machine may be shared, so compare figures taken in the same run. "
           f"In-process parts run with one torch thread; kernels with OMP_NUM_THREADS={meta['omp_num_threads']}.", "",
           "## Goals", "",
           markdown_table(["figure", "measured", "goal", "verdict"], [f.cells() for f in figures if f.goal is not None])]
    for name, (module, _) in PARTS.items():
        if name in results:
            out += module.render(results[name])
    return "\n".join(out) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=DEFAULT_PARTS, metavar="PART",
                        help=f"parts to run (space- or comma-separated): {', '.join(PARTS)}")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per timing (medians)")
    parser.add_argument("--widget-samples", type=int, default=6, help="values set per widget control (in process)")
    parser.add_argument("--series-budget", type=float, default=120.0, help="no further nbval repeat once this many seconds are spent")
    parser.add_argument("--notebooks", nargs="+", help="memory: these notebooks instead of every chapter")
    parser.add_argument("--learners", type=int, default=load.DEFAULT_LEARNERS, help="load: kernels that run a chapter at once")
    parser.add_argument("--load-chapter", default=load.DEFAULT_CHAPTER, help="load: the notebook each learner runs")
    parser.add_argument("--run-browser", action="store_true",
                        help="browser: run the chapters' widget drives alone, then beside a class (--class-learners)")
    parser.add_argument("--class-learners", type=int, default=4,
                        help="browser: kernels that run --load-chapter over and over beside the second run")
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench.json")
    args = parser.parse_args(argv)
    args.only = [part.strip() for item in args.only for part in item.split(",") if part.strip()]
    unknown = sorted(set(args.only) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.learners < 1:
        parser.error("--learners must be >= 1")
    if args.class_learners < 1:
        parser.error("--class-learners must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tools.isolated_env import isolate

    isolate(Path(tempfile.mkdtemp(prefix="nanogpt-bench-home-")))
    began = time.perf_counter()
    results: dict[str, Any] = {"machine": machine()}
    lesson = None
    for name, (module, needs_lesson) in PARTS.items():
        if name not in args.only:
            continue
        print(f"{name} ...", file=sys.stderr, flush=True)
        part_began = time.perf_counter()
        if needs_lesson:
            if lesson is None:
                import torch

                from .lesson import Lesson

                lesson = Lesson.load()
                torch.set_num_threads(1)  # steadier on a shared machine; training.thread_cost measures the default
            results[name] = module.measure(args, lesson)
        else:
            results[name] = module.measure(args)
        results["machine"].setdefault("part_s", {})[name] = time.perf_counter() - part_began
    results["machine"]["load_average_end"] = os.getloadavg()
    results["machine"]["bench_s"] = time.perf_counter() - began
    figures = build_figures(results)
    results["figures"] = [figure.to_json() for figure in figures]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print(render(results, figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
