"""``python -m nanogpt_lite doctor``: each check on its own (monkeypatched), the report, the CLI, the issue form."""
from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import nbformat
import pytest
import torch
import yaml
from matplotlib import font_manager
from nbformat.sign import NotebookNotary
from packaging.specifiers import SpecifierSet

import nanogpt_lite
import nanogpt_lite.data
from nanogpt_lite import doctor
from nanogpt_lite.__main__ import main as cli_main
from nanogpt_lite.doctor import Check, Status

ROOT = Path(__file__).resolve().parent.parent
TAGS = ("[OK] ", "[FAIL] ", "[--] ")
CJK = re.compile(r"[\u4e00-\u9fff]")
FAKE_INSTALLED = {
    "torch": "2.13.0+cpu", "jupyterlab": "4.6.6", "ipywidgets": "8.1.9", "jupyterlab_widgets": "3.0.17",
    "ipykernel": "7.4.0", "matplotlib": "3.11.2", "numpy": "2.4.6",
}
FAKE_LOCK = """# a comment line==1.0
Torch==2.13.0
jupyterlab==4.6.6
ipywidgets==8.1.9
jupyterlab-widgets==3.0.17
ipykernel==7.4.0
matplotlib==3.11.2
numpy==2.4.6
scipy==1.17.1
"""


def fake_versions(monkeypatch, installed: dict[str, str]) -> None:
    """``importlib.metadata.version`` answers from ``installed`` (by canonical name), else not installed."""
    by_name = {doctor.canonical(name): version for name, version in installed.items()}

    def version(name: str) -> str:
        try:
            return by_name[doctor.canonical(name)]
        except KeyError:
            raise importlib.metadata.PackageNotFoundError(name) from None

    monkeypatch.setattr(importlib.metadata, "version", version)


@pytest.fixture
def lock(tmp_path) -> Path:
    path = tmp_path / "requirements.lock"
    path.write_text(FAKE_LOCK, encoding="utf-8")
    return path


def tagged(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(TAGS)]


# The report as a whole


def test_main_prints_one_tagged_entry_per_check_and_exits_1_exactly_when_one_fails(capsys):
    status = doctor.main()
    lines = capsys.readouterr().out.splitlines()
    head, entries, last = lines[0], lines[1:-1], lines[-1]
    assert sys.executable in head and importlib.metadata.version("nanogpt-lite") in head
    assert entries[0].startswith(TAGS)
    assert all(line.startswith(TAGS) or line.startswith(" ") for line in entries), entries
    entries = tagged("\n".join(entries))
    assert len(entries) == len(doctor.CHECKS)
    fails = sum(line.startswith("[FAIL]") for line in entries)
    assert status == (1 if fails else 0)
    assert f"{fails} FAIL" in last and last.startswith("汇总 / summary:")


def test_every_check_speaks_chinese_first_and_every_fail_carries_a_fix():
    for check in doctor.run_checks():
        assert CJK.search(check.zh), check
        assert check.status != Status.FAIL or check.fix, check


def test_a_check_that_raises_becomes_a_fail_not_a_traceback():
    def check_boom() -> Check:
        raise RuntimeError("kaput")

    check = doctor.run_check(check_boom)
    assert check.status == Status.FAIL and "check_boom" in check.en and "RuntimeError: kaput" in check.en


def test_a_long_entry_splits_after_the_slash_and_before_the_fix_with_indented_continuations():
    short = Check(Status.OK, "好", "fine")
    assert doctor.render(short) == "[OK] 好 / fine"
    long = Check(Status.FAIL, "很长的中文说明" * 5, "a long English explanation " * 3, "pip install something")
    assert doctor.render(long).splitlines() == [
        f"[FAIL] {long.zh} /", f"       {long.en}", "       — pip install something"]


def test_summary_counts_each_status():
    checks = [Check(Status.OK, "好", "ok"), Check(Status.FAIL, "坏", "bad", "fix"), Check(Status.INFO, "注", "note"),
              Check(Status.OK, "好", "ok")]
    assert doctor.summary(checks).startswith("汇总 / summary: 2 OK, 1 FAIL, 1 --")


# Python


def test_python_check_agrees_with_pyproject_requires_python():
    import tomllib

    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    for version in ((3, 10, 14), (3, 11, 0), (3, 12, 3), (3, 13, 9), (3, 14, 0)):
        supported = SpecifierSet(requires).contains(".".join(map(str, version)))
        check = doctor.check_python(version)
        assert check.status == (Status.OK if supported else Status.FAIL), (version, check)
    assert "python3.11 -m venv" in doctor.check_python((3, 10, 14)).fix


# The lock


def test_the_lock_is_the_repository_root_one():
    assert doctor.LOCK == Path(nanogpt_lite.__file__).resolve().parents[1] / "requirements.lock"
    assert doctor.LOCK.is_file()


def test_lock_check_passes_ignoring_case_dashes_and_torch_local_label(monkeypatch, lock):
    fake_versions(monkeypatch, FAKE_INSTALLED)
    check = doctor.check_lock(lock)
    assert check.status == Status.OK and "torch 2.13.0" in check.en, check


def test_lock_check_fails_on_a_different_torch(monkeypatch, lock):
    fake_versions(monkeypatch, FAKE_INSTALLED | {"torch": "2.5.1+cu121"})
    check = doctor.check_lock(lock)
    assert check.status == Status.FAIL and "torch 2.5.1 (锁定 / locked 2.13.0)" in check.en, check
    assert "pip install -r requirements.lock" in check.fix and "digits may differ" in check.fix


def test_lock_check_fails_without_jupyterlab(monkeypatch, lock):
    fake_versions(monkeypatch, {name: v for name, v in FAKE_INSTALLED.items() if name != "jupyterlab"})
    check = doctor.check_lock(lock)
    assert check.status == Status.FAIL and "jupyterlab 未安装 / not installed" in check.en, check


def test_lock_check_is_not_applicable_without_a_lock(tmp_path):
    assert doctor.check_lock(tmp_path / "requirements.lock").status == Status.INFO


# torch's build and CUDA


def test_torch_build_cpu(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", None)
    check = doctor.check_torch_build()
    assert check.status == Status.OK and "CPU build" in check.en and not check.fix


def test_torch_build_cuda_without_a_gpu_says_how_to_get_the_cpu_build(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "12.6")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    check = doctor.check_torch_build()
    assert check.status == Status.OK and "5 GB" in check.en and "without a usable GPU" in check.en
    locked = doctor.read_lock(doctor.LOCK)["torch"]
    assert check.fix.endswith(f"pip install --index-url https://download.pytorch.org/whl/cpu torch=={locked}")


def test_torch_build_cuda_with_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "12.6")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    check = doctor.check_torch_build()
    assert check.status == Status.OK and "GPU is available" in check.en and not check.fix


def test_cuda_check_names_the_gpu_or_says_the_cpu_is_used(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert doctor.check_cuda() == Check(Status.INFO, "没有 GPU：用 CPU", "no GPU: the CPU is used")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "Fake GPU 9000")
    check = doctor.check_cuda()
    assert check.status == Status.OK and "Fake GPU 9000" in check.en


# The widget front end


def test_widget_check_needs_the_labextension_directory(tmp_path):
    check = doctor.check_widgets(dirs=[tmp_path])
    locked = doctor.read_lock(doctor.LOCK)[doctor.canonical("jupyterlab_widgets")]
    assert check.status == Status.FAIL and f"pip install jupyterlab_widgets=={locked}" in check.fix
    (tmp_path / "@jupyter-widgets" / "jupyterlab-manager").mkdir(parents=True)
    check = doctor.check_widgets(dirs=[tmp_path])
    assert check.status == Status.OK and str(tmp_path) in check.en


def test_widget_check_fails_without_jupyterlab_widgets(monkeypatch, tmp_path):
    (tmp_path / "@jupyter-widgets" / "jupyterlab-manager").mkdir(parents=True)
    fake_versions(monkeypatch, {})
    check = doctor.check_widgets(dirs=[tmp_path])
    assert check.status == Status.FAIL and "not installed" in check.en


def test_widget_check_looks_in_the_environment_and_in_jupyter_path(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    dirs = doctor.labextension_dirs()
    assert dirs[0] == Path(sys.prefix, "share", "jupyter", "labextensions")
    assert tmp_path / "labextensions" in dirs


# The CJK font


def fake_fonts(monkeypatch, *names: str) -> None:
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [SimpleNamespace(name=name) for name in names])


def test_font_check_fails_without_a_cjk_font(monkeypatch):
    fake_fonts(monkeypatch, "DejaVu Sans", "STIXGeneral")
    check = doctor.check_font()
    assert check.status == Status.FAIL and "boxes" in check.en and "printed text is unaffected" in check.en
    assert "sudo apt-get install fonts-noto-cjk" in check.fix and matplotlib.get_cachedir() in check.fix


def test_font_check_names_another_cjk_font_the_figures_do_not_use(monkeypatch):
    fake_fonts(monkeypatch, "DejaVu Sans", "WenQuanYi Zen Hei")
    check = doctor.check_font()
    assert check.status == Status.FAIL and "WenQuanYi Zen Hei" in check.en


def test_font_check_names_the_noto_face(monkeypatch):
    fake_fonts(monkeypatch, "DejaVu Sans", "Noto Sans CJK JP")
    check = doctor.check_font()
    assert check.status == Status.OK and "Noto Sans CJK JP" in check.en


# graphviz


def test_dot_check(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    check = doctor.check_dot()
    assert check.status == Status.FAIL and "sudo apt-get install graphviz" in check.fix
    assert "brew install graphviz" in check.fix and "winget install graphviz" in check.fix
    monkeypatch.setattr(shutil, "which", lambda name: f"/opt/bin/{name}")
    assert doctor.check_dot() == Check(Status.OK, "graphviz 的 dot 命令", "graphviz 'dot': /opt/bin/dot")


# The data


def test_data_check_passes_on_the_packaged_text():
    assert doctor.check_data().status == Status.OK


def test_data_check_fails_on_wrong_text(monkeypatch):
    monkeypatch.setattr(nanogpt_lite.data, "load_text", lambda: "To be, or not to be")
    check = doctor.check_data()
    assert check.status == Status.FAIL and "19 bytes" in check.en and "pip install --no-deps -e ." in check.fix


def test_data_check_reports_the_data_error(monkeypatch):
    def broken() -> str:
        raise nanogpt_lite.data.DataError("包里缺少数据文件 / the package lacks its data file")

    monkeypatch.setattr(nanogpt_lite.data, "load_text", broken)
    check = doctor.check_data()
    assert check.status == Status.FAIL and "DataError: 包里缺少数据文件" in check.en


# Threads


def test_thread_check_fails_only_when_oversubscribed(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setenv("NANOGPT_LITE_THREADS", "3")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    check = doctor.check_threads()
    assert check.status == Status.FAIL and "NANOGPT_LITE_THREADS=3" in check.en and "OMP_NUM_THREADS=1" in check.fix
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert doctor.check_threads().status == Status.OK


# Notebook trust


def write_notebook(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1", outputs=[
        nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)])])
    with path.open("w", encoding="utf-8") as file:
        nbformat.write(nb, file)
    return nb


def test_notebook_check_fails_on_an_unsigned_notebook_and_passes_once_signed(tmp_path):
    folder, data_dir = tmp_path / "notebooks", tmp_path / "jupyter-data"
    folder.mkdir()
    data_dir.mkdir()
    first, second = write_notebook(folder / "01_a.ipynb"), write_notebook(folder / "02_b.ipynb")
    second.cells[0].source = "2 + 2"
    with (folder / "02_b.ipynb").open("w", encoding="utf-8") as file:
        nbformat.write(second, file)
    check = doctor.check_notebooks(folder, data_dir)
    assert check.status == Status.FAIL and "01_a.ipynb, 02_b.ipynb" in check.en
    assert "jupyter trust notebooks/*.ipynb" in check.fix and "TokenizerPlayground(children=(" in check.zh
    assert not list(data_dir.iterdir()), "checking must not create the trust database"
    with NotebookNotary(data_dir=str(data_dir)) as notary:
        notary.sign(first)
    check = doctor.check_notebooks(folder, data_dir)
    assert check.status == Status.FAIL and "02_b.ipynb" in check.en and "01_a.ipynb" not in check.en
    with NotebookNotary(data_dir=str(data_dir)) as notary:
        notary.sign(second)
    assert doctor.check_notebooks(folder, data_dir) == Check(Status.OK, "2 个笔记本都受信任",
                                                            "all 2 notebooks are trusted")


def test_jupyter_trust_as_make_lab_runs_it_satisfies_the_notebook_check(tmp_path):
    folder, data_dir = tmp_path / "notebooks", tmp_path / "jupyter-data"
    folder.mkdir()
    write_notebook(folder / "01_a.ipynb")
    env = os.environ | {"JUPYTER_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "nbformat.sign", str(folder / "01_a.ipynb")], env=env, check=True,
                   capture_output=True)
    assert doctor.check_notebooks(folder, data_dir).status == Status.OK


def test_notebook_check_is_not_applicable_without_a_notebooks_folder(tmp_path):
    assert doctor.check_notebooks(tmp_path / "notebooks", tmp_path).status == Status.INFO


# The command line


def test_cli_without_a_command_prints_help_and_exits_2(capsys):
    assert cli_main([]) == 2
    assert "doctor" in capsys.readouterr().err


def test_cli_doctor_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["doctor", "--help"])
    assert exit_info.value.code == 0 and "exit status 1" in capsys.readouterr().out


def test_python_m_nanogpt_lite_doctor_exit_status_matches_its_fail_lines():
    env = os.environ | {"PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([sys.executable, "-m", "nanogpt_lite", "doctor"], check=False, capture_output=True,
                            text=True, encoding="utf-8", env=env, cwd=ROOT, timeout=120)
    assert result.stderr == ""
    assert result.stdout.startswith("nanogpt_lite doctor · ")
    entries = tagged(result.stdout)
    assert len(entries) == len(doctor.CHECKS)
    assert result.returncode == int(any(line.startswith("[FAIL]") for line in entries)), result.stdout


# The GitHub issue form


def test_bug_report_form_asks_for_chapter_cell_and_the_doctor_output():
    form = yaml.safe_load((ROOT / ".github" / "ISSUE_TEMPLATE" / "bug_report.yml").read_text(encoding="utf-8"))
    assert CJK.search(form["name"].split(" / ")[0]) and CJK.search(form["description"].split(" / ")[0])
    fields = {item["id"]: item for item in form["body"] if item["type"] != "markdown"}
    assert len(fields) == len([item for item in form["body"] if item["type"] != "markdown"]), "ids must be unique"
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", field_id) for field_id in fields)
    assert {item["type"] for item in form["body"]} <= {"markdown", "dropdown", "input", "textarea", "checkboxes"}
    for item in fields.values():
        zh, _, en = item["attributes"]["label"].partition(" / ")
        assert CJK.search(zh) and en, item["attributes"]["label"]
    chapters = sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if p.name[:2] != "00")
    options = fields["chapter"]["attributes"]["options"]
    assert [option[:2] for option in options[:-1]] == chapters and options[-1] == "其他 / other"
    doctor_field = fields["doctor"]
    assert doctor_field["type"] == "textarea" and doctor_field["attributes"]["render"] == "text"
    assert doctor_field["validations"]["required"] is True
    assert "python -m nanogpt_lite doctor" in doctor_field["attributes"]["label"]
    assert {"cell", "what-happened", "expected", "os"} <= fields.keys()


def test_websocket_check_reads_the_server_configs_in_order(tmp_path):
    from nanogpt_lite.websocket import CLASS_NAME

    low, high = tmp_path / "env", tmp_path / "user"
    for folder in (low, high):
        folder.mkdir()
    assert doctor.check_websocket([]).status == doctor.Status.INFO
    (low / "jupyter_server_config.json").write_text(
        '{"ServerApp": {"kernel_websocket_connection_class": "%s"}}' % CLASS_NAME, encoding="utf-8")
    assert doctor.check_websocket(doctor.server_configs([low, high])).status == doctor.Status.OK
    (high / "jupyter_server_config.json").write_text(  # a later (user) file that picks another class wins
        '{"ServerApp": {"kernel_websocket_connection_class": "x.Other"}}', encoding="utf-8")
    check = doctor.check_websocket(doctor.server_configs([low, high]))
    assert check.status == doctor.Status.INFO and "x.Other" in check.en and "make setup" in check.en
    (high / "jupyter_server_config.json").write_text("{not json", encoding="utf-8")  # unreadable: skipped, not fatal
    assert doctor.check_websocket(doctor.server_configs([low, high])).status == doctor.Status.OK


def test_websocket_check_is_informational_without_jupyter_server(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanogpt_lite.websocket", None)  # as if jupyter_server could not be imported
    check = doctor.check_websocket([])
    assert check.status == doctor.Status.INFO and "jupyter_server" in check.en
