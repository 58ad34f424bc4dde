"""Series execution under strict nbval: wall time, per-cell times (JUnit XML), each kernel's peak RSS (VmHWM)."""
from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import psutil

from .report import MIB, Figure, Goal, markdown_table, ms, seconds

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ["01_tokenization", "02_enumerate", "03_parameters", "04_sampling", "05_backward", "06_gpt", "07_nanochat"]
BIGRAM_CHAPTERS = CHAPTERS[:5]  # goal: together <= SERIES_GOAL_S; the GPT chapter has its own
NBVAL_ARGS = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-p", "no:cacheprovider"]
SERIES_GOAL_S = 45
GPT_CHAPTER_GOAL_S = 45  # issue 29: chapter 6 under strict nbval (its live training 200 steps: NANOGPT_LITE_QUICK)
NANOCHAT_CHAPTER_GOAL_S = 150  # issue 28: chapter 7 under strict nbval
CHAPTER_GOALS_S = {"06_gpt": GPT_CHAPTER_GOAL_S, "07_nanochat": NANOCHAT_CHAPTER_GOAL_S}
PEAK_GOAL_MIB = 350  # issue 14 (was 500)


def chapter_notebooks() -> list[str]:
    """The chapters present, in order, as paths relative to the repository."""
    return [f"notebooks/{name}.ipynb" for name in CHAPTERS if (ROOT / f"notebooks/{name}.ipynb").exists()]


@dataclass(frozen=True)
class CellTime:
    """One nbval item from a JUnit XML file: the notebook's n-th code cell, its seconds and outcome."""

    cell: int
    seconds: float
    outcome: str


def junit_classname(notebook: str) -> str:
    """How pytest's JUnit XML names a notebook given by its path relative to the repository root."""
    return notebook.replace("\\", "/").replace("/", ".")


def parse_junit(xml_text: str) -> dict[str, list[CellTime]]:
    """Per classname (see :func:`junit_classname`), the nbval cells in order. Times include set-up,
    so cell 0 carries the kernel's start-up and the last cell its shutdown."""
    cells: dict[str, list[CellTime]] = {}
    for case in ET.fromstring(xml_text).iter("testcase"):
        match = re.fullmatch(r"Cell (\d+)", case.get("name", ""))
        if match is None:
            continue
        kinds = {child.tag for child in case}
        outcome = next((kind for kind in ("failure", "error", "skipped") if kind in kinds), "passed")
        cells.setdefault(case.get("classname", ""), []).append(
            CellTime(int(match.group(1)), float(case.get("time", "nan")), outcome)
        )
    return {name: sorted(found, key=lambda c: c.cell) for name, found in cells.items()}


def vmhwm_mib(status_text: str) -> float | None:
    """The peak resident set size ("high water mark") from a Linux /proc/PID/status text, in MiB."""
    match = re.search(r"^VmHWM:\s+(\d+)\s+kB", status_text, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def first_output_cell(notebook: dict) -> int | None:
    """Index, among the code cells, of the first one whose committed outputs are not empty."""
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    return next((i for i, cell in enumerate(code_cells) if cell.get("outputs")), None)


def slowest_cell(runs: list[list[CellTime]]) -> tuple[int, float] | None:
    """The code cell with the largest median time over runs (cell 0 carries the kernel start), and that time."""
    if not runs:
        return None
    times = {cell.cell: median([c.seconds for cells in runs for c in cells if c.cell == cell.cell]) for cell in runs[0]}
    slowest = max(times, key=times.get)
    return slowest, times[slowest]


@dataclass
class SeriesRun:
    wall_s: float
    returncode: int
    summary: str
    cells: dict[str, list[CellTime]]
    kernel_peaks_mib: list[float]


def _kernel_peaks(process: subprocess.Popen, poll_s: float = 0.1) -> list[float]:
    """Poll the nbval run's kernel processes until it ends; each kernel's VmHWM, in start order."""
    peaks: dict[int, float] = {}
    parent = psutil.Process(process.pid)
    while process.poll() is None:
        with contextlib.suppress(psutil.Error):
            for child in parent.children(recursive=True):
                with contextlib.suppress(psutil.Error, OSError):
                    if any("ipykernel" in part for part in child.cmdline()):
                        peak = vmhwm_mib(Path(f"/proc/{child.pid}/status").read_text(encoding="utf-8"))
                        if peak is None:  # not Linux: the current RSS, polled
                            peak = child.memory_info().rss / MIB
                        peaks[child.pid] = max(peaks.get(child.pid, 0.0), peak)
        time.sleep(poll_s)
    return list(peaks.values())


def has_code(path: Path) -> bool:
    """Whether the notebook has a code cell (nbval starts a kernel only for those)."""
    return any(cell.get("cell_type") == "code" for cell in json.loads(path.read_text(encoding="utf-8"))["cells"])


def run_series(notebooks: list[str], workdir: Path) -> SeriesRun:
    """One strict nbval run over ``notebooks`` (one pytest process, a fresh kernel per notebook)."""
    junit, log = workdir / "nbval.xml", workdir / "nbval.log"
    command = [sys.executable, "-m", "pytest", *notebooks, *NBVAL_ARGS, "-q", f"--junitxml={junit}"]
    start = time.perf_counter()
    with open(log, "wb") as out:  # the child writes its own bytes
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        peaks = _kernel_peaks(process)
    wall = time.perf_counter() - start
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    cells = parse_junit(junit.read_text(encoding="utf-8")) if junit.exists() else {}
    return SeriesRun(wall, process.returncode, lines[-1] if lines else "", cells, peaks)


def measure(args: Any) -> dict[str, Any]:
    """Strict nbval over the chapters present, ``args.repeats`` times (fewer once ``args.series_budget`` s are spent)."""
    present = chapter_notebooks()
    extra = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb")
                   if p.stem not in CHAPTERS and has_code(p))  # a page with no code starts no kernel
    notebooks = present + extra
    result: dict[str, Any] = {"notebooks": notebooks, "missing": [c for c in CHAPTERS if f"notebooks/{c}.ipynb" not in present]}
    if not notebooks:
        return result
    runs: list[SeriesRun] = []
    with tempfile.TemporaryDirectory(prefix="nanogpt-bench-") as tmp:
        spent = 0.0
        while len(runs) < args.repeats and (not runs or spent < args.series_budget):
            runs.append(run_series(notebooks, Path(tmp)))
            spent += runs[-1].wall_s
            print(f"  nbval run {len(runs)}: {runs[-1].wall_s:.1f} s, {runs[-1].summary}", file=sys.stderr, flush=True)
    result["runs"] = len(runs)
    result["kernels_seen"] = [len(run.kernel_peaks_mib) for run in runs]  # one per notebook, or no peak is reported
    result["total_s"] = median([run.wall_s for run in runs])
    result["summaries"] = [run.summary for run in runs]
    per_notebook = {}
    for index, notebook in enumerate(notebooks):
        committed = json.loads((ROOT / notebook).read_text(encoding="utf-8"))
        first = first_output_cell(committed)
        cell_lists = [run.cells.get(junit_classname(notebook), []) for run in runs]
        complete = [cells for cells in cell_lists if cells]
        peaks = [run.kernel_peaks_mib[index] for run in runs if len(run.kernel_peaks_mib) == len(notebooks)]
        per_notebook[notebook] = {
            "code_cells": len(complete[0]) if complete else 0,
            "failed_cells": sorted({c.cell for cells in complete for c in cells if c.outcome in ("failure", "error")}),
            "wall_s": median([sum(c.seconds for c in cells) for cells in complete]) if complete else None,
            "kernel_start_s": median([cells[0].seconds for cells in complete]) if complete else None,
            "slowest_cell": slowest_cell(complete),
            "first_output_cell": first,
            "first_output_s": (median([sum(c.seconds for c in cells[: first + 1]) for cells in complete])
                               if complete and first is not None else None),
            "peak_rss_mib": median(peaks) if peaks else None,
        }
    result["per_notebook"] = per_notebook
    return result


def figures(series: dict[str, Any]) -> list[Figure]:
    found: list[Figure] = []
    if not series.get("per_notebook"):
        return found
    rows = {Path(notebook).stem: row for notebook, row in series["per_notebook"].items()}
    found.append(Figure(f"series: strict nbval, {len(series['notebooks'])} notebooks (wall)", series["total_s"], "s"))
    bigram = [rows[name]["wall_s"] for name in BIGRAM_CHAPTERS if name in rows]
    missing = [name for name in series["missing"] if name in BIGRAM_CHAPTERS]
    found.append(Figure("chapters 1–5: strict nbval in their cells and kernels",
                        sum(t for t in bigram if t is not None) if bigram else None, "s", Goal(SERIES_GOAL_S, "s"),
                        f"missing: {', '.join(missing)}" if missing else ""))
    for name, row in rows.items():
        goal = Goal(CHAPTER_GOALS_S[name], "s") if name in CHAPTER_GOALS_S else None
        found.append(Figure(f"{name}: nbval wall", row["wall_s"], "s", goal))
        found.append(Figure(f"{name}: kernel peak RSS", row["peak_rss_mib"], "MiB", Goal(PEAK_GOAL_MIB, "MiB")))
        found.append(Figure(f"{name}: time to first output", row["first_output_s"], "s"))
    return found


def render(series: dict[str, Any]) -> list[str]:
    out = ["", "## Series execution (strict nbval)", ""]
    if series["missing"]:
        out.append(f"Missing notebooks (not measured): {', '.join(series['missing'])}.")
    if series.get("per_notebook"):
        in_notebooks = sum(r["wall_s"] or 0.0 for r in series["per_notebook"].values())
        out += [f"One pytest process over all notebooks, median of {series['runs']} run(s): wall {series['total_s']:.1f} s "
                f"(chapters 1–5 together: goal ≤ {SERIES_GOAL_S} s; chapter 6: ≤ {GPT_CHAPTER_GOAL_S} s; chapter 7: ≤ {NANOCHAT_CHAPTER_GOAL_S} s): {in_notebooks:.1f} s in the notebooks' cells and kernels, the rest "
                f"({series['total_s'] - in_notebooks:.1f} s) pytest's start-up and collection. "
                f"Last run: `{series['summaries'][-1]}`.", "",
                "Per notebook (cell times from the JUnit XML; the kernel's start is in cell 0; "
                "peak RSS is the kernel's VmHWM):", "",
                markdown_table(["notebook", "code cells", "failed cells", "wall s", "kernel start + cell 0 s",
                                "slowest cell (s)", "first output s", "peak RSS MiB"],
                               [[Path(nb).stem, r["code_cells"], ", ".join(map(str, r["failed_cells"])) or "none",
                                 seconds(r["wall_s"]), seconds(r["kernel_start_s"]),
                                 f"#{r['slowest_cell'][0]} ({r['slowest_cell'][1]:.2f})" if r["slowest_cell"] else "—",
                                 seconds(r["first_output_s"]), ms(r["peak_rss_mib"])] for nb, r in series["per_notebook"].items()])]
        seen = series.get("kernels_seen", [])
        if any(n != len(series["notebooks"]) for n in seen):
            out += ["", f"Peak RSS not reported: the runs saw {seen} kernels for {len(series['notebooks'])} notebooks."]
        out += ["", "Time to first output per notebook (kernel start to the end of the first cell with output): "
                + ", ".join(f"{Path(nb).stem} {seconds(r['first_output_s'])} s" if r["first_output_s"] is not None
                            else f"{Path(nb).stem} — (no committed output)" for nb, r in series["per_notebook"].items()) + "."]
    return out
