"""``python -m nanogpt_lite COMMAND``: the package's command line.

Commands:

- ``doctor``: check that this machine can run the notebooks, one line per check with the fix
  (exit status 1 when a check fails). Attach its output to a bug report.
- ``classroom link --hub URL --chapter N``: print the nbgitpuller link that opens chapter N on a class
  hub (see :mod:`nanogpt_lite.classroom` and classroom/README.md).

Without a command it prints this help on stderr and exits with status 2, as argparse does for a
missing argument. A new command is one more ``add_parser`` in :func:`build_parser`, whose ``run``
default takes the parsed arguments and returns the exit status.
"""
from __future__ import annotations

import argparse
import sys


def run_doctor(args: argparse.Namespace) -> int:
    """``doctor``: print the checks; 1 when any failed."""
    from . import doctor

    return doctor.main()


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="python -m nanogpt_lite",
        description="nanogpt_lite 的命令行 / the nanogpt_lite command line.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    doctor = commands.add_parser(
        "doctor",
        help="检查这台机器能否运行笔记本 / check that this machine can run the notebooks",
        description=(
            "检查 Python、torch、JupyterLab 和小部件前端、中文字体、graphviz、数据、线程、笔记本是否受信任和 CUDA，"
            "每项一行，失败的附修复方法；有失败时退出状态为 1。提问题时请附上完整输出。 / "
            "Checks Python, torch, JupyterLab and the widget front end, the CJK font, graphviz, the data, "
            "threads, notebook trust and CUDA, one line each, with the fix for each failure; exit status 1 "
            "when any check fails. Attach the full output to a bug report."
        ),
    )
    doctor.set_defaults(run=run_doctor)
    from .classroom import add_commands  # standard library only: cheap to import

    classroom = commands.add_parser(
        "classroom",
        help="教室 JupyterHub 的工具（nbgitpuller 链接）/ tools for a class hub (nbgitpuller links)",
        description="教室 JupyterHub 的工具 / tools for a class hub",
    )
    add_commands(classroom)  # its sub-command sets ``run``
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command named in ``argv`` (default: ``sys.argv[1:]``) and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
