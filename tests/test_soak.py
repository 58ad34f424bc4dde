"""tools/soak.py: each run starts from a clean clone of HEAD with CI unset, and the first failure stops the soak."""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tools import soak

# Stands in for `make test`: fails (exit 3) if CI reached it, (exit 4) if the last run's leftovers were not
# cleaned; counts its runs in .venv/, which soak must keep; fails from run FAIL_FROM on; prints pytest's summary.
PROBE = """\
import os, pathlib, sys
if "CI" in os.environ or "MAKEFLAGS" in os.environ:
    sys.exit(3)
leftover = pathlib.Path("leftover.txt")
if leftover.exists():
    sys.exit(4)
leftover.write_text("x", encoding="utf-8")
count = pathlib.Path(".venv/count")
count.parent.mkdir(exist_ok=True)
runs = int(count.read_text(encoding="utf-8")) + 1 if count.exists() else 1
count.write_text(str(runs), encoding="utf-8")
if runs >= int(sys.argv[1]):
    print("FAILED test_flaky.py::test_sometimes")
    print("========== 1 failed, 1 passed in 0.02s ==========")
    sys.exit(1)
print("========== 2 passed in 0.01s ==========")
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "probe.py").write_text(PROBE, encoding="utf-8")
    for args in (("init", "--quiet"), ("add", "probe.py"),
                 ("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "--quiet", "-m", "probe")):
        subprocess.run(("git", *args), cwd=repo, check=True)
    return repo


def probe(fail_from: int) -> str:
    return shlex.join((sys.executable, "probe.py", str(fail_from)))


def test_every_run_starts_clean_without_ci_and_keeps_the_venv(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("MAKEFLAGS", "-j2")
    into = tmp_path / "soak"
    runs = soak.soak(repo, into, runs=3, command=probe(fail_from=99))
    assert [run.returncode for run in runs] == [0, 0, 0]
    assert (into / "clone" / ".venv" / "count").read_text(encoding="utf-8") == "3"
    rows = (into / "results.md").read_text(encoding="utf-8").splitlines()[2:]
    assert len(rows) == 3 and all("| passed | 2 passed in 0.01s |" in row for row in rows)
    commit = subprocess.run(("git", "rev-parse", "--short", "HEAD"), cwd=repo, capture_output=True, text=True,
                            encoding="utf-8", check=True).stdout.strip()
    assert all(f"| {commit} |" in row for row in rows)


def test_the_first_failure_stops_the_soak_and_keeps_its_log(repo, tmp_path):
    into = tmp_path / "soak"
    runs = soak.soak(repo, into, runs=5, command=probe(fail_from=2))
    assert [run.returncode for run in runs] == [0, 1]
    rows = (into / "results.md").read_text(encoding="utf-8").splitlines()[2:]
    assert len(rows) == 2 and "FAILED (exit 1) | 1 failed, 1 passed in 0.02s" in rows[1]
    assert "test_flaky.py::test_sometimes" in (into / "run2.log").read_text(encoding="utf-8")
    assert not (into / "run3.log").exists()


def test_main_exits_1_on_a_failure_and_names_the_log(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(soak, "ROOT", repo)
    assert soak.main(["--runs", "4", "--command", probe(fail_from=3), "--into", str(tmp_path / "s")]) == 1
    out, err = capsys.readouterr()
    assert "2 of 4 runs passed in a row" in out
    assert "run3.log" in err


def test_a_folder_with_files_is_refused_and_left_as_it_was(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(soak, "ROOT", repo)
    into = tmp_path / "s"
    into.mkdir()
    (into / "results.md").write_text("earlier results", encoding="utf-8")
    assert soak.main(["--runs", "1", "--command", probe(fail_from=99), "--into", str(into)]) == 2
    err = capsys.readouterr().err
    assert err.index("已有文件") < err.index("is not empty")
    assert [path.name for path in into.iterdir()] == ["results.md"]
    assert (into / "results.md").read_text(encoding="utf-8") == "earlier results"


def test_pytest_summaries_are_found_among_other_lines():
    log = "\n".join([
        "tests/test_a.py ....",
        "======== 1073 passed, 1 skipped in 864.25s (0:14:24) ========",
        "== a heading that is not a summary ==",
        "=== 791 passed, 1 skipped, 3 warnings in 303.20s (0:05:03) ===",
    ])
    assert soak.pytest_summaries(log) == ("1073 passed, 1 skipped in 864.25s (0:14:24); "
                                          "791 passed, 1 skipped, 3 warnings in 303.20s (0:05:03)")
    assert soak.pytest_summaries("make: *** [Makefile:42: setup] Error 1") == ""


def test_the_run_environment_drops_ci_and_make_variables_only():
    environ = {"CI": "true", "MAKEFLAGS": "-j2", "MAKELEVEL": "1", "MFLAGS": "-j2", "PATH": "/usr/bin", "HOME": "/h"}
    assert soak.run_environment(environ) == {"PATH": "/usr/bin", "HOME": "/h"}
