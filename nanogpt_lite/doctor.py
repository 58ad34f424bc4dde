"""``python -m nanogpt_lite doctor``: can this machine run the notebooks? One line per check.

Each check is a small function returning a :class:`Check`; :func:`run_checks` runs them all, turning
an unexpected exception into a FAIL line instead of a traceback. Lines start ``[OK]``, ``[FAIL]``
(with the fix) or ``[--]`` (not applicable / informational); a line too long for a terminal goes on
indented continuation lines. :func:`main` prints a header (platform, Python, package version), the
checks and a summary, and returns 1 when any check failed, else 0. Paste its output into a bug report.

A new requirement (a tool, a font, a version) gets a check here, in :data:`CHECKS`.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import shutil
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
"""The repository root when running from a clone; site-packages for an installed wheel."""
LOCK = ROOT / "requirements.lock"
NOTEBOOKS = ROOT / "notebooks"
SUPPORTED_PYTHON = ((3, 11), (3, 14))
"""From pyproject.toml's ``requires-python = ">=3.11,<3.14"``: first supported, first unsupported."""
LOCKED_PACKAGES = ("torch", "jupyterlab", "ipywidgets", "jupyterlab_widgets", "ipykernel", "matplotlib", "numpy")
WIDGET_EXTENSION = Path("@jupyter-widgets", "jupyterlab-manager")
OTHER_CJK_FONTS = ("Noto Serif CJK", "Source Han Sans", "WenQuanYi", "Microsoft YaHei", "SimHei", "PingFang",
                   "Heiti")
"""CJK families that are not the figures' Noto Sans CJK (see :mod:`nanogpt_lite.plotting`)."""
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
WIDTH = 100
"""Terminal columns (a CJK character takes two) before a line is split."""


class Status(StrEnum):
    """A line's tag: passed, failed (with the fix), or not applicable / informational."""

    OK = "OK"
    FAIL = "FAIL"
    INFO = "--"


@dataclass(frozen=True)
class Check:
    """One check's result: a message in Chinese and in English, and for a FAIL the fix."""

    status: Status
    zh: str
    en: str
    fix: str = ""


def canonical(name: str) -> str:
    """A package name as pip compares them: case-insensitive, ``-``, ``_`` and ``.`` alike."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(lock: Path) -> dict[str, str]:
    """The ``name==version`` pins of a requirements file, by canonical name."""
    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        name, pinned, version = line.strip().partition("==")
        if pinned and not name.startswith("#"):
            pins[canonical(name)] = version.strip()
    return pins


def installed_version(name: str) -> str | None:
    """The installed version without its local label (torch's ``+cpu``), or None when not installed."""
    try:
        return metadata.version(name).split("+")[0]
    except metadata.PackageNotFoundError:
        return None


def pin(name: str, fallback: str = "", lock: Path = LOCK) -> str:
    """``name==version`` for a pip command: the locked version, else ``fallback``, else just ``name``."""
    version = (read_lock(lock).get(canonical(name)) if lock.is_file() else None) or fallback
    return f"{name}=={version}" if version else name


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Check:
    """Python within pyproject's ``requires-python``."""
    (low_major, low_minor), (high_major, high_minor) = SUPPORTED_PYTHON
    supported = f"{low_major}.{low_minor}-{high_major}.{high_minor - 1}"
    shown = ".".join(map(str, version))
    if SUPPORTED_PYTHON[0] <= tuple(version[:2]) < SUPPORTED_PYTHON[1]:
        return Check(Status.OK, f"Python {shown}（支持 {supported}）", f"Python {shown} (supported: {supported})")
    return Check(
        Status.FAIL, f"不支持 Python {shown}，本项目需要 {supported}",
        f"Python {shown} is not supported: the project needs {supported}",
        "装 Python 3.11（笔记本的输出来自 3.11）再重建虚拟环境 / install Python 3.11 (the committed outputs "
        "come from 3.11) and recreate the venv: python3.11 -m venv .venv (Windows: py -3.11 -m venv .venv; "
        "conda: conda env create -f environment.yml)",
    )


def check_lock(lock: Path = LOCK) -> Check:
    """torch, JupyterLab and friends at the versions of ``requirements.lock``."""
    if not lock.is_file():
        return Check(Status.INFO, "没有 requirements.lock（不是从仓库安装的？），不比较版本",
                     "no requirements.lock (not installed from a clone?): versions not compared")
    pins = read_lock(lock)
    names = [name for name in LOCKED_PACKAGES if canonical(name) in pins]
    wrong = []
    for name in names:
        locked, found = pins[canonical(name)], installed_version(name)
        if found is None:
            wrong.append(f"{name} 未安装 / not installed (锁定 / locked {locked})")
        elif found != locked:
            wrong.append(f"{name} {found} (锁定 / locked {locked})")
    if wrong:
        return Check(
            Status.FAIL, "版本与 requirements.lock 不一致", "versions differ from requirements.lock: " + ", ".join(wrong),
            "装锁定的版本 / install the locked versions: pip install -r requirements.lock（笔记本里的输出是用"
            "锁定的版本生成的，版本不同，数字可能对不上 / the notebooks' outputs were produced with the locked "
            "versions: with others the digits may differ)",
        )
    listed = ", ".join(f"{name} {pins[canonical(name)]}" for name in names)
    return Check(Status.OK, "版本与 requirements.lock 一致", f"versions match requirements.lock: {listed}")


def check_torch_build() -> Check:
    """The CPU or the CUDA build of torch, and whether its CUDA has a GPU (informational)."""
    import torch

    version, cuda = torch.__version__, torch.version.cuda
    if cuda is None:
        return Check(Status.OK, f"torch {version} 是 CPU 版", f"torch {version} is the CPU build")
    if torch.cuda.is_available():
        return Check(Status.OK, f"torch {version} 是 CUDA {cuda} 版，有 GPU 可用",
                     f"torch {version} is the CUDA {cuda} build, and a GPU is available")
    return Check(
        Status.OK, f"torch {version} 是 CUDA {cuda} 版（约 5 GB），但这台机器没有可用的 GPU",
        f"torch {version} is the CUDA {cuda} build (about 5 GB) on a machine without a usable GPU",
        f"CPU 版小得多，也够用 / the CPU build is much smaller and enough: pip install --index-url {CPU_INDEX} "
        + pin("torch", fallback=version.split("+")[0]),
    )


def labextension_dirs() -> list[Path]:
    """Where JupyterLab looks for prebuilt extensions: the environment's, then Jupyter's data dirs."""
    dirs = [Path(sys.prefix, "share", "jupyter", "labextensions")]
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:  # no JupyterLab at all: check_lock says so
        return dirs
    return dirs + [Path(path) for path in jupyter_path("labextensions")]


def check_widgets(dirs: list[Path] | None = None) -> Check:
    """``jupyterlab_widgets`` installed, with its labextension where JupyterLab finds it."""
    fix = (f"装小部件前端，再重启 JupyterLab / install the widget front end, then restart JupyterLab: "
           f"pip install {pin('jupyterlab_widgets')}")
    found = installed_version("jupyterlab_widgets")
    if found is None:
        return Check(Status.FAIL, "没有安装 jupyterlab_widgets，小部件只显示成一行文字",
                     "jupyterlab_widgets is not installed: widgets show as a line of text", fix)
    places = labextension_dirs() if dirs is None else dirs
    extension = next((place / WIDGET_EXTENSION for place in places if (place / WIDGET_EXTENSION).is_dir()), None)
    if extension is None:
        return Check(Status.FAIL, f"jupyterlab_widgets {found} 已安装，但找不到它的 JupyterLab 扩展",
                     f"jupyterlab_widgets {found} is installed, but its labextension {WIDGET_EXTENSION.as_posix()} "
                     f"is in none of {', '.join(map(str, places))}", fix)
    return Check(Status.OK, f"小部件前端 jupyterlab_widgets {found}", f"widget front end: {extension}")


def server_configs(dirs: list[Path] | None = None) -> list[Path]:
    """The jupyter_server_config.json files a jupyter server reads, lowest priority first."""
    if dirs is None:
        try:
            from jupyter_core.paths import jupyter_config_path
        except ImportError:
            return []
        dirs = [Path(path) for path in reversed(jupyter_config_path())]
    return [path / "jupyter_server_config.json" for path in dirs if (path / "jupyter_server_config.json").is_file()]


def check_websocket(configs: list[Path] | None = None) -> Check:
    """The server's kernel websocket is ``nanogpt_lite.websocket.NoDelayConnection`` (no Nagle wait on widgets)."""
    try:
        from .websocket import CLASS_NAME, CONFIG_KEY
    except ImportError:  # no jupyter_server: a Colab-style or plain Python install, with no lab of ours to configure
        return Check(Status.INFO, "没有 jupyter_server，不检查小部件的 websocket 设置",
                     "no jupyter_server here: the widget websocket setting is not checked")
    chosen = None
    for path in server_configs() if configs is None else configs:
        try:
            chosen = json.loads(path.read_text(encoding="utf-8")).get("ServerApp", {}).get(CONFIG_KEY, chosen)
        except (OSError, ValueError, AttributeError):
            continue
    if chosen == CLASS_NAME:
        return Check(Status.OK, "小部件的更新立刻发给浏览器（TCP_NODELAY）", f"widget updates go out at once: {CLASS_NAME}")
    return Check(Status.INFO, "小部件的每次更新会多等约 40 毫秒（没有设置 TCP_NODELAY；make setup 会设置）",
                 f"each widget update waits up to 40 ms more (Nagle's algorithm; ServerApp.{CONFIG_KEY} is "
                 f"{chosen or 'the default'}): make setup sets it to {CLASS_NAME}")


def check_font() -> Check:
    """A Noto Sans CJK face for the Chinese in figures (the printed text needs none)."""
    import matplotlib
    from matplotlib import font_manager

    from .plotting import cjk_font

    face = cjk_font()
    if face is not None:
        return Check(Status.OK, f"图里的中文用字体 {face}", f"figures draw Chinese with {face}")
    others = sorted({font.name for font in font_manager.fontManager.ttflist if font.name.startswith(OTHER_CJK_FONTS)})
    zh, en = "没有 Noto Sans CJK 字体", "no Noto Sans CJK font"
    if others:
        zh += f"（有 {', '.join(others)}，但图只用 Noto Sans CJK）"
        en += f" (found {', '.join(others)}, but the figures use only Noto Sans CJK)"
    return Check(
        Status.FAIL, zh + "：图里的中文会显示成方框或换成英文，打印的文字不受影响",
        en + ": Chinese in figures shows as boxes or falls back to English; printed text is unaffected",
        "安装 / install: sudo apt-get install fonts-noto-cjk (macOS: brew install --cask font-noto-sans-cjk; "
        "Windows: Noto Sans CJK SC, https://github.com/notofonts/noto-cjk/releases)，再删除 matplotlib 的字体缓存 / "
        f"then delete matplotlib's font cache: {matplotlib.get_cachedir()}",
    )


def check_dot() -> Check:
    """graphviz's ``dot`` on PATH (chapter 5 draws computation graphs with it)."""
    dot = shutil.which("dot")
    if dot is None:
        return Check(
            Status.FAIL, "没有找到 graphviz 的 dot 命令（第 5 章的计算图要用）",
            "graphviz 'dot' not found (chapter 5's computation graphs need it)",
            "安装 / install: sudo apt-get install graphviz (macOS: brew install graphviz; "
            "Windows: winget install graphviz)",
        )
    return Check(Status.OK, "graphviz 的 dot 命令", f"graphviz 'dot': {dot}")


def check_data() -> Check:
    """Tiny Shakespeare loads from the package, with the right size and sha256."""
    from . import data

    fix = "重新安装本项目 / reinstall the package: pip install --no-deps -e .（在仓库根目录 / in the repository root)"
    try:
        raw = data.load_text().encode("utf-8")
    except Exception as exc:  # DataError, or a damaged install failing some other way
        return Check(Status.FAIL, "读不出数据", f"the data cannot be loaded: {type(exc).__name__}: {exc}", fix)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != data.SHA256 or len(raw) != data.SIZE_BYTES:
        return Check(Status.FAIL, "数据校验失败",
                     f"the data failed its check: sha256 {digest} ({len(raw):,} bytes), "
                     f"expected {data.SHA256} ({data.SIZE_BYTES:,} bytes)", fix)
    return Check(Status.OK, f"数据完好（{len(raw):,} 字节）", f"the data is intact: sha256 {digest[:12]}…")


def check_threads() -> Check:
    """torch's CPU threads, FAIL only when there are more than CPUs (they would spin against each other)."""
    import torch

    from .device import THREAD_VARIABLES

    threads, cpus = torch.get_num_threads(), os.cpu_count()
    chosen = "".join(f", {name}={os.environ[name]}" for name in THREAD_VARIABLES if os.environ.get(name))
    zh = f"torch 线程数 {threads}，CPU 数 {cpus}{chosen}（测试和 make 用 1 个线程）"
    en = f"torch threads: {threads}, CPUs: {cpus}{chosen} (the tests and make use 1 thread)"
    if cpus is not None and threads > cpus:
        return Check(Status.FAIL, zh, en,
                     "线程比 CPU 多，会互相抢 / more threads than CPUs spin against each other: "
                     "export OMP_NUM_THREADS=1（或删掉 / or unset NANOGPT_LITE_THREADS）")
    return Check(Status.OK, zh, en)


def notary_files_exist(data_dir: Path) -> bool:
    """Whether ``jupyter trust`` ever ran with this data dir (else checking would create its files)."""
    return (data_dir / "nbsignatures.db").is_file() and (data_dir / "notebook_secret").is_file()


def check_notebooks(folder: Path = NOTEBOOKS, data_dir: Path | None = None) -> Check:
    """Every notebook signed in Jupyter's trust database (``data_dir``: Jupyter's data dir by default)."""
    if not folder.is_dir():
        return Check(Status.INFO, "没有 notebooks 文件夹（不是仓库副本？），不检查是否受信任",
                     "no notebooks folder (not a clone of the repository?): trust not checked")
    try:
        from jupyter_core.paths import jupyter_data_dir
        from nbformat.sign import NotebookNotary
    except ImportError:
        return Check(Status.INFO, "没有安装 nbformat，不检查笔记本是否受信任",
                     "nbformat is not installed: notebook trust not checked")
    paths = sorted(folder.glob("*.ipynb"))
    directory = Path(jupyter_data_dir()) if data_dir is None else data_dir
    untrusted = [path.name for path in paths]
    if notary_files_exist(directory):
        with NotebookNotary(data_dir=str(directory)) as notary:
            untrusted = [path.name for path in paths if not notary.check_signature(read_notebook(path))]
    if untrusted:
        return Check(
            Status.FAIL, f"{len(untrusted)} 个笔记本不受信任：在运行它的单元格之前，小部件显示成一行文字，"
            "比如 TokenizerPlayground(children=(…",
            f"untrusted notebooks (widgets show as raw text until their cells run): {', '.join(untrusted)}",
            "信任它们 / trust them: jupyter trust notebooks/*.ipynb（make lab 会自动做 / make lab does it)",
        )
    return Check(Status.OK, f"{len(paths)} 个笔记本都受信任", f"all {len(paths)} notebooks are trusted")


def read_notebook(path: Path) -> NotebookNode:
    """A notebook as nbformat 4."""
    import nbformat

    with path.open(encoding="utf-8") as file:
        return nbformat.read(file, as_version=4)


def check_cuda() -> Check:
    """The GPU the notebooks will use, if any (informational)."""
    import torch

    if not torch.cuda.is_available():
        return Check(Status.INFO, "没有 GPU：用 CPU", "no GPU: the CPU is used")
    return Check(Status.OK, f"GPU：{torch.cuda.get_device_name(0)}", f"GPU: {torch.cuda.get_device_name(0)}")


CHECKS: tuple[Callable[[], Check], ...] = (
    check_python, check_lock, check_torch_build, check_widgets, check_websocket, check_font, check_dot, check_data,
    check_threads, check_notebooks, check_cuda,
)


def run_check(check: Callable[[], Check]) -> Check:
    """``check()``, or a FAIL naming the exception it raised."""
    try:
        return check()
    except Exception as exc:  # a doctor reports, it never shows a traceback
        return Check(Status.FAIL, f"检查 {check.__name__} 出错", f"check {check.__name__} raised {type(exc).__name__}: "
                     f"{exc}", "请把这份输出附在问题报告里 / please attach this output to a bug report")


def run_checks() -> list[Check]:
    """Every check in :data:`CHECKS`, in order."""
    return [run_check(check) for check in CHECKS]


def display_width(text: str) -> int:
    """Terminal columns: two for each wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def render(check: Check) -> str:
    """``[TAG] zh / en — fix`` on one line, or split after ' / ' (and before the fix) when too wide."""
    tag = f"[{check.status}]"
    line = f"{tag} {check.zh} / {check.en}" + (f" — {check.fix}" if check.fix else "")
    if display_width(line) <= WIDTH:
        return line
    indent = " " * (len(tag) + 1)
    return "\n".join([f"{tag} {check.zh} /", indent + check.en] + ([f"{indent}— {check.fix}"] if check.fix else []))


def header() -> str:
    """Platform, Python and package version: what a bug report needs first."""
    version = installed_version("nanogpt-lite") or "未安装 / not installed"
    return (f"nanogpt_lite doctor · nanogpt_lite {version} · Python {platform.python_version()} "
            f"({sys.executable}) · {platform.platform()}")


def summary(checks: list[Check]) -> str:
    """How many checks passed and failed."""
    counts = {status: sum(check.status == status for check in checks) for status in Status}
    verdict = "请按上面 FAIL 行的方法修复 / fix the FAIL lines above" if counts[Status.FAIL] else "一切正常 / all good"
    return (f"汇总 / summary: {counts[Status.OK]} OK, {counts[Status.FAIL]} FAIL, "
            f"{counts[Status.INFO]} -- ({verdict})")


def report(checks: list[Check]) -> str:
    """The header, one entry per check, and the summary."""
    return "\n".join([header(), *map(render, checks), summary(checks)])


def main() -> int:
    """Print the report; 1 when any check failed, else 0."""
    if isinstance(sys.stdout, io.TextIOWrapper):  # a console that cannot show Chinese gets escapes, not a crash
        sys.stdout.reconfigure(errors="backslashreplace")
    checks = run_checks()
    print(report(checks))
    return int(any(check.status == Status.FAIL for check in checks))
