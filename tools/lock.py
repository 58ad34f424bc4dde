"""The three lock files, from what the venv has installed (``make lock``), and the learner's clean-up.

- ``requirements.lock``: a learner's lab, everything ``nanogpt-lite`` and its ``[lab]`` extra need (and
  setuptools, which ``pip install --no-build-isolation -e .`` builds with);
- ``requirements-test.lock``: what ``[test]`` adds on top of it;
- ``requirements-classroom.lock``: what ``[classroom]`` adds on top of it (JupyterHub, nbgitpuller, nbgrader).

Each set is the dependency closure of pyproject's requirements, read from the installed metadata with this
machine's markers (as ``pip freeze`` did before the split).

    python -m tools.lock                  # rewrite the three files from the venv (make lock)
    python -m tools.lock --prune FILE     # uninstall FILE's packages where they are installed
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LEARNER, TEST, CLASSROOM = "requirements.lock", "requirements-test.lock", "requirements-classroom.lock"
GENERATED = "Generated with 'make lock'; edit pyproject.toml ranges, not this file."
HEADERS = {
    LEARNER: [
        "# A learner's lab (make lab): nanogpt-lite's dependencies and [lab], exact versions for Python 3.11.0-3.13"
        " (the committed outputs come from 3.11).",
        f"# {GENERATED} torch is pinned to the CPU wheel's version; see README for GPU machines.",
    ],
    TEST: [f"# What [test] adds to requirements.lock (make test installs all three locks). {GENERATED}"],
    CLASSROOM: [f"# What [classroom] adds to requirements.lock: a teacher's hub and grading (make classroom). {GENERATED}"],
}


def read_lock(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of a lock file's ``name==version`` lines."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def requires(name: str, extras: frozenset[str] = frozenset()) -> list[Requirement]:
    """The installed ``name``'s requirements that apply here, with ``extras`` requested."""
    found = []
    for text in distribution(name).requires or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({"extra": extra}) for extra in {"", *extras}):
            found.append(req)
    return found


def closure(roots: list[str]) -> dict[str, str]:
    """``{canonical name: installed version}`` of ``roots`` and everything they need, recursively."""
    extras_seen: dict[str, set[str]] = {}
    versions: dict[str, str] = {}
    todo = [Requirement(root) for root in roots]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in extras_seen and set(req.extras) <= extras_seen[name]:
            continue
        extras_seen.setdefault(name, set()).update(req.extras)
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            raise SystemExit(f"{req.name} 没有安装，先运行 make setup / {req.name} is not installed: "
                             "run make test (or make setup) first") from None
        versions[name] = dist.version.split("+")[0]  # torch 2.13.0+cpu is locked as 2.13.0
        todo += requires(name, frozenset(extras_seen[name]))
    return versions


def roots() -> dict[str, list[str]]:
    """pyproject's requirements behind each lock file."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project, extras = pyproject["project"], pyproject["project"]["optional-dependencies"]
    return {
        LEARNER: project["dependencies"] + extras["lab"] + pyproject["build-system"]["requires"],
        TEST: extras["test"],
        CLASSROOM: extras["classroom"],
    }


def write_locks(root: Path = ROOT) -> None:
    """Rewrite the three lock files from the installed packages."""
    wanted = roots()
    learner = closure(wanted[LEARNER])
    for filename, requirements in wanted.items():
        pins = learner if filename == LEARNER else {
            name: version for name, version in closure(requirements).items() if name not in learner}
        shown = {distribution(name).metadata["Name"]: version for name, version in pins.items()}
        lines = [f"{name}=={shown[name]}" for name in sorted(shown, key=str.lower)]
        (root / filename).write_text("\n".join(HEADERS[filename] + lines) + "\n", encoding="utf-8")
        print(f"{filename}: {len(lines)} packages")


def prune(lock: Path) -> list[str]:
    """Uninstall the packages of ``lock`` that are installed here; return their names."""
    present = []
    for name in read_lock(lock):
        try:
            distribution(name)
        except PackageNotFoundError:
            continue
        present.append(name)
    if present:
        print(f"移除学习者的 lab 用不到的教师工具 / removing teacher's tools a learner's lab does not use "
              f"({lock.name}): {' '.join(present)}\n"
              "  老师要用时运行 make classroom / a teacher gets them back with make classroom", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes", *present], check=True)
    return present


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prune", type=Path, metavar="LOCK", help="uninstall this lock's installed packages")
    args = parser.parse_args(argv)
    if args.prune:
        prune(args.prune)
    else:
        write_locks()
    return 0


if __name__ == "__main__":
    sys.exit(main())
