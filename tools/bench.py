"""Benchmark report for the series: ``python -m tools.bench`` (``make bench``).

Prints one Markdown report on stdout and writes ``build/bench.json``. Five parts: series execution
(strict nbval), bigram training against the exact count floor, generation speed, widget latency,
start-up. Every time is a median over repeats, and every ratio compares runs made in the same
process (or the same nbval run), because the machine is shared and noisy. Nothing here passes or
fails: the report says which goals are met and, where one is missed, by how much.

    python -m tools.bench                      # everything (a few minutes)
    python -m tools.bench --only generation    # one part while working on it
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import inspect
import datetime as dt
import io
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any, Callable, Iterable, Sequence

import ipywidgets as widgets
import psutil
import torch
import torch.nn.functional as F

import nanogpt_lite as nl
from nanogpt_lite.bpe import BPETokenizer

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ["01_tokenization", "02_enumerate", "03_parameters", "04_sampling", "05_backward"]
NBVAL_ARGS = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-p", "no:cacheprovider"]
PARTS = ["series", "training", "generation", "widgets", "startup"]
MIB = 1024 * 1024


# ---------------------------------------------------------------- pure pieces (tests/test_bench.py)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolating linearly between ranks (numpy's default)."""
    if len(values) == 0:
        raise ValueError("percentile of an empty list of values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def format_value(value: float, unit: str) -> str:
    """``12.3 s``, ``310 MiB``, ``0.28%``, ``3.4×``: three significant figures, no unit gap for % and ×."""
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text}{unit}" if unit in ("%", "×") else f"{text} {unit}".rstrip()


@dataclass(frozen=True)
class Goal:
    """A target for one figure: ``value <= limit`` when ``at_most``, else ``value >= limit``."""

    limit: float
    unit: str
    at_most: bool = True

    def __str__(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {format_value(self.limit, self.unit)}"

    def met(self, value: float) -> bool:
        return value <= self.limit if self.at_most else value >= self.limit

    def verdict(self, value: float | None) -> str:
        """``met``, or by how much the goal is missed (absolute, and as a multiple of the goal)."""
        if value is None or math.isnan(value):
            return "not measured"
        if self.met(value):
            return "met"
        gap = abs(value - self.limit)
        times = f" ({value / self.limit:.2f}× the goal)" if self.limit else ""
        return f"missed by {format_value(gap, self.unit)}{times}"


@dataclass
class Figure:
    """One reported number, with its goal when the issue sets one."""

    name: str
    value: float | None
    unit: str
    goal: Goal | None = None
    note: str = ""

    def cells(self) -> list[str]:
        shown = "—" if self.value is None else format_value(self.value, self.unit)
        if self.goal is None:
            return [self.name, shown, "", self.note]
        verdict = self.goal.verdict(self.value)
        mark = "✅" if verdict == "met" else ("⚠️" if verdict == "not measured" else "❌")
        return [self.name, shown, str(self.goal), f"{mark} {verdict}" + (f"; {self.note}" if self.note else "")]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "value": self.value, "unit": self.unit, "note": self.note}
        if self.goal is not None:
            out["goal"] = str(self.goal)
            out["verdict"] = self.goal.verdict(self.value)
        return out


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub Markdown table; ``|`` inside a cell is escaped."""
    cell = lambda value: str(value).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def steps_to_threshold(curve: Iterable[tuple[int, float]], threshold: float) -> int | None:
    """The first step of ``(step, loss)`` pairs whose loss is at or below ``threshold``; None if never."""
    for step, loss in curve:
        if loss <= threshold:
            return step
    return None


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


def count_loss(weight: torch.Tensor, counts: torch.Tensor) -> float:
    """Exact mean cross-entropy of a bigram whose logit table is ``weight`` on the text whose bigram
    counts are ``counts``: one (vocab, vocab) product instead of one row per character."""
    log_probs = F.log_softmax(weight.detach().double(), dim=-1)
    counts = counts.to(log_probs.device, log_probs.dtype)
    return float(-(counts * log_probs).sum() / counts.sum())


def control_values(control: Any, n: int, sample_text: str) -> list[Any]:
    """``n`` new values a learner might give ``control``, each different from the one before.

    Sliders and bounded boxes sweep their range; unbounded number boxes count up; check boxes
    toggle; choices cycle through the options (by index); text boxes take slices of
    ``sample_text`` as long as the current text. Buttons have no value: see :func:`is_button`.
    """
    if isinstance(control, (widgets.widget_int._IntRange, widgets.widget_float._FloatRange)):
        raise TypeError(f"no benchmark values for a {type(control).__name__} (a range: two values)")
    if isinstance(control, widgets.widget_bool._Bool):
        return [not control.value if i % 2 == 0 else control.value for i in range(n)]
    if isinstance(control, widgets.widget_selection._Selection):
        count = len(control.options)
        if count < 2:
            return []
        start = control.index if control.index is not None else 0
        return [(start + 1 + i) % count for i in range(n)]  # indices: see set_control
    if isinstance(control, (widgets.Text, widgets.Textarea)):
        width = max(1, len(control.value))
        stride = max(1, (len(sample_text) - width) // max(n, 1))
        return [sample_text[i * stride : i * stride + width] for i in range(n)]
    if isinstance(control, (widgets.widget_int._Int, widgets.widget_float._Float)):
        is_int = isinstance(control, widgets.widget_int._Int)
        low, high = getattr(control, "min", None), getattr(control, "max", None)
        if low is None or high is None:
            return [control.value + i + 1 for i in range(n)]
        grid = [low + (high - low) * i / max(n - 1, 1) for i in range(n)]
        step = getattr(control, "step", None) or (1 if is_int else (high - low) / 100)
        snapped = [min(high, low + round((v - low) / step) * step) for v in grid]
        values = [int(v) for v in snapped] if is_int else [round(v, 10) for v in snapped]
        if values and values[0] == control.value:
            values = values[1:] + values[:1]
        return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
    raise TypeError(f"no benchmark values for a {type(control).__name__}")


def is_button(control: Any) -> bool:
    return isinstance(control, widgets.Button)


def input_controls(widget: Any) -> dict[str, Any]:
    """The widget's attributes a learner changes: value controls and buttons. Play is left out:
    it drives its slider through jslink, in the browser, so in Python it calls nothing."""
    kinds = (widgets.widget_bool._Bool, widgets.widget_selection._Selection, widgets.Text, widgets.Textarea,
             widgets.widget_int._Int, widgets.widget_float._Float, widgets.Button)
    return {
        name: control
        for name, control in vars(widget).items()
        if isinstance(control, kinds) and not getattr(control, "disabled", False)
        and not isinstance(control, (widgets.Play, widgets.widget_int._IntRange, widgets.widget_float._FloatRange))
    }


def set_control(control: Any, value: Any) -> None:
    """What a learner's input does in Python: click a button, pick an option (by index), set a value."""
    if is_button(control):
        control.click()
    elif isinstance(control, widgets.widget_selection._Selection):
        control.index = value
    else:
        control.value = value


# ---------------------------------------------------------------- measurements


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@dataclass
class Lesson:
    """Tiny Shakespeare loaded once for the in-process parts."""

    text: str
    tok: nl.CharTokenizer
    train: torch.Tensor
    val: torch.Tensor
    train_counts: torch.Tensor
    val_counts: torch.Tensor
    best_k: float
    train_floor: float
    val_floor: float

    @classmethod
    def load(cls) -> "Lesson":
        text = nl.load_text()
        tok = nl.CharTokenizer.from_text(text)
        data = torch.tensor(tok.encode(text))
        train, val = nl.split(data, 0.9)
        train_counts = nl.bigram_counts(train, tok.vocab_size)
        best_k = nl.best_smoothing(train_counts, val)
        return cls(
            text, tok, train, val, train_counts, nl.bigram_counts(val, tok.vocab_size), best_k,
            nl.cross_entropy(nl.bigram_probs(train_counts), train),
            nl.cross_entropy(nl.bigram_probs(train_counts, best_k), val),
        )

    def count_model(self) -> nl.BigramLanguageModel:
        return nl.count_model(nl.bigram_probs(self.train_counts, self.best_k))


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


def measure_series(repeats: int, budget_s: float) -> dict[str, Any]:
    """Strict nbval over the chapters present, ``repeats`` times (fewer once ``budget_s`` is spent)."""
    present = [f"notebooks/{name}.ipynb" for name in CHAPTERS if (ROOT / f"notebooks/{name}.ipynb").exists()]
    extra = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb")
                   if p.stem not in CHAPTERS)
    notebooks = present + extra
    result: dict[str, Any] = {"notebooks": notebooks, "missing": [c for c in CHAPTERS if f"notebooks/{c}.ipynb" not in present]}
    if not notebooks:
        return result
    runs: list[SeriesRun] = []
    with tempfile.TemporaryDirectory(prefix="nanogpt-bench-") as tmp:
        spent = 0.0
        while len(runs) < repeats and (not runs or spent < budget_s):
            runs.append(run_series(notebooks, Path(tmp)))
            spent += runs[-1].wall_s
            print(f"  nbval run {len(runs)}: {runs[-1].wall_s:.1f} s, {runs[-1].summary}", file=sys.stderr, flush=True)
    result["runs"] = len(runs)
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


def slowest_cell(runs: list[list[CellTime]]) -> tuple[int, float] | None:
    """The code cell with the largest median time over runs (cell 0 carries the kernel start), and that time."""
    if not runs:
        return None
    times = {cell.cell: median([c.seconds for cells in runs for c in cells if c.cell == cell.cell]) for cell in runs[0]}
    slowest = max(times, key=times.get)
    return slowest, times[slowest]


def _sync(device: Any) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@dataclass
class Race:
    """A training run checked against the exact floors, stopped once within 1% of both."""

    recipe: str
    seed: int
    lesson: Lesson
    curve: list[tuple[int, float, float]] = field(default_factory=list)  # (step, exact train, exact val)
    seconds: float | None = None  # training time (evaluation excluded) until within 1% of both floors
    steps_run: int = 0
    ms_per_step: float = 0.0
    final_val: float = math.nan  # nl.exact_loss at the end: a cross-check of count_loss

    @property
    def train_steps(self) -> int | None:
        return steps_to_threshold([(s, t) for s, t, _ in self.curve], 1.01 * self.lesson.train_floor)

    @property
    def val_steps(self) -> int | None:
        return steps_to_threshold([(s, v) for s, _, v in self.curve], 1.01 * self.lesson.val_floor)

    def record(self, step: int, model: nl.BigramLanguageModel, seconds: float) -> bool:
        """Add the exact losses after ``step``; True (and the time is kept) once both floors are within 1%."""
        weight = model.token_embedding_table.weight
        self.curve.append((step, count_loss(weight, self.lesson.train_counts), count_loss(weight, self.lesson.val_counts)))
        self.steps_run, self.ms_per_step = step, 1000 * seconds / step
        if self.train_steps is not None and self.val_steps is not None:
            self.seconds = seconds
            return True
        return False


def minibatch_race(lesson: Lesson, lr: float, seed: int, max_steps: int, eval_every: int = 10) -> Race:
    """nanoGPT's loop (AdamW, batch 32, block 8) with the exact losses checked every ``eval_every`` steps."""
    device = nl.default_device()
    torch.manual_seed(seed)
    model = nl.BigramLanguageModel(lesson.tok.vocab_size).to(device)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    race = Race(f"AdamW lr {lr:g}, batch 32, block 8", seed, lesson)
    elapsed = 0.0
    for step in range(1, max_steps + 1):
        start = time.perf_counter()
        xb, yb = nl.get_batch(lesson.train, 32, 8, generator=generator)
        _, loss = model(xb.to(device), yb.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        _sync(device)
        elapsed += time.perf_counter() - start
        if (step % eval_every == 0 or step == max_steps) and race.record(step, model, elapsed):
            break
    race.final_val = nl.exact_loss(model, lesson.val)
    return race


def full_batch_race(lesson: Lesson, seed: int, max_steps: int) -> Race:
    """nl.train_full_batch from a fresh model for 1, 2, 3, ... steps until within 1% of both floors."""
    device = nl.default_device()
    race = Race("nl.train_full_batch (Adam lr 0.3)", seed, lesson)
    for steps in range(1, max_steps + 1):
        torch.manual_seed(seed)
        model = nl.BigramLanguageModel(lesson.tok.vocab_size).to(device)
        seconds, _ = _timed(lambda: (nl.train_full_batch(model, lesson.train_counts, steps=steps, progress=False), _sync(device)))
        if race.record(steps, model, seconds):
            break
    race.final_val = nl.exact_loss(model, lesson.val)
    return race


def _median_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return median(present) if present else None


def thread_cost(lesson: Lesson, repeats: int, steps: int = 200) -> dict[str, float]:
    """ms per training step with one torch thread per core (torch's default when OMP_NUM_THREADS is unset, as
    in ``make lab``) and with one thread, interleaved in this process."""
    cores = os.cpu_count() or 1
    timings: dict[int, list[float]] = {cores: [], 1: []}
    model = nl.BigramLanguageModel(lesson.tok.vocab_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)

    def run() -> None:
        for _ in range(steps):
            xb, yb = nl.get_batch(lesson.train, 32, 8, generator=generator)
            _, loss = model(xb, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    try:
        for _ in range(repeats):
            for threads in timings:
                torch.set_num_threads(threads)
                timings[threads].append(1000 * _timed(run)[0] / steps)
    finally:
        torch.set_num_threads(1)
    return {"default_threads": cores, "default_ms": median(timings[cores]), "one_thread_ms": median(timings[1])}


def chapter4_model(lesson: Lesson) -> nl.BigramLanguageModel:
    """The bigram notebook 04 trains (and samples from), trained the same way."""
    torch.manual_seed(1337)
    model = nl.BigramLanguageModel(lesson.tok.vocab_size).to(nl.default_device())
    nl.train_full_batch(model, lesson.train_counts, steps=60, lr=0.3, progress=False)
    return model


def chapter5_model(lesson: Lesson) -> nl.BigramLanguageModel:
    """The bigram notebook 05 trains with the FAQ's loop (nanoGPT's classic recipe), trained the same way."""
    torch.manual_seed(1337)
    model = nl.BigramLanguageModel(lesson.tok.vocab_size).to(nl.default_device())
    nl.train(model, lesson.train, steps=3000, batch_size=32, block_size=8, lr=1e-2, eval_every=300,
             generator=torch.Generator().manual_seed(1337), val_data=lesson.val, progress=False)
    return model


def _above_floor(lesson: Lesson, model: nl.BigramLanguageModel) -> dict[str, float]:
    val = nl.exact_loss(model, lesson.val)
    return {"val": val, "above_floor_pct": 100 * (val / lesson.val_floor - 1)}


def measure_training(lesson: Lesson, repeats: int) -> dict[str, Any]:
    """Floors, the notebooks' model, and steps/seconds to within 1% of the floors for three recipes."""
    seeds = [1337 + i for i in range(repeats)]
    races = {
        "faq": [minibatch_race(lesson, 1e-3, seed, max_steps=15_000) for seed in seeds],
        "lecture": [minibatch_race(lesson, 1e-2, seed, max_steps=5_000) for seed in seeds],
        "full_batch": [full_batch_race(lesson, seed, max_steps=150) for seed in seeds],
    }
    recipes = {}
    for key, runs in races.items():
        recipes[key] = {
            "recipe": runs[0].recipe,
            "seeds": seeds,
            "train_steps": _median_or_none(r.train_steps for r in runs),
            "val_steps": _median_or_none(r.val_steps for r in runs),
            "seconds": _median_or_none(r.seconds for r in runs),
            "reached": sum(r.seconds is not None for r in runs),
            "steps_run": max(r.steps_run for r in runs),
            "ms_per_step": median([r.ms_per_step for r in runs]),
            "final_val": median([r.final_val for r in runs]),
            "count_loss_agrees": all(abs(r.final_val - r.curve[-1][2]) < 1e-5 for r in runs),
        }
    return {
        "train_floor": lesson.train_floor,
        "val_floor": lesson.val_floor,
        "best_k": lesson.best_k,
        "notebook_models": [
            {"chapter": "04_sampling", "recipe": "nl.train_full_batch, 60 steps, lr 0.3, seed 1337", **_above_floor(lesson, chapter4_model(lesson))},
            {"chapter": "05_backward", "recipe": "nl.train, AdamW lr 1e-2, batch 32, block 8, 3000 steps, seed 1337",
             **_above_floor(lesson, chapter5_model(lesson))},
        ],
        "recipes": recipes,
        "threads": thread_cost(lesson, repeats),
    }


def measure_generation(lesson: Lesson, repeats: int) -> dict[str, Any]:
    """tokens/s of nl.generate against the lecture's generate(), and of batched generation."""
    device = nl.default_device()
    model = lesson.count_model().to(device)
    start = torch.zeros(1, 1, dtype=torch.long, device=device)

    def run(fn: Callable, idx: Any, tokens: int, seed: int) -> tuple[float, Any]:
        generator = torch.Generator(device=device).manual_seed(seed)
        return _timed(lambda: (fn(model, idx, tokens, generator=generator), _sync(device))[0])

    for fn in (nl.generate, nl.generate_lecture):  # warm-up: first calls pay one-off costs
        run(fn, start, 50, 0)
    lengths = []
    for tokens in (500, 2000, 10_000):
        ours, lecture, same = [], [], True
        for seed in range(repeats):  # interleaved, so both feel the same load
            t_ours, out_ours = run(nl.generate, start, tokens, seed)
            t_lecture, out_lecture = run(nl.generate_lecture, start, tokens, seed)
            ours.append(t_ours)
            lecture.append(t_lecture)
            same = same and torch.equal(out_ours, out_lecture)
        lengths.append({"tokens": tokens, "generate_tok_s": tokens / median(ours),
                        "lecture_tok_s": tokens / median(lecture), "speedup": median(lecture) / median(ours),
                        "identical_tokens": same})
    batched = []
    for batch in (1, 16, 256):
        idx = torch.zeros(batch, 1, dtype=torch.long, device=device)
        seconds = median([run(nl.generate, idx, 500, seed)[0] for seed in range(repeats)])
        batched.append({"sequences": batch, "tokens_each": 500, "tok_s": batch * 500 / seconds})
    for row in batched:
        row["vs_one_sequence"] = row["tok_s"] / batched[0]["tok_s"]
    return {"device": str(device), "lengths": lengths, "batched": batched}


def widget_factories(lesson: Lesson) -> dict[str, Callable[[], Any]]:
    """Constructor arguments by parameter name, for widgets that need real objects (as the notebooks pass)."""
    return {
        "model": functools.cache(lambda: chapter4_model(lesson)),
        "tok": lambda: lesson.tok,
        "tokenizers": functools.cache(lambda: {
            "字符级 char": lesson.tok,
            "BPE（256 次合并）": BPETokenizer.train(lesson.text[: len(lesson.train)], num_merges=256),
        }),
    }


def _widget_classes() -> list[type]:
    found = []
    for path in sorted((ROOT / "nanogpt_lite" / "widgets").glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"nanogpt_lite.widgets.{path.stem}")
        found += [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                  if issubclass(obj, widgets.Box) and obj.__module__ == module.__name__]
    return found


def time_widget(widget: Any, samples: int, sample_text: str) -> dict[str, Any]:
    """Time each input control's Python callback (setting its value, or a click) ``samples`` times."""
    per_control, errors = {}, []
    for name, control in input_controls(widget).items():
        values = [None] * samples if is_button(control) else control_values(control, samples, sample_text)
        times = []
        for value in values:
            start = time.perf_counter()
            try:
                with contextlib.redirect_stdout(io.StringIO()):  # a callback's prints would land in the report
                    set_control(control, value)
            except Exception as error:  # noqa: BLE001  (outside a kernel, Output.capture re-raises)
                errors.append(f"{name}={value!r}: {type(error).__name__}: {error}")
            times.append(1000 * (time.perf_counter() - start))
        if times:
            per_control[name] = {"samples_ms": times, "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}
    everything = [t for control in per_control.values() for t in control["samples_ms"]]
    return {
        "controls": per_control,
        "samples": len(everything),
        "p50_ms": percentile(everything, 50) if everything else None,
        "p95_ms": percentile(everything, 95) if everything else None,
        "errors": errors,
    }


def measure_widgets(lesson: Lesson, samples: int) -> dict[str, Any]:
    """Every widget class in nanogpt_lite/widgets/, built with the notebooks' kind of arguments, timed."""
    factories = widget_factories(lesson)
    results = {}
    for cls in _widget_classes():
        needed = [p for p in inspect.signature(cls).parameters.values()
                  if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        unknown = [p.name for p in needed if p.name not in factories]
        key = f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"
        if unknown:
            results[key] = {"skipped": f"constructor needs {', '.join(unknown)} (add it to widget_factories)"}
            continue
        arguments = {p.name: factories[p.name]() for p in needed}
        with contextlib.redirect_stdout(io.StringIO()):
            build_s, widget = _timed(lambda: cls(**arguments))
        css = next((c for c in widget._dom_classes if c.startswith("nl-")), "")
        results[key] = {"css_class": css, "build_ms": 1000 * build_s, **time_widget(widget, samples, lesson.text)}
    return results


def read_browser_latency(path: Path) -> dict[str, Any] | None:
    """The browser suite's input-to-update latencies (build/browser-latency.json), if it has run."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"file": str(path.relative_to(ROOT)), "modified": dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds"),
            "widgets": data}


STARTUP_SNIPPETS = [  # each runs in a fresh interpreter and prints a JSON dict of seconds
    "import json, time; t = time.perf_counter(); import nanogpt_lite; "
    "print(json.dumps({'import_nanogpt_lite_s': time.perf_counter() - t}))",
    # Optimizer.__init__ imports torch._dynamo the first time: chapters 3 and 5 pay it once.
    "import json, time; t = time.perf_counter(); import torch; t1 = time.perf_counter(); "
    "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1); "
    "print(json.dumps({'import_torch_s': t1 - t, 'first_optimizer_s': time.perf_counter() - t1}))",
]


def measure_startup(repeats: int) -> dict[str, float]:
    """Seconds, in fresh interpreters, for ``import nanogpt_lite``, ``import torch`` and the first optimizer."""
    timings: dict[str, list[float]] = {}
    for _ in range(repeats):
        for code in STARTUP_SNIPPETS:  # interleaved
            out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
            for name, seconds in json.loads(out.stdout.strip().splitlines()[-1]).items():
                timings.setdefault(name, []).append(seconds)
    return {name: median(values) for name, values in timings.items()}


# ---------------------------------------------------------------- the report


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
                   if line.startswith("model name"))
    memory = None
    with contextlib.suppress(OSError, StopIteration):
        memory = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
                          if line.startswith("MemTotal"))) / MIB
    git = lambda *args: subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    commit = git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if git("status", "--porcelain", "--", "nanogpt_lite", "notebooks") else "")
    return {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "cores": os.cpu_count(), "cpu": cpu,
            "memory_gib": memory, "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.cuda.is_available(), "torch_threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"), "commit": commit, "load_average_start": os.getloadavg()}


def build_figures(results: dict[str, Any]) -> list[Figure]:
    """The issue's figures with their goals, from whatever parts ran."""
    figures: list[Figure] = []
    series = results.get("series")
    if series and series.get("per_notebook"):
        missing = f"missing: {', '.join(series['missing'])}" if series["missing"] else ""
        figures.append(Figure(f"series: strict nbval, {len(series['notebooks'])} notebooks (wall)", series["total_s"], "s",
                              Goal(45, "s"), missing))
        for notebook, row in series["per_notebook"].items():
            name = Path(notebook).stem
            figures.append(Figure(f"{name}: nbval wall", row["wall_s"], "s"))
            figures.append(Figure(f"{name}: kernel peak RSS", row["peak_rss_mib"], "MiB", Goal(500, "MiB")))
            figures.append(Figure(f"{name}: time to first output", row["first_output_s"], "s"))
    training = results.get("training")
    if training:
        for model in training["notebook_models"]:
            figures.append(Figure(f"{model['chapter']} model: exact val above the floor", model["above_floor_pct"], "%", Goal(1, "%")))
        for key, label in (("faq", "FAQ recipe (lr 1e-3)"), ("lecture", "lecture recipe (lr 1e-2)"), ("full_batch", "full batch")):
            row = training["recipes"][key]
            note = "" if row["reached"] else f"not reached in {row['steps_run']:,} steps"
            figures.append(Figure(f"{label}: steps to within 1% of val floor", row["val_steps"], "steps", note=note))
    generation = results.get("generation")
    if generation:
        for row in generation["lengths"]:
            goal = Goal(3, "×", at_most=False) if row["tokens"] == 10_000 else None
            figures.append(Figure(f"generate vs lecture at {row['tokens']:,} tokens", row["speedup"], "×", goal))
    widgets = results.get("widgets")
    if widgets:
        for key, row in widgets.items():
            if "skipped" not in row:
                figures.append(Figure(f"{row['css_class'] or key}: Python callback p95", row["p95_ms"], "ms", Goal(100, "ms")))
    browser = results.get("browser")
    if browser:
        for css, row in browser["widgets"].items():
            figures.append(Figure(f"{css}: browser input-to-update p95", row.get("p95_ms"), "ms", Goal(100, "ms")))
    figures.append(Figure("this benchmark's own run time (set-up excluded)", results["machine"]["bench_s"], "s", Goal(300, "s")))
    startup = results.get("startup")
    if startup:
        figures.append(Figure("import nanogpt_lite", startup["import_nanogpt_lite_s"], "s"))
        figures.append(Figure("first torch.optim optimizer", startup["first_optimizer_s"], "s"))
    return figures


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def render(results: dict[str, Any], figures: list[Figure]) -> str:
    """The Markdown report."""
    meta = results["machine"]
    out = [
        "# nanogpt_lite benchmark",
        "",
        f"{meta['date']} · {meta['cores']} cores ({meta['cpu']}), {meta['memory_gib']:.0f} GiB · Python {meta['python']} · "
        f"torch {meta['torch']} · commit {meta['commit']} · load average {meta['load_average_start'][0]:.1f} at start, "
        f"{meta['load_average_end'][0]:.1f} at end · took {meta['bench_s']:.0f} s",
        "",
        "Times are medians over repeats; ratios compare runs in the same process. In-process parts run with "
        f"one torch thread; the nbval kernels with OMP_NUM_THREADS={meta['omp_num_threads']} "
        "(see *threads* below for what one thread per core costs).",
        "",
        "## Goals",
        "",
        markdown_table(["figure", "measured", "goal", "verdict"], [f.cells() for f in figures if f.goal is not None]),
    ]
    series = results.get("series")
    if series is not None:
        out += ["", "## 1. Series execution (strict nbval)", ""]
        if series["missing"]:
            out.append(f"Missing notebooks (not measured): {', '.join(series['missing'])}.")
        if series.get("per_notebook"):
            in_notebooks = sum(r["wall_s"] or 0.0 for r in series["per_notebook"].values())
            out += [f"One pytest process over all notebooks, median of {series['runs']} run(s): wall {series['total_s']:.1f} s "
                    f"(goal ≤ 45 s): {in_notebooks:.1f} s in the notebooks' cells and kernels, the rest "
                    f"({series['total_s'] - in_notebooks:.1f} s) pytest's start-up and collection. "
                    f"Last run: `{series['summaries'][-1]}`.", "",
                    "Per notebook (cell times from the JUnit XML; the kernel's start is in cell 0; "
                    "peak RSS is the kernel's VmHWM):", "",
                    markdown_table(["notebook", "code cells", "failed cells", "wall s", "kernel start + cell 0 s",
                                    "slowest cell (s)", "first output s", "peak RSS MiB"],
                                   [[Path(nb).stem, r["code_cells"], ", ".join(map(str, r["failed_cells"])) or "none",
                                     _s(r["wall_s"]), _s(r["kernel_start_s"]),
                                     f"#{r['slowest_cell'][0]} ({r['slowest_cell'][1]:.2f})" if r["slowest_cell"] else "—",
                                     _s(r["first_output_s"]), _ms(r["peak_rss_mib"])] for nb, r in series["per_notebook"].items()])]
    training = results.get("training")
    if training is not None:
        out += ["", "## 2. Bigram training against the exact floor", "",
                f"Exact count floor: train {training['train_floor']:.6f}; val {training['val_floor']:.6f} "
                f"(add-k, k = {training['best_k']:.3f}). Within 1% means ≤ {1.01 * training['val_floor']:.4f} on val.", "",
                "The models the notebooks train, retrained here the same way (exact loss on the whole val split):", "",
                markdown_table(["notebook", "recipe", "exact val", "above the val floor"],
                               [[m["chapter"], m["recipe"], f"{m['val']:.4f}", f"{m['above_floor_pct']:+.2f}%"]
                                for m in training["notebook_models"]]), "",
                "Steps to within 1% (exact losses checked every 10 steps; full batch: every step), medians over seeds "
                f"{', '.join(map(str, next(iter(training['recipes'].values()))['seeds']))}:", "",
                markdown_table(["recipe", "steps → train floor +1%", "steps → val floor +1%", "seconds (training only)",
                                "ms/step", "runs that reached it"],
                               [[r["recipe"], _fmt_steps(r["train_steps"]), _fmt_steps(r["val_steps"]), _s(r["seconds"]),
                                 f"{r['ms_per_step']:.2f}", f"{r['reached']}/{len(r['seeds'])}"] for r in training["recipes"].values()])]
        agree = all(r["count_loss_agrees"] for r in training["recipes"].values())
        out += ["", "The exact losses above come from the count matrices; at each run's end they "
                + ("agree with `nl.exact_loss` (within 1e-5)." if agree else "**disagree** with `nl.exact_loss`: a bug.")]
        threads = training["threads"]
        out += ["", f"*Threads:* one training step takes {threads['default_ms']:.2f} ms with "
                    f"{threads['default_threads']} threads (torch's default without OMP_NUM_THREADS, as in `make lab`) and {threads['one_thread_ms']:.2f} ms with one "
                    f"({threads['default_ms'] / threads['one_thread_ms']:.1f}×), same process."]
    generation = results.get("generation")
    if generation is not None:
        out += ["", f"## 3. Generation ({generation['device']}, count-table bigram)", "",
                markdown_table(["new tokens", "nl.generate tok/s", "lecture generate() tok/s", "speed-up", "same tokens"],
                               [[f"{r['tokens']:,}", f"{r['generate_tok_s']:,.0f}", f"{r['lecture_tok_s']:,.0f}",
                                 f"{r['speedup']:.2f}×", "yes" if r["identical_tokens"] else "NO"] for r in generation["lengths"]]),
                "", "Batched (`nl.generate` on many sequences at once, 500 tokens each):", "",
                markdown_table(["sequences", "tok/s", "vs one sequence"],
                               [[r["sequences"], f"{r['tok_s']:,.0f}", f"{r['vs_one_sequence']:.1f}×"] for r in generation["batched"]])]
    widgets = results.get("widgets")
    if widgets is not None:
        out += ["", "## 4. Widget latency", "",
                "Python callback time in this process: each input control set to a sweep of values (buttons clicked); "
                "no kernel, so the comm messages to the browser are not included.", ""]
        rows = []
        for key, r in widgets.items():
            if "skipped" in r:
                rows.append([key, "", "", "", "", "", "", r["skipped"]])
                continue
            slowest = max(r["controls"].items(), key=lambda item: item[1]["p95_ms"], default=("—", {"p95_ms": None}))
            rows.append([key, r["css_class"], _ms(r["build_ms"]), r["samples"], _ms(r["p50_ms"]), _ms(r["p95_ms"]),
                         f"{slowest[0]} ({_ms(slowest[1]['p95_ms'])})", f"{len(r['errors'])} errors" if r["errors"] else ""])
        out.append(markdown_table(["widget", "class", "build ms", "samples", "p50 ms", "p95 ms", "slowest control (p95 ms)", "note"], rows))
        for key, r in widgets.items():
            for error in r.get("errors", [])[:3]:
                out.append(f"- {key}: {error}")
        browser = results.get("browser")
        if browser is None:
            out += ["", "Browser input-to-update latency: not run (no build/browser-latency.json; run the browser suite)."]
        else:
            out += ["", f"Browser input-to-update latency (from {browser['file']}, written {browser['modified']}):", "",
                    markdown_table(["class", "samples", "p50 ms", "p95 ms"],
                                   [[css, len(r.get("samples_ms", [])), _ms(r.get("p50_ms")), _ms(r.get("p95_ms"))]
                                    for css, r in browser["widgets"].items()])]
    startup = results.get("startup")
    if startup is not None:
        out += ["", "## 5. Start-up", "",
                f"`import nanogpt_lite`: {startup['import_nanogpt_lite_s']:.2f} s in a fresh interpreter "
                f"(`import torch` alone: {startup['import_torch_s']:.2f} s). The first `torch.optim` optimizer in a "
                f"process imports `torch._dynamo`: {startup['first_optimizer_s']:.2f} s more."]
        if series and series.get("per_notebook"):
            out.append("Time to first output per notebook (kernel start to the end of the first cell with output): "
                       + ", ".join(f"{Path(nb).stem} {_s(r['first_output_s'])} s" if r["first_output_s"] is not None
                                   else f"{Path(nb).stem} — (no committed output)" for nb, r in series["per_notebook"].items()) + ".")
    return "\n".join(out) + "\n"


def _fmt_steps(steps: float | None) -> str:
    return "not reached" if steps is None else f"{steps:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per timing (medians)")
    parser.add_argument("--widget-samples", type=int, default=6, help="values set per widget control")
    parser.add_argument("--series-budget", type=float, default=120.0, help="no further nbval repeat once this many seconds are spent")
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench.json")
    args = parser.parse_args(argv)
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    from tools.isolated_env import isolate

    isolate(Path(tempfile.mkdtemp(prefix="nanogpt-bench-home-")))
    began = time.perf_counter()
    results: dict[str, Any] = {"machine": _machine()}
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    if "series" in parts:
        log("series: strict nbval ...")
        results["series"] = measure_series(args.repeats, args.series_budget)
    if {"training", "generation", "widgets"} & set(parts):
        lesson = Lesson.load()
        torch.set_num_threads(1)  # steadier on a shared machine; thread_cost measures the default
        if "training" in parts:
            log("training ...")
            results["training"] = measure_training(lesson, args.repeats)
        if "generation" in parts:
            log("generation ...")
            results["generation"] = measure_generation(lesson, args.repeats)
        if "widgets" in parts:
            log("widgets ...")
            results["widgets"] = measure_widgets(lesson, args.widget_samples)
            results["browser"] = read_browser_latency(ROOT / "build" / "browser-latency.json")
    if "startup" in parts:
        log("start-up ...")
        results["startup"] = measure_startup(args.repeats)
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
