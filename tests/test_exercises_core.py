from nanogpt_lite.exercises import ____, Problem, expect

Q = Problem(
    prompt="Which id does 'z' get?",
    checker=lambda answer: expect(answer == 64, "Not quite: count the characters before 'z'."),
    hint_text="Look it up in stoi.",
    solution_text="tok.stoi['z']",
    reference=lambda: 64,
    praise="64 it is.",
)


def test_placeholder_and_no_answer_are_not_attempted():
    for feedback in (Q.check(), Q.check(____)):
        assert feedback.kind == "not attempted" and not feedback.correct
        assert "____" in repr(feedback)


def test_right_and_wrong_answers():
    right, wrong = Q.check(64), Q.check(63)
    assert right.correct and "64 it is." in repr(right)
    assert wrong.kind == "incorrect" and "count the characters" in repr(wrong)


def test_a_crashing_answer_is_feedback_not_a_traceback():
    def checker(fn):
        expect(fn("a") == 1, "wrong")

    feedback = Problem("p", checker, "h", "s", lambda: None).check(lambda s: 1 / 0)
    assert feedback.kind == "incorrect" and "ZeroDivisionError" in repr(feedback)


def test_hint_solution_and_html_escaping():
    assert "stoi" in repr(Q.hint()) and "tok.stoi['z']" in repr(Q.solution())
    html = Problem("p", lambda a: expect(False, "<b> & x"), "h", "s", lambda: None).check(1)._repr_html_()
    assert "&lt;b&gt; &amp; x" in html and "nl-incorrect" in html


def test_every_chapter_reference_answer_passes():
    import importlib
    import pkgutil

    import nanogpt_lite.exercises as exercises
    from nanogpt_lite.exercises import problems

    chapters = [m.name for m in pkgutil.iter_modules(exercises.__path__) if m.name.startswith("ch")]
    for name in chapters:
        module = importlib.import_module(f"nanogpt_lite.exercises.{name}")
        found = problems(module)
        assert len(found) >= 3, f"{name} has {len(found)} exercises; every chapter has at least 3"
        for qname, problem in found.items():
            feedback = problem.check(problem.reference())
            assert feedback.correct, f"{name}.{qname}: the reference answer fails: {feedback!r}"
            assert problem.check().kind == "not attempted"


def test_a_function_that_still_returns_the_placeholder_is_not_attempted():
    from nanogpt_lite.exercises import returns_blank

    q = Problem("write double", lambda f: expect(f(2) == 4, "double 2 is 4"), "h", "s", lambda: (lambda x: 2 * x),
                untouched=returns_blank(1))
    assert q.check(lambda x: ____).kind == "not attempted"
    assert q.check(lambda x: x + 1).kind == "incorrect"
    assert q.check(lambda x: 1 / 0).kind == "incorrect"  # a crash is reported by the checker, not hidden
    assert q.check(lambda x: 2 * x).correct


SHELL_SCRIPT = r"""
import json, sys
from IPython.testing.globalipapp import start_ipython
shown = []
shell = start_ipython()
shell.display_pub.publish = lambda data, **kw: shown.append(data.get("text/plain", ""))
shell.displayhook.write_format_data = lambda data, md=None: shown.append("RESULT " + data.get("text/plain", ""))
shell.run_cell("from nanogpt_lite.exercises import ch01")
shell.run_cell("ch01.q1.check(-1)\nch01.q1.hint()")
sys.__stdout__.write("SHOWN " + json.dumps(shown) + "\n")
shown.clear()
shell.run_cell("ok = ch01.q1.check(ch01.q1.reference()).correct\nok")
sys.__stdout__.write("SHOWN " + json.dumps(shown) + "\n")
"""


def test_in_a_notebook_hint_under_check_does_not_hide_the_check():
    import json
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", SHELL_SCRIPT], capture_output=True, text=True, timeout=120)
    found = [json.loads(line.split("SHOWN ", 1)[1]) for line in run.stdout.splitlines() if "SHOWN " in line]
    assert len(found) == 2, run.stdout + run.stderr
    shown, second = found
    assert len(shown) == 2, shown
    assert shown[0].startswith("✘ 还不对") and shown[1].startswith("💡 提示")  # both, in order, each once
    assert second[-1] == "RESULT True"  # check() still returns a Feedback with .correct


def test_outside_ipython_check_returns_the_feedback_to_print():
    feedback = Q.check(63)
    assert type(feedback).__name__ == "Feedback" and not feedback.correct
    assert Q.grade(64).correct and Q.grade().kind == "not attempted"
