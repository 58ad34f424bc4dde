"""Chapter 4 exercises: sampling. ``from nanogpt_lite.exercises import ch04``; ``ch04.q1.check(answer)``."""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import torch

from ..counts import bigram_counts
from ..data import load_text, split
from ..tokenizer import CharTokenizer
from .core import Incorrect, Problem, expect, expect_callable

ROW = torch.tensor([1.5, -0.3, 2.7, 0.0, 2.1, -1.2])  # a made-up row of logits with no ties
BATCH = torch.tensor([[0.2, 1.9, -0.7, 1.1], [3.0, 0.4, 2.2, -2.0]])  # two rows: one distribution per row
HUGE = torch.tensor([1000.0, 999.0, 990.0])  # exp(1000) overflows: only a stable softmax survives


def _as_float_tensor(got: Any, what: str) -> torch.Tensor:
    try:
        return torch.as_tensor(got, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise Incorrect(f"{what} 应返回一个张量，你的函数返回 {type(got).__name__}。") from None


def _softmax_with_temperature(logits: torch.Tensor, T: float) -> torch.Tensor:
    return torch.softmax(logits / T, dim=-1)


def _check_softmax(fn: Callable[[torch.Tensor, float], Any]) -> None:
    expect_callable(fn, "softmax_with_temperature")
    for logits, T in [(ROW, 1.0), (ROW, 0.5), (ROW, 2.0), (BATCH, 0.7)]:
        got = _as_float_tensor(fn(logits.clone(), T), "softmax_with_temperature")
        want = _softmax_with_temperature(logits.double(), T)
        call = f"softmax_with_temperature({'ROW' if logits is ROW else 'BATCH'}, {T})"
        expect(got.shape == want.shape, f"{call} 的形状应是 {tuple(want.shape)}，你的是 {tuple(got.shape)}。")
        sums = got.sum(-1)
        if logits.dim() == 2:
            expect(not torch.allclose(got.sum(), torch.ones((), dtype=got.dtype)),
                   "整个矩阵加起来是 1：softmax 要沿最后一维（dim=-1）做，每一行各自是一个分布。")
        expect(torch.allclose(sums, torch.ones_like(sums), atol=1e-5),
               f"{call} 每行加起来应是 1，你的是 {sums.tolist()}：exp 之后要除以它们的和。")
        if T != 1.0:
            expect(not torch.allclose(got, _softmax_with_temperature(logits.double(), 1.0), atol=1e-5),
                   f"{call} 和 T=1 的结果一样：温度没起作用，先把 logits 除以 T。")
            expect(not torch.allclose(got, torch.softmax(logits.double() * T, -1), atol=1e-5),
                   "是除以 T，不是乘以 T：T < 1 应让分布更尖，T > 1 更平。")
        expect(torch.allclose(got, want, atol=1e-5), f"{call} 应是 {want.numpy().round(4).tolist()}，你的是 {got.numpy().round(4).tolist()}。")
    got = _as_float_tensor(fn(HUGE.clone(), 1.0), "softmax_with_temperature")
    expect(bool(torch.isfinite(got).all()),
           "logits 很大（1000）时 exp 溢出成 inf，结果变成 nan：先减去每行的最大值再 exp，softmax 不变。")
    expect(torch.allclose(got, _softmax_with_temperature(HUGE.double(), 1.0), atol=1e-5), "logits 很大时结果不对。")


def _top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, float("-inf"))


def _check_top_k(fn: Callable[[torch.Tensor, int], Any]) -> None:
    expect_callable(fn, "top_k_filter")
    for logits, k in [(ROW, 3), (ROW, 1), (ROW, 6), (BATCH, 2)]:
        given = logits.clone()
        got = _as_float_tensor(fn(given, k), "top_k_filter")
        want = _top_k_filter(logits.double(), k)
        call = f"top_k_filter({'ROW' if logits is ROW else 'BATCH'}, {k})"
        expect(torch.equal(given, logits), "你的函数改动了传进来的 logits（原地修改）：先 clone()，或用 masked_fill（不带下划线）。")
        expect(got.shape == want.shape, f"{call} 的形状应是 {tuple(want.shape)}，你的是 {tuple(got.shape)}。")
        expect(not ((got >= 0).all() and torch.allclose(got.sum(-1), torch.ones(got.shape[:-1], dtype=got.dtype))),
               "你返回的是概率：这里要返回过滤后的 logits（没选中的设为 -inf），softmax 留给 next_token_probs。")
        expect(not (got == 0).sum() > (want == 0).sum(),
               "被去掉的位置设成了 0：logit 0 经过 softmax 仍有概率 exp(0)=1。要设成 float('-inf')。")
        removed = torch.isinf(want)
        expect(not (removed.any() and torch.isfinite(got[removed]).all() and (got[removed] < -1e4).all()),
               "用一个很大的负数几乎一样，但 float('-inf') 才让概率恰好为 0，而且不依赖 logits 的大小。")
        kept, want_kept = torch.isfinite(got).sum(-1), torch.isfinite(want).sum(-1)
        expect(torch.equal(kept, want_kept), f"{call} 每行应保留 {want_kept.tolist()} 个 logit，你保留了 {kept.tolist()} 个。")
        expect(torch.equal(got, want), f"{call} 应是 {want.tolist()}，你的是 {got.tolist()}：保留的是最大的 k 个，值不变。")


GREEDY_CONTEXT = "o"  # its row is never printed in the chapter: the learner has to look it up


@cache
def _greedy_after(context: str = GREEDY_CONTEXT) -> str:
    """The character greedy decoding picks after ``context``: its most frequent follower in the training split."""
    text = load_text()
    tok = CharTokenizer.from_text(text)
    train, _ = split(torch.tensor(tok.encode(text)), 0.9)
    counts = bigram_counts(train, tok.vocab_size)
    return tok.itos[int(counts[tok.stoi[context]].argmax())]


def _check_greedy_pick(answer: Any) -> None:
    expect(isinstance(answer, str) and len(answer) == 1, f"答案是一个字符（比如 'x'），你给的是 {answer!r}。")
    expect(answer != " ", "空格是 'e' 之后的第一名；'o' 那一行要自己查：counts[tok.stoi['o']] 里最大的是哪个？")
    expect(answer not in "rn", f"{answer!r} 在 'o' 之后很常见，但不是第一名。argmax 只看最高的那根柱子。")
    expect(answer == _greedy_after(), f"{answer!r} 不是训练集里 'o' 后面最常见的字符。用 argmax 查一查。")


TOP_K = 10  # q4: T -> infinity with top-k = 10


def _check_top_k_entropy(answer: Any) -> None:
    expect(isinstance(answer, (int, float)) and not isinstance(answer, bool), f"答案是一个数，你给的是 {answer!r}。")
    expect(not math.isclose(answer, math.log(65), abs_tol=1e-3),
           "ln 65 是 65 个字符都留下时的极限；top-k = 10 只留下 10 个字符，其余概率为 0。")
    expect(not math.isclose(answer, math.log2(TOP_K), abs_tol=1e-3),
           "这是以 2 为底的（比特 bits）；本章的熵用自然对数（nats）。")
    expect(answer != TOP_K, "10 是留下的字符个数；熵是 -Σ p·ln p，T → ∞ 时留下的每个 p = 1/10。")
    expect(not math.isclose(answer, 1 / TOP_K, abs_tol=1e-4), "0.1 是每个留下的字符的概率；熵是 -Σ p·ln p。")
    expect(answer != 0, "熵为 0 是 T → 0（贪婪）的极限：只剩一个字符。T → ∞ 时留下的字符一样可能。")
    expect(math.isclose(answer, math.log(TOP_K), abs_tol=1e-3),
           f"{answer!r} 不对：10 个字符一样可能时，-Σ (1/10)·ln(1/10) 等于多少？")


RATIO_T1 = 2.305    # q5: p(' ') / p('r') after 'e' at T = 1, as section 4.4 prints it
COLDER = 0.5        # q5: the temperature to predict at


def _ratio_at(T: float, ratio_t1: float = RATIO_T1) -> float:
    """p(a) / p(b) at temperature T from the ratio at T = 1: softmax(z / T) makes it e^((z_a - z_b) / T)."""
    return ratio_t1 ** (1 / T)


def _check_ratio_prediction(answer: Any) -> None:
    expect(isinstance(answer, (int, float)) and not isinstance(answer, bool) and math.isfinite(answer),
           f"答案是一个数（比如 3.5），你给的是 {answer!r}。")
    want = _ratio_at(COLDER)

    def near(x: float) -> bool:
        return math.isclose(answer, x, rel_tol=0.01)

    expect(not near(RATIO_T1), f"比值没变？温度会改变比值：logits 除以 T = {COLDER} 之后，两个 logit 的差也跟着变。")
    expect(not near(2 * RATIO_T1),
           "logit 之差确实变成了 2 倍，但比值是 e 的（差）次方：差翻倍，比值是平方，不是乘以 2。")
    expect(not near(_ratio_at(2.0)), f"方向反了：这是 T = 2 的比值。T = {COLDER} < 1 让分布更尖，领先的空格优势更大。")
    expect(not near(RATIO_T1 / 2), f"方向反了：T = {COLDER} < 1 让分布更尖，领先的空格优势更大，比值应比 {RATIO_T1} 大。")
    expect(not 0 < answer <= 1,
           "问的是两个概率之比 p(' ') / p('r')，不是某一个概率；比值大于 1，因为空格领先。")
    expect(answer > RATIO_T1, f"T < 1 让分布更尖：领先的空格优势更大，比值应比 {RATIO_T1} 大。")
    expect(near(want), f"{answer!r} 不对：T = 1 时比值 = e^(logit 之差)；除以 T = {COLDER} 之后，指数变成几倍？")


q1 = Problem(
    prompt="写 softmax_with_temperature(logits, T)：返回 softmax(logits / T)，沿最后一维，每行是一个分布。",
    checker=_check_softmax,
    hint_text="先 logits / T；再减去每行最大值（防止 exp 溢出）；exp 之后除以每行的和。或者 torch.softmax(..., dim=-1)。",
    solution_text=(
        "def softmax_with_temperature(logits, T):\n"
        "    z = logits / T\n"
        "    z = z - z.max(dim=-1, keepdim=True).values   # 稳定：不改变结果\n"
        "    e = torch.exp(z)\n"
        "    return e / e.sum(dim=-1, keepdim=True)"
    ),
    reference=lambda: _softmax_with_temperature,
    praise="T < 1 让分布更尖，T > 1 让它更平；减去最大值让很大的 logits 也不会溢出。",
)

q2 = Problem(
    prompt="用训练集的计数表 counts 查一查：贪婪解码（argmax）在 'o' 后面选哪个字符？",
    checker=_check_greedy_pick,
    hint_text="argmax 总是选次数（概率）最高的那个：tok.itos[int(counts[tok.stoi['o']].argmax())]。",
    solution_text="tok.itos[int(counts[tok.stoi['o']].argmax())]  # 'u'：you、your、thou 里的 'ou'",
    reference=_greedy_after,
    praise="'o' 之后的第一名是 'u'（you、your、thou），不是 'e' 之后的空格：每个字符有自己的一行分布。",
)

q3 = Problem(
    prompt="写 top_k_filter(logits, k)：保留每行最大的 k 个 logits，其余设为 -inf（不要改动传入的张量）。",
    checker=_check_top_k,
    hint_text="torch.topk(logits, k, dim=-1).values[..., -1:] 是每行第 k 大的值；比它小的用 masked_fill 设为 float('-inf')。",
    solution_text=(
        "def top_k_filter(logits, k):\n"
        "    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]\n"
        "    return logits.masked_fill(logits < kth_largest, float('-inf'))"
    ),
    reference=lambda: _top_k_filter,
    praise="-inf 经过 softmax 正好是概率 0：被去掉的字符再也抽不到。",
)

q4 = Problem(
    prompt="T → ∞ 而且 top-k = 10：留下的 10 个字符上的分布是什么样？它的熵是多少 nats？（保留 3 位小数）",
    checker=_check_top_k_entropy,
    hint_text="top-k 之后只有 10 个字符概率不为 0；T → ∞ 时它们一样可能，每个 p = 1/10。熵 H = -Σ p·ln p。",
    solution_text="math.log(10)  # ≈ 2.303 nats：10 个字符上的均匀分布",
    reference=lambda: math.log(TOP_K),
    praise="k 个字符上的均匀分布，熵是 ln k：温度再高，top-k 也把熵封顶在 ln k（温度那一节图里的 ln 5 虚线）。",
)

q5 = Problem(
    prompt=(f"先预测，再测量：4.4 节量到 'e' 之后 T = 1 时 p(' ') / p('r') = {RATIO_T1}。"
            f"温度降到 T = {COLDER}，这个比值变成多少？（保留 2 位小数）"),
    checker=_check_ratio_prediction,
    hint_text=(f"softmax 里只有 logits 的差有意义：T = 1 时比值 = e^(z_空格 − z_r) = {RATIO_T1}。"
               f"除以 T = {COLDER}，差变成 2 倍，e^(2 × 差) = (e^差)²。"),
    solution_text=f"{RATIO_T1} ** 2  # ≈ {_ratio_at(COLDER):.2f}：温度减半，logit 之差翻倍，概率之比平方",
    reference=lambda: _ratio_at(COLDER),
    praise=f"比值从 {RATIO_T1} 变成它的平方：T = 0.5 把每个概率之比都平方，领先者越发领先；T → 0 时只剩第一名。",
)
