"""A learner who skips every 选读 cell can still run every core cell (CONTRIBUTING.md, "The core path and 选读").

For every notebook: no core (untagged) code cell reads a name whose latest definition before it is in a
cell tagged ``optional``, nor a name that only ``optional`` cells define. The analysis is static (``ast``):

- **Sources.** IPython lines are neutralised before parsing: a line starting (after indentation) with
  ``%`` or ``!`` becomes ``pass`` at the same indentation (so ``if ...:\\n    %pip ...`` still parses),
  and ``x = !cmd`` / ``x = %magic`` become ``x = None`` (they bind ``x``). A cell that starts with a cell
  magic other than ``%%time``/``%%timeit``/``%%capture`` is not Python and is skipped. A cell that still
  does not parse fails the test rather than being skipped silently.
- **Definitions** (per cell, at notebook level): assignment targets (tuple unpacking, ``+=``, annotated,
  walrus, also a walrus inside a comprehension), ``import``/``from … import`` (the as-name, or the first
  part of a dotted module), ``def``/``class`` names, ``for``/``with … as``/``except … as`` targets and
  ``match`` captures, wherever they sit in the cell's top-level control flow (an ``if`` branch counts).
  Names bound inside a function, lambda, class body or comprehension are local and do not count.
- **Reads.** A ``Name`` in load context (and the target of ``x += …``) that is free in the cell: not bound
  earlier in the same cell. Class bodies, default values, decorators and annotations are read when the
  cell runs. Globals read inside a function or lambda body count as reads of the cell that defines the
  function, unless that cell binds the name anywhere (the function may run later, so order inside the
  cell is not used for them).
- **Verdict.** For each read of a core cell, the most recent earlier code cell that defines the name
  decides: ``optional`` means a violation. With no earlier definition, the read is a violation only if
  the notebook defines the name in ``optional`` cells alone; otherwise (builtins, IPython's
  ``get_ipython``/``display``/…, or a name a later core cell defines) it is ignored here.
- **Not covered.** ``global`` assignments inside functions, ``del`` (a deletion is not a definition),
  ``from m import *``, names created through ``globals()``/``exec``, and whether a function defined in one
  cell is called before or after a later redefinition of a global it reads (the reader is the cell with
  the ``def``).
"""
from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
OPTIONAL_TAG = "optional"  # as in tests/test_chapter_structure.py
PYTHON_CELL_MAGICS = {"time", "timeit", "capture"}  # cell magics whose body runs as Python
MAGIC_LINE = re.compile(r"^(\s*)[%!]")
MAGIC_ASSIGN = re.compile(r"^(\s*)([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=\s*[%!]")
IPYTHON_NAMES = {"get_ipython", "display", "In", "Out", "exit", "quit"}
KNOWN_GLOBALS = set(dir(builtins)) | IPYTHON_NAMES
FUNCTION = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
COMPREHENSION = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def python_source(source: str) -> str | None:
    """The cell's source with IPython magics and shell lines neutralised; None for a non-Python cell."""
    first = source.lstrip().split(maxsplit=1)[0] if source.strip() else ""
    if first.startswith("%%") and first[2:] not in PYTHON_CELL_MAGICS:
        return None
    lines = []
    for line in source.splitlines():
        if match := MAGIC_ASSIGN.match(line):
            line = f"{match[1]}{match[2]} = None"
        elif match := MAGIC_LINE.match(line):
            line = f"{match[1]}pass"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _target_names(node: ast.AST) -> Iterator[str]:
    """Names a target binds: ``x``, ``a, (b, *c)``; not ``x.y`` or ``x[0]``."""
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            yield from _target_names(element)
    elif isinstance(node, ast.Starred):
        yield from _target_names(node.value)


def _import_names(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    for alias in node.names:
        if alias.name != "*":
            yield alias.asname or alias.name.split(".")[0]


def local_names(body: Iterable[ast.AST]) -> set[str]:
    """Every name a function body binds (its locals), without descending into nested scopes."""
    found: set[str] = set()
    declared: set[str] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update(_import_names(node))
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            found.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            found.add(node.rest)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)  # decorators, defaults and bases run here, the body does not
            stack.extend([*node.decorator_list, *getattr(node, "bases", []), *getattr(node, "keywords", [])])
            if not isinstance(node, ast.ClassDef):
                stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d)])
        elif isinstance(node, ast.Lambda):
            stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d)])
        elif isinstance(node, COMPREHENSION):
            stack.append(node.generators[0].iter)  # targets are the comprehension's own; a walrus is ours
            stack.extend(n.target for n in ast.walk(node) if isinstance(n, ast.NamedExpr))
        else:
            stack.extend(ast.iter_child_nodes(node))
    return found - declared


@dataclass
class Scope:
    """One Python scope while walking a cell: the cell itself, a function, a class body or a comprehension."""

    kind: str  # "module" | "function" | "class" | "comprehension"
    parent: Scope | None = None
    names: set[str] = field(default_factory=set)  # module/class: bound so far; function/comprehension: all locals

    @property
    def deferred(self) -> bool:
        """Whether code in this scope runs later (inside a function body), not when the cell runs."""
        return self.kind == "function" or (self.parent is not None and self.parent.deferred)


class CellAnalysis(ast.NodeVisitor):
    """What one cell defines at notebook level, and which notebook-level names it reads before defining them."""

    def __init__(self) -> None:
        self.module = Scope("module")
        self.scope = self.module
        self.immediate: set[str] = set()  # read while the cell runs, before the cell binds them
        self.later: set[str] = set()  # globals read inside function bodies

    @property
    def defines(self) -> set[str]:
        return self.module.names

    @property
    def reads(self) -> set[str]:
        return self.immediate | (self.later - self.module.names)

    # -- names -----------------------------------------------------------------------------------------
    def load(self, name: str) -> None:
        scope: Scope | None = self.scope
        while scope is not None:
            if scope.kind == "module":
                if scope is not self.scope and self.scope.deferred:
                    self.later.add(name)
                elif name not in scope.names:
                    self.immediate.add(name)
                return
            if name in scope.names and (scope.kind != "class" or scope is self.scope):
                return  # a class body's names are not visible to the functions inside it
            scope = scope.parent

    def bind(self, name: str, scope: Scope | None = None) -> None:
        scope = scope or self.scope
        if scope.kind in ("module", "class"):
            scope.names.add(name)  # function and comprehension locals are known in advance

    def bind_target(self, target: ast.AST) -> None:
        """Bind a Name target, or visit an attribute/subscript target (it reads its object)."""
        self.visit(target)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.load(node.id)
        elif isinstance(node.ctx, ast.Store):
            self.bind(node.id)

    # -- statements in evaluation order ----------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.bind_target(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.load(node.target.id)
        self.visit(node.value)
        self.bind_target(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
            self.bind_target(node.target)
        elif not isinstance(node.target, ast.Name):
            self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        scope = self.scope
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent  # a walrus in a comprehension binds in the enclosing scope
        self.bind(node.target.id, scope)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.bind_target(node.target)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for name in _import_names(node):
            self.bind(name)

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.bind(node.name)
        for statement in node.body:
            self.visit(statement)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self.generic_visit(node)
        if node.name:
            self.bind(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bind(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        if node.rest:
            self.bind(node.rest)

    # -- new scopes ------------------------------------------------------------------------------------
    def _arguments(self, args: ast.arguments, annotations: bool) -> set[str]:
        """Visit defaults (and annotations) in the current scope; the parameter names."""
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, [args.vararg, args.kwarg])]
        for default in [*args.defaults, *filter(None, args.kw_defaults)]:
            self.visit(default)
        if annotations:
            for arg in every:
                if arg.annotation is not None:
                    self.visit(arg.annotation)
        return {arg.arg for arg in every}

    def _inside(self, scope: Scope, nodes: Iterable[ast.AST]) -> None:
        outer, self.scope = self.scope, scope
        for child in nodes:
            self.visit(child)
        self.scope = outer

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        params = self._arguments(node.args, annotations=True)
        if node.returns is not None:
            self.visit(node.returns)
        self.bind(node.name)
        self._inside(Scope("function", self.scope, params | local_names(node.body)), node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        params = self._arguments(node.args, annotations=False)
        self._inside(Scope("function", self.scope, params | local_names([node.body])), [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(child)
        self._inside(Scope("class", self.scope), node.body)
        self.bind(node.name)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp,
                       results: list[ast.expr]) -> None:
        first, *rest = node.generators
        self.visit(first.iter)  # the first iterable is evaluated outside the comprehension
        targets = {name for generator in node.generators for name in _target_names(generator.target)}
        inner = Scope("comprehension", self.scope, targets)
        self._inside(inner, [first.target, *first.ifs])
        for generator in rest:
            self._inside(inner, [generator.iter, generator.target, *generator.ifs])
        self._inside(inner, results)

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> None:
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value])


def analyse(source: str) -> CellAnalysis:
    """Definitions and free reads of one cell's Python source."""
    analysis = CellAnalysis()
    analysis.visit(ast.parse(source))
    return analysis


@dataclass(frozen=True)
class Violation:
    """A core cell that reads a name only a 选读 cell gives it."""

    notebook: str
    cell: int
    name: str
    defined_in: tuple[int, ...]  # the latest earlier defining cell, or every (optional) cell that defines it
    only_later: bool = False

    def __str__(self) -> str:
        where = (f"defined only in optional cell(s) {list(self.defined_in)}, after it" if self.only_later
                 else f"whose latest definition is in optional cell {self.defined_in[0]}")
        return (f"{self.notebook}: core cell {self.cell} reads `{self.name}`, {where}. Fix: define "
                f"`{self.name}` in a core cell before cell {self.cell}, or tag cell {self.cell} "
                f"'{OPTIONAL_TAG}' (inside a （选读） section)")


def is_optional(cell: nbformat.NotebookNode) -> bool:
    return OPTIONAL_TAG in cell.metadata.get("tags", [])


def core_path_violations(nb: nbformat.NotebookNode, name: str = "notebook") -> list[Violation]:
    """Every (core cell, name) whose latest earlier definition is in an optional cell; cell = index in nb.cells."""
    cells: list[tuple[int, bool, CellAnalysis]] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        source = python_source(cell.source)
        if source is None:
            continue
        try:
            cells.append((index, is_optional(cell), analyse(source)))
        except SyntaxError as error:
            raise AssertionError(f"{name}: cell {index} does not parse as Python: {error}") from error
    found = []
    for position, (index, optional, analysis) in enumerate(cells):
        if optional:
            continue
        for read in sorted(analysis.reads):
            latest = next(((i, opt) for i, opt, a in reversed(cells[:position]) if read in a.defines), None)
            if latest is not None:
                if latest[1]:
                    found.append(Violation(name, index, read, (latest[0],)))
                continue
            definers = [(i, opt) for i, opt, a in cells if read in a.defines]
            if definers and all(opt for _, opt in definers) and read not in KNOWN_GLOBALS:
                found.append(Violation(name, index, read, tuple(i for i, _ in definers), only_later=True))
    return found


# -- the series ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_core_cells_read_nothing_only_optional_cells_define(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    violations = core_path_violations(nb, path.name)
    assert not violations, "a learner who skips 选读 cannot run these core cells:\n" + "\n".join(map(str, violations))


def test_there_are_notebooks_to_check() -> None:
    assert len(NOTEBOOKS) >= 7, [p.name for p in NOTEBOOKS]


# -- the analysis, on small notebooks ------------------------------------------------------------------
def notebook(*cells: tuple[str, bool]) -> nbformat.NotebookNode:
    """A notebook of code cells, each (source, tagged optional)."""
    nb = nbformat.v4.new_notebook()
    for source, optional in cells:
        cell = nbformat.v4.new_code_cell(source)
        if optional:
            cell.metadata["tags"] = [OPTIONAL_TAG]
        nb.cells.append(cell)
    return nb


CORE, OPTIONAL = False, True


def found(nb: nbformat.NotebookNode) -> list[tuple[int, str, tuple[int, ...]]]:
    return [(v.cell, v.name, v.defined_in) for v in core_path_violations(nb)]


def test_a_core_cell_reading_an_optional_name_is_caught() -> None:
    nb = notebook(("model = 1", CORE), ("optimizer = model + 1", OPTIONAL),
                  ("save(path, model, optimizer)", CORE))
    assert found(nb) == [(2, "optimizer", (1,))]
    message = str(core_path_violations(nb, "06_gpt.ipynb")[0])
    assert "06_gpt.ipynb: core cell 2 reads `optimizer`" in message and "optional cell 1" in message
    assert "tag cell 2 'optional'" in message


def test_a_correct_notebook_passes() -> None:
    nb = notebook(("import torch as t\nmodel = 1", CORE), ("extra = model * 2\nprint(extra)", OPTIONAL),
                  ("optimizer = t.optim\nprint(model, optimizer, len([model]))", CORE),
                  ("print(extra)", OPTIONAL))
    assert found(nb) == []


def test_the_latest_definition_decides() -> None:
    redefined = notebook(("x = 1", CORE), ("x = 2", OPTIONAL), ("print(x)", CORE))
    assert found(redefined) == [(2, "x", (1,))]
    restored = notebook(("x = 1", OPTIONAL), ("x = 2", CORE), ("print(x)", CORE))
    assert found(restored) == []


def test_a_name_bound_earlier_in_the_same_cell_is_not_read() -> None:
    nb = notebook(("x = 1", OPTIONAL), ("x = 2\nprint(x)", CORE), ("y = 1", OPTIONAL), ("y = y + 1", CORE))
    assert found(nb) == [(3, "y", (2,))]


@pytest.mark.parametrize("definition", [
    "a, (b, *x) = 1, (2, 3)", "x: int = 1", "x = 0\nx += 1", "if (x := 1): pass", "[(x := i) for i in range(2)]",
    "import os as x", "import x.path", "from os import path as x", "def x(): pass", "class x: pass",
    "for x in range(2): pass", "with open('f') as x: pass", "try:\n    pass\nexcept Exception as x:\n    pass",
    "if True:\n    x = 1",
])
def test_every_kind_of_definition_counts(definition: str) -> None:
    assert "x" in analyse(definition).defines
    assert found(notebook((definition, OPTIONAL), ("print(x)", CORE))) == [(1, "x", (0,))]


@pytest.mark.parametrize("local", [
    "def f():\n    x = 1", "def f(x): return x", "class C:\n    x = 1", "[x for x in range(3)]",
    "lambda x: x", "def f():\n    for x in range(2): pass",
])
def test_names_bound_in_an_inner_scope_are_not_definitions(local: str) -> None:
    assert "x" not in analyse(local).defines
    assert "x" not in analyse(local).reads
    assert found(notebook(("x = 1", CORE), (local, OPTIONAL), ("print(x)", CORE))) == []


def test_a_function_reading_an_optional_global_is_a_break() -> None:
    nb = notebook(("optimizer = 1", OPTIONAL), ("def save():\n    return optimizer", CORE), ("save()", CORE))
    assert found(nb) == [(1, "optimizer", (0,))]
    bound_in_cell = notebook(("g = 1", OPTIONAL), ("def f():\n    return g()\ndef g():\n    return 2", CORE))
    assert found(bound_in_cell) == []
    nested = notebook(("y = 1", OPTIONAL), ("def f(y):\n    def g():\n        return y\n    return g", CORE))
    assert found(nested) == []


def test_a_class_body_and_defaults_read_when_the_cell_runs() -> None:
    nb = notebook(("n, d = 1, 2", OPTIONAL),
                  ("class C:\n    size = n\n    def m(self, k=d):\n        return size", CORE))
    assert found(nb) == [(1, "d", (0,)), (1, "n", (0,))]  # `size` inside m is a global, not C.size


def test_a_name_only_a_later_optional_cell_defines_is_caught() -> None:
    nb = notebook(("print(z, len)", CORE), ("z = 1\nlen = 2", OPTIONAL))
    assert found(nb) == [(0, "z", (1,))]


def test_builtins_and_undefined_names_are_ignored() -> None:
    nb = notebook(("print(len([1]), get_ipython, display, ____)", CORE))
    assert found(nb) == []


def test_the_exercise_placeholder_comes_from_a_core_import() -> None:
    nb = notebook(("from nanogpt_lite.exercises import ____, ch01", CORE),
                  ("def f(s):\n    return ____        # 用 itos\nanswer = ____", CORE),
                  ("ch01.q1.check(answer)", CORE))
    assert found(nb) == []
    assert found(notebook(("from nanogpt_lite.exercises import ____", OPTIONAL), ("answer = ____", CORE))) \
        == [(1, "____", (0,))]


def test_magics_and_shell_lines_are_neutralised() -> None:
    source = ('import sys\nif "google.colab" in sys.modules:\n    %pip install -q "x @ y"\n%matplotlib inline\n'
              "!ls {path}\nfiles = !ls\n")
    assert python_source(source).splitlines()[2:] == ["    pass", "pass", "pass", "files = None"]
    assert analyse(python_source(source)).defines == {"sys", "files"}
    assert python_source("%%bash\necho hi\n") is None
    assert analyse(python_source("%%time\nx = 1\n")).defines == {"x"}
    nb = notebook(("files = !ls", OPTIONAL), ("%time print(files)\nprint(files)", CORE))
    assert found(nb) == [(1, "files", (0,))]


def test_a_cell_that_does_not_parse_fails_loudly() -> None:
    with pytest.raises(AssertionError, match="cell 0 does not parse"):
        core_path_violations(notebook(("def broken(:", CORE)))
