"""An IPython extension: a ``NameError`` in a notebook also says "run the cells above first".

After a kernel restart, running one cell alone (``ch01.q1.check(answer)``, a widget cell) fails
because the cells that define its names have not run. The usual traceback stays; one line of advice
follows it. ``make`` loads this in every kernel of the venv; ``import nanogpt_lite`` loads it too;
elsewhere: ``%load_ext nanogpt_lite.ipython``.
"""
from __future__ import annotations

import sys
from typing import Any


def name_error_hint(name: str | None) -> str:
    """The advice printed under a NameError (Chinese first, then English)."""
    what = f"'{name}'" if name else "这个名字 / this name"
    return (
        f"提示：{what} 还没有定义——多半是上面定义它的格子还没运行（例如内核刚重启过）。"
        "请先运行上面的格子：菜单 运行 → 运行上方所有单元格（Run → Run All Above Selected Cell），"
        "或者从头 Run → Run All Cells。\n"
        f"Hint: {name or 'this name'} is not defined yet, most likely because the cell that defines it "
        "has not run (e.g. after a kernel restart). Run the cells above first."
    )


def _show_with_hint(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    print(name_error_hint(getattr(value, "name", None)), file=sys.stderr)


def load_ipython_extension(shell: Any) -> None:
    """Register the hint for NameError (IPython calls this for ``%load_ext``)."""
    shell.set_custom_exc((NameError,), _show_with_hint)


def register_if_in_ipython() -> None:
    """Load the extension inside IPython (a notebook kernel) unless it, or another handler, is set."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and NameError not in getattr(shell, "custom_exceptions", ()):
        load_ipython_extension(shell)
