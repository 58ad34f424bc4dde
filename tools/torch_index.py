"""Pre-flight for ``make``: does the torch index (``TORCH_INDEX``) answer, before pip tries it for minutes?

    python -m tools.torch_index https://download.pytorch.org/whl/cpu [--torch 2.13.0] [--goal lab]

Fetches ``INDEX/torch/`` (the page pip reads first) and looks for a torch wheel on it, all within
``--timeout`` seconds (10), name lookup included. Exit 0: the index answers like one (or ``--torch``'s
version is installed already, so pip will not ask); exit 1: it does not, and stderr says, in Chinese and
then English, what failed and what to run instead. Standard library only: it runs before anything is installed.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import ssl
import sys
import threading
import urllib.error
import urllib.request
from importlib.metadata import PackageNotFoundError, version

TIMEOUT_S = 10.0
WHEEL = re.compile(rb"torch-[^\"'<>\s]*\.whl")
READ_LIMIT = 4 << 20  # a torch page lists a wheel in its first lines; stop reading after 4 MB
# Mirrors of download.pytorch.org/whl/cpu that learners in mainland China can try: examples only, none is a
# default (this check tells within seconds whether the one you pick answers).
MIRRORS = (
    "https://mirror.nju.edu.cn/pytorch/whl/cpu",
    "https://mirror.sjtu.edu.cn/pytorch-wheels/cpu",
    "https://mirrors.aliyun.com/pytorch-wheels/cpu",
)
PYPI_MIRROR = "https://pypi.tuna.tsinghua.edu.cn/simple"


class Unreachable(Exception):
    """The index did not answer like a package index; ``zh`` and ``en`` say how."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def page_url(index: str) -> str:
    """The simple-index page pip reads for torch."""
    return index.rstrip("/") + "/torch/"


def _fetch(url: str, timeout_s: float) -> None:
    """Raise :class:`Unreachable` unless ``url`` answers 200 with a torch wheel link."""
    context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
    request = urllib.request.Request(url, headers={"Accept": "text/html", "User-Agent": "nanogpt-faq torch_index"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=context) as answer:
            seen, total = b"", 0
            while total < READ_LIMIT:
                chunk = answer.read(65536)
                if not chunk:
                    break
                total += len(chunk)
                seen = seen[-200:] + chunk  # a link cut between two reads is still found
                if WHEEL.search(seen):
                    return
    except urllib.error.HTTPError as error:
        raise Unreachable(f"它回答 HTTP {error.code}（地址不对？）",
                          f"it answers HTTP {error.code} (a wrong address?)") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise  # reachable; pip may trust the certificate where Python does not: main() lets pip try
        if isinstance(reason, socket.gaierror):
            raise Unreachable("域名解析失败", "its host name does not resolve") from None
        if isinstance(reason, ConnectionRefusedError):
            raise Unreachable("连接被拒绝", "the connection is refused") from None
        if isinstance(reason, TimeoutError):
            raise Unreachable("连接超时", "the connection timed out") from None
        raise Unreachable(f"连接失败（{reason}）", f"the connection fails ({reason})") from None
    except TimeoutError:
        raise Unreachable("连上了，但它迟迟不回答", "it accepts the connection but does not answer") from None
    except OSError as error:
        raise Unreachable(f"连接中断（{error}）", f"the connection breaks ({error})") from None
    raise Unreachable("它回答了，但页面上没有 torch 的安装包（不是 torch 的索引？）",
                      "it answers, but the page lists no torch wheel (not a torch index?)")


def probe(index: str, timeout_s: float = TIMEOUT_S) -> None:
    """Raise :class:`Unreachable` unless ``index`` serves a torch page within ``timeout_s`` seconds in all.

    The fetch runs in a daemon thread, so a name lookup that hangs or a server that trickles bytes
    cannot hold ``make`` past the deadline.
    """
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            _fetch(page_url(index), timeout_s)
            outcome.append(None)
        except BaseException as error:  # handed to the caller's thread
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout_s)
    if not outcome:
        raise Unreachable(f"{timeout_s:g} 秒内没有回答", f"no answer within {timeout_s:g} s")
    if outcome[0] is not None:
        raise outcome[0]


def advice(index: str, problem: Unreachable, goal: str = "lab") -> str:
    """The learner's message: what failed, then the two ways through, Chinese first, then English."""
    make = f"make {goal}"
    mirrors = "\n".join(f"      {make} TORCH_INDEX={mirror}" for mirror in MIRRORS)
    return (
        f"连不上 torch 的安装索引 TORCH_INDEX / cannot reach the torch index TORCH_INDEX: {page_url(index)}\n"
        f"  原因：{problem.zh} / why: {problem.en}\n"
        "  这样下去 pip 会重试好几分钟然后失败，所以先停在这里。\n"
        "  pip would retry for minutes and then fail, so make stops here.\n"
        "  办法一：换成这个 CPU 索引的镜像，下面是几个例子，哪个能用请自己试（make 会先这样检查它）。\n"
        "  Fix 1: a mirror of this CPU index; examples below, try which one answers (make checks it like this first):\n"
        f"{mirrors}\n"
        "  办法二：TORCH_INDEX 留空，从 PyPI 或国内的 PyPI 镜像装 torch。注意：PyPI 上 Linux 的 torch 是 CUDA 版，\n"
        "  要下载约 2.5 GB，虚拟环境约 5 GB。\n"
        "  Fix 2: TORCH_INDEX= (empty) takes torch from PyPI or a PyPI mirror. Note: PyPI's Linux torch is the CUDA\n"
        "  build, about 2.5 GB to download and a 5 GB venv:\n"
        f"      {make} TORCH_INDEX= PIP_INDEX_URL={PYPI_MIRROR}\n"
    )


def installed(wanted: str) -> bool:
    """Whether torch ``wanted`` (local label ignored: 2.13.0+cpu is 2.13.0) is installed here."""
    try:
        return version("torch").split("+")[0] == wanted
    except PackageNotFoundError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", help="the torch index (TORCH_INDEX), e.g. https://download.pytorch.org/whl/cpu")
    parser.add_argument("--torch", metavar="VERSION", help="skip the check when this torch version is installed")
    parser.add_argument("--goal", default="lab", help="the make target to repeat in the advice (lab)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds for the whole check (10)")
    args = parser.parse_args(argv)
    if args.torch and installed(args.torch):
        return 0
    if not args.index.startswith(("http://", "https://")):
        return 0  # a local index (file://…): nothing to wait for
    try:
        probe(args.index, args.timeout)
    except Unreachable as problem:
        print(advice(args.index, problem, args.goal), file=sys.stderr, end="")
        return 1
    except urllib.error.URLError as error:  # the certificate: the host answers; let pip judge it
        print(f"注意：{page_url(args.index)} 的证书 Python 不认，交给 pip 试 / note: Python does not trust "
              f"{page_url(args.index)}'s certificate ({error.reason}); pip tries it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
