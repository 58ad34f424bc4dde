"""Checked exercises in the style of Kaggle learntools: ``q1.check(answer)``, ``q1.hint()``, ``q1.solution()``.

A chapter module defines its questions as :class:`Problem` objects::

    q1 = Problem(
        prompt="Which id does 'z' get?",
        checker=lambda answer: expect(answer == 64, "count the characters before 'z'"),
        hint_text="stoi maps a character to its id.",
        solution_text="tok.stoi['z']  # 64",
        reference=lambda: 64,
    )
"""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class _Blank:
    """The placeholder learners replace with their answer."""

    def __repr__(self) -> str:
        return "____"


____ = _Blank()


class Incorrect(Exception):
    """Raised by a checker: the message tells the learner what is wrong."""


def expect(condition: bool, message: str) -> None:
    """Raise :class:`Incorrect` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise Incorrect(message)


def expect_callable(answer: Any, name: str) -> None:
    """The answer must be the learner's function itself, not its result."""
    expect(callable(answer), f"把函数本身传进来（{name}，不要加括号），你给的是 {type(answer).__name__}。")


_STYLE = {
    "correct": ("✔ 正确 Correct", "#1b7f3b"),
    "incorrect": ("✘ 还不对 Incorrect", "#b3261e"),
    "not attempted": ("… 还没作答 Not attempted", "#8a6d00"),
    "hint": ("💡 提示 Hint", "#1565c0"),
    "solution": ("📖 参考答案 Solution", "#4a148c"),
}


@dataclass(frozen=True)
class Feedback:
    """What check(), hint() and solution() return: shown as coloured HTML, readable as plain text."""

    kind: str
    message: str

    @property
    def correct(self) -> bool:
        return self.kind == "correct"

    def __repr__(self) -> str:
        title, _ = _STYLE[self.kind]
        return f"{title}: {self.message}" if self.message else title

    def _repr_html_(self) -> str:
        title, colour = _STYLE[self.kind]
        body = html.escape(self.message).replace("\n", "<br>")
        return (
            f'<div class="nl-feedback nl-{self.kind.replace(" ", "-")}" style="color:{colour}">'
            f"<b>{title}</b>{': ' if self.message else ''}<span style=\"white-space:pre-wrap\">{body}</span></div>"
        )


class Shown(Feedback):
    """Feedback already displayed in the notebook by check(), hint() or solution(): not displayed again.

    So a cell ``q1.check(answer)`` then ``q1.hint()`` shows both, in order (the last line of a cell
    no longer hides the check), while ``q1.check(answer).correct`` still works in tests and nbgrader.
    """

    def _ipython_display_(self) -> None:
        return None


def _show(feedback: Feedback) -> Feedback:
    """In IPython, display ``feedback`` now and return it as :class:`Shown`; elsewhere return it as it is."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python without IPython: the returned value's repr is the feedback
        return feedback
    if get_ipython() is None:
        return feedback
    display(feedback)
    return Shown(feedback.kind, feedback.message)


@dataclass
class Problem:
    """One exercise. ``checker(answer)`` raises :class:`Incorrect` (with advice) when the answer is wrong.

    ``reference()`` returns a correct answer (the tests check it passes); ``solution_text`` shows it.
    """

    prompt: str
    checker: Callable[[Any], None]
    hint_text: str
    solution_text: str
    reference: Callable[[], Any]
    praise: str = ""
    untouched: Callable[[Any], bool] | None = None  # an answer still holding ____ inside (see returns_blank)

    def _is_untouched(self, answer: Any) -> bool:
        if answer is ____ or answer is Ellipsis:
            return True
        if self.untouched is None:
            return False
        try:
            return bool(self.untouched(answer))
        except Exception:  # the learner's code crashed: the checker reports it
            return False

    def check(self, answer: Any = ____) -> Feedback:
        """Check ``answer``; in a notebook the feedback is displayed at once (see :class:`Shown`)."""
        return _show(self.grade(answer))

    def grade(self, answer: Any = ____) -> Feedback:
        """The feedback for ``answer``, displayed nowhere: not attempted, incorrect (with advice) or correct."""
        if self._is_untouched(answer):
            return Feedback("not attempted", f"把 ____ 换成你的答案再运行。Replace ____ with your answer. ({self.prompt})")
        try:
            self.checker(answer)
        except Incorrect as wrong:
            return Feedback("incorrect", str(wrong))
        except Exception as exc:  # the learner's own code crashed inside the checker
            return Feedback("incorrect", f"你的答案运行时出错 Your answer raised {type(exc).__name__}: {exc}")
        return Feedback("correct", self.praise)

    def hint(self) -> Feedback:
        return _show(Feedback("hint", self.hint_text))

    def solution(self) -> Feedback:
        return _show(Feedback("solution", self.solution_text))


def returns_blank(*probe: Any) -> Callable[[Any], bool]:
    """For answers that are functions: untouched while ``answer(*probe)`` still returns ``____``."""
    return lambda answer: callable(answer) and answer(*probe) is ____


def problems(module: Any) -> dict[str, Problem]:
    """The exercises of a chapter module, by name (q1, q2, ...), in order."""
    found = {name: value for name, value in vars(module).items() if isinstance(value, Problem)}
    return dict(sorted(found.items(), key=lambda item: int(item[0][1:]) if item[0][1:].isdigit() else 0))
