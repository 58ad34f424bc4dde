"""pyproject.toml ranges, the three lock files' pins and environment.yml must agree.

requirements.lock is a learner's lab (the package's dependencies and [lab]); requirements-test.lock and
requirements-classroom.lock add [test] and [classroom] to it (tools/lock.py writes all three).
"""
import re
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LEARNER, TEST, CLASSROOM = "requirements.lock", "requirements-test.lock", "requirements-classroom.lock"
LOCK_FILES = (LEARNER, TEST, CLASSROOM)
# What a learner's lab must not contain: the teacher's hub and grading, and the classic Notebook nbgrader pulls in.
TEACHER_ONLY = ("nbgrader", "jupyterhub", "jupyterhub-idle-culler", "nbgitpuller", "notebook")
# The JupyterLab extensions a learner sees: the widgets and code highlighting, no Nbgrader menu or panels.
LEARNER_LAB_EXTENSIONS = {"@jupyter-widgets/jupyterlab-manager", "jupyterlab_pygments"}


def locked(filename: str | None = None) -> dict[str, str]:
    """``{canonical name: version}`` of one lock file, or of all three together."""
    pins = {}
    for name in [filename] if filename else LOCK_FILES:
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                package, _, version = line.partition("==")
                assert version, f"{name}: {line!r} is not pinned with =="
                pins[canonicalize_name(package)] = version
    return pins


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def declared() -> dict[str, list[Requirement]]:
    """pyproject's requirements by the lock file that must hold them (with requirements.lock's help)."""
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    return {LEARNER: [Requirement(r) for r in project["dependencies"] + extras["lab"]],
            TEST: [Requirement(r) for r in extras["test"]],
            CLASSROOM: [Requirement(r) for r in extras["classroom"]]}


def test_every_declared_dependency_is_locked_within_its_range():
    learner = locked(LEARNER)
    for filename, requirements in declared().items():
        pins = {**locked(filename), **learner}
        for req in requirements:
            name = canonicalize_name(req.name)
            assert name in pins, f"{req.name} is in pyproject.toml but not in {filename} (nor requirements.lock)"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"{filename} pins {req.name}=={pins[name]}, outside pyproject's range {req.specifier}"
            )


def test_no_package_is_locked_twice():
    seen: dict[str, str] = {}
    for filename in LOCK_FILES:
        for name in locked(filename):
            assert name not in seen, f"{name} is in both {seen[name]} and {filename}"
            seen[name] = filename


def test_a_learners_lock_has_no_hub_and_no_grading():
    learner = locked(LEARNER)
    assert not [name for name in TEACHER_ONLY if name in learner]
    assert {"jupyterlab", "ipywidgets", "jupyterlab-widgets", "ipykernel", "torch"} <= set(learner)
    assert {"nbgrader", "jupyterhub", "nbgitpuller"} <= set(locked(CLASSROOM))
    assert {"pytest", "nbval", "playwright"} <= set(locked(TEST))


def shipped(name: str, pattern: str) -> set[str]:
    """What the installed distribution ``name`` puts where ``pattern`` (a regex with one group) matches."""
    return {m.group(1) for f in distribution(name).files or [] if (m := re.search(pattern, str(f).replace("\\", "/")))}


def test_a_learners_lab_shows_the_widgets_and_no_nbgrader_panels():
    """The lab extensions and server extensions the learner's packages install (read from .venv's records)."""
    lab, server = set(), set()
    for name in locked(LEARNER):
        lab |= shipped(name, r"share/jupyter/labextensions/((?:@[^/]+/)?[^/@]+)/package\.json$")
        server |= shipped(name, r"etc/jupyter/jupyter_server_config\.d/([^/]+)\.json$")
    assert lab == LEARNER_LAB_EXTENSIONS
    assert not [ext for ext in server if re.search(r"nbgrader|nbgitpuller|jupyterhub|^notebook$", ext)], server
    teacher_lab = set().union(*(shipped(n, r"share/jupyter/labextensions/((?:@[^/]+/)?[^/@]+)/package\.json$")
                                for n in locked(CLASSROOM)))
    assert "@jupyter/nbgrader" in teacher_lab  # the check above would see it: it is where nbgrader puts it


def applies(req: Requirement, extras: set[str]) -> bool:
    """Whether ``req`` holds here for a package installed with ``extras``."""
    return req.marker is None or any(req.marker.evaluate({"extra": extra}) for extra in {"", *extras})


def requested_extras(names: set[str], filenames: tuple[str, ...]) -> dict[str, set[str]]:
    """For each package, the extras pyproject or another of ``names`` asks of it (jsonschema[format-nongpl])."""
    wanted: dict[str, set[str]] = {}
    for req in (req for filename in filenames for req in declared()[filename]):
        wanted.setdefault(canonicalize_name(req.name), set()).update(req.extras)
    changed = True
    while changed:  # an extra can ask for another package's extra: until nothing new (at most one round per extra)
        changed = False
        for name in names:
            for req in map(Requirement, distribution(name).requires or []):
                have = wanted.setdefault(canonicalize_name(req.name), set())
                if applies(req, wanted.get(name, set())) and not set(req.extras) <= have:
                    have.update(req.extras)
                    changed = True
    return wanted


def missing_dependencies(filenames: tuple[str, ...]) -> list[str]:
    """Requirements of these locks' packages (markers as here) that these locks do not pin."""
    names = set().union(*(locked(f) for f in filenames))
    extras = requested_extras(names, filenames)
    return [f"{name} needs {req}" for name in sorted(names) for req in map(Requirement, distribution(name).requires or [])
            if applies(req, extras.get(name, set())) and canonicalize_name(req.name) not in names]


@pytest.mark.parametrize("filenames", [(LEARNER,), (LEARNER, TEST), (LEARNER, CLASSROOM)], ids=" + ".join)
def test_each_install_is_closed_under_dependencies(filenames):
    """`make lab` installs requirements.lock alone, `make classroom` adds one lock: pip must find nothing unpinned."""
    missing = missing_dependencies(filenames)
    assert not missing, "; ".join(missing)


def test_the_closure_check_sees_a_missing_dependency(monkeypatch):
    real = locked
    monkeypatch.setitem(globals(), "locked", lambda f=None: {k: v for k, v in real(f).items() if k != "pyzmq"})
    assert [m for m in missing_dependencies((LEARNER,)) if m.startswith("jupyter-client needs pyzmq")]


def test_torch_is_pinned_to_the_cpu_wheel_version():
    assert locked()["torch"] == "2.13.0"


def test_lock_matches_the_running_environment():
    from importlib.metadata import version

    pins = locked()
    for name in ("torch", "jupyterlab", "ipywidgets", "matplotlib", "nbval", "pytest", "hypothesis", "tqdm", "nbgrader"):
        assert version(name).split("+")[0] == pins[name], f"installed {name} differs from the lock: run make setup"


def test_environment_yml_installs_the_lock():
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    pip_items = re.findall(r"^\s+- (.+)$", text.split("- pip:")[1], flags=re.M)
    assert "-r requirements.lock" in pip_items and "-e ." in pip_items
    assert not [item for item in pip_items if "requirements-" in item], "Binder is a learner's lab: no teacher locks"
    python = re.search(r"- python=(\d+\.\d+)", text).group(1)
    assert python == "3.11"  # the committed outputs come from 3.11
    assert not [item for item in pip_items if re.match(r"[A-Za-z]", item)], "pin packages in the lock, not environment.yml"


def test_every_locked_package_admits_python_3_11_0_to_3_13():
    """Debian 12 ships Python 3.11.2: a pin that needs 3.11.5 (soupsieve 4.x did) breaks `make lab` there.

    Every package of every lock file: requirements.lock, requirements-test.lock, requirements-classroom.lock.
    """
    from importlib.metadata import metadata

    from packaging.specifiers import SpecifierSet

    refused = []
    assert len(locked()) == sum(len(locked(f)) for f in LOCK_FILES)
    for name in locked():
        try:
            needs = metadata(name).get("Requires-Python")
        except PackageNotFoundError:
            continue  # not installed here (test_lock_matches_the_running_environment checks the main ones)
        for python in ("3.11.0", "3.12.0", "3.13.0"):
            if needs and not SpecifierSet(needs).contains(python):
                refused.append(f"{name} (Requires-Python {needs}) refuses {python}")
    assert not refused, "; ".join(refused)


def test_requires_python_is_what_is_tested():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
