"""Chapter 5 exercises: gradients by hand, accumulation, a predicted gradient of cross-entropy, micro-steps.

The hand-computed questions use round numbers: ``w = [[1.0, 0.5]]``, ``b = [0.5]``,
``x = [[1, 2]]``, ``y = [[3]]`` and ``loss = (pred - y) ** 2``, so ``pred = 2.5``.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from .core import Incorrect, Problem, expect

WEIGHT, BIAS, X, Y = [1.0, 0.5], 0.5, [1.0, 2.0], 3.0
PRED = WEIGHT[0] * X[0] + WEIGHT[1] * X[1] + BIAS  # 2.5
GRAD = [2 * (PRED - Y) * X[0], 2 * (PRED - Y) * X[1], 2 * (PRED - Y)]  # [dw1, dw2, db] = [-1, -2, -1]


def _numbers(answer: Any, count: int) -> list[float]:
    """The answer as ``count`` floats (a list, tuple or tensor), or advice on its shape."""
    if isinstance(answer, torch.Tensor):
        answer = answer.detach().flatten().tolist()
    expect(answer is not None, "答案是 None。这一题的梯度已经算出来了，写出具体的数。")
    try:
        values = [float(v) for v in answer]
    except (TypeError, ValueError):
        raise Incorrect(f"请写成 {count} 个数的列表，例如 [1.0, 2.0{', 3.0' if count == 3 else ''}]。") from None
    expect(len(values) == count, f"需要 {count} 个数，你给了 {len(values)} 个。")
    return values


def _close(values: list[float], target: list[float]) -> bool:
    return all(math.isclose(v, t, rel_tol=1e-6, abs_tol=1e-6) for v, t in zip(values, target))


def _check_q1(answer: Any) -> None:
    values = _numbers(answer, 3)
    expect(not _close(values, [g / 2 for g in GRAD]), "差了一个因子 2：(pred − y)² 对 pred 的导数是 2·(pred − y)。")
    expect(not _close(values, [-g for g in GRAD]), "符号反了：pred − y = 2.5 − 3 = −0.5 是负的，梯度也应该是负的。")
    expect(not _close(values, [GRAD[0], GRAD[1], GRAD[1]]), "偏置 b 的梯度不乘 x：∂pred/∂b = 1，所以 ∂loss/∂b = 2·(pred − y)。")
    expect(_close(values, GRAD), "还不对。先算 pred = 1·1 + 0.5·2 + 0.5，再用 ∂loss/∂w = 2·(pred − y)·x，∂loss/∂b = 2·(pred − y)。")


q1 = Problem(
    prompt="w = [[1.0, 0.5]]，b = [0.5]，x = [[1, 2]]，y = [[3]]，loss = (pred − y)²。手算 [∂loss/∂w₁, ∂loss/∂w₂, ∂loss/∂b]。",
    checker=_check_q1,
    hint_text="pred = w₁·x₁ + w₂·x₂ + b。链式法则：∂loss/∂w = 2·(pred − y)·x，∂loss/∂b = 2·(pred − y)。",
    solution_text="pred = 1·1 + 0.5·2 + 0.5 = 2.5；pred − y = −0.5\n"
    "∂loss/∂w = 2·(−0.5)·[1, 2] = [−1, −2]；∂loss/∂b = 2·(−0.5) = −1\n"
    "answer = [-1.0, -2.0, -1.0]",
    reference=lambda: list(GRAD),
    praise="和 loss.backward() 算出来的一样：梯度就是链式法则。",
)


def _check_q2(answer: Any) -> None:
    values = _numbers(answer, 2)
    once, twice = GRAD[:2], [2 * g for g in GRAD[:2]]
    expect(not _close(values, once), "这是只做一次 backward() 的梯度。PyTorch 不会覆盖 .grad，而是把新梯度加上去。")
    expect(not _close(values, [2 * g for g in twice]), "太多了：两次 backward()，每次加一份 [−1, −2]，一共两份。")
    expect(not _close(values, [-g for g in twice]), "符号反了：每一份梯度都是 [−1, −2]。")
    expect(_close(values, twice), "还不对。两次 forward + backward 之间没有 zero_grad，也没有 step：参数没变，每次的梯度一样。")


q2 = Problem(
    prompt="同一组 w、b、x、y，做两次 `loss = (model(x) - y) ** 2; loss.backward()`，中间既没有 zero_grad 也没有 step。"
    "此时 model.weight.grad 是多少？写成 [g₁, g₂]。",
    checker=_check_q2,
    hint_text="第一次 backward 之后 weight.grad = [−1, −2]。第二次 backward 是覆盖还是相加？",
    solution_text="梯度会累加：[−1, −2] + [−1, −2] = [−2, −4]\nanswer = [-2.0, -4.0]",
    reference=lambda: [2 * g for g in GRAD[:2]],
    praise="对：正好是两倍。所以每一步训练前都要 zero_grad。",
)

VOCAB = 65  # tiny Shakespeare's characters
Q3_GRAD = 1 / VOCAB - 1  # d loss / d logit of the target, when all 65 logits are equal: softmax 1/65, minus the one-hot 1


def _check_q3(answer: Any) -> None:
    expect(answer is not None, "答案是 None。写出一个数，例如 0.5。")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise Incorrect("请写成一个数，例如 -0.5 或 1 / 2 - 1。") from None
    near = lambda target: math.isclose(value, target, abs_tol=1e-4)  # noqa: E731
    expect(not near(0.0), "全零的分数也有梯度：梯度取决于 softmax 的概率和目标，不取决于分数本身是不是 0。")
    expect(not near(-1.0), "目标那一格的概率不是 0：65 个分数都是 0，softmax 给每个字符 1/65。")
    expect(not near(1 / VOCAB), "1/65 是这一行其他格（不是目标）的梯度；目标那一格还要减去 one-hot 的 1。")
    expect(not near(-Q3_GRAD), "符号反了：概率 1/65 减去 1 是负的。梯度为负，step 会把这个分数调高，'b' 的概率就变大。")
    expect(not near(math.log(VOCAB)), "ln 65 ≈ 4.1744 是这时的损失，不是梯度。")
    expect(not near(1 / 64 - 1), "词表有 65 个字符，不是 64 个：概率是 1/65。")
    expect(near(Q3_GRAD), "还不对。先算 softmax：65 个相等的分数，每个字符的概率是多少？再减去目标的 one-hot。")


q3 = Problem(
    prompt="全零的二元模型（65×65 个分数都是 0），只喂一个位置：输入 'a'，目标 'b'，然后 loss.backward()。"
    "weight.grad 里第 'a' 行、第 'b' 列的数是多少？（交叉熵对 logits 的梯度 = softmax 概率 − 目标的 one-hot）",
    checker=_check_q3,
    hint_text="分数全是 0，softmax 是均匀分布：每个字符的概率 1/65。目标 'b' 那一格的 one-hot 是 1，其他格是 0。",
    solution_text="answer = 1 / 65 - 1   # ≈ -0.9846：'a' 行只有 'b' 这一格是负的，其余 64 格各是 +1/65，整行加起来是 0",
    reference=lambda: Q3_GRAD,
    praise="对：1/65 − 1 ≈ −0.9846。梯度为负，step 之后 'a' 后面接 'b' 的分数变高；其他字符各得 +1/65，分数变低。",
)


Q4_GRAD = [-3.0, 2.0]  # w.grad in exercise 4: its own numbers, so its prompt does not give away exercise 1
Q4_LR = 0.1


def _check_q4(answer: Any) -> None:
    values = _numbers(answer, 2)
    new = [w - Q4_LR * g for w, g in zip(WEIGHT, Q4_GRAD)]
    expect(not _close(values, [w + Q4_LR * g for w, g in zip(WEIGHT, Q4_GRAD)]), "方向反了：step 是 w − lr·grad（沿梯度的反方向走，loss 才会下降）。")
    expect(not _close(values, [w - g for w, g in zip(WEIGHT, Q4_GRAD)]), "忘了乘学习率 lr = 0.1。")
    expect(not _close(values, [-Q4_LR * g for g in Q4_GRAD]), "这是 w 的变化量；题目问的是 step() 之后 w 的新值。")
    expect(_close(values, new), "还不对。新 w = 旧 w − lr · w.grad，逐个元素算。")


q4 = Problem(
    prompt="w = [[1.0, 0.5]]，w.grad = [[−3, 2]]，优化器是 torch.optim.SGD(lr=0.1)。optimizer.step() 之后 w 是多少？写成 [w₁, w₂]。",
    checker=_check_q4,
    hint_text="SGD 的一步：w ← w − lr · w.grad，逐个元素算。",
    solution_text="[1.0 − 0.1·(−3), 0.5 − 0.1·2] = [1.3, 0.3]\nanswer = [1.3, 0.3]",
    reference=lambda: [w - Q4_LR * g for w, g in zip(WEIGHT, Q4_GRAD)],
    praise="对：每个参数都往自己梯度的反方向走 lr·|grad|：w₁ 的梯度是负的，w₁ 变大；w₂ 的梯度是正的，w₂ 变小。",
)


MICRO_STEPS = 40  # nanoGPT train.py's default gradient_accumulation_steps = 5 * 8


def _check_q5(answer: Any) -> None:
    expect(answer is not None, "答案是 None。写出一个数，例如 0.5。")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise Incorrect("请写成一个数，例如 0.5 或 1 / 2。") from None
    expect(not math.isclose(value, 1.0), "不缩放的话，40 个微批次的平均梯度加起来是大批次的 40 倍。")
    expect(not math.isclose(value, MICRO_STEPS), "乘 40 会让梯度更大（1600 倍）。要的是把 40 份的和变回平均值。")
    expect(not math.isclose(value, 0.25), "0.25 = 1/4 对应本章例子的 k = 4；这里 gradient_accumulation_steps = 5 * 8 = 40。")
    expect(math.isclose(value, 1 / MICRO_STEPS, rel_tol=1e-6), "还不对。每次 backward 都把梯度加进 .grad；40 份加起来，要乘多少才等于一份平均值？")


q5 = Problem(
    prompt="nanoGPT 的 train.py 默认 gradient_accumulation_steps = 5 * 8：每一步做 40 次 forward + backward（每次一个一样大的"
    "微批次），才 step 一次。每个微批次的 loss 要乘以多少，累加出的 .grad 才和一次喂进 40 倍大的批次相同？",
    checker=_check_q5,
    hint_text="每个微批次的 loss 是它自己的平均值。40 次 backward 把 40 份梯度加在一起；大批次的 loss 是 40 份的平均。",
    solution_text="answer = 1 / 40   # 即 0.025：train.py 里写的是 loss = loss / gradient_accumulation_steps",
    reference=lambda: 1 / MICRO_STEPS,
    praise="对：除以 gradient_accumulation_steps，40 份的和就变成了平均值，和大批次一样。",
)
