"""Turn each chapter's exercises into an nbgrader source assignment (``source/chNN/chNN.ipynb``).

    python -m tools.nbgrader [--course DIR] [--chapters 1 2 ...] [--release]

The exercises are found at run time: every ``<problem>.check(NAME)`` call in a chapter notebook whose
``<problem>`` is a :class:`~nanogpt_lite.exercises.core.Problem` of ``nanogpt_lite.exercises.chNN``.
Each such cell becomes an nbgrader solution cell (the learner's scaffold, then the Problem's
``solution_text`` between ``### BEGIN SOLUTION`` / ``### END SOLUTION``) followed by a locked, autograded
test cell that calls the same checker and asserts ``.correct``. Every other cell is kept as it is
(ungraded, outputs and widget state cleared). ``--release`` then runs ``nbgrader generate_assignment``.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import os
import re
import shutil
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

from nanogpt_lite.exercises.core import Problem, problems

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TEMPLATE = ROOT / "classroom" / "nbgrader"
DEFAULT_COURSE = ROOT / "build" / "nbgrader"
PACKAGE = "nanogpt_lite.exercises"
CHAPTER_NOTEBOOK = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.ipynb$")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
NOTE_ID = "nbgrader-note"
NOTE = """> **nbgrader 版（可以提交、自动评分）**：每道练习下面多了一个只读的「自动评分」格子。
> 它调用和 `check()` 相同的检查器：通过就得分，没通过就显示和 `check()` 一样的中文建议。
> 在答题格里把 `____` 换成你的答案（函数题就写完函数），再运行它下面的评分格看结果；`hint()` 那一行照样可以用。
> 交作业前请 **Kernel → Restart Kernel and Run All Cells**，确认从头运行没有报错。"""


class ExerciseError(ValueError):
    """A chapter's exercise cannot be turned into an nbgrader cell: the message names it and the fix."""


@dataclass(frozen=True)
class Exercise:
    """One ``<problem>.check(answer)`` cell of a chapter notebook."""

    chapter: str          # "ch01": the assignment (and notebook) name
    name: str             # "q1": the Problem's name in its chapter module
    problem: Problem
    cell_index: int
    problem_expr: str     # how the notebook spells the Problem, e.g. "ch01.q1"
    answer: str           # the name the notebook passes to check(), e.g. "answer" or "prepare"
    check_lines: range    # the cell's lines (0-based) holding the check() call

    @property
    def number(self) -> str:
        return self.name[1:] if self.name[1:].isdigit() else self.name

    @property
    def points(self) -> int:
        """2 for writing a function or class, 1 for a value."""
        return 2 if callable(self.problem.reference()) else 1

    @property
    def solution_id(self) -> str:
        return f"{self.chapter}_{self.name}_answer"

    @property
    def test_id(self) -> str:
        return f"{self.chapter}_{self.name}_test"


def chapter_notebooks(chapters: list[int] | None = None) -> dict[str, Path]:
    """``{"ch01": notebooks/01_tokenization.ipynb, ...}``: the numbered notebooks that use exercises."""
    found = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        match = CHAPTER_NOTEBOOK.match(path.name)
        if (match and int(match[1]) > 0 and (chapters is None or int(match[1]) in chapters)
                and PACKAGE in path.read_text(encoding="utf-8")):
            found[f"ch{match[1]}"] = path
    return found


def exercise_modules() -> dict[str, types.ModuleType]:
    """Every ``nanogpt_lite.exercises.chNN`` module, by name."""
    package = importlib.import_module(PACKAGE)
    names = sorted(p.stem for p in Path(package.__file__).parent.glob("ch[0-9][0-9].py"))
    return {name: importlib.import_module(f"{PACKAGE}.{name}") for name in names}


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:  # IPython magics, shell escapes: such a cell holds no exercise import or check
        return None


def _bind_imports(tree: ast.Module, names: dict[str, object]) -> None:
    """Record what the cell's ``nanogpt_lite`` imports bind: modules and Problems."""
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("nanogpt_lite"):
                    module = importlib.import_module(alias.name)
                    names[alias.asname] = module if alias.asname else importlib.import_module("nanogpt_lite")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("nanogpt_lite"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if value is None:
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                names[alias.asname or alias.name] = value


def _resolve(node: ast.expr, names: dict[str, object]) -> object:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        return getattr(_resolve(node.value, names), node.attr, None)
    return None


def _problem_name(problem: Problem) -> tuple[str, str]:
    """``("ch01", "q1")`` for a Problem object."""
    for chapter, module in exercise_modules().items():
        for name, candidate in problems(module).items():
            if candidate is problem:
                return chapter, name
    raise ExerciseError(f"找不到这道题所在的章节模块 / no chapter module holds the problem {problem.prompt!r}")


def _check_calls(tree: ast.Module, names: dict[str, object]) -> Iterator[tuple[ast.Expr, ast.Call, Problem]]:
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "check"
                and isinstance(problem := _resolve(call.func.value, names), Problem)):
            yield node, call, problem


def find_exercises(chapter: str, nb: nbformat.NotebookNode) -> list[Exercise]:
    """The exercises of a chapter notebook, in notebook order."""
    names: dict[str, object] = {}
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or (tree := _parse(cell.source)) is None:
            continue
        _bind_imports(tree, names)
        for node, call, problem in _check_calls(tree, names):
            module, name = _problem_name(problem)
            if len(call.args) != 1 or not isinstance(call.args[0], ast.Name):
                raise ExerciseError(
                    f"{chapter} 第 {index} 格：check() 要收一个变量名（如 check(answer)），才能生成评分格。"
                    f" / cell {index}: pass one variable name to check(), e.g. check(answer).")
            if module != chapter:
                raise ExerciseError(f"{chapter} 第 {index} 格用了 {module}.{name}：练习应来自本章的模块。"
                                    f" / cell {index} checks {module}.{name}; use {chapter}'s own problems.")
            found.append(Exercise(chapter, name, problem, index, ast.unparse(call.func.value), call.args[0].id,
                                  range(node.lineno - 1, node.end_lineno)))
    return found


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a block of code binds at its top level (assignments, defs, classes)."""
    bound = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                bound |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return bound


def _definitions(tree: ast.Module) -> list[str]:
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def _code_and_comments(text: str) -> str:
    """``solution_text`` that mixes prose and code: keep the lines that are Python, comment out the rest."""
    lines = []
    for line in text.splitlines():
        tree = _parse(line)
        is_code = tree is not None and tree.body and not (len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr))
        lines.append(line if is_code or not line.strip() else f"# {line}")
    return "\n".join(lines)


def solution_code(exercise: Exercise, scaffold: str) -> str:
    """Python that binds ``exercise.answer`` to a correct answer, built from the Problem's ``solution_text``.

    An expression becomes ``answer = <expression>``; a ``def``/``class`` the scaffold also defines is kept
    and then assigned; a lone ``def`` of another name is renamed; prose lines become comments. Failing
    those, a literal ``reference()`` is written out, with the solution text as a comment.
    """
    text, target = exercise.problem.solution_text.strip(), exercise.answer
    tree = _parse(text)
    if tree is None:
        text = _code_and_comments(text)
        tree = _parse(text)
    if tree is not None and tree.body:
        bound, defined = _bound_names(tree), _definitions(tree)
        if target in bound:
            return text
        if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
            return f"{target} = {text}"
        shared = [name for name in defined if name in _bound_names(_parse(scaffold) or ast.Module(body=[]))]
        if shared:
            return f"{text}\n{target} = {shared[0]}"
        if len(defined) == 1:
            return re.sub(rf"^(\s*(?:async\s+)?(?:def|class)\s+){defined[0]}\b", rf"\g<1>{target}", text, count=1, flags=re.MULTILINE)
    reference = exercise.problem.reference()
    try:
        literal_ok = ast.literal_eval(repr(reference)) == reference
    except (ValueError, SyntaxError):
        literal_ok = False
    if literal_ok:
        comments = "\n".join(f"# {line}" for line in exercise.problem.solution_text.strip().splitlines())
        return f"{comments}\n{target} = {reference!r}"
    raise ExerciseError(
        f"{exercise.chapter}.{exercise.name} 的 solution_text 不是能赋值给 {target} 的 Python 代码：请把它写成可运行的代码。"
        f" / {exercise.chapter}.{exercise.name}: solution_text must be Python that binds {target}.")


def _nbgrader(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: int | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return meta


def _split_cell(exercise: Exercise, source: str) -> tuple[str, str]:
    """The learner's scaffold (without the check call or a solution() line) and the problem's other comments."""
    mention = re.compile(rf"^\s*#\s*{re.escape(exercise.problem_expr)}\.(\w+)\(\)\s*$")
    scaffold, comments = [], []
    for number, line in enumerate(source.splitlines()):
        found = mention.match(line)
        if number in exercise.check_lines or (found and found[1] == "solution"):
            continue
        (comments if found else scaffold).append(line)
    return "\n".join(scaffold).rstrip(), "\n".join(comments)


def graded_cells(exercise: Exercise, cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The solution cell (scaffold + reference answer) and the autograded test cell for one exercise."""
    scaffold, comments = _split_cell(exercise, cell.source)
    code = solution_code(exercise, scaffold)
    answer = nbformat.v4.new_code_cell("\n".join(part for part in (scaffold, BEGIN, code, END, comments) if part))
    answer.id = cell.get("id") or exercise.solution_id.replace("_", "-")
    answer.metadata = {**cell.metadata, "nbgrader": _nbgrader(exercise.solution_id, solution=True, grade=False, locked=False)}
    label = f"练习 {exercise.number}"
    test = nbformat.v4.new_code_cell(
        f"# 自动评分：{label}（{exercise.points} 分）。调用和 {exercise.problem_expr}.check 相同的检查器；这一格只读。\n"
        f"_feedback = {exercise.problem_expr}.check({exercise.answer})\n"
        f'assert _feedback.correct, f"{label} 没有通过 / exercise {exercise.number} not passed: {{_feedback!r}}"\n'
        "_feedback")
    test.id = exercise.test_id.replace("_", "-")
    test.metadata = {"nbgrader": _nbgrader(exercise.test_id, solution=False, grade=True, locked=True, points=exercise.points)}
    return [answer, test]


def _note_position(nb: nbformat.NotebookNode, first_exercise: int) -> int:
    """Just after the heading cell of the exercise section (the last heading above the first exercise)."""
    for index in range(first_exercise - 1, -1, -1):
        cell = nb.cells[index]
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            return index + 1
    return first_exercise


def build_source(chapter: str, notebook: Path) -> tuple[nbformat.NotebookNode, list[Exercise]]:
    """The nbgrader source version of a chapter notebook and its exercises."""
    nb = nbformat.read(notebook, as_version=4)
    exercises = find_exercises(chapter, nb)
    by_cell = {exercise.cell_index: exercise for exercise in exercises}
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if exercises and index == _note_position(nb, exercises[0].cell_index):
            note = nbformat.v4.new_markdown_cell(NOTE)
            note.id = NOTE_ID
            cells.append(note)
        cells.extend(graded_cells(by_cell[index], cell) if index in by_cell else [cell])
    nb.cells = cells
    nb.metadata.pop("widgets", None)  # saved widget state of the executed chapter: stale without its outputs
    return nb, exercises


def unregistered(chapter: str, exercises: list[Exercise]) -> list[str]:
    """Problems of the chapter module that no notebook cell checks (so they are not graded)."""
    module = exercise_modules().get(chapter)
    graded = {exercise.name for exercise in exercises}
    return [f"{chapter}.{name}" for name in problems(module) if name not in graded] if module else []


def write_course(course: Path, chapters: list[int] | None = None) -> dict[str, list[Exercise]]:
    """Write ``course/nbgrader_config.py``, ``course/header.ipynb`` and ``course/source/chNN/chNN.ipynb``."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TEMPLATE / "nbgrader_config.py", course / "nbgrader_config.py")
    header = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell((TEMPLATE / "header.md").read_text(encoding="utf-8").strip())])
    header.cells[0].id = "nbgrader-header"
    nbformat.write(header, course / "header.ipynb")
    built = {}
    for chapter, notebook in chapter_notebooks(chapters).items():
        nb, exercises = build_source(chapter, notebook)
        if not exercises:
            continue
        target = course / "source" / chapter
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target / f"{chapter}.ipynb")
        built[chapter] = exercises
    ids = [grade_id for exercises in built.values() for e in exercises for grade_id in (e.solution_id, e.test_id)]
    if not all(grade_id.isascii() for grade_id in ids):
        raise ExerciseError(f"grade_id 只能用 ASCII 字符，请给题目起 q1、q2 这样的名字 / grade_ids must be ASCII: {ids}")
    if len(ids) != len(set(ids)):  # one Problem checked in two cells
        raise ExerciseError(f"同一道题被检查了两次，grade_id 重复 / a problem is checked twice: {sorted(ids)}")
    return built


def nbgrader_api(course: Path):
    """nbgrader's Python API for ``course``, configured from its ``nbgrader_config.py``."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    # nbgrader runs the `alembic` command when it creates a gradebook: it lives next to this Python.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    return NbGraderAPI(config=config)


def nbgrader_step(api, step: str, *args: str) -> None:
    """One NbGraderAPI call (``generate_assignment``, ``autograde``, ``generate_feedback``); raise on failure."""
    result = getattr(api, step)(*args)
    if not result["success"]:
        raise RuntimeError(f"nbgrader {step} {' '.join(args)} 失败 / failed:\n{result['error']}\n{result['log']}")


def release(course: Path, chapters: list[str]) -> None:
    """``nbgrader generate_assignment`` for each chapter (writes ``course/release/chNN/chNN.ipynb``)."""
    api = nbgrader_api(course)
    for chapter in chapters:
        nbgrader_step(api, "generate_assignment", chapter)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=DEFAULT_COURSE, help="nbgrader course folder (default build/nbgrader)")
    parser.add_argument("--chapters", type=int, nargs="+", help="chapter numbers (default: every chapter with exercises)")
    parser.add_argument("--release", action="store_true", help="also run nbgrader generate_assignment for each chapter")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    built = write_course(course, args.chapters)
    for chapter, exercises in built.items():
        points = sum(e.points for e in exercises)
        print(f"{chapter}: {len(exercises)} 道题 / exercises, {points} 分 / points -> {course / 'source' / chapter / (chapter + '.ipynb')}")
        for name in unregistered(chapter, exercises):
            print(f"  注意：{name} 在模块里，但笔记本里没有调用它的 check()，不评分。 / {name} is not checked in the notebook: not graded.")
    for chapter in sorted(set(exercise_modules()) - set(chapter_notebooks())):
        print(f"注意：{chapter} 有练习模块，但没有对应的笔记本，跳过。 / {chapter} has exercises but no notebook: skipped.")
    if args.release:
        release(course, list(built))
    else:
        print(f"下一步 / next: cd {course} && nbgrader generate_assignment chNN  (或 / or: --release)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
