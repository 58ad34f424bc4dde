"""A class on one machine: ``N`` learners' kernels each run a chapter top to bottom at the same time, while one more
kernel answers widget inputs the way JupyterLab sends them (comm messages), timed from the input to the view's update.

    python -m tools.bench --only load --learners 20 --load-chapter notebooks/04_sampling.ipynb

The kernels are started with jupyter_client directly (nbclient), not through JupyterHub: the hub and its proxy add a
single-user server per learner (about 100 MiB each, not counted here) but no work per cell.
"""
from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import psutil
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from .report import MIB, Figure, Goal, markdown_table, percentile
from .series import ROOT

DEFAULT_LEARNERS = 20
DEFAULT_CHAPTER = "notebooks/04_sampling.ipynb"
SERVER_GIB = 24
PROBE_GOAL_MS = 100

# The probe kernel's widgets: (python that builds it, the control a learner moves, its values, the view that updates).
PROBES = {
    "nl-gradient-inspector": ("from nanogpt_lite.widgets.gradient_inspector import GradientInspector\n{w} = GradientInspector()",
                              "{w}.lr", [round(0.01 + 0.001 * i, 3) for i in range(1, 200)], "{w}.view"),
    "nl-enumerate-stepper": ("from nanogpt_lite.widgets.enumerate_stepper import EnumerateStepper\n{w} = EnumerateStepper('hello world')",
                             "{w}.step", [i % 12 for i in range(1, 200)], "{w}.view"),
}


class MemoryWatch:
    """Sum of the RSS (and, less often, PSS: shared library pages split between the processes) of ``pids``."""

    def __init__(self, interval_s: float = 0.2, pss_every: int = 10) -> None:
        self.pids: list[int] = []
        self.peak_rss_mib = self.peak_pss_mib = 0.0
        self.per_kernel_peak: dict[int, float] = {}
        self._interval, self._pss_every = interval_s, pss_every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        tick = 0
        while not self._done.is_set():
            total = pss = 0.0
            for pid in list(self.pids):
                try:
                    process = psutil.Process(pid)
                    rss = process.memory_info().rss / MIB
                    if tick % self._pss_every == 0:
                        pss += process.memory_full_info().pss / MIB
                except psutil.Error:
                    continue
                total += rss
                self.per_kernel_peak[pid] = max(self.per_kernel_peak.get(pid, 0.0), rss)
            self.peak_rss_mib = max(self.peak_rss_mib, total)
            if tick % self._pss_every == 0:
                self.peak_pss_mib = max(self.peak_pss_mib, pss)
            tick += 1
            self._done.wait(self._interval)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _model_id(kc: Any, expression: str) -> str:
    """Run ``print(expression)`` in the kernel and return what it printed."""
    printed: list[str] = []
    kc.execute_interactive(f"print({expression})", output_hook=lambda msg: printed.append(msg["content"].get("text", "")),
                           timeout=120)
    return "".join(printed).strip()


def comm_round_trip(kc: Any, control_id: str, view_id: str, value: Any, timeout_s: float = 30) -> dict[str, Any]:
    """Send what JupyterLab sends when a learner sets ``control_id`` to ``value`` (a comm ``update``); ms until the
    kernel sends ``view_id``'s new state, and how many messages the kernel published for that one input."""
    content = {"comm_id": control_id, "data": {"method": "update", "state": {"value": value}, "buffer_paths": []}}
    message = kc.session.msg("comm_msg", content)
    start = time.perf_counter()
    kc.shell_channel.send(message)
    updated, published, deadline = None, 0, start + timeout_s
    while time.perf_counter() < deadline:
        try:
            reply = kc.get_iopub_msg(timeout=max(0.01, deadline - time.perf_counter()))
        except Exception:  # noqa: BLE001  (queue.Empty: the deadline passed)
            break
        if reply["parent_header"].get("msg_id") != message["header"]["msg_id"]:
            continue
        published += 1
        data = reply["content"].get("data", {})
        if (reply["msg_type"] == "comm_msg" and reply["content"].get("comm_id") == view_id
                and data.get("method") == "update" and "value" in data.get("state", {})):
            updated = 1000 * (time.perf_counter() - start)
        if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
            break
    return {"ms": updated, "messages": published}


def build_probe(kc: Any, css: str) -> tuple[str, str, list[Any]]:
    """Build ``css``'s widget in the kernel behind ``kc``: its control's and view's comm ids, and the values to send."""
    build, control, values, view = PROBES[css]
    name = "probe_" + css.replace("-", "_")
    kc.execute_interactive(build.format(w=name), timeout=120)
    return _model_id(kc, control.format(w=name) + ".model_id"), _model_id(kc, view.format(w=name) + ".model_id"), values


def probe(kc: Any, ids: tuple[str, str, list[Any]], samples: int, offset: int = 0, pause_s: float = 0.05) -> dict[str, Any]:
    """Time ``samples`` inputs to a widget built by :func:`build_probe` (values from ``offset`` on, cycling)."""
    control_id, view_id, values = ids
    times, messages = [], []
    for k in range(samples):
        value = values[(offset + k) % len(values)]
        result = comm_round_trip(kc, control_id, view_id, value)
        if result["ms"] is not None:
            times.append(result["ms"])
        messages.append(result["messages"])
        time.sleep(pause_s)
    return {"samples_ms": times, "p50_ms": percentile(times, 50) if times else None,
            "p95_ms": percentile(times, 95) if times else None, "messages_per_input": max(messages, default=0)}


async def _run_class(notebook: Path, learners: int, watch: MemoryWatch) -> list[dict[str, Any]]:
    async def one(index: int) -> dict[str, Any]:
        nb = nbformat.read(notebook, as_version=4)
        client = NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(notebook.parent)}})
        start = time.perf_counter()
        try:
            async with client.async_setup_kernel():
                watch.pids.append(client.km.provisioner.process.pid)
                ready = time.perf_counter() - start
                for cell_index, cell in enumerate(client.nb.cells):
                    await client.async_execute_cell(cell, cell_index)
            return {"learner": index, "ok": True, "kernel_ready_s": ready, "wall_s": time.perf_counter() - start}
        except Exception as error:  # noqa: BLE001  (a learner whose run fails is reported, not fatal)
            return {"learner": index, "ok": False, "error": f"{type(error).__name__}: {str(error)[:200]}",
                    "wall_s": time.perf_counter() - start}

    return list(await asyncio.gather(*(one(i) for i in range(learners))))


class BusyClass:
    """``learners`` kernels that each run ``notebook`` top to bottom, in a fresh kernel, over and over until the
    ``with`` block ends: the load a class puts on a shared machine, kept up for as long as something is measured."""

    def __init__(self, notebook: Path, learners: int, warm_up_s: float = 5.0) -> None:
        self.notebook, self.learners, self.warm_up_s = notebook, learners, warm_up_s
        self.runs = 0  # whole runs finished
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> "BusyClass":
        self._thread.start()
        time.sleep(self.warm_up_s)  # the kernels start and import torch before anything is measured
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    async def _run(self) -> None:
        await asyncio.gather(*(self._learner() for _ in range(self.learners)))

    async def _learner(self) -> None:
        while not self._stop.is_set():
            client = NotebookClient(nbformat.read(self.notebook, as_version=4), timeout=1800, kernel_name="python3",
                                    resources={"metadata": {"path": str(self.notebook.parent)}})
            try:
                async with client.async_setup_kernel():
                    for index, cell in enumerate(client.nb.cells):
                        if self._stop.is_set():
                            return
                        await client.async_execute_cell(cell, index)
                self.runs += 1
            except Exception as error:  # noqa: BLE001  (a failed run is reported; the load goes on)
                self.errors.append(f"{type(error).__name__}: {str(error)[:200]}")
                await asyncio.sleep(1)


def run_class(notebook: Path, learners: int, probe_samples: int = 30) -> dict[str, Any]:
    """``learners`` kernels run ``notebook`` at once; a probe kernel measures widget round trips before and during it."""
    probe_km, probe_kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT / "notebooks"))
    result: dict[str, Any] = {"notebook": notebook.relative_to(ROOT).as_posix(), "learners": learners, "cores": os.cpu_count(),
                              "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset")}
    try:
        ids = {css: build_probe(probe_kc, css) for css in PROBES}
        result["idle"] = {css: probe(probe_kc, ids[css], probe_samples) for css in PROBES}
        watch = MemoryWatch()
        watch.pids.append(probe_km.provisioner.process.pid)
        watch.start()
        during: dict[str, Any] = {}
        stop = threading.Event()

        def keep_probing() -> None:
            time.sleep(5)  # let the class get going (imports) first
            offset = probe_samples
            while not stop.is_set():
                offset += 5
                for css in PROBES:
                    found = probe(probe_kc, ids[css], 5, offset, pause_s=0.2)
                    during.setdefault(css, []).extend(found["samples_ms"])
                    if stop.is_set():
                        return

        prober = threading.Thread(target=keep_probing, daemon=True)
        start = time.perf_counter()
        prober.start()
        runs = asyncio.run(_run_class(notebook, learners, watch))
        stop.set()
        prober.join()
        result["class_wall_s"] = time.perf_counter() - start
        watch.stop()
    finally:
        probe_kc.stop_channels()
        probe_km.shutdown_kernel(now=True)
    result["runs"] = runs
    result["finished"] = sum(r["ok"] for r in runs)
    result["slowest_s"] = max(r["wall_s"] for r in runs)
    result["peak_total_rss_mib"] = watch.peak_rss_mib
    result["peak_total_pss_mib"] = watch.peak_pss_mib
    result["peak_kernel_rss_mib"] = max(watch.per_kernel_peak.values(), default=None)
    result["during"] = {css: {"samples_ms": times, "p50_ms": percentile(times, 50) if times else None,
                              "p95_ms": percentile(times, 95) if times else None} for css, times in during.items()}
    return result


def measure(args: Any) -> dict[str, Any]:
    return run_class(ROOT / args.load_chapter, args.learners)


def figures(load: dict[str, Any]) -> list[Figure]:
    n = load["learners"]
    found = [Figure(f"class of {n}: kernels that finished {Path(load['notebook']).stem}", load["finished"], "kernels",
                    Goal(n, "kernels", at_most=False)),
             Figure(f"class of {n}: slowest learner's run", load["slowest_s"], "s"),
             Figure(f"class of {n}: peak total kernel RSS", load["peak_total_rss_mib"] / 1024, "GiB",
                    note=f"PSS (shared pages split) {load['peak_total_pss_mib'] / 1024:.2f} GiB")]
    for css, row in load["during"].items():
        found.append(Figure(f"class of {n}: {css} comm round trip p95 while the class runs", row["p95_ms"], "ms",
                            Goal(PROBE_GOAL_MS, "ms"), f"{len(row['samples_ms'])} samples; idle p95 {load['idle'][css]['p95_ms']:.1f} ms"))
    return found


def render(load: dict[str, Any]) -> list[str]:
    n, cores = load["learners"], load["cores"] or 1
    per_learner = load["peak_total_pss_mib"] / max(n + 1, 1)
    fits = int(SERVER_GIB * 1024 / per_learner) if per_learner else None
    out = ["", f"## A class of {n} ({Path(load['notebook']).stem}, kernels started directly, not through the hub)", "",
           f"{load['finished']}/{n} kernels finished; the slowest took {load['slowest_s']:.0f} s, the whole class "
           f"{load['class_wall_s']:.0f} s on {cores} cores (OMP_NUM_THREADS={load['omp_num_threads']}). "
           f"Peak total RSS of the {n + 1} kernels {load['peak_total_rss_mib'] / 1024:.2f} GiB; PSS {load['peak_total_pss_mib'] / 1024:.2f} GiB "
           f"(≈ {per_learner:.0f} MiB per kernel once torch's shared pages are split: {fits} such kernels in {SERVER_GIB} GiB). "
           f"Highest single kernel {load['peak_kernel_rss_mib']:.0f} MiB RSS.", "",
           f"Throughput: {n} runs in {load['class_wall_s']:.0f} s is {n / load['class_wall_s'] * 60:.1f} chapter runs a minute, "
           f"{n / load['class_wall_s'] * 60 / cores:.1f} per core.", "",
           "Widget input → view update through the kernel (the comm messages JupyterLab sends and receives; no browser):", "",
           markdown_table(["widget", "idle p50 ms", "idle p95 ms", "messages per input", "during the class p50 ms", "p95 ms", "samples"],
                          [[css, f"{load['idle'][css]['p50_ms']:.1f}", f"{load['idle'][css]['p95_ms']:.1f}", load["idle"][css]["messages_per_input"],
                            "—" if row["p50_ms"] is None else f"{row['p50_ms']:.1f}", "—" if row["p95_ms"] is None else f"{row['p95_ms']:.1f}",
                            len(row["samples_ms"])] for css, row in load["during"].items()])]
    failed = [r for r in load["runs"] if not r["ok"]]
    out += [f"- learner {r['learner']}: {r['error']}" for r in failed[:5]]
    return out
