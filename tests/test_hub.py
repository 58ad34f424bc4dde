"""A class on one JupyterHub, end to end on 127.0.0.1: log in, click the nbgitpuller link, run, merge.

JupyterHub (the venv's, pinned in requirements-classroom.lock) and configurable-http-proxy (node_modules/, from
package-lock.json) start in a temp folder with ``classroom/jupyterhub_config.py`` loaded as a teacher
would use it, minus what a laptop cannot run: SimpleLocalProcessSpawner (one process per learner, the
same OS user, a home of its own under the temp folder) stands in for SystemdSpawner; the class's idle
culler runs, but its 1-hour timeout never fires here. The repository is served
from a local bare clone by a ``file://`` URL, in links made by :mod:`nanogpt_lite.classroom`.

Three learners log in with the class password in chromium, click the chapter 2 link (the lightest
chapter), run every cell and step the enumerate widget. One edits a cell; the teacher pushes a change to
another cell and a new file; the learner clicks the link again and keeps the edit and gets both. Then
the hub stops and no process it started is left.

Deselect with ``-m "not hub"``. Skips without chromium/Playwright or npm's configurable-http-proxy,
unless NANOGPT_LITE_REQUIRE_BROWSER=1 (CI), which turns the skip into a failure. The hub's log (every
learner's server logs there too) and screenshots go to build/test-artifacts/hub-*.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import pytest

from nanogpt_lite.classroom import chapter_notebook, clone_dir, find_chapters, pull_link
from tests.browser.conftest import (ALL_CELLS_RAN_JS, KERNEL_IDLE_JS, REQUIRE_ENV, click_menu, free_port,
                                    require_browser, write_lab_settings)
from tools.handout import HandoutError, chromium, ensure_node_modules

pytestmark = [pytest.mark.hub]

REPO = Path(__file__).resolve().parents[1]
CLASS_CONFIG = REPO / "classroom" / "jupyterhub_config.py"
ARTIFACTS = REPO / "build" / "test-artifacts"
LOG = ARTIFACTS / "hub.log"
CHAPTER = 2  # 02_enumerate: the lightest chapter (about 7 s alone), and a widget to drive
LEARNERS = ("ada", "bo", "chen")
WIDGET = ".nl-enumerate-stepper"
VIEW = f"{WIDGET} > .widget-html"
LEARNER_LINE = "# 我的笔记：编号在前，值在后"  # appended to the first FAQ example's code cell
TEACHER_LINE = "老师补充：`enumerate` 不复制列表，它只记住“下一个”在哪里。"
TEACHER_FILE = "notebooks/teacher_note.md"
STARTUP_S, SPAWN_S, RUN_ALL_S, STOP_S = 90, 150, 240, 60


def log_tail(chars: int = 6000) -> str:
    return LOG.read_text(encoding="utf-8", errors="replace")[-chars:] if LOG.is_file() else "(no hub log)"


@contextmanager
def step(what: str, page=None) -> Iterator[None]:
    """Turn any failure inside into one message naming the step, with a screenshot and the hub log's tail."""
    try:
        yield
    except Exception as error:  # noqa: BLE001  (any failure: Playwright timeouts, HTTP errors, asserts)
        shot = ""
        if page is not None:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            path = ARTIFACTS / f"hub-{what.split()[0]}-{secrets.token_hex(3)}.png"
            try:
                page.screenshot(path=path)
                shot = f"\nscreenshot: {path} (page {page.url})"
            except Exception:  # noqa: BLE001  (the page itself may be gone)
                shot = "\n(no screenshot: the page is gone)"
        pytest.fail(f"{what}: {type(error).__name__}: {error}{shot}\n--- hub log (tail) ---\n{log_tail()}",
                    pytrace=False)


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", timeout=60,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


@dataclass
class Hub:
    """A running hub: its public URL, a teacher API token, the process and where learners live."""

    url: str
    token: str
    process: subprocess.Popen
    homes: Path
    bare_repo: Path
    password: str
    ports: list[int] = field(default_factory=list)

    def api(self, method: str, path: str, body: object = None) -> object:
        """A JSON request through the proxy with the teacher's token (hub API or a learner's server)."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = response.read()
        return json.loads(answer) if answer else None

    def link(self) -> str:
        """The chapter's nbgitpuller link, as ``python -m nanogpt_lite.classroom link`` prints it."""
        return pull_link(self.url, chapter_notebook(CHAPTER, find_chapters()), repo=self.bare_repo.as_uri(),
                         branch="main")

    def notebook_on_disk(self, learner: str) -> Path:
        return self.homes / learner / clone_dir(self.bare_repo.as_uri()) / "notebooks" / chapter_notebook(
            CHAPTER, find_chapters())

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []


def require_hub_tools() -> Path:
    """configurable-http-proxy from node_modules/ (``npm ci`` when missing); skip or fail without it."""
    require_browser()
    try:
        proxy = ensure_node_modules() / ".bin" / "configurable-http-proxy"
    except (HandoutError, subprocess.CalledProcessError) as error:
        reason = f"configurable-http-proxy is not installed: {error}"
    else:
        if proxy.exists() and shutil.which("node"):
            return proxy
        reason = f"{proxy} or node is missing (install Node.js, then `npm ci`)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 says the hub test must run", pytrace=False)
    pytest.skip(reason)


def serve_repository(root: Path) -> Path:
    """A bare clone of this repository's HEAD as branch ``main`` (works from a shallow or detached CI checkout)."""
    bare = root / "teacher" / "nanogpt-faq-notebooks.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git("fetch", "--quiet", "--update-shallow", str(REPO), "HEAD:refs/heads/main", cwd=bare)
    return bare


def hub_config(root: Path, proxy: Path, port: int, password: str, token: str) -> Path:
    """A config file that loads the class config, then swaps in loopback ports, temp folders and a test spawner."""
    homes = root / "homes"
    extra_args = ["--allow-root"] if os.geteuid() == 0 else []
    lines = [
        f"load_subconfig({str(CLASS_CONFIG)!r})",
        'c.JupyterHub.ip = "127.0.0.1"',
        f"c.JupyterHub.port = {port}",
        'c.JupyterHub.hub_ip = "127.0.0.1"',
        f"c.JupyterHub.hub_port = {free_port()}",
        f'c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"',
        f"c.ConfigurableHTTPProxy.command = [{str(proxy)!r}]",
        f"c.ConfigurableHTTPProxy.pid_file = {str(root / 'proxy.pid')!r}",
        f"c.JupyterHub.db_url = {'sqlite:///' + str(root / 'hub.sqlite')!r}",
        f"c.JupyterHub.cookie_secret_file = {str(root / 'cookie_secret')!r}",
        f"c.SharedPasswordAuthenticator.user_password = {password!r}",
        # Stands in for SystemdSpawner: no root, no systemd, no limits enforced (see classroom/README.md).
        'c.JupyterHub.spawner_class = "simple"',
        f"c.SimpleLocalProcessSpawner.home_dir_template = {str(homes) + '/{username}'!r}",
        f"c.Spawner.args = list(c.Spawner.args) + {extra_args!r}",
        f"c.Spawner.environment = dict(c.Spawner.environment, MPLCONFIGDIR={os.environ.get('MPLCONFIGDIR', '')!r})",
        f"c.Spawner.start_timeout = {SPAWN_S}",
        f"c.Spawner.http_timeout = {SPAWN_S}",
        # The class config's idle-culler service stays (its 1-hour timeout never fires here); the test
        # adds a teacher service whose API token drives the hub's REST API.
        f'c.JupyterHub.services = list(c.JupyterHub.services) + [{{"name": "teacher", "api_token": {token!r}}}]',
        ('c.JupyterHub.load_roles = list(c.JupyterHub.load_roles) + [{"name": "teacher", "services": ["teacher"],'
         ' "scopes": ["admin:users", "admin:servers", "access:servers", "list:services", "read:services"]}]'),
    ]
    config = root / "jupyterhub_config.py"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def wait_until_up(hub: Hub) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            pytest.fail(f"jupyterhub exited with {hub.process.returncode} while starting:\n{log_tail()}", pytrace=False)
        try:
            hub.api("GET", "/hub/api/")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    pytest.fail(f"jupyterhub did not answer at {hub.url} within {STARTUP_S} s:\n{log_tail()}", pytrace=False)


def listening_ports(processes: list[psutil.Process]) -> set[int]:
    ports = set()
    for process in processes:
        try:
            ports |= {c.laddr.port for c in process.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}
        except psutil.NoSuchProcess:
            pass
    return ports


def listeners() -> dict[int, int | None]:
    """Every TCP port something listens on now, with its process id (None: another user's, not visible)."""
    return {c.laddr.port: c.pid for c in psutil.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}


def started_by(hub: Hub, pid: int | None) -> bool:
    """Whether process ``pid`` belongs to ``hub``: all that it starts and that listens has its HOME in the hub's folder.

    A port the hub freed may be taken a moment later by an unrelated program: it happened once, with a second
    ``make test`` starting kernels beside this one. An owner that cannot be inspected counts as the hub's.
    """
    if pid is None:
        return True
    try:
        home = psutil.Process(pid).environ().get("HOME", "")
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
    return Path(home).is_relative_to(hub.homes.parent)


def stop(hub: Hub) -> tuple[list[psutil.Process], set[int]]:
    """SIGTERM the hub (it stops every learner's server and the proxy); what is still alive and listening after."""
    started = [*hub.descendants()]
    if hub.process.poll() is None:
        started.append(psutil.Process(hub.process.pid))
    ports = listening_ports(started) | set(hub.ports)
    if hub.process.poll() is None:
        hub.process.send_signal(signal.SIGTERM)
        try:
            hub.process.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            pass
    _, alive = psutil.wait_procs(started, timeout=10)
    now, pids = listeners(), {process.pid for process in started}
    return alive, {port for port in ports if port in now and (now[port] in pids or started_by(hub, now[port]))}


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[Hub]:
    """The class hub, started from classroom/jupyterhub_config.py; stopped (and any leftover killed) at the end."""
    proxy = require_hub_tools()
    root = tmp_path_factory.mktemp("hub")
    password, token, port = secrets.token_urlsafe(12), secrets.token_hex(16), free_port()
    bare = serve_repository(root)
    for learner in LEARNERS:  # each learner's JupyterLab: no news, every cell in the DOM, no autosave
        write_lab_settings(root / "homes" / learner / ".jupyter" / "lab" / "user-settings")
    config = hub_config(root, proxy, port, password, token)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(root), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with open(LOG, "w", encoding="utf-8") as log:
        process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=root, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    running = Hub(f"http://127.0.0.1:{port}", token, process, root / "homes", bare, password, [port])
    try:
        wait_until_up(running)
        yield running
    finally:
        alive, _ = stop(running)
        for leftover in alive:
            leftover.kill()


@pytest.fixture(scope="module")
def browser(hub):
    with chromium() as started:
        yield started


@pytest.fixture(scope="module")
def learners(hub, browser) -> Iterator[dict[str, object]]:
    """One logged-in chromium page per learner (separate cookie jars), by user name."""
    pages = {}
    contexts = []
    try:
        for name in LEARNERS:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            contexts.append(context)
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" when the notebook has outputs
            with step(f"login {name}", page):
                page.goto(f"{hub.url}/hub/login")
                page.fill("#username_input", name)
                page.fill("#password_input", hub.password)
                page.click("#login_submit")
                page.wait_for_url("**/hub/**")
                assert "/hub/login" not in page.url, f"still on the login page: {page.url}"
            pages[name] = page
        yield pages
    finally:
        for context in contexts:
            context.close()


def open_link(hub: Hub, page, name: str) -> None:
    """Start the click: the hub starts the server if needed, nbgitpuller pulls, then JupyterLab opens."""
    with step(f"open-link {name}", page):
        page.goto(hub.link(), wait_until="commit")


def wait_for_chapter(page, name: str) -> None:
    """Wait until the link has landed on the chapter in JupyterLab with its kernel idle."""
    notebook = chapter_notebook(CHAPTER, find_chapters())
    with step(f"landing {name}: the link should end in JupyterLab on {notebook} with an idle kernel", page):
        page.wait_for_url(f"**/user/{name}/lab/tree/**/{notebook}", timeout=SPAWN_S * 1000)
        page.wait_for_function(KERNEL_IDLE_JS, timeout=SPAWN_S * 1000)


def test_three_learners_click_the_link_run_the_chapter_and_drive_the_widget(hub, learners):
    for name, page in learners.items():  # all three servers start, pull and open at the same time
        open_link(hub, page, name)
    for name, page in learners.items():
        wait_for_chapter(page, name)
        assert hub.notebook_on_disk(name).is_file(), f"nbgitpuller did not clone into {name}'s home"
    for name, page in learners.items():  # three kernels run the chapter at once
        with step(f"run-all {name}", page):
            click_menu(page, "Run", "Run All Cells")
    for name, page in learners.items():
        with step(f"run-all-finished {name}: every cell should get a number within {RUN_ALL_S} s", page):
            page.wait_for_function(ALL_CELLS_RAN_JS, timeout=RUN_ALL_S * 1000)
        errors = page.locator('.jp-NotebookPanel [data-mime-type="application/vnd.jupyter.error"]').all_inner_texts()
        assert not errors, f"{name}: cells show errors:\n" + "\n---\n".join(errors)
    for name, page in learners.items():
        with step(f"widget {name}: one ArrowRight on the stepper's slider should show the first next()", page):
            view = page.locator(VIEW).first
            view.scroll_into_view_if_needed()
            before = view.inner_text()
            page.locator(f"{WIDGET} .widget-slider .noUi-handle").first.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function("sel => document.querySelector(sel).innerText.includes(\"第 1 次 next() → (0, 'h')\")",
                                   arg=VIEW, timeout=30_000)
            assert view.inner_text() != before
    servers = hub.api("GET", "/hub/api/users")
    running = {user["name"] for user in servers if user["servers"].get("", {}).get("ready")}
    assert running == set(LEARNERS)
    environ = [psutil.Process(p.pid).environ() for p in hub.descendants() if "jupyterhub-singleuser" in " ".join(p.cmdline())]
    assert len(environ) == len(LEARNERS)
    # The class config's limits reach every server as MEM_LIMIT/CPU_LIMIT; this spawner enforces neither.
    assert {(e.get("MEM_LIMIT"), e.get("CPU_LIMIT")) for e in environ} == {(str(1024**3), "1.0")}
    # Every learner's server sends widget updates without Nagle's delay (nanogpt_lite/websocket.py).
    commands = [" ".join(p.cmdline()) for p in hub.descendants() if "jupyterhub-singleuser" in " ".join(p.cmdline())]
    assert all("--ServerApp.kernel_websocket_connection_class=nanogpt_lite.websocket.NoDelayConnection" in c
               for c in commands), commands


def test_the_idle_culler_service_runs_with_its_role(hub, learners):
    """classroom/jupyterhub_config.py's culler: started by the hub, authorised (a wrong scope makes it exit)."""
    culler = [p for p in hub.descendants() if "jupyterhub_idle_culler" in " ".join(p.cmdline())]
    assert len(culler) == 1 and culler[0].is_running(), f"no idle culler under the hub:\n{log_tail()}"
    services = hub.api("GET", "/hub/api/services")
    assert "jupyterhub-idle-culler-service" in services, sorted(services)


def teacher_pushes(hub: Hub, work: Path) -> None:
    """The teacher adds a line to a markdown cell of the chapter and a new file, commits and pushes."""
    git("clone", "--quiet", str(hub.bare_repo), str(work))
    path = work / "notebooks" / chapter_notebook(CHAPTER, find_chapters())
    nb = nbformat.read(path, as_version=4)
    markdown = [cell for cell in nb.cells if cell.cell_type == "markdown"]
    markdown[3].source += f"\n\n{TEACHER_LINE}"  # a section heading cell well below the learner's edit
    nbformat.write(nb, path)
    (work / TEACHER_FILE).write_text("# 老师的补充 / Teacher's note\n\n第 2 章课后请读 FAQ 的第 2 节。\n", encoding="utf-8")
    git("add", "-A", cwd=work)
    git("-c", "user.name=Teacher", "-c", "user.email=teacher@example.org", "commit", "--quiet", "-m",
        "Chapter 2: a note for the class", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)


def test_clicking_again_merges_the_teachers_push_and_keeps_the_learners_edit(hub, learners, tmp_path):
    name, page = LEARNERS[0], learners[LEARNERS[0]]
    open_link(hub, page, name)  # (already there after the test above; run alone, this is the first click)
    wait_for_chapter(page, name)
    on_disk = hub.notebook_on_disk(name)
    cells_before = len(nbformat.read(on_disk, as_version=4).cells)
    with step(f"edit {name}: type a line at the end of the first FAQ example's cell, then Ctrl+S", page):
        edited = page.locator(".jp-CodeCell", has_text="pairs = list(enumerate(chars))").first
        edited.scroll_into_view_if_needed()
        edited.locator(".cm-content").click()
        page.keyboard.press("Control+End")
        page.keyboard.press("Enter")
        page.keyboard.type(LEARNER_LINE)
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 30
        while LEARNER_LINE not in on_disk.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, "Ctrl+S did not write the edit to the learner's notebook within 30 s"
            time.sleep(0.5)
    teacher_pushes(hub, tmp_path / "teacher-work")

    open_link(hub, page, name)
    wait_for_chapter(page, name)
    merged = nbformat.read(hub.notebook_on_disk(name), as_version=4)
    sources = [cell.source for cell in merged.cells]
    assert any(source.endswith(LEARNER_LINE) for source in sources), "nbgitpuller's merge lost the learner's edit"
    assert any(source.endswith(TEACHER_LINE) for source in sources), "the teacher's change did not arrive"
    assert len(merged.cells) == cells_before
    assert (hub.homes / name / clone_dir(hub.bare_repo.as_uri()) / TEACHER_FILE).is_file(), "the new file did not arrive"
    with step(f"merged-view {name}: JupyterLab should show the teacher's line and the learner's", page):
        # Scrolled into view first: off-screen cells may not be rendered (markdown) or laid out (CodeMirror lines).
        teacher = page.locator(".jp-MarkdownCell", has_text=TEACHER_LINE[:5]).first
        teacher.scroll_into_view_if_needed()
        teacher.locator(".jp-RenderedMarkdown", has_text=TEACHER_LINE[:5]).wait_for()
        edited = page.locator(".jp-CodeCell", has_text="pairs = list(enumerate(chars))").first
        edited.scroll_into_view_if_needed()
        edited.locator(".cm-content", has_text=LEARNER_LINE[2:]).wait_for()  # back from disk after the merge


def test_stopping_the_hub_leaves_no_process(hub, learners):
    for page in learners.values():  # the learners close their tabs
        page.close()
    before = hub.descendants()
    kinds = " ".join(" ".join(p.cmdline()) for p in before)
    assert "configurable-http-proxy" in kinds and "jupyterhub-singleuser" in kinds and "ipykernel" in kinds, kinds
    strangers = [" ".join(p.cmdline()) for p in before if listening_ports([p]) and not started_by(hub, p.pid)]
    assert not strangers, f"every process of the hub that listens must be recognised by its HOME: {strangers}"
    alive, listening = stop(hub)
    assert hub.process.returncode is not None, f"jupyterhub did not exit within {STOP_S} s of SIGTERM"
    assert not alive, "left running after the hub stopped: " + "; ".join(
        f"{p.pid} {' '.join(p.cmdline())}" for p in alive if p.is_running())
    assert not listening, f"ports still open after the hub stopped: {sorted(listening)}"


def test_a_freed_port_taken_by_another_program_is_not_blamed_on_the_hub(tmp_path):
    """``stop`` blames a listening port on the hub only if its owner's HOME lies inside the hub's folder."""
    listen = ("import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
              "print(s.getsockname()[1], flush=True); time.sleep(60)")
    root = tmp_path / "hub"
    hub = Hub("http://127.0.0.1:1", "token", None, root / "homes", root / "bare", "password")
    for home, blamed in ((root / "homes" / "ada", True), (root, True), (tmp_path / "elsewhere", False)):
        owner = subprocess.Popen([sys.executable, "-c", listen], env=dict(os.environ, HOME=str(home)),
                                 stdout=subprocess.PIPE, text=True, encoding="utf-8")
        try:
            port = int(owner.stdout.readline())
            assert listeners()[port] == owner.pid
            assert started_by(hub, owner.pid) is blamed, home
        finally:
            owner.kill()
            owner.wait()
    assert started_by(hub, None), "an owner this user cannot see counts as the hub's"
