"""The chapters' exercises as an nbgrader course: generate every chapter, then autograde three learners.

``reference`` submits the reference answers of every chapter (full marks), ``untouched`` the release as it is
(zero), and ``one_wrong`` the reference answers with one typical mistake (loses exactly that exercise's points; the
feedback page shows the checker's Chinese advice). ``untouched`` and ``one_wrong`` hand in one chapter: what makes an
untouched answer score zero is the same test cell in every chapter (checked for each one below), and for every
exercise tests/test_exercises_core.py checks that the untouched answer is "not attempted". Autograding runs each
chapter in a kernel, so the submissions are graded by two worker processes, each in its own copy of the course (its
own gradebook), the slowest chapters first and on different workers.
"""
from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from nanogpt_lite.exercises.core import problems
from tools import nbgrader as tool
from tools.isolated_env import VARIABLES

if importlib.util.find_spec("nbgrader") is None:
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail("CI 必须装 nbgrader / nbgrader is missing: pip install -e '.[classroom]'", pytrace=False)
    pytest.skip("nbgrader 未安装 / nbgrader is not installed: pip install -e '.[classroom]'", allow_module_level=True)
from nbgrader.api import Gradebook
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = "nanogpt-lite"
WORKER = """
import sys
from pathlib import Path
from tools.nbgrader import nbgrader_api, nbgrader_step
api = nbgrader_api(Path(sys.argv[1]))
for job in sys.argv[2:]:
    nbgrader_step(api, *job.split(":"))
"""
# Seconds to autograde each chapter in one process under make test (NANOGPT_LITE_QUICK=1), measured here: the
# slowest go first, on different workers. A chapter not listed counts as quick.
SECONDS_TO_GRADE = {"ch07": 80, "ch06": 75, "ch01": 15, "ch05": 13, "ch04": 10, "ch03": 6, "ch02": 5}
CJK = re.compile(r"[\u4e00-\u9fff]")
REGION = re.compile(rf"^[ \t]*{re.escape(tool.BEGIN)}\n(.*?)^[ \t]*{re.escape(tool.END)}\n?", re.DOTALL | re.MULTILINE)


def isolated_env(root: Path) -> dict[str, str]:
    env = {**os.environ, "HOME": str(root / "home"), "OMP_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    for name, sub in VARIABLES.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(root / sub)
    (root / "home").mkdir(exist_ok=True)
    return env


def nbgrader_cells(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells if "nbgrader" in cell.metadata}


def typical_mistake(built: dict[str, list[tool.Exercise]]) -> tuple[tool.Exercise, int, str]:
    """An exercise whose answer is a whole number, answered off by one, and the checker's advice for it."""
    for exercises in built.values():
        for exercise in exercises:
            reference = exercise.problem.reference()
            if isinstance(reference, int) and not isinstance(reference, bool):
                feedback = exercise.problem.check(reference + 1)
                if feedback.kind == "incorrect" and CJK.search(feedback.message):
                    return exercise, reference + 1, feedback.message
    pytest.fail("没有整数答案的练习可以用来做「答错一题」 / no exercise with an integer answer to get wrong")


def submit(course: Path, student: str, chapter: str, answers: dict[str, str]) -> None:
    """``submitted/<student>/<chapter>/<chapter>.ipynb``: the release with each solution cell's text replaced."""
    nb = nbformat.read(course / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    for grade_id, cell in nbgrader_cells(nb).items():
        if grade_id in answers:
            cell.source = answers[grade_id]
    target = course / "submitted" / student / chapter
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target / f"{chapter}.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Build and release the course, submit three learners, autograde them in two workers."""
    tmp = tmp_path_factory.mktemp("nbgrader")
    env = isolated_env(tmp / "env")
    course = tmp / "course"
    built = tool.write_course(course)
    assert built, "没有找到任何练习 / no exercises found"
    subprocess.run([sys.executable, "-c", WORKER, str(course), *(f"generate_assignment:{c}" for c in built)],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    sources = {c: nbformat.read(course / "source" / c / f"{c}.ipynb", as_version=4) for c in built}
    wrong, wrong_answer, advice = typical_mistake(built)
    for chapter, nb in sources.items():
        reference = {gid: REGION.sub(r"\1", cell.source) for gid, cell in nbgrader_cells(nb).items()
                     if cell.metadata["nbgrader"]["solution"]}
        submit(course, "reference", chapter, reference)
        submit(course, "untouched", chapter, {})
        if chapter == wrong.chapter:
            mistake = REGION.sub(f"{wrong.answer} = {wrong_answer!r}\n", nbgrader_cells(nb)[wrong.solution_id].source)
            submit(course, "one_wrong", chapter, {**reference, wrong.solution_id: mistake})
    # Worker 1 grades the two one-chapter learners, then takes every other reference chapter from the slowest down.
    slowest_first = sorted(built, key=lambda c: SECONDS_TO_GRADE.get(c, 0), reverse=True)
    jobs = [[], [f"autograde:{wrong.chapter}:untouched", f"autograde:{wrong.chapter}:one_wrong",
                 f"generate_feedback:{wrong.chapter}:one_wrong"]]
    graded_in = {("untouched", wrong.chapter): 1, ("one_wrong", wrong.chapter): 1}
    for rank, chapter in enumerate(slowest_first):
        worker = rank % 2
        jobs[worker].append(f"autograde:{chapter}:reference")
        graded_in["reference", chapter] = worker
    copies = [tmp / f"worker{i}" for i in range(len(jobs))]

    def work(copy: Path, steps: list[str]) -> subprocess.CompletedProcess[str]:
        shutil.copytree(course, copy)
        return subprocess.run([sys.executable, "-c", WORKER, str(copy), *steps], check=False, cwd=ROOT, env=env,
                              capture_output=True, text=True, encoding="utf-8")

    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(work, copies, jobs))
    for result in results:
        assert result.returncode == 0, result.stderr[-4000:]
    return {"course": course, "built": built, "sources": sources, "copies": copies, "graded_in": graded_in,
            "wrong": wrong, "wrong_answer": wrong_answer, "advice": advice}


def scores(graded: dict, chapter: str, student: str, exercises: list[tool.Exercise]) -> tuple[float, float, dict[str, float]]:
    copy = graded["copies"][graded["graded_in"][student, chapter]]
    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        submission = gb.find_submission(chapter, student)
        per_test = {e.test_id: gb.find_grade(e.test_id, chapter, chapter, student).score for e in exercises}
        return submission.score, submission.max_score, per_test


def test_every_chapter_generates_a_student_version(graded):
    config = PyFileConfigLoader("nbgrader_config.py", path=str(graded["course"])).load_config()
    stub = config.ClearSolutions.code_stub["python"]
    assert CJK.search(stub) and CJK.search(config.ClearSolutions.text_stub)
    ids = []
    for chapter, exercises in graded["built"].items():
        source = nbgrader_cells(graded["sources"][chapter])
        release = nbformat.read(graded["course"] / "release" / chapter / f"{chapter}.ipynb", as_version=4)
        text = "\n".join(cell.source for cell in release.cells)
        assert tool.BEGIN not in text and tool.END not in text
        released = nbgrader_cells(release)
        for exercise in exercises:
            answer = source[exercise.solution_id].source
            assert REGION.search(answer) and released[exercise.solution_id].source == REGION.sub(stub + "\n", answer)
            test = released[exercise.test_id]
            assert test.metadata["nbgrader"]["locked"] and test.metadata["nbgrader"]["points"] == exercise.points
            assert f"{exercise.problem_expr}.check({exercise.answer})" in test.source
        assert not release.cells[0].source.startswith("#") and CJK.search(release.cells[0].source)  # header
        assert all(not cell.get("outputs") for cell in release.cells) and "widgets" not in release.metadata
        ids += list(source)
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[A-Za-z0-9_]+", i) for i in ids), ids


def test_reference_answers_get_full_marks(graded):
    for chapter, exercises in graded["built"].items():
        score, max_score, per_test = scores(graded, chapter, "reference", exercises)
        assert max_score == sum(e.points for e in exercises) > 0
        assert score == max_score, (chapter, per_test)


def test_untouched_release_gets_zero(graded):
    chapter = graded["wrong"].chapter
    exercises = graded["built"][chapter]
    score, max_score, per_test = scores(graded, chapter, "untouched", exercises)
    assert max_score > 0 and score == 0, (chapter, per_test)
    assert set(per_test) == {e.test_id for e in exercises} and not any(per_test.values())


def test_one_wrong_answer_loses_its_points_and_feedback_shows_the_advice(graded):
    wrong = graded["wrong"]
    exercises = graded["built"][wrong.chapter]
    score, max_score, per_test = scores(graded, wrong.chapter, "one_wrong", exercises)
    assert per_test[wrong.test_id] == 0
    assert score == max_score - wrong.points, per_test
    page = (graded["copies"][1] / "feedback" / "one_wrong" / wrong.chapter / f"{wrong.chapter}.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert graded["advice"] in text, graded["advice"]


def test_every_registered_exercise_is_graded():
    """Each Problem of a chapter module with a notebook is checked in that notebook (else it is not graded)."""
    for chapter, notebook in tool.chapter_notebooks().items():
        exercises = tool.find_exercises(chapter, nbformat.read(notebook, as_version=4))
        module = tool.exercise_modules()[chapter]
        assert [e.name for e in exercises] == list(problems(module)), f"{notebook.name} 没有调用这些题的 check() / does not check all of {chapter}"
