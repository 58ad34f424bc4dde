"""Session-wide test set-up: isolate per-user state before any kernel starts; give nbval time to read outputs."""
import tempfile
from pathlib import Path

from tools.isolated_env import isolate

# After a cell's reply, nbval waits a hard-coded 5 s for each of the kernel's remaining messages
# (nbval issues #136 and #231). After chapter 6's training cell on a busy 2-core machine the kernel
# took longer than that (1 failure in 5 `make test` runs here). A cell that really hangs is still
# stopped by --nbval-cell-timeout; this only lets a slow kernel finish sending what it printed.
NBVAL_OUTPUT_TIMEOUT_S = 60


def pytest_configure(config):
    isolate(Path(tempfile.mkdtemp(prefix="nanogpt-test-home-")))


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook-cell items
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT_S
