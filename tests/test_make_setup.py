"""What `make setup` & co. install and write: the lab settings, and which lock each target installs, once."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.test_start_page import make_dry

ROOT = Path(__file__).resolve().parent.parent
WIDGETS = "@jupyter-widgets/jupyterlab-manager:plugin"
LOCKS = ("requirements.lock", "requirements-test.lock", "requirements-classroom.lock")


def written_overrides(tmp_path: Path) -> Path:
    """Run the recipe line of `make setup` that writes the lab overrides, into ``tmp_path``; return the file."""
    (line,) = [line for line in make_dry("setup", "TORCH_INDEX=").splitlines()
               if line.startswith("printf") and "lab/settings/overrides.json" in line]
    target = tmp_path / "settings" / "overrides.json"
    target.parent.mkdir()
    subprocess.run(["sh", "-c", re.sub(r"> \S+$", f"> {target}", line)], check=True)
    return target


def test_make_setup_turns_on_saving_widget_state_in_the_notebook(tmp_path):
    """JupyterLab, given the file `make setup` writes and the installed widget manager, saves widget state."""
    from jupyterlab_server.settings_utils import get_settings

    overrides = written_overrides(tmp_path)
    assert json.loads(overrides.read_text(encoding="utf-8"))[WIDGETS] == {"saveState": True}
    labextensions = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    shipped = json.loads((labextensions / "@jupyter-widgets" / "jupyterlab-manager" / "schemas" / "@jupyter-widgets"
                          / "jupyterlab-manager" / "plugin.json").read_text(encoding="utf-8"))
    assert shipped["properties"]["saveState"]["default"] is False  # why the override is needed at all
    (tmp_path / "user").mkdir()
    settings, warnings = get_settings(
        str(overrides.parent), str(Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"), str(tmp_path / "user"),
        schema_name=WIDGETS, labextensions_path=[str(labextensions)])
    assert settings["schema"]["properties"]["saveState"]["default"] is True, warnings
    assert set(settings["schema"]["properties"]) == set(shipped["properties"])  # no misspelt key added beside it


def test_make_setup_makes_the_lab_send_widget_updates_without_nagles_delay(tmp_path):
    """A jupyter server that reads the config `make setup` writes uses NoDelayConnection for kernel websockets."""
    (line,) = [line for line in make_dry("setup", "TORCH_INDEX=").splitlines()
               if line.startswith("printf") and "jupyter_server_config.json" in line]
    config = tmp_path / "config" / "jupyter_server_config.json"
    config.parent.mkdir()
    subprocess.run(["sh", "-c", re.sub(r"> \S+$", f"> {config}", line)], check=True)
    # JUPYTER_NO_CONFIG: the venv's own copy of the file is not read; only the one just written is applied.
    probe = ("from traitlets.config.loader import JSONFileConfigLoader\n"
             "from jupyter_server.serverapp import ServerApp\n"
             "app = ServerApp()\n"
             f"app.update_config(JSONFileConfigLoader({config.name!r}, {str(config.parent)!r}).load_config())\n"
             "app.initialize(['--port=0', '--allow-root', '--ServerApp.open_browser=False'], find_extensions=False)\n"
             "print(app.web_app.settings['kernel_websocket_connection_class'].__name__)")
    env = dict(os.environ, JUPYTER_NO_CONFIG="1", JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1:] == ["NoDelayConnection"], done.stderr[-2000:]


def test_the_class_hub_sends_widget_updates_without_nagles_delay_too():
    from nanogpt_lite.websocket import CLASS_NAME, CONFIG_KEY

    argument = f"--ServerApp.{CONFIG_KEY}={CLASS_NAME}"
    assert argument in (ROOT / "classroom" / "jupyterhub_config.py").read_text(encoding="utf-8")
    assert argument in (ROOT / "classroom" / "tljh-config.sh").read_text(encoding="utf-8")
    assert f'"{CONFIG_KEY}": "{CLASS_NAME}"' in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_tljh_config_saves_widget_state_on_the_hub_too():
    script = (ROOT / "classroom" / "tljh-config.sh").read_text(encoding="utf-8")
    path = "/opt/tljh/user/share/jupyter/lab/settings/overrides.d/nanogpt-faq.json"
    heredoc = re.search(rf"cat > {re.escape(path)} <<'EOF'\n(.*?)\nEOF\n", script, flags=re.S)
    assert heredoc, f"tljh-config.sh does not write {path}"
    assert json.loads(heredoc.group(1))[WIDGETS] == {"saveState": True}


def fake_project(tmp_path: Path) -> tuple[Path, Path]:
    """The Makefile, the locks and pyproject in ``tmp_path``, with a .venv whose python only logs its arguments."""
    for name in ("Makefile", "pyproject.toml", *LOCKS):
        shutil.copy(ROOT / name, tmp_path / name)
    log = tmp_path / "calls.log"
    for tool in ("python", "jupyter"):
        fake = tmp_path / ".venv" / "bin" / tool
        fake.parent.mkdir(parents=True, exist_ok=True)
        fake.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n', encoding="utf-8")
        fake.chmod(0o755)
    return tmp_path, log


def make(project: Path, log: Path, *targets: str) -> list[str]:
    """Run ``make TARGETS`` in the fake project; return the calls it made, and clear the log."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "TORCH_INDEX"}}
    subprocess.run(["make", "--no-print-directory", *targets, "TORCH_INDEX="], cwd=project, env=env, check=True,
                   capture_output=True, text=True)
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return calls


def change(project: Path, lock: str) -> None:
    """Edit ``lock``, as far as make can tell, on coarse file clocks too: the sources 20 s old, the stamps 10 s."""
    now = time.time()
    for path in [project / name for name in ("Makefile", "pyproject.toml", *LOCKS)]:
        os.utime(path, (now - 20, now - 20))
    for stamp in (project / ".venv").glob(".installed*"):
        os.utime(stamp, (now - 10, now - 10))
    (project / lock).touch()


def installs(calls: list[str]) -> list[str]:
    """The lock files each ``pip install`` call named, in order."""
    return [" ".join(re.findall(r"-r (\S+)", call)) for call in calls if "pip install" in call and "-r " in call]


def test_make_lab_installs_only_the_learners_lock(tmp_path):
    project, log = fake_project(tmp_path)
    calls = make(project, log, "lab")
    assert installs(calls) == ["requirements.lock"]
    assert "python -m tools.lock --prune requirements-classroom.lock" in calls  # an old all-in-one venv loses nbgrader
    assert any(call.startswith("jupyter lab notebooks/00_start.ipynb") for call in calls)


def test_each_lock_is_installed_once_and_again_only_when_it_changes(tmp_path):
    project, log = fake_project(tmp_path)
    assert installs(make(project, log, "classroom")) == ["requirements.lock",
                                                        "requirements.lock requirements-classroom.lock"]
    assert make(project, log, "classroom") == []
    test_calls = make(project, log, "test")
    assert installs(test_calls) == ["requirements.lock requirements-test.lock"]
    assert any("-m pytest tests notebooks --nbval" in call for call in test_calls)
    assert installs(make(project, log, "test")) == []
    assert not [call for call in make(project, log, "lab") if "pip" in call or "tools.lock" in call]
    change(project, "requirements-test.lock")
    assert installs(make(project, log, "unit")) == ["requirements.lock requirements-test.lock"]
    change(project, "requirements.lock")
    calls = make(project, log, "test")
    assert installs(calls) == ["requirements.lock", "requirements.lock requirements-test.lock",
                               "requirements.lock requirements-classroom.lock"]
    assert not [call for call in calls if "--prune" in call]  # the teacher's tools stay: make classroom put them there


def test_make_test_installs_all_three_locks_and_the_teacher_gets_the_classroom_one():
    dry = make_dry("test", "TORCH_INDEX=")
    for lock in LOCKS:
        assert f"-r {lock}" in dry
    classroom = make_dry("classroom", "TORCH_INDEX=")
    assert "-r requirements-classroom.lock" in classroom and "requirements-test.lock" not in classroom
