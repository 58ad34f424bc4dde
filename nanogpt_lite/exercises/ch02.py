"""Chapter 2 exercises: enumerate(). ``from nanogpt_lite.exercises import ch02``; ``ch02.q1.check(answer)``."""
from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from .core import Problem, expect, expect_callable, returns_blank

START_TEXT, START = "hi!", 10  # exercise 1 (the chapter prints other starts and texts, never this one)
START_PAIRS = [(10, "h"), (11, "i"), (12, "!")]


def _check_start(answer: Any) -> None:
    expect(not isinstance(answer, enumerate), "这是 enumerate 对象本身（惰性的），用 list(...) 把它展开成列表。")
    expect(isinstance(answer, list), f"答案应是一个列表，你给的是 {type(answer).__name__}。")
    expect(answer != [(0, "h"), (1, "i"), (2, "!")], "这是默认 start=0 的结果：start=10 让编号从 10 开始。")
    expect(answer != [("h", 10), ("i", 11), ("!", 12)], "顺序反了：enumerate 产生的是 (编号, 值)，编号在前。")
    expect(answer != [], "start 不会跳过元素：'h' 仍然是第一个，只是它的编号是 10。")
    expect(answer != [(11, "h"), (12, "i"), (13, "!")], "第一个编号就是 start 本身（10），不是 start + 1。")
    as_tuples = [tuple(x) if isinstance(x, list) else x for x in answer]
    expect(answer == START_PAIRS or as_tuples != START_PAIRS, "数字和字符都对，但每一项是元组 (10, 'h')，不是列表 [10, 'h']。")
    expect(answer == START_PAIRS, f"还不对：你给的是 {answer!r}。把 enumerate('hi!', start=10) 的每一步写出来。")


def _check_rest_after_next(answer: Any) -> None:
    expect(isinstance(answer, list), f"答案应是一个列表，你给的是 {type(answer).__name__}。")
    expect(
        answer != [(0, "a"), (1, "b"), (2, "c")],
        "迭代器不会倒带：next(e) 已经取走了 (0, 'a')，list(e) 只拿到剩下的。",
    )
    expect(answer != [], "list(e) 是第一次把 e 展开，next 只取走了一项，后面还有。")
    expect(answer != [(0, "b"), (1, "c")], "编号不会重新从 0 开始：它跟着取出的次数走。")
    expect(answer == [(1, "b"), (2, "c")], f"还不对：你给的是 {answer!r}。")


EVAL_BATCHES, EVAL_INTERVAL, EVAL_START = 1000, 300, 1  # exercise 3: the loop the chapter runs after it


def eval_count(n_batches: int, eval_interval: int, start: int) -> int:
    """How often ``if step % eval_interval == 0`` fires in ``for step, b in enumerate(batches, start=start)``."""
    return sum(1 for step, _ in enumerate(range(n_batches), start=start) if step % eval_interval == 0)


def _check_eval_count(answer: Any) -> None:
    expect(isinstance(answer, numbers.Real) and not isinstance(answer, bool),
           f"答案是一个整数（评估了几次），你给的是 {answer!r}。")
    expect(answer != eval_count(EVAL_BATCHES, EVAL_INTERVAL, 0),
           "多数了一次，多出来的是第 0 步：start=1 让 step 从 1 数起，0 根本不会出现。"
           "1 到 1000 里能被 300 整除的只有 300、600、900。（从 0 数起才是 4 次，nanoGPT 的 iter_num 就是这样。）")
    expect(answer != EVAL_BATCHES, "不是每一步都评估：只有 step % 300 == 0 的那几步才让 evals 加 1。")
    expect(float(answer).is_integer(),
           "次数是整数：1000 / 300 ≈ 3.33，最后那段不满 300 步的尾巴不会触发评估，所以向下取整。")
    expect(answer != 0, "step 会一直数到 1000，途中好几次是 300 的倍数，evals 不会是 0。")
    expect(answer == eval_count(EVAL_BATCHES, EVAL_INTERVAL, EVAL_START),
           f"还不对：你给的是 {answer!r}。把 step 的取值写出来（1, 2, …, 1000），数一数其中有几个是 300 的倍数。")


FIRST_CASES = ["banana", "", "aaa", "a\nb\na", "To be, or not to be"]  # the checker's other texts


def _first_positions(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, ch in enumerate(text):
        if ch not in found:
            found[ch] = i
    return found


def _check_first_positions(first_positions: Callable[[str], Any]) -> None:
    expect_callable(first_positions, "first_positions")
    got = first_positions("hello")
    want = _first_positions("hello")  # {'h': 0, 'e': 1, 'l': 2, 'o': 4}
    expect(isinstance(got, dict), f"要返回一个字典（字符 → 位置），你的函数返回 {type(got).__name__}。")
    expect(got != {ch: i for i, ch in enumerate("hello")},
           "'l' 记成了 3，这是它最后一次出现的位置：字典推导式里重复的键会被后来的值覆盖（2.6 节）。"
           "只在字符还不在字典里时才记下位置。")
    expect(not got or not all(isinstance(k, int) for k in got), "键和值反了：键是字符，值是位置。")
    expect(got != {ch: i + 1 for ch, i in want.items()}, "位置都多了 1：enumerate 默认从 0 数起，不要写 start=1。")
    expect(got != {ch: i for i, ch in enumerate(dict.fromkeys("hello"))},
           "这是去重之后的序号（'o' 成了 3）：要的是字符在原文里的位置，'o' 在 'hello' 的位置 4。")
    expect(got == want, f"first_positions('hello') 应是 {want!r}，你的函数给出 {got!r}。")
    for text in FIRST_CASES:
        want, got = _first_positions(text), first_positions(text)
        expect(got == want, f"first_positions({text!r}) 应是 {want!r}，你的函数给出 {got!r}。")


q1 = Problem(
    prompt=f"list(enumerate({START_TEXT!r}, start={START})) 是什么？",
    checker=_check_start,
    hint_text="enumerate 产生 (编号, 值) 元组；start 只改编号从几数起，不跳过任何元素。",
    solution_text=f"{START_PAIRS!r}",
    reference=lambda: list(START_PAIRS),
    praise="start=10 只改变编号，'h' 还是第一个。",
)

q2 = Problem(
    prompt="e = enumerate('abc'); next(e)；之后 list(e) 是什么？",
    checker=_check_rest_after_next,
    hint_text="enumerate 是惰性迭代器：每次 next() 取走一项，取走的不会再回来。",
    solution_text="[(1, 'b'), (2, 'c')]  # next(e) 已经取走了 (0, 'a')",
    reference=lambda: [(1, "b"), (2, "c")],
    praise="迭代器只能向前走一遍。",
)

q3 = Problem(
    prompt="for step, (xb, yb) in enumerate(batches, start=1) 取 1000 个批次，每逢 step % 300 == 0 评估一次：一共评估几次？",
    checker=_check_eval_count,
    hint_text="start=1 时 step 依次是 1, 2, …, 1000。哪几个能被 300 整除？step 会不会是 0？",
    solution_text="3  # step 取 1…1000，能被 300 整除的是 300、600、900；start=1 时没有第 0 步",
    reference=lambda: eval_count(EVAL_BATCHES, EVAL_INTERVAL, EVAL_START),
    praise="step 从 1 数起，没有第 0 步，只在 300、600、900 各评估一次。nanoGPT 的 iter_num 从 0 数起，所以它在训练开始前就先评估一次。",
)

q4 = Problem(
    prompt="用 enumerate 写 first_positions(text)：返回 {字符: 它第一次出现的位置} 字典，例如 'hello' 里 'l' 是 2。",
    checker=_check_first_positions,
    hint_text="for i, ch in enumerate(text): 只在 ch 还不在字典里时才写 found[ch] = i。"
              "字典推导式 {ch: i for i, ch in enumerate(text)} 会让后来的位置覆盖前面的。",
    solution_text="def first_positions(text):\n    found = {}\n    for i, ch in enumerate(text):\n"
                  "        if ch not in found:\n            found[ch] = i\n    return found",
    reference=lambda: _first_positions,
    praise="和 2.6 节正好相反：推导式让后来的位置覆盖前面的，这里先到先得，'l' 留下 FAQ 找到的第一个位置 2。",
    untouched=returns_blank("hello"),
)
