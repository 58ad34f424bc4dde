"""tools/torch_index.py, make's pre-flight for TORCH_INDEX, against servers on 127.0.0.1 only.

An index that answers passes; a port nobody listens on, a server that never answers, one that trickles
bytes, a 404 and a page without torch fail within the deadline, with the fix in Chinese first, then English.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path

import pytest

from tools import torch_index

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
WHEEL_PAGE = (b'<!DOCTYPE html><html><body><h1>Links for torch</h1>\n'
              b'<a href="/whl/cpu/torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl#sha256=00">'
              b'torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl</a><br/>\n</body></html>\n')


def run_tool(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m tools.torch_index ARGS`` with no proxy settings (loopback must not go through one)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tools.torch_index", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - start


@contextmanager
def index_server(status: int = 200, body: bytes = WHEEL_PAGE) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 answering every GET with ``status`` and ``body``; yields its base URL."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.append(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
        assert seen and all(path == "/whl/cpu/torch/" for path in seen), seen
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """A socket on 127.0.0.1 that accepts connections (the kernel's backlog) but never reads or answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/whl/cpu"


@contextmanager
def trickling_server(seconds: float = 8.0) -> Iterator[str]:
    """Answers 200 and then one byte every 0.2 s for ``seconds``: no single read ever times out."""
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)

    def serve() -> None:
        connections = []
        deadline = time.monotonic() + seconds
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    connection, _ = listener.accept()
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
                    connections.append(connection)
                except TimeoutError:
                    pass
                for connection in connections:
                    try:
                        connection.sendall(b"x")
                    except OSError:
                        pass
        finally:
            for connection in connections:
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/whl/cpu"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def refused_url() -> tuple[socket.socket, str]:
    """A port bound on 127.0.0.1 but not listening: a connection is refused at once (keep the socket open)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder, f"http://127.0.0.1:{holder.getsockname()[1]}/whl/cpu"


def assert_advice(stderr: str, url: str) -> None:
    """The message: Chinese before English, the index named, both fixes given as commands."""
    first_cjk = CJK.search(stderr)
    assert first_cjk and first_cjk.start() < stderr.index("cannot reach the torch index"), stderr
    assert f"{url}/torch/" in stderr
    for mirror in torch_index.MIRRORS:
        assert f"make lab TORCH_INDEX={mirror}" in stderr
    assert "make lab TORCH_INDEX= PIP_INDEX_URL=" in stderr
    assert "CUDA" in stderr and "镜像" in stderr


def test_an_index_that_lists_torch_passes():
    with index_server() as url:
        done, _ = run_tool(url)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_a_trailing_slash_reads_the_same_page():
    with index_server() as url:
        done, _ = run_tool(url + "/")
    assert done.returncode == 0, done.stderr


def test_a_port_nobody_listens_on_fails_at_once_with_the_fix():
    holder, url = refused_url()
    with holder:
        done, seconds = run_tool(url, "--goal", "lab")
    assert done.returncode == 1
    assert_advice(done.stderr, url)
    assert "连接被拒绝" in done.stderr and "connection is refused" in done.stderr
    assert seconds < 10


def test_a_server_that_never_answers_fails_within_the_deadline():
    with silent_server() as url:
        done, seconds = run_tool(url, "--timeout", "2")
    assert done.returncode == 1
    assert_advice(done.stderr, url)
    assert seconds < 2 + 8  # the deadline, plus the interpreter's start on a busy machine


def test_the_deadline_covers_the_whole_check_not_each_read():
    """A server that trickles a byte every 0.2 s never trips a socket timeout; the total deadline stops it."""
    with trickling_server() as url:
        start = time.monotonic()
        with pytest.raises(torch_index.Unreachable) as caught:
            torch_index.probe(url, timeout_s=1.5)
        seconds = time.monotonic() - start
    assert 1.4 < seconds < 4
    assert "1.5 秒内没有回答" in caught.value.zh and "no answer within 1.5 s" in caught.value.en


def test_an_http_error_and_a_page_without_torch_fail():
    with index_server(status=404, body=b"not found") as url:
        done, _ = run_tool(url)
    assert done.returncode == 1 and "HTTP 404" in done.stderr
    assert_advice(done.stderr, url)
    with index_server(body=b"<html><a href='numpy-2.4.6.whl'>numpy</a> captive portal</html>") as url:
        done, _ = run_tool(url)
    assert done.returncode == 1 and "no torch wheel" in done.stderr and "没有 torch" in done.stderr


def test_an_installed_torch_of_the_locked_version_skips_the_check():
    """Rebuilding the venv offline must not fail here: pip does not ask the index for a torch it has."""
    holder, url = refused_url()
    with holder:
        installed = version("torch").split("+")[0]
        assert run_tool(url, "--torch", installed)[0].returncode == 0
        assert run_tool(url, "--torch", "0.0.1")[0].returncode == 1


def test_the_advice_repeats_the_make_target():
    holder, url = refused_url()
    with holder:
        done, _ = run_tool(url, "--goal", "test")
    assert f"make test TORCH_INDEX={torch_index.MIRRORS[0]}" in done.stderr


def test_make_checks_the_index_before_installing_torch():
    from tests.test_start_page import make_dry

    dry = make_dry("setup", "TORCH_INDEX=https://mirror.example/cpu")
    check = dry.index("-m tools.torch_index https://mirror.example/cpu --torch 2.13.0")
    assert check < dry.index("--index-url https://mirror.example/cpu torch==2.13.0")
    assert "tools.torch_index" not in make_dry("setup", "TORCH_INDEX=")
