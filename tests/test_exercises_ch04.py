import math

import pytest
import torch

from nanogpt_lite.exercises import ____, ch04


def test_every_exercise_starts_not_attempted_and_accepts_its_reference():
    for q in (ch04.q1, ch04.q2, ch04.q3, ch04.q4, ch04.q5):
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
    [(" ", "'o' 那一行要自己查"), ("r", "不是第一名"), ("n", "不是第一名"), ("e", "不是训练集里 'o' 后面最常见"),
     ("ou", "答案是一个字符"), (32, "答案是一个字符")],
)
def test_greedy_pick_mistakes(answer, advice):
    feedback = ch04.q2.check(answer)
    assert feedback.kind == "incorrect" and advice in feedback.message


def test_greedy_pick_is_the_argmax_of_the_measured_row(shakespeare):
    _, tok, train, _ = shakespeare
    pairs = list(zip(train[:-1].tolist(), train[1:].tolist()))
    after_o = [b for a, b in pairs if a == tok.stoi["o"]]
    most_common = max(set(after_o), key=after_o.count)
    assert ch04.q2.check(tok.itos[most_common]).correct


def test_greedy_pick_asks_about_a_row_the_chapter_never_prints():
    """The chapter prints the row after 'e' (its argmax is a space): q2's answer must not be shown above it."""
    assert ch04.GREEDY_CONTEXT != "e" and ch04.q2.reference() != " "


@pytest.mark.parametrize(
    "answer, advice",
    [(math.log(65), "top-k = 10 只留下 10 个字符"), (math.log2(10), "比特"), (10, "留下的字符个数"),
     (0.1, "每个留下的字符的概率"), (0, "T → 0"), (3.3, "不对"), ("2.30", "是一个数")],
)
def test_top_k_entropy_mistakes(answer, advice):
    feedback = ch04.q4.check(answer)
    assert feedback.kind == "incorrect" and advice in feedback.message


def test_top_k_entropy_is_the_limit_of_the_measured_curve():
    """ln 10 is where softmax(logits / T) with top-k = 10 goes as T grows, for any logits without ties."""
    from nanogpt_lite.instruments.distributions import entropy_curve

    logits = torch.linspace(-3.0, 4.0, 65)
    assert entropy_curve(logits, [1e6], top_k=10)[0] == pytest.approx(ch04.q4.reference(), abs=1e-4)
    assert ch04.q4.check(2.303).correct and ch04.q4.check(round(math.log(10), 3)).correct


@pytest.mark.parametrize("answer", [5.313, 5.31, 5.3, 2.305**2, round(math.exp(2 * math.log(2.305)), 2)])
def test_ratio_prediction_accepts_the_square(answer):
    assert ch04.q5.check(answer).correct


@pytest.mark.parametrize(
    "answer, advice",
    [(2.305, "温度会改变比值"), (4.61, "不是乘以 2"), (2.305**0.5, "这是 T = 2 的比值"), (1.15, "方向反了"),
     (0.68, "两个概率之比"), (3.0, "指数变成几倍"), ("5.31", "是一个数"), (float("nan"), "是一个数"), (True, "是一个数")],
)
def test_ratio_prediction_mistakes(answer, advice):
    feedback = ch04.q5.check(answer)
    assert feedback.kind == "incorrect" and advice in feedback.message


def test_ratio_prediction_is_what_softmax_with_temperature_measures(shakespeare):
    """What q5 predicts, measured: halving T squares every ratio of probabilities, on any logits and on the real row."""
    from nanogpt_lite import bigram_counts, next_token_probs

    logits = torch.tensor([4.089, 3.253, 2.777, -5.461], dtype=torch.float64)  # 4.4 节 'e' 之后的 ' '、'r'、'n'、'z'
    at = {t: next_token_probs(logits, temperature=t) for t in (1.0, 0.5)}
    assert float(at[1.0][0] / at[1.0][1]) == pytest.approx(ch04.RATIO_T1, abs=5e-3)  # logits rounded to 3 decimals
    assert float(at[0.5][0] / at[0.5][1]) == pytest.approx(ch04.q5.reference(), rel=5e-3)
    assert float(at[0.5][0] / at[0.5][2]) == pytest.approx(float(at[1.0][0] / at[1.0][2]) ** 2, rel=1e-9)
    _, tok, train, _ = shakespeare
    row = bigram_counts(train, tok.vocab_size)[tok.stoi["e"]].double()
    count_logits = (row + 1).log()  # 计数表当模型：T = 0.5 同样把比值平方
    p1, p05 = next_token_probs(count_logits, temperature=1.0), next_token_probs(count_logits, temperature=0.5)
    s, r = tok.stoi[" "], tok.stoi["r"]
    assert float(p05[s] / p05[r]) == pytest.approx(float(p1[s] / p1[r]) ** 2, rel=1e-9)
