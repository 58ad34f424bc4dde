"""Session-wide test set-up: isolate per-user state before any kernel starts."""
import tempfile
from pathlib import Path

from tools.isolated_env import isolate


def pytest_configure(config):
    isolate(Path(tempfile.mkdtemp(prefix="nanogpt-test-home-")))
