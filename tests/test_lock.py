"""pyproject.toml ranges, requirements.lock pins and environment.yml must agree."""
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in project["dependencies"] + extras]


def test_every_declared_dependency_is_locked_within_its_range():
    pins = locked()
    for req in declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside pyproject's range {req.specifier}"
        )


def test_torch_is_pinned_to_the_cpu_wheel_version():
    assert locked()["torch"] == "2.13.0"


def test_lock_matches_the_running_environment():
    from importlib.metadata import version

    pins = locked()
    for name in ("torch", "jupyterlab", "ipywidgets", "matplotlib", "nbval", "pytest", "hypothesis", "tqdm"):
        assert version(name).split("+")[0] == pins[name], f"installed {name} differs from the lock: run make setup"


def test_environment_yml_installs_the_lock():
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    pip_items = re.findall(r"^\s+- (.+)$", text.split("- pip:")[1], flags=re.M)
    assert "-r requirements.lock" in pip_items and "-e ." in pip_items
    python = re.search(r"- python=(\d+\.\d+)", text).group(1)
    assert python == "3.11"  # the committed outputs come from 3.11
    assert not [item for item in pip_items if re.match(r"[A-Za-z]", item)], "pin packages in the lock, not environment.yml"


def test_every_locked_package_admits_python_3_11_0_to_3_13():
    """Debian 12 ships Python 3.11.2: a pin that needs 3.11.5 (soupsieve 4.x did) breaks `make lab` there."""
    from importlib.metadata import PackageNotFoundError, metadata

    from packaging.specifiers import SpecifierSet

    refused = []
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
