"""Per-chapter kernel memory: each notebook runs top to bottom in a fresh kernel while this process samples the
kernel's resident set size (psutil), so every code cell gets its peak and what it leaves held.

    python -m tools.bench --only memory

The goal (issue 14) is a peak of at most 350 MiB per chapter kernel, so one 24 GiB server holds 60 learners.
RSS counts the shared pages of torch's libraries in every kernel; :mod:`tools.bench.load` reports PSS as well.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import psutil
from nbclient import NotebookClient

from .report import MIB, Figure, Goal, markdown_table
from .series import ROOT, chapter_notebooks, vmhwm_mib

GOAL_MIB = 350
TOP_CELLS = 3


@dataclass
class Sampler:
    """RSS of one process every ``interval_s`` seconds, on a background thread, until :meth:`stop`."""

    pid: int
    interval_s: float = 0.01
    samples: list[tuple[float, float]] = field(default_factory=list)  # (perf_counter, MiB)

    def __post_init__(self) -> None:
        self._process = psutil.Process(self.pid)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            try:
                self.samples.append((time.perf_counter(), self._process.memory_info().rss / MIB))
            except psutil.Error:
                return
            self._done.wait(self.interval_s)

    def now(self) -> float:
        return self._process.memory_info().rss / MIB

    def peak_between(self, start: float, end: float) -> float | None:
        inside = [mib for t, mib in self.samples if start <= t <= end]
        return max(inside) if inside else None

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


@dataclass(frozen=True)
class CellMemory:
    """One code cell: its index among the code cells, first line, RSS before it, its peak and RSS after it (MiB)."""

    cell: int
    first_line: str
    before_mib: float
    peak_mib: float
    after_mib: float

    @property
    def held_mib(self) -> float:
        """What the cell left in memory: RSS after it minus RSS before it."""
        return self.after_mib - self.before_mib

    @property
    def transient_mib(self) -> float:
        """What the cell needed only while it ran: its peak above what it left."""
        return self.peak_mib - self.after_mib


def top_cells(cells: list[CellMemory], n: int = TOP_CELLS) -> list[CellMemory]:
    """The ``n`` cells that raise the kernel's memory most: by held MiB plus transient MiB above the cell's start."""
    return sorted(cells, key=lambda c: c.peak_mib - c.before_mib, reverse=True)[:n]


HOLDERS_CODE = r"""
import json as _j, sys as _s
def _nl_holders():
    out = []
    for _name, _v in list(globals().items()):
        if _name.startswith('_'):
            continue
        _n = 0
        try:
            import torch as _t
            if isinstance(_v, _t.Tensor):
                _n = _v.element_size() * _v.nelement()
            elif isinstance(_v, _t.nn.Module):
                _n = sum(p.element_size() * p.nelement() for p in _v.state_dict().values())
        except Exception:
            pass
        if not _n and hasattr(_v, 'nbytes') and isinstance(getattr(_v, 'nbytes'), int):
            _n = _v.nbytes
        if not _n and isinstance(_v, (str, bytes, list, dict)):
            _n = _s.getsizeof(_v)
        if _n:
            out.append((_n, _name, type(_v).__name__))
    import gc as _gc
    figs = sum(1 for o in _gc.get_objects() if type(o).__name__ == 'Figure')
    print(_j.dumps({'holders': sorted(out, reverse=True)[:8], 'figures_alive': figs}))
_nl_holders(); del _nl_holders
"""


def measure_notebook(path: Path, interval_s: float = 0.01, holders: bool = True) -> dict[str, Any]:
    """Run ``path`` in a fresh kernel (as tools.execute_notebooks does); per code cell: RSS before, peak, after."""
    nb = nbformat.read(path, as_version=4)
    state: dict[str, Any] = {"cells": [], "code_index": -1}
    sampler: list[Sampler] = []

    def started(**_: Any) -> None:
        sampler.append(Sampler(client.km.provisioner.process.pid, interval_s))
        state["kernel_start_mib"] = sampler[0].now()

    def cell_start(cell: Any, **_: Any) -> None:
        if sampler:
            state["t0"], state["before"] = time.perf_counter(), sampler[0].now()

    def cell_done(cell: Any, **_: Any) -> None:
        state["code_index"] += 1
        end = time.perf_counter()
        after = sampler[0].now()
        peak = max(filter(None, [sampler[0].peak_between(state["t0"], end), state["before"], after]))
        first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
        state["cells"].append(CellMemory(state["code_index"], first[:70], state["before"], peak, after))

    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                            on_notebook_start=started, on_cell_execute=cell_start, on_cell_executed=cell_done)
    result: dict[str, Any] = {"notebook": path.relative_to(ROOT).as_posix()}
    with client.setup_kernel():
        pid = client.km.provisioner.process.pid
        if not sampler:
            started()
        started_at = time.perf_counter()
        for index, cell in enumerate(client.nb.cells):
            client.execute_cell(cell, index)
        result["wall_s"] = time.perf_counter() - started_at
        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
            result["vmhwm_mib"] = vmhwm_mib(status.read())
        result["end_mib"] = sampler[0].now()
        if holders:
            result["holders"] = _run_holders(client)
        sampler[0].stop()
    cells: list[CellMemory] = state["cells"]
    result["kernel_start_mib"] = state.get("kernel_start_mib")
    result["peak_mib"] = max([result.get("vmhwm_mib") or 0.0] + [c.peak_mib for c in cells])
    result["cells"] = [c.__dict__ | {"held_mib": c.held_mib, "transient_mib": c.transient_mib} for c in cells]
    result["top"] = [c.cell for c in top_cells(cells)]
    return result


def _run_holders(client: NotebookClient) -> dict[str, Any] | None:
    """The notebook's biggest global variables (bytes of tensors, arrays, strings) and how many Figures are alive."""
    import json

    cell = nbformat.v4.new_code_cell(HOLDERS_CODE)
    client.nb.cells.append(cell)
    try:
        client.execute_cell(cell, len(client.nb.cells) - 1)
    except Exception as error:  # noqa: BLE001  (a diagnostic only)
        return {"error": f"{type(error).__name__}: {error}"}
    finally:
        client.nb.cells.pop()
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    return json.loads(text.strip().splitlines()[-1]) if text.strip() else None


def measure(args: Any) -> dict[str, Any]:
    """Every chapter (or ``args.notebooks``), one after another in fresh kernels."""
    notebooks = [ROOT / nb for nb in (getattr(args, "notebooks", None) or chapter_notebooks())]
    return {"goal_mib": GOAL_MIB, "chapters": [measure_notebook(nb) for nb in notebooks]}


def figures(result: dict[str, Any]) -> list[Figure]:
    return [Figure(f"{Path(row['notebook']).stem}: kernel peak RSS (cell by cell)", row["peak_mib"], "MiB", Goal(GOAL_MIB, "MiB"))
            for row in result["chapters"]]


def render(result: dict[str, Any]) -> list[str]:
    out = ["", "## Kernel memory per chapter", "",
           f"Each notebook top to bottom in a fresh kernel (nbclient), its RSS sampled every 10 ms; goal ≤ {GOAL_MIB} MiB "
           "per kernel. *held*: RSS after the cell minus before it; *peak*: the highest RSS while it ran. RSS counts torch's shared "
           "library pages in every kernel; the class (`--only load`) reports PSS, which splits them.", "",
           markdown_table(["notebook", "kernel start MiB", "peak MiB", "end MiB", "wall s", "cells that raise memory most (peak − before / held, MiB)"],
                          [[Path(r["notebook"]).stem, f"{r['kernel_start_mib']:.0f}", f"{r['peak_mib']:.0f}", f"{r['end_mib']:.0f}",
                            f"{r['wall_s']:.1f}",
                            "; ".join(f"#{c['cell']} `{c['first_line'][:40]}` +{c['peak_mib'] - c['before_mib']:.0f} / {c['held_mib']:+.0f}"
                                      for c in (r["cells"][i] for i in r["top"]))] for r in result["chapters"]])]
    for r in result["chapters"]:
        holders = r.get("holders")
        if holders and "holders" in holders:
            big = ", ".join(f"`{name}` ({kind}) {n / MIB:.1f} MiB" for n, name, kind in holders["holders"][:5])
            out.append(f"- {Path(r['notebook']).stem}: largest globals at the end: {big}; matplotlib Figures alive: {holders['figures_alive']}.")
    return out
