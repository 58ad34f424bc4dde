"""Session-wide test set-up: isolate per-user state before any kernel starts; give nbval time to read
outputs; compare cells whose digits depend on the CPU by their words and True/False (tools/kernels.py);
run the slowest modules first, so that under pytest-xdist (`make test`) no worker is left with one at the end."""
import os
import tempfile
from functools import cache
from pathlib import Path

from nanogpt_lite.gpt_training import QUICK_ENV
from tools import kernels
from tools.isolated_env import isolate

# After a cell's reply, nbval waits a hard-coded 5 s for each of the kernel's remaining messages
# (nbval issues #136 and #231). After chapter 6's training cell on a busy 2-core machine the kernel
# took longer than that (1 failure in 5 `make test` runs here). A cell that really hangs is still
# stopped by --nbval-cell-timeout; this only lets a slow kernel finish sending what it printed.
NBVAL_OUTPUT_TIMEOUT_S = 60

# Measured with --durations on the 2-core machine (seconds, one process): nbgrader's autograde 314, the browser
# chapters 40-125 each, the handout 137, chapters 7 and 6 under nbval 94 and 74, the hub 78. Everything else
# takes under 45 s a module and keeps its collection order after these.
SLOWEST_FIRST = ("tests/test_nbgrader.py", "tests/browser/test_07", "tests/browser/test_06", "tests/test_handout.py",
                 "tests/browser/test_first_open.py", "notebooks/07", "tests/test_hub.py", "notebooks/06", "tests/browser/")


def pytest_configure(config):
    isolate(Path(tempfile.mkdtemp(prefix="nanogpt-test-home-")))
    # Chapters train their live models for QUICK_STEPS steps under tests (nbval, the browser, nbgrader's kernels
    # inherit this): those cells' digits depend on the CPU and are not compared; the analyses use the reference GPT.
    os.environ.setdefault(QUICK_ENV, "1")


@cache
def _this_machine() -> str:
    return kernels.fingerprint()


def _mask_after(sanitize):
    return lambda text: kernels.mask_cpu_dependent(sanitize(text)) if isinstance(text, str) else text


def _rank(nodeid: str) -> int:
    return next((i for i, prefix in enumerate(SLOWEST_FIRST) if nodeid.startswith(prefix)), len(SLOWEST_FIRST))


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: each module's and notebook's own order is kept
    for item in items:
        if not hasattr(item, "output_timeout"):  # not one of nbval's notebook-cell items
            continue
        item.output_timeout = NBVAL_OUTPUT_TIMEOUT_S
        if _compared_by_words(item.parent.nb, item.cell):
            item.sanitize = _mask_after(item.sanitize)


def _compared_by_words(nb, cell) -> bool:
    """A cell tagged cpu-dependent in a notebook whose outputs other CPU kernels made."""
    return kernels.TAG in cell.metadata.get("tags", []) and kernels.recorded(nb.metadata) != _this_machine()


def pytest_terminal_summary(terminalreporter, config):
    # Counted here from the notebooks that ran: under pytest-xdist the workers collect and mask, not this process.
    import nbformat

    ran = {report.nodeid.split("::Cell ")[0] for reports in terminalreporter.stats.values() for report in reports
           if "::Cell " in getattr(report, "nodeid", "")}
    notebooks = [nbformat.read(Path(config.rootpath, path), as_version=4) for path in sorted(ran)]
    masked = sum(_compared_by_words(nb, cell) for nb in notebooks for cell in nb.cells if cell.cell_type == "code")
    if masked:
        terminalreporter.write_line(
            f"{masked} 个标着 {kernels.TAG} 的格保存时用的 CPU 内核和这台机器不同：比较了文字和 True/False，没有比较数字。"
            f" {masked} {kernels.TAG} cells were saved with other CPU kernels: words and True/False compared, numbers not.")
