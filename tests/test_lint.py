"""Every text file the project opens names its encoding: the locale's default is GBK on Chinese Windows.

ruff's PLW1514 (``unspecified-encoding``, a preview rule) sees ``open(...)``, ``io.TextIOWrapper``,
``tempfile`` text modes and ``Path(...).read_text()`` on a literal ``Path(...)``; it cannot tell that
``some_path.read_text()`` is a Path method, so :func:`text_calls_without_encoding` checks those.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("nanogpt_lite", "tools", "tests", "conftest.py")
RUFF = (sys.executable, "-m", "ruff", "check", "--isolated", "--preview", "--select", "PLW1514", "--no-cache",
        "--output-format", "concise")
ENCODING_POSITION = {"read_text": 0, "write_text": 1}  # where encoding= sits among the positional arguments


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def ruff(*paths: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``ruff check`` for unspecified encodings on ``paths``; skips (fails under CI) without ruff."""
    if importlib.util.find_spec("ruff") is None:
        if in_ci():
            pytest.fail("ruff is not installed, and CI must run the lint: pip install -e '.[test]'")
        pytest.skip("ruff 未安装，跳过编码检查 / ruff is not installed: pip install -e '.[test]'")
    return subprocess.run([*RUFF, *paths], cwd=cwd, capture_output=True, text=True, encoding="utf-8")


def text_calls_without_encoding(source: str, filename: str) -> list[str]:
    """``file:line`` of each ``x.read_text(...)`` / ``x.write_text(...)`` call that passes no encoding."""
    found = []
    for node in sorted(ast.walk(ast.parse(source, filename)), key=lambda node: getattr(node, "lineno", 0)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ENCODING_POSITION
                and not any(kw.arg in ("encoding", None) for kw in node.keywords)  # None: **kwargs
                and len(node.args) <= ENCODING_POSITION[node.func.attr]):
            found.append(f"{filename}:{node.lineno}: .{node.func.attr}() without encoding=")
    return found


def checked_files() -> list[Path]:
    """The Python files under ``CHECKED``."""
    return sorted(path for name in CHECKED
                  for path in ([ROOT / name] if name.endswith(".py") else (ROOT / name).rglob("*.py")))


def test_ruff_finds_no_unspecified_encoding():
    result = ruff(*CHECKED, cwd=ROOT)
    assert result.returncode == 0, f"pass encoding=\"utf-8\":\n{result.stdout}{result.stderr}"


def test_ruff_reports_an_unspecified_encoding(tmp_path):
    (tmp_path / "bad.py").write_text('open("x")\n', encoding="utf-8")
    (tmp_path / "good.py").write_text('open("x", encoding="utf-8")\nopen("x", "rb")\n', encoding="utf-8")
    bad, good = ruff("bad.py", cwd=tmp_path), ruff("good.py", cwd=tmp_path)
    assert bad.returncode == 1 and "bad.py:1:1:" in bad.stdout, bad.stdout + bad.stderr
    assert good.returncode == 0, good.stdout + good.stderr


def test_path_text_calls_pass_an_encoding():
    found = [hit for path in checked_files()
             for hit in text_calls_without_encoding(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not found, "pass encoding=\"utf-8\":\n" + "\n".join(found)


def test_path_text_check_reports_calls_without_encoding():
    source = 'p.read_text()\np.write_text("x")\np.read_text("utf-8")\np.write_text("x", encoding="utf-8")\n' \
             "p.write_text(**options)\n"
    assert text_calls_without_encoding(source, "t.py") == [
        "t.py:1: .read_text() without encoding=", "t.py:2: .write_text() without encoding="]
