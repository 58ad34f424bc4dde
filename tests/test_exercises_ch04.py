import math

import pytest
import torch

from nanogpt_lite.exercises import ____, ch04


def test_every_exercise_starts_not_attempted_and_accepts_its_reference():
    for q in (ch04.q1, ch04.q2, ch04.q3, ch04.q4):
        assert q.check(____).kind == "not attempted"
        assert q.check(q.reference()).correct
        assert q.hint().message and q.solution().message


def stable_softmax(logits, T):
    z = logits / T
    z = z - z.max(dim=-1, keepdim=True).values
    e = torch.exp(z)
    return e / e.sum(dim=-1, keepdim=True)


@pytest.mark.parametrize(
    "attempt, advice",
    [
        (lambda l, T: torch.exp(l / T) / torch.exp(l / T).sum(-1, keepdim=True), "先减去每行的最大值"),
        (lambda l, T: torch.softmax(l, -1), "温度没起作用"),
        (lambda l, T: torch.softmax(l * T, -1), "不是乘以 T"),
        (lambda l, T: torch.exp(l / T), "每行加起来应是 1"),
        (lambda l, T: torch.softmax((l / T).flatten(), -1).view_as(l), "沿最后一维"),
        (lambda l, T: None, "应返回一个张量"),
        (lambda l, T: torch.softmax(l / T, -1)[..., :-1], "形状应是"),
        (stable_softmax(torch.zeros(2), 1.0), "把函数本身传进来"),
    ],
)
def test_softmax_mistakes_get_specific_advice(attempt, advice):
    feedback = ch04.q1.check(attempt)
    assert feedback.kind == "incorrect" and advice in feedback.message


def test_a_hand_written_stable_softmax_is_correct():
    assert ch04.q1.check(stable_softmax).correct


def kth(l, k):
    return torch.topk(l, k, dim=-1).values[..., -1:]


def in_place(l, k):
    l[l < kth(l, k)] = float("-inf")
    return l


@pytest.mark.parametrize(
    "attempt, advice",
    [
        (lambda l, k: l.masked_fill(l < kth(l, k), 0.0), "设成了 0"),
        (lambda l, k: torch.softmax(l.masked_fill(l < kth(l, k), float("-inf")), -1), "返回的是概率"),
        (in_place, "原地修改"),
        (lambda l, k: l.masked_fill(l <= kth(l, k), float("-inf")), "应保留 3 个"),
        (lambda l, k: l.masked_fill(l < kth(l, k), -1e9), "float('-inf') 才让概率恰好为 0"),
        (lambda l, k: l.masked_fill(l < kth(l, k), float("-inf")) * 2, "值不变"),
        (lambda l, k: "logits", "应返回一个张量"),
    ],
)
def test_top_k_mistakes_get_specific_advice(attempt, advice):
    feedback = ch04.q3.check(attempt)
    assert feedback.kind == "incorrect" and advice in feedback.message


def test_a_sort_based_top_k_is_correct():
    def by_sorting(logits, k):
        threshold = logits.sort(dim=-1, descending=True).values[..., k - 1 : k]
        out = logits.clone()
        out[out < threshold] = float("-inf")
        return out

    assert ch04.q3.check(by_sorting).correct


@pytest.mark.parametrize(
    "answer, advice",
    [("r", "FAQ 的示意数字"), ("d", "实测只有"), ("e", "不是 'e' 后面最常见"), ("the", "答案是一个字符"), (32, "答案是一个字符")],
)
def test_greedy_pick_mistakes(answer, advice):
    feedback = ch04.q2.check(answer)
    assert feedback.kind == "incorrect" and advice in feedback.message


def test_greedy_pick_is_the_argmax_of_the_measured_row(shakespeare):
    _, tok, train, _ = shakespeare
    pairs = list(zip(train[:-1].tolist(), train[1:].tolist()))
    after_e = [b for a, b in pairs if a == tok.stoi["e"]]
    most_common = max(set(after_e), key=after_e.count)
    assert ch04.q2.check(tok.itos[most_common]).correct


@pytest.mark.parametrize(
    "answer, advice",
    [(math.log2(65), "比特"), (65, "字符个数"), (1 / 65, "每个字符的概率"), (0, "T → 0"), (3.3, "不对"), ("4.17", "是一个数")],
)
def test_uniform_entropy_mistakes(answer, advice):
    feedback = ch04.q4.check(answer)
    assert feedback.kind == "incorrect" and advice in feedback.message


def test_uniform_entropy_accepts_a_rounded_answer():
    assert ch04.q4.check(4.174).correct and ch04.q4.check(round(math.log(65), 3)).correct
