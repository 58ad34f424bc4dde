"""nbgitpuller links for a class hub: one link per chapter clones (or updates) the notebooks and opens them.

    python -m nanogpt_lite.classroom link --hub https://HUB --chapter 1
    python -m nanogpt_lite classroom link --hub https://HUB --chapter 2 --repo URL --branch main --app lab

The link is ``HUB/hub/user-redirect/git-pull?repo=...&urlpath=...&branch=...`` with every value
percent-encoded. nbgitpuller clones ``repo`` into a folder named after the last part of its URL (the
"clone dir": ``.../nanogpt-faq-notebooks`` gives ``nanogpt-faq-notebooks``), so ``urlpath`` opens
``<clone dir>/notebooks/NN_name.ipynb``. Chapters are the ``notebooks/NN_*.ipynb`` files of this
repository (for a package installed from a wheel: ``./notebooks``, or wherever ``--notebooks`` points).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

DEFAULT_REPO = "https://github.com/nanogpt-faq/nanogpt-faq-notebooks"
DEFAULT_BRANCH = "main"
REPO_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = REPO_NOTEBOOKS if REPO_NOTEBOOKS.is_dir() else Path("notebooks")
"""The repository's notebooks/ for an editable install; for an installed wheel, notebooks/ in the current folder."""
APPS = {"lab": "lab/tree/", "notebook": "notebooks/"}
"""Where each front end opens a notebook, as nbgitpuller itself builds it (JupyterLab, Notebook 7)."""
CHAPTER_FILE = re.compile(r"^(\d\d)_.+\.ipynb$")


def find_chapters(notebooks: Path = NOTEBOOKS) -> dict[int, str]:
    """Chapter number → notebook file name, from the ``NN_*.ipynb`` names in ``notebooks``."""
    if not notebooks.is_dir():
        raise ValueError(f"找不到笔记本目录 {notebooks}。请用 --notebooks 指向本项目克隆里的 notebooks/。 / "
                         f"no notebooks folder at {notebooks}; pass --notebooks pointing at a clone's notebooks/.")
    found = {}
    for path in sorted(notebooks.iterdir()):
        match = CHAPTER_FILE.match(path.name)
        if match:
            found[int(match.group(1))] = path.name
    return found


def clone_dir(repo: str) -> str:
    """The folder nbgitpuller clones ``repo`` into: the last part of the URL (trailing slashes ignored)."""
    name = repo.rstrip("/").split("/")[-1]
    if not name:
        raise ValueError(f"仓库地址 {repo!r} 里没有仓库名。请给出完整的 git 地址，如 {DEFAULT_REPO}。 / "
                         f"the repository URL {repo!r} has no name in it; pass a full git URL such as {DEFAULT_REPO}.")
    return name


def chapter_notebook(chapter: int, chapters: dict[int, str]) -> str:
    """The notebook file of ``chapter``; a ValueError naming the chapters there are when it is not one."""
    if chapter not in chapters:
        there = ", ".join(str(n) for n in sorted(chapters)) or "（无 / none）"
        raise ValueError(f"没有第 {chapter} 章：notebooks/ 里的章节是 {there}。请把 --chapter 改成其中之一。 / "
                         f"no chapter {chapter}: the chapters in notebooks/ are {there}; pass one of them to --chapter.")
    return chapters[chapter]


def pull_link(hub: str, notebook: str, repo: str = DEFAULT_REPO, branch: str = DEFAULT_BRANCH,
              app: str = "lab") -> str:
    """The nbgitpuller link that clones ``repo`` at ``branch`` and opens ``notebooks/<notebook>`` in ``app``."""
    parts = urlsplit(hub)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"--hub 必须是 hub 的网址，如 https://hub.example.org，收到 {hub!r}。 / "
                         f"--hub must be the hub's address such as https://hub.example.org, got {hub!r}.")
    if app not in APPS:
        raise ValueError(f"--app 只能是 {' 或 '.join(APPS)}，收到 {app!r}。 / --app must be one of {', '.join(APPS)}, got {app!r}.")
    if not branch:
        raise ValueError("--branch 不能为空，请写分支名，如 main。 / --branch must not be empty; pass a branch name such as main.")
    urlpath = f"{APPS[app]}{clone_dir(repo)}/notebooks/{notebook}"
    query = urlencode({"repo": repo, "urlpath": urlpath, "branch": branch}, quote_via=quote)
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the ``link`` command (and its options) to ``parser``."""
    commands = parser.add_subparsers(dest="classroom_command", metavar="COMMAND", required=True)
    link = commands.add_parser(
        "link",
        help="打印某一章的 nbgitpuller 链接 / print a chapter's nbgitpuller link",
        description=("打印一个 nbgitpuller 链接：学生点击后，hub 把仓库克隆（或更新）到学生自己的目录，并打开这一章。 / "
                     "Print an nbgitpuller link: a click clones (or updates) the repository into the learner's "
                     "folder on the hub and opens the chapter."),
    )
    link.add_argument("--hub", required=True, help="hub 的网址 / the hub's address, e.g. https://hub.example.org")
    link.add_argument("--chapter", required=True, type=int, help="章节号（notebooks/NN_*.ipynb 的 NN）/ chapter number")
    link.add_argument("--repo", default=DEFAULT_REPO, help=f"git 仓库地址 / git repository URL (default {DEFAULT_REPO})")
    link.add_argument("--branch", default=DEFAULT_BRANCH, help=f"分支 / branch (default {DEFAULT_BRANCH})")
    link.add_argument("--app", default="lab", choices=sorted(APPS), help="打开方式 / front end (default lab)")
    link.add_argument("--notebooks", type=Path, default=NOTEBOOKS,
                      help="章节从哪个 notebooks/ 目录读取 / the notebooks/ folder to read chapters from")
    link.set_defaults(run=run_link)


def run_link(args: argparse.Namespace) -> int:
    """``link``: print the link; a zh/en message on stderr and status 2 when an argument is wrong."""
    try:
        notebook = chapter_notebook(args.chapter, find_chapters(args.notebooks))
        print(pull_link(args.hub, notebook, repo=args.repo, branch=args.branch, app=args.app))
    except ValueError as error:
        print(f"错误 / error: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m nanogpt_lite.classroom COMMAND``: run it and return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m nanogpt_lite.classroom",
                                     description="教室 JupyterHub 的工具 / tools for a class hub")
    add_commands(parser)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
