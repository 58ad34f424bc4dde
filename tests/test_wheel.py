"""A wheel built from the repository carries its texts (tiny Shakespeare, 《全唐诗》): they load with no repo, no
network and an empty HOME, and the wheel stays under 10 MB (issue 30)."""
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(out), str(ROOT)],
        check=True, cwd=out,
    )
    (found,) = out.glob("nanogpt_lite-*.whl")
    return found


def test_wheel_contains_the_compressed_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ["tinyshakespeare.txt.xz", "tang_poems.txt.xz", "tang_poems.LICENSE", "shakespeare_char_ckpt.pt"]:
        assert f"nanogpt_lite/data/{shipped}" in names
    assert not [n for n in names if n.endswith("input.txt")]
    assert wheel.stat().st_size < 10_000_000, f"{wheel.stat().st_size:,} bytes"


def test_installed_wheel_loads_tiny_shakespeare_in_an_empty_home(wheel, tmp_path):
    env_dir, home, work = tmp_path / "venv", tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    target = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                    "--target", target, str(wheel)], check=True)
    # torch & co. come from this environment, appended *after* the new venv's own site-packages,
    # so nanogpt_lite itself can only be the installed wheel (cwd is an empty folder, not the repo).
    script = (
        f"import sys; sys.path.append({sysconfig.get_paths()['purelib']!r})\n"
        "import hashlib, nanogpt_lite as nl, nanogpt_lite.data as D\n"
        "text = nl.load_text()\n"
        "print(nl.__file__)\n"
        "print(hashlib.sha256(text.encode()).hexdigest() == D.SHA256, len(text))\n"
        "tang = nl.load_text('tang').encode()\n"
        "print(hashlib.sha256(tang).hexdigest() == D.TANG.sha256, len(tang))\n"
    )
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    where, verdict, tang = result.stdout.splitlines()
    assert where.startswith(str(env_dir)), where
    assert verdict == "True 1115394"
    assert tang == "True 12663009"
    assert list(home.iterdir()) == []  # nothing written to HOME: no cache, no download
