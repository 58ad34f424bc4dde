import pytest

from nanogpt_lite.exercises import ____, ch02, problems


def feedback_of(problem, answer) -> tuple[str, str]:
    feedback = problem.check(answer)
    return feedback.kind, repr(feedback)


def test_four_exercises_whose_references_pass():
    found = problems(ch02)
    assert list(found) == ["q1", "q2", "q3", "q4"]
    for problem in found.values():
        assert problem.check(problem.reference()).correct
        assert problem.check().kind == "not attempted" and problem.check(____).kind == "not attempted"


def test_the_reference_answers_are_what_python_does():
    assert ch02.q1.reference() == list(enumerate("hi!", start=10))
    e = enumerate("abc")
    next(e)
    assert ch02.q2.reference() == list(e)
    evals = 0
    for step, _ in enumerate(range(1000), start=1):  # the loop the notebook runs right after exercise 3
        if step % 300 == 0:
            evals += 1
    assert ch02.q3.reference() == evals == 3


@pytest.mark.parametrize(
    "answer, advice",
    [
        ([(0, "h"), (1, "i"), (2, "!")], "默认 start=0"),
        ([("h", 10), ("i", 11), ("!", 12)], "顺序反了"),
        ([], "start 不会跳过元素"),
        ([(11, "h"), (12, "i"), (13, "!")], "不是 start + 1"),
        ([[10, "h"], [11, "i"], [12, "!"]], "是元组"),
        (enumerate("hi!", start=10), "list(...)"),
        ((10, "h"), "应是一个列表，你给的是 tuple"),
        ([(10, "x")], "你给的是 [(10, 'x')]"),
    ],
)
def test_q1_wrong_answers_get_advice(answer, advice):
    kind, text = feedback_of(ch02.q1, answer)
    assert kind == "incorrect" and advice in text


@pytest.mark.parametrize(
    "answer, advice",
    [
        ([(0, "a"), (1, "b"), (2, "c")], "不会倒带"),
        ([], "后面还有"),
        ([(0, "b"), (1, "c")], "不会重新从 0 开始"),
        ("[(1, 'b'), (2, 'c')]", "应是一个列表，你给的是 str"),
    ],
)
def test_q2_wrong_answers_get_advice(answer, advice):
    kind, text = feedback_of(ch02.q2, answer)
    assert kind == "incorrect" and advice in text


def test_eval_count_follows_start():
    assert ch02.eval_count(1000, 300, 0) == 4  # 0, 300, 600, 900: nanoGPT's iter_num counts from 0
    assert ch02.eval_count(1000, 300, 1) == 3
    assert ch02.eval_count(1200, 300, 1) == 4 and ch02.eval_count(5001, 250, 0) == 21


@pytest.mark.parametrize("answer", [3, 3.0])
def test_q3_accepts_the_count_as_int_or_float(answer):
    assert ch02.q3.check(answer).correct


@pytest.mark.parametrize(
    "answer, advice",
    [
        (4, "多出来的是第 0 步"),
        (1000, "不是每一步都评估"),
        (1000 / 300, "向下取整"),
        (0, "evals 不会是 0"),
        (2, "你给的是 2"),
        ("3", "你给的是 '3'"),
        (True, "你给的是 True"),
        ([300, 600, 900], "答案是一个整数"),
    ],
)
def test_q3_wrong_predictions_get_advice(answer, advice):
    kind, text = feedback_of(ch02.q3, answer)
    assert kind == "incorrect" and advice in text


def test_q4_reference_keeps_the_first_position_that_enumerate_gives():
    first = ch02.q4.reference()
    assert first("hello") == {"h": 0, "e": 1, "l": 2, "o": 4}
    for text in ch02.FIRST_CASES:
        assert first(text) == {ch: text.index(ch) for ch in set(text)}


@pytest.mark.parametrize(
    "function, advice",
    [
        (lambda text: {ch: i for i, ch in enumerate(text)}, "最后一次出现的位置"),
        (lambda text: {i: ch for i, ch in enumerate(text)}, "键和值反了"),
        (lambda text: {ch: text.index(ch) + 1 for ch in text}, "多了 1"),
        (lambda text: {ch: i for i, ch in enumerate(dict.fromkeys(text))}, "去重之后的序号"),
        (lambda text: [text.index(ch) for ch in text], "返回 list"),
        (lambda text: {ch: text.index(ch) for ch in text} if len(text) < 6 else {}, "first_positions('banana') 应是"),
        (lambda text: {ch: text.index(ch) for ch in text if ch.strip()}, "first_positions('a\\nb\\na') 应是"),
        ({"h": 0}, "把函数本身传进来"),
    ],
)
def test_q4_wrong_functions_get_advice(function, advice):
    kind, text = feedback_of(ch02.q4, function)
    assert kind == "incorrect" and advice in text


def test_a_function_still_returning_the_placeholder_is_not_attempted():
    def first_positions(text):
        return ____

    assert ch02.q4.check(first_positions).kind == "not attempted"


def test_a_crashing_function_is_reported_not_raised():
    kind, text = feedback_of(ch02.q4, lambda text: text[99])
    assert kind == "incorrect" and "IndexError" in text


def test_feedback_reads_as_html_too():
    html = ch02.q1.check([(0, "h"), (1, "i"), (2, "!")])._repr_html_()
    assert "nl-incorrect" in html and "start=10" in html
