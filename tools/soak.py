"""Run the test suite again and again on a clean clone of HEAD, to find a test that fails only sometimes.

    python -m tools.soak --runs 20                      # what `make soak` runs
    python -m tools.soak --runs 3 --command "make unit" --into /tmp/soak

It clones HEAD (commits only, never the working tree) into ``INTO/clone``. Before every run it
removes everything git does not track there except the venv: caches, ``.hypothesis/``, ``build/``,
notebook outputs. The command runs with ``CI`` unset, because ``CI=true`` makes Hypothesis
derandomize and hides exactly the flakiness looked for, and without the calling make's variables.
Each run's output is kept in ``INTO/runN.log``; ``INTO/results.md`` gets a row with pytest's
summary line. The first failing run stops the soak with exit status 1.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
KEPT = ".venv"  # the one untracked thing a run may reuse: rebuilding it from the lock adds minutes, not coverage
# CI=true derandomizes Hypothesis; the MAKE* variables would hand the outer make's flags to the inner one.
UNSET = ("CI", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
SUMMARY = re.compile(r"^=+ (.*\b(?:passed|failed|errors?|skipped|deselected|no tests ran)\b.* in [\d.]+s.*?) =+$")
HEADER = "| # | finished (UTC) | commit | status | pytest | wall |\n|---|---|---|---|---|---|\n"


class SoakError(Exception):
    """A soak that cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class Run:
    number: int
    finished: str
    commit: str
    returncode: int
    summary: str
    seconds: float

    def row(self) -> str:
        status = "passed" if self.returncode == 0 else f"FAILED (exit {self.returncode})"
        return (f"| {self.number} | {self.finished} | {self.commit} | {status} | {self.summary or '-'} "
                f"| {self.seconds / 60:.1f} min |\n")


def pytest_summaries(log: str) -> str:
    """The summary lines pytest printed (``1073 passed, 1 skipped in 864.25s (0:14:24)``), joined by ``; ``."""
    return "; ".join(match.group(1) for line in log.splitlines() if (match := SUMMARY.match(line.strip())))


def run_environment(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` without the variables that would make a run differ from a learner's shell."""
    return {name: value for name, value in environ.items() if name not in UNSET}


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(("git", *args), cwd=cwd, check=True, capture_output=True, text=True,
                          encoding="utf-8").stdout.strip()


def prepare(repo: Path, into: Path) -> Path:
    """A fresh clone of ``repo``'s HEAD at ``into/clone``; refuses to reuse a folder that has files."""
    if into.exists() and any(into.iterdir()):
        raise SoakError(f"{into} 已有文件：换一个 --into，或先删掉它。"
                        f" / {into} is not empty: pass another --into or remove it.")
    if git("status", "--porcelain", "--untracked-files=no", cwd=repo):
        print("注意：未提交的改动不会被测试。 / Note: uncommitted changes are not soaked, only HEAD.",
              file=sys.stderr)
    into.mkdir(parents=True, exist_ok=True)
    clone = into / "clone"
    git("clone", "--quiet", str(repo), str(clone), cwd=into)
    (into / "results.md").write_text(HEADER, encoding="utf-8")
    return clone


def run_once(clone: Path, into: Path, number: int, command: str) -> Run:
    """Clean the clone, run ``command`` there, keep its log and append its row to ``results.md``."""
    git("clean", "-xdfq", "-e", KEPT, cwd=clone)
    log_path = into / f"run{number}.log"
    start = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        returncode = subprocess.run(shlex.split(command), cwd=clone, stdout=log, stderr=subprocess.STDOUT, check=False,
                                    env=run_environment(dict(os.environ))).returncode
    run = Run(number, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), git("rev-parse", "--short", "HEAD", cwd=clone),
              returncode, pytest_summaries(log_path.read_text(encoding="utf-8", errors="replace")),
              time.monotonic() - start)
    with (into / "results.md").open("a", encoding="utf-8") as results:
        results.write(run.row())
    return run


def soak(repo: Path, into: Path, runs: int, command: str) -> list[Run]:
    """Up to ``runs`` runs of ``command``; stops after the first that fails."""
    clone = prepare(repo, into)
    done: list[Run] = []
    for number in tqdm(range(1, runs + 1), desc="soak", unit="run"):
        done.append(run := run_once(clone, into, number, command))
        tqdm.write(run.row().rstrip())
        if run.returncode != 0:
            break
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="how many runs in a row must pass (default 20)")
    parser.add_argument("--command", default="make test", help='what each run executes (default "make test")')
    parser.add_argument("--into", type=Path, default=ROOT / "build" / "soak",
                        help="an empty or new folder for the clone and the logs (default build/soak)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs 至少为 1 / --runs must be at least 1")
    try:
        done = soak(ROOT, args.into.resolve(), args.runs, args.command)
    except SoakError as error:
        print(error, file=sys.stderr)
        return 2
    passed = sum(run.returncode == 0 for run in done)
    print(f"{passed} of {args.runs} runs passed in a row; table: {args.into / 'results.md'}")
    if passed < len(done):
        print(f"run {done[-1].number} failed; its log: {args.into / f'run{done[-1].number}.log'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
