"""Real-browser tests: JupyterLab on 127.0.0.1 (free port, random token, isolated HOME and settings),
driven by Python Playwright with Debian's chromium, the way a learner clicks and types.

Without chromium or Playwright these tests skip with the reason; with NANOGPT_LITE_REQUIRE_BROWSER=1
(set by .ci/run) they fail instead. Each chapter module opens its notebook in a fresh kernel, clears
the saved outputs, runs every cell of its core path (the 选读 cells left out: nbval runs those), then drives the
chapter's widgets. Widget latencies go to
build/browser-latency.json, screenshots to build/test-artifacts/. Each chapter checks its widget in 900 and 600 px wide
windows in JupyterLab Light and Dark (:meth:`Chapter.readability`): readable text, nothing clipped.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from tools.handout import browser_unavailable, chromium

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "build" / "test-artifacts"
# Where the samples go; `make bench` (tools/bench/browser.py) points its idle and busy runs at files of their own.
LATENCY_FILE = Path(os.environ.get("NANOGPT_LITE_LATENCY_FILE") or REPO / "build" / "browser-latency.json")
REQUIRE_ENV = "NANOGPT_LITE_REQUIRE_BROWSER"

# User settings for the isolated JupyterLab: no news toast or update check, every cell kept in the DOM
# (the default windowing detaches off-screen cells), and no autosave: the run must never rewrite the
# committed notebooks.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True},  # as `make lab` sets it (Makefile)
}
# Each chapter runs on a copy here (ignored by git; pytest skips dot-folders), so a test may save it.
COPIES = REPO / "notebooks" / ".browser"
WIDGET_ERROR = "Error displaying widget"

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
# The toolbar's execution indicator reads "idle" before any kernel exists: also require the status bar's
# "<kernel name> | Idle" (it says "No Kernel | Initializing" until the kernel is connected).
KERNEL_IDLE_JS = """() => {
  const indicator = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status="idle"]');
  const status = [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent);
  return Boolean(indicator) && status.some(t => /\\| Idle/.test(t) && !/No Kernel/.test(t));
}"""
PROMPTS_JS = f"() => [...document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim())"
OUTPUTS_CLEARED_JS = f"""() => {{
  const prompts = ({PROMPTS_JS})();
  return prompts.length > 0 && prompts.every(p => p === '[ ]:') && !document.querySelector('{NOTEBOOK} .jp-OutputArea-output');
}}"""
# A hang, not a slow machine, should fail "Run All": chapter 6 trains for 115-133 s on an AMD EPYC alone and
# took over 300 s in the browser while another make target trained it too. Same bound as tools/execute_notebooks.
RUN_ALL_TIMEOUT_MS = 900_000
ALL_CELLS_RAN_JS = f"""() => {{
  const prompts = ({PROMPTS_JS})();
  return ({KERNEL_IDLE_JS})() && prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p));
}}"""

# Arms a MutationObserver on `target` before the input event. t0 is the first input event the page sees
# (keydown, pointerdown, input, change...), t1 the first mutation after it where the target's content
# differs from before, matches `pattern` and holds at least `images` loaded images: the moment the
# learner can read (and see) the update.
ARM_PROBE_JS = """([target, pattern, images]) => {
  const root = document.querySelector(target);
  if (!root) throw new Error('no element matches ' + target);
  const signature = () => root.innerText + '|' + [...root.querySelectorAll('img')].map(i => i.src.length + i.src.slice(-64)).join(',');
  const before = signature();
  const wanted = pattern === null ? null : new RegExp(pattern);
  const probe = {t0: null, t1: null};
  const start = () => { if (probe.t0 === null) probe.t0 = performance.now(); };
  for (const type of ['keydown', 'pointerdown', 'mousedown', 'input', 'change', 'click']) {
    document.addEventListener(type, start, {capture: true});
  }
  probe.observer = new MutationObserver(() => {
    if (probe.t0 === null || probe.t1 !== null) return;
    const complete = root.querySelectorAll('img').length >= images && [...root.querySelectorAll('img')].every(i => i.complete);
    if (signature() !== before && complete && (wanted === null || wanted.test(root.innerText))) {
      probe.t1 = performance.now();
      probe.observer.disconnect();
    }
  });
  probe.observer.observe(root, {subtree: true, childList: true, characterData: true, attributes: true});
  probe.stop = () => { for (const type of ['keydown', 'pointerdown', 'mousedown', 'input', 'change', 'click']) document.removeEventListener(type, start, {capture: true}); };
  window.__nlProbe = probe;
}"""

# Installed in every page before JupyterLab loads: timestamps of each websocket frame sent and received, so a latency
# sample splits into input → first frame sent (the browser and the widget's view), first frame sent → last frame received
# before the update shows (the server and the kernel), and that frame → the update (rendering).
WS_TIMING_JS = """(() => {
  const log = {sent: [], received: []};
  window.__nlWs = log;
  const Native = window.WebSocket;
  const send = Native.prototype.send;
  Native.prototype.send = function (data) { log.sent.push(performance.now()); return send.call(this, data); };
  class Timed extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => log.received.push(performance.now()));
    }
  }
  window.WebSocket = Timed;
})()"""
SPLIT_JS = """() => {
  const {t0, t1} = window.__nlProbe, log = window.__nlWs;
  const sent = log.sent.find(t => t >= t0);
  const got = log.received.filter(t => sent !== undefined && t >= sent && t <= t1).pop();
  log.sent.length = 0; log.received.length = 0;
  if (sent === undefined || got === undefined) return null;
  return {browser_ms: sent - t0, kernel_ms: got - sent, render_ms: t1 - got};
}"""

# Every element of an nl-* widget that ipywidgets marks disconnected (no live kernel): what its ::before shows.
DISCONNECTED_ICONS_JS = """() => [...document.querySelectorAll('[class*="nl-"].jupyter-widgets-disconnected, [class*="nl-"] .jupyter-widgets-disconnected')]
  .map(el => { const s = getComputedStyle(el, '::before'); return {root: /(^|\\s)nl-/.test(el.className), content: s.content, color: s.color}; })"""

# Output areas that take room on the page but show nothing (no text, picture or control): e.g. a progress bar that
# tqdm hid with ``visibility: hidden`` when it closed, which keeps its height.
BLANK_OUTPUTS_JS = f"""() => [...document.querySelectorAll('{NOTEBOOK} .jp-OutputArea-output')]
  .filter(el => el.getBoundingClientRect().height > 8 && !el.innerText.trim()
                && !el.querySelector('img, svg, canvas, input, button, select, textarea'))
  .map(el => {{
    const cell = el.closest('.jp-Cell');
    const prompt = cell ? cell.querySelector('.jp-InputPrompt') : null;
    return `a blank output ${{Math.round(el.getBoundingClientRect().height)}} px high under cell ${{prompt ? prompt.textContent.trim() : '?'}}: ` +
           (cell ? cell.querySelector('.jp-InputArea-editor').innerText.trim().split('\\n')[0].slice(0, 60) : '');
  }})"""

NARROW_PX = 760
LEFT_SIDEBAR_OPEN_JS = """() => Boolean(document.querySelector('.jp-SideBar.lm-TabBar.jp-mod-left .lm-TabBar-tab.lm-mod-current'))"""

THEME_APPLIED_JS = """theme => document.body.dataset.jpThemeName === theme
  && getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim() !== ''"""

# What a learner cannot read or cannot see in the widget ``root``: (a) visible text whose WCAG contrast with the
# background behind it (the first opaque ancestor background, with translucent ones composited on top) is under
# 4.5 (3 for large text); (b) an element past the widget's right edge, or one that clips or scrolls its content
# (overflow not visible and scrollWidth > clientWidth), unless it sits inside an explicit scroller (class nl-scroll, overflow-x: auto; an
# ipywidgets box is overflow: auto too, but a control the learner must scroll sideways to find counts as clipped);
# (c) the widget itself past the notebook's visible right edge. Measured after two animation frames, so a resize or theme change has been laid out.
LAYOUT_PROBLEMS_JS = """async rootSelector => {
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const root = document.querySelector(rootSelector);
  if (!root) throw new Error('no element matches ' + rootSelector);
  const rgba = text => {
    const m = text.match(/rgba?\\(([^)]*)\\)/);
    if (!m) return null;
    const [r, g, b, a] = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r, g, b, a: a === undefined ? 1 : a};
  };
  const over = (top, below) => ({r: top.r * top.a + below.r * (1 - top.a), g: top.g * top.a + below.g * (1 - top.a),
                                 b: top.b * top.a + below.b * (1 - top.a), a: 1});
  const behind = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    return layers.reverse().reduce((below, top) => over(top, below), {r: 255, g: 255, b: 255, a: 1});
  };
  const luminance = c => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const visible = el => {
    const style = getComputedStyle(el);
    return el.getClientRects().length > 0 && style.visibility !== 'hidden' && Number(style.opacity) > 0;
  };
  const name = el => {
    const text = (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    return `<${el.tagName.toLowerCase()} class="${el.className.baseVal ?? el.className}"> "${text}"`;
  };
  const scroller = el => el.classList.contains('nl-scroll') && ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const scrolled = el => {
    for (let e = el.parentElement; e && e !== root.parentElement; e = e.parentElement) if (scroller(e)) return true;
    return false;
  };
  const problems = [];
  let shown = window.innerWidth;  // the right edge of what the notebook shows: ancestors that clip or scroll cut it
  for (let e = root.parentElement; e; e = e.parentElement) {
    if (getComputedStyle(e).overflowX !== 'visible') shown = Math.min(shown, e.getBoundingClientRect().left + e.clientWidth);
  }
  const right = root.getBoundingClientRect().right;
  if (right > shown + 1) problems.push(`the widget ends at x=${right.toFixed(0)}, past the visible notebook (${shown.toFixed(0)})`);
  const edge = Math.min(right, shown);
  for (const el of [root, ...root.querySelectorAll('*')]) {
    if (['STYLE', 'SCRIPT'].includes(el.tagName) || !visible(el)) continue;
    const style = getComputedStyle(el);
    const texts = [...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (texts || (['INPUT', 'TEXTAREA', 'SELECT', 'BUTTON'].includes(el.tagName) && (el.value || el.innerText || '').trim())) {
      const background = behind(el);
      const ratio = contrast(over(rgba(style.color), background), background);
      const size = parseFloat(style.fontSize);
      const needed = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700) ? 3 : 4.5;
      if (ratio < needed) {
        problems.push(`contrast ${ratio.toFixed(2)} < ${needed}: ${name(el)} (${style.color} on rgb(${[background.r, background.g, background.b].map(Math.round)}))`);
      }
    }
    if (scrolled(el)) continue;
    const end = el.getBoundingClientRect().right;
    if (end > edge + 1) problems.push(`${name(el)} ends at x=${end.toFixed(0)}, past the widget's visible right edge ${edge.toFixed(0)}`);
    if (!scroller(el) && style.overflowX !== 'visible' && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} clips its content: scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth}`);
    }
  }
  return problems;
}"""


def require_browser() -> None:
    """Skip (or, under CI, fail) when chromium or Playwright is missing."""
    reason = browser_unavailable()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 says the browser tests must run", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): with few samples, p95 is the slowest one."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Chapter:
    """A notebook open in JupyterLab after a clean run of every cell, with helpers to drive its widgets."""

    page: object  # playwright Page
    name: str
    latencies: dict[str, list[float]]
    splits: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    lab: "Lab | None" = None
    browser: object = None
    notebook: str = ""  # the copy this chapter runs on, relative to the repository

    def save_and_reopen(self, css_classes: list[str]) -> list[str]:
        """What goes wrong when a learner saves the run chapter (File → Save Notebook), closes it and opens it again
        in a fresh kernel: a widget missing, an "Error displaying widget", or a widget whose text differs from what it
        showed before the save (the file must carry its last state)."""
        before = {css: self.text(f".{css}") for css in css_classes}
        click_menu(self.page, "File", "Save Notebook")
        self.page.wait_for_function("() => !document.querySelector('.jp-mod-current.jp-mod-dirty')", timeout=60_000)
        self.lab.stop_kernels(self.notebook)
        context = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        console = []  # the browser's console errors, shown when something is wrong (the widget manager logs there)
        page.on("console", lambda message: message.type == "error" and console.append(message.text[:300]))
        problems = []
        try:
            page.goto(f"{self.lab.url}/lab/tree/{self.notebook}?token={self.lab.token}&reset")
            page.wait_for_function(KERNEL_IDLE_JS, timeout=120_000)
            for css, text in before.items():
                widget = page.locator(f".{css}").first
                try:
                    widget.wait_for(state="attached", timeout=30_000)
                except Exception:  # playwright's TimeoutError
                    problems.append(f"{css}: not shown after reopening")
                    continue
                if widget.inner_text() != text:
                    problems.append(f"{css}: shows other text after reopening:\n{widget.inner_text()[:300]!r}\n"
                                    f"before the save:\n{text[:300]!r}")
            errors = page.get_by_text(WIDGET_ERROR).all_inner_texts()
            problems += [f"{WIDGET_ERROR}: {e[:200]}" for e in errors]
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"{self.name}-reopened.png")
            if problems:
                problems += [f"console: {line}" for line in console]
        finally:
            context.close()
            self.lab.stop_kernels(self.notebook)
        return problems

    def widget(self, css_class: str):
        """The (first) widget carrying ``css_class``, scrolled into view."""
        locator = self.page.locator(f".{css_class}").first
        locator.scroll_into_view_if_needed()
        return locator

    def measure(self, css_class: str, target: str, action: Callable[[], None], pattern: str | None = None,
                images: int = 0, timeout_ms: float = 30_000) -> float:
        """Run ``action`` (one learner input) and return the ms until ``target`` shows new content matching
        ``pattern`` (a JS regex) with at least ``images`` images; the sample is recorded for ``css_class``."""
        self.page.evaluate(ARM_PROBE_JS, [target, pattern, images])
        action()
        try:
            self.page.wait_for_function("() => window.__nlProbe.t1 !== null", timeout=timeout_ms)
        finally:
            self.page.evaluate("() => window.__nlProbe.stop()")
        elapsed = self.page.evaluate("() => window.__nlProbe.t1 - window.__nlProbe.t0")
        self.latencies.setdefault(css_class, []).append(round(elapsed, 1))
        split = self.page.evaluate(SPLIT_JS)
        if split is not None:
            self.splits.setdefault(css_class, []).append(split)
        return elapsed

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text()

    def errors(self, within: str = NOTEBOOK) -> list[str]:
        """Tracebacks shown anywhere in ``within`` (cell outputs and widget outputs alike)."""
        return self.page.locator(f'{within} [data-mime-type="application/vnd.jupyter.error"]').all_inner_texts()

    def screenshot(self, css_class: str, suffix: str = "") -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.widget(css_class).screenshot(path=ARTIFACTS / f"{self.name}-{css_class}{suffix}.png")

    def set_theme(self, theme: str) -> None:
        """Settings → Theme → ``theme`` (e.g. "JupyterLab Dark"), as a learner picks it; waits until it applies."""
        click_menu(self.page, "Settings", "Theme", theme)
        self.page.wait_for_function(THEME_APPLIED_JS, arg=theme)

    def readability(self, css_class: str, widths: tuple[int, ...] = (900, 600)) -> list[str]:
        """The widget's layout problems (see ``LAYOUT_PROBLEMS_JS``) in windows ``widths`` px wide (a laptop's half
        screen, a phone held sideways), in JupyterLab Light and Dark, with a screenshot of each. The theme is a user
        setting the server keeps for the next chapter, so Light and the window size are put back afterwards."""
        size = self.page.viewport_size
        found = []
        try:
            for theme in ("JupyterLab Light", "JupyterLab Dark"):
                self.set_theme(theme)
                for width in widths:
                    self.page.set_viewport_size({"width": width, "height": size["height"]})
                    # Under 760 px the file browser would leave the notebook 270 px: a learner closes it (its tab).
                    self.left_sidebar(open_=width >= NARROW_PX)
                    found += [f"{theme}, {width} px: {problem}"
                              for problem in self.page.evaluate(LAYOUT_PROBLEMS_JS, f".{css_class}")]
                    self.screenshot(css_class, f"-{theme.split()[-1].lower()}-{width}px")
        finally:
            self.set_theme("JupyterLab Light")
            self.page.set_viewport_size(size)
            self.left_sidebar(open_=True)
        return found

    def left_sidebar(self, open_: bool) -> None:
        """Open or close JupyterLab's left sidebar (the file browser) by clicking its tab, as a learner does."""
        is_open = self.page.evaluate(LEFT_SIDEBAR_OPEN_JS)
        if is_open != open_:
            self.page.click(".jp-SideBar.lm-TabBar.jp-mod-left .lm-TabBar-tab:first-child")
            self.page.wait_for_function(f"() => ({LEFT_SIDEBAR_OPEN_JS})() === {str(open_).lower()}")


@dataclass
class Lab:
    """A running JupyterLab server."""

    url: str
    token: str
    process: subprocess.Popen
    log: Path
    latencies: dict[str, list[float]] = field(default_factory=dict)
    splits: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def stop_kernels(self, notebook: str) -> None:
        """Shut down every session on ``notebook`` so the next open starts a fresh kernel."""
        for session in self.api("GET", "/api/sessions"):
            if session["path"] == notebook:
                self.api("DELETE", f"/api/sessions/{session['id']}")

    def first_open(self, page, notebook: str) -> dict[str, object]:
        """Open ``notebook`` as a learner first does, run nothing, and report what shows: the ::before icon of every
        nl-* widget element that ipywidgets marks disconnected, widget errors, and outputs that are blank gaps."""
        page.goto(f"{self.url}/lab/tree/{notebook}?token={self.token}&reset")
        try:
            page.wait_for_function(KERNEL_IDLE_JS, timeout=120_000)
            page.locator(".jp-Notebook .jp-OutputArea-output").first.wait_for(state="attached")
            page.wait_for_timeout(3_000)  # the widget manager restores the saved state after the kernel is up
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            widget = page.locator(".nanogpt-lite-waits").first  # widgets/saved.py's WAITING_CLASS
            if widget.count():
                widget.scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / f"{Path(notebook).stem}-first-open.png")
            return {"icons": page.evaluate(DISCONNECTED_ICONS_JS), "errors": page.get_by_text(WIDGET_ERROR).all_inner_texts(),
                    "blank": page.evaluate(BLANK_OUTPUTS_JS)}
        finally:
            self.stop_kernels(notebook)

    @contextmanager
    def run_all(self, browser, notebook: str) -> Iterator[Chapter]:
        """Open ``notebook``'s core path (relative to the repository; see :func:`write_core_path`) in a fresh kernel,
        clear the saved outputs with the Edit menu, run every cell with the Run menu, and check that no cell shows an
        error."""
        path = REPO / notebook
        if not path.is_file():
            pytest.fail(f"{notebook} does not exist", pytrace=False)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        COPIES.mkdir(exist_ok=True)
        copy = COPIES / path.name
        write_core_path(path, copy)
        notebook = copy.relative_to(REPO).as_posix()
        self.stop_kernels(notebook)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(WS_TIMING_JS)
        page = context.new_page()
        page.set_default_timeout(60_000)
        name = path.stem
        try:
            page.goto(f"{self.url}/lab/tree/{notebook}?token={self.token}&reset")
            page.wait_for_function(KERNEL_IDLE_JS, timeout=120_000)
            click_menu(page, "Edit", "Clear Outputs of All Cells")
            page.wait_for_function(OUTPUTS_CLEARED_JS)
            click_menu(page, "Run", "Run All Cells")
            page.wait_for_function(ALL_CELLS_RAN_JS, timeout=RUN_ALL_TIMEOUT_MS)
            chapter = Chapter(page, name, self.latencies, self.splits, lab=self, browser=browser, notebook=notebook)
            errors = chapter.errors()
            assert not errors, f"{notebook}: cells show errors:\n" + "\n---\n".join(errors)
            yield chapter
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"{name}.png")
            context.close()
            self.stop_kernels(notebook)
            copy.unlink(missing_ok=True)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"the browser run rewrote {path}"


def write_core_path(notebook: Path, copy: Path) -> None:
    """``notebook`` without its 选读 cells (tagged ``optional``) at ``copy``: what a learner on the core path runs.
    Every widget the browser drives is in a core cell, and no core cell needs a 选读 one (tests/test_core_path.py);
    nbval runs every cell, and tests/browser/test_first_open.py shows every saved output."""
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [cell for cell in nb.cells if "optional" not in cell.metadata.get("tags", [])]
    nbformat.write(nb, copy)


def click_menu(page, menu: str, *items: str) -> None:
    """Choose ``menu`` → ``items`` (a submenu, then its item...) from JupyterLab's menu bar, as a learner would."""
    page.click(f'.lm-MenuBar-itemLabel:text-is("{menu}")')
    for item in items:
        page.click(f'.lm-Menu:visible .lm-Menu-itemLabel:text-is("{item}")')


def write_lab_settings(settings_dir: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        target = settings_dir / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")


def wait_until_up(lab: Lab, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {lab.process.returncode}:\n{lab.log.read_text(encoding='utf-8', errors='replace')[-3000:]}")
        try:
            lab.api("GET", "/api/status")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise RuntimeError(f"jupyter lab did not answer within {timeout_s} s:\n{lab.log.read_text(encoding='utf-8', errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def browser():
    """One chromium per test module: Playwright's sync API cannot run two at once (tests/test_handout.py has its own)."""
    require_browser()
    with chromium() as started:
        yield started


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Iterator[Lab]:
    """JupyterLab on the repository, with its own HOME, runtime, settings and workspaces directories.

    IPython and matplotlib directories are the test session's isolated ones (tests/../conftest.py), so the
    kernel finds matplotlib's font cache already built.
    """
    require_browser()
    home = tmp_path_factory.mktemp("lab-home")
    env = dict(os.environ, HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"))
    write_lab_settings(home / "settings")
    # As `make lab` does: trusted notebooks draw their saved widgets (tests/browser/test_first_open.py looks at them).
    subprocess.run([sys.executable, "-m", "jupyter", "trust", *map(str, sorted((REPO / "notebooks").glob("*.ipynb")))],
                   env=env, check=True, capture_output=True)
    port, token = free_port(), secrets.token_hex(16)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"jupyter-lab{os.environ.get('PYTEST_XDIST_WORKER', '')}.log"  # one server per pytest-xdist worker
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip", "127.0.0.1",
               "--port", str(port), "--ServerApp.port_retries=0", f"--ServerApp.token={token}",
               f"--ServerApp.root_dir={REPO}", "--LabApp.news_url=None",
               f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",  # not .ipynb_checkpoints/ in the repo
               "--ContentsManager.allow_hidden=True"]  # the chapters run on copies in notebooks/.browser/
    with open(log, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=home)
    server = Lab(f"http://127.0.0.1:{port}", token, process, log)
    try:
        wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        write_latencies(server.latencies, server.splits)


def write_latencies(latencies: dict[str, list[float]], splits: dict[str, list[dict[str, float]]] | None = None) -> None:
    """Merge this run's samples into build/browser-latency.json (widgets not driven this time are kept), with the
    median of each part of a sample (see ``WS_TIMING_JS``)."""
    if not latencies:
        return
    LATENCY_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LATENCY_FILE.with_suffix(".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist: two workers' servers may finish at once
        _merge_latencies(latencies, splits)


def _merge_latencies(latencies: dict[str, list[float]], splits: dict[str, list[dict[str, float]]] | None) -> None:
    report = json.loads(LATENCY_FILE.read_text(encoding="utf-8")) if LATENCY_FILE.is_file() else {}
    for css_class, samples in latencies.items():
        report[css_class] = {"samples_ms": samples, "p50_ms": round(percentile(samples, 50), 1),
                             "p95_ms": round(percentile(samples, 95), 1)}
        parts = (splits or {}).get(css_class)
        if parts:
            report[css_class]["split_p50_ms"] = {key: round(percentile([p[key] for p in parts], 50), 1) for key in parts[0]}
            report[css_class]["split_p95_ms"] = {key: round(percentile([p[key] for p in parts], 95), 1) for key in parts[0]}
    LATENCY_FILE.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
