"""Chapter 6 exercises: a head's width, what the causal mask lets through, a block's parameters, the learning rate.

q3 is the chapter's "predict a number" exercise: the learner writes down a Block's parameter count, then the
notebook's next cell builds that Block and counts them.

Each reference answer is computed from the same code the chapter runs (``GPTConfig``, ``get_lr``), so a change of
architecture or schedule cannot leave an exercise with a stale answer.
"""
from __future__ import annotations

import math
from typing import Any

from ..gpt_training import get_lr
from .core import Incorrect, Problem, expect

N_EMBD, N_HEAD = 64, 4  # the chapter's model (CPU_RECIPE); 6.3's 选读 splits its 64 channels into 4 heads of 16
Q3_EMBD = 128  # q1 and q3: nanoGPT README's CPU recipe (the chapter shows its own 64-wide model)
T = 5  # the sequence length of q2
SCHEDULE = dict(warmup_iters=100, lr_decay_iters=2000, learning_rate=1e-3, min_lr=1e-4)  # q4: nanoGPT README CPU recipe
HALFWAY = 1050  # q4: half-way through the cosine (warm-up 100, decay until 2000)


def _number(answer: Any, example: str) -> float:
    expect(answer is not None, f"答案是 None。写出一个数，例如 {example}。")
    if isinstance(answer, bool):
        raise Incorrect(f"请写成一个数，例如 {example}，不是 True / False。")
    try:
        return float(answer)
    except (TypeError, ValueError):
        raise Incorrect(f"请写成一个数，例如 {example}。") from None


def _check_q1(answer: Any) -> None:
    value = _number(answer, "8")
    C = Q3_EMBD
    expect(value != C * N_HEAD, f"乘反了：{N_HEAD} 个头是把 n_embd = {C} 个通道**分**开，每个头只拿其中一份。")
    expect(value != C, f"{C} 是所有头加起来的宽度；每个头只分到 n_embd 的 1/n_head。")
    expect(value != N_HEAD, f"{N_HEAD} 是头的个数 n_head；题目问的是每个头有多少个通道。")
    expect(value != N_EMBD // N_HEAD, f"{N_EMBD // N_HEAD} 是本章 n_embd = {N_EMBD} 的模型；题目问的是 n_embd = {C}。")
    expect(value == C // N_HEAD, "还不对。CausalSelfAttention 把 q、k、v 变形成 (B, n_head, T, C // n_head)。")


q1 = Problem(
    prompt=f"nanoGPT README 的 CPU 配方：n_embd = {Q3_EMBD}，n_head = {N_HEAD}。每个注意力头的 q、k、v 各有多少个通道（head_size）？",
    checker=_check_q1,
    hint_text="6.3 节的选读把本章 64 维的模型拆成了几个头：看 CausalSelfAttention.forward 里的 view(B, T, self.n_head, C // self.n_head)。",
    solution_text=f"answer = {Q3_EMBD} // {N_HEAD}   # {Q3_EMBD // N_HEAD}：n_embd 个通道平分给 n_head 个头，算完再并排拼回 n_embd",
    reference=lambda: Q3_EMBD // N_HEAD,
    praise="对：多头注意力不增加宽度，它把同一个宽度切成几份，每份独立地做注意力。",
)


def _allowed(t: int) -> int:
    return t * (t + 1) // 2  # row i may look at positions 0..i


def _check_q2(answer: Any) -> None:
    value = _number(answer, "10")
    expect(value != T * T, f"{T}×{T} = {T * T} 是整个矩阵：因果掩码把对角线上方（未来的位置）都遮住了。")
    expect(value != _allowed(T) - T, "少了对角线：每个位置也能看它自己（tril 包括对角线）。")
    expect(value != T * T - _allowed(T), "这是被遮住的个数；题目问的是**能**看到的位置有多少。")
    expect(value == _allowed(T), "还不对。第 0 行能看 1 个位置，第 1 行 2 个……第 4 行 5 个，加起来。")


q2 = Problem(
    prompt=f"一段 T = {T} 个字符的序列。一个头的注意力矩阵是 {T}×{T}；因果掩码之后，有多少个格子的权重可以不是 0？",
    checker=_check_q2,
    hint_text="torch.tril(torch.ones(T, T)) 里有几个 1？第 i 行能看位置 0…i。",
    solution_text=f"answer = {T} * ({T} + 1) // 2   # {_allowed(T)}：1 + 2 + 3 + 4 + 5；其余 {T * T - _allowed(T)} 格是 −inf，softmax 后为 0",
    reference=lambda: _allowed(T),
    praise="对：下三角（含对角线）。这就是“只看过去”。",
)


def block_parameters(n_embd: int, bias: bool) -> int:
    """Parameters of one nanoGPT Block: c_attn (3C x C), attn c_proj (C x C), c_fc (4C x C), mlp c_proj (C x 4C), 2 LayerNorms."""
    C = n_embd
    weights = 3 * C * C + C * C + 4 * C * C + 4 * C * C
    biases = (3 * C + C + 4 * C + C) if bias else 0
    norms = 2 * (2 * C if bias else C)
    return weights + biases + norms


def _check_q3(answer: Any) -> None:
    value = _number(answer, "12345")
    C = Q3_EMBD
    expect(value != 12 * C * C, "差一点：两个 LayerNorm 也有参数（各一个长度 n_embd 的 weight）。")
    expect(value != block_parameters(C, True), "这是 bias=True 的个数；这里 bias=False：Linear 和 LayerNorm 都没有偏置。")
    expect(value != block_parameters(N_EMBD, False), f"这是本章 n_embd = {N_EMBD} 的 Block；题目问的是 n_embd = {C}。")
    expect(value != 4 * C * C + 2 * C, "忘了 MLP：c_fc 把 n_embd 放宽到 4·n_embd，c_proj 再收回来，两个各 4·C² 个权重。")
    expect(value != 6 * C * C + 2 * C, "c_attn 一次算出 q、k、v 三份：它是 (3·C)×C，不是 C×C。再数一遍 MLP。")
    expect(value == block_parameters(C, False), "还不对。一个 Block = ln_1、attn（c_attn、c_proj）、ln_2、mlp（c_fc、c_proj）。")


q3 = Problem(
    prompt=f"nanoGPT README 的 CPU 配方：n_embd = {Q3_EMBD}，bias = False。它的一个 Block（ln_1、attn、ln_2、mlp）一共有多少个参数？"
    "（先预测：练习下面的一格会建一个真的 Block 数一数。）",
    checker=_check_q3,
    hint_text="c_attn: C → 3C，attn.c_proj: C → C，mlp.c_fc: C → 4C，mlp.c_proj: 4C → C，两个 LayerNorm 各 C 个 weight。"
    "6.6 节打印了本章 n_embd = 64 的一个 Block 有多少参数，可以先用同样的算法核对它。",
    solution_text=f"C = {Q3_EMBD}\nanswer = 3*C*C + C*C + 4*C*C + 4*C*C + 2*C   # 12·C² + 2·C = {block_parameters(Q3_EMBD, False)}\n"
    f"验证：sum(p.numel() for p in nl.gpt.Block(nl.GPTConfig(n_embd={Q3_EMBD}, bias=False)).parameters())",
    reference=lambda: block_parameters(Q3_EMBD, False),
    praise="对：12·C² + 2·C。宽度翻倍，参数差不多变成 4 倍（本章 64 维的 Block 是它的约四分之一）。",
)


def _check_q4(answer: Any) -> None:
    value = _number(answer, "0.002")
    lr, low = SCHEDULE["learning_rate"], SCHEDULE["min_lr"]
    right = get_lr(HALFWAY, **SCHEDULE)
    expect(not math.isclose(value, lr / 2, rel_tol=1e-6), "余弦不是降到 0，而是降到 min_lr：一半的位置在 lr 和 min_lr 的正中间。")
    expect(not math.isclose(value, lr, rel_tol=1e-6), "第 1050 步已经过了预热（前 100 步），学习率在沿余弦下降。")
    expect(not math.isclose(value, low, rel_tol=1e-6), "min_lr 是第 2000 步以后的值；1050 步才走到一半。")
    expect(math.isclose(value, right, rel_tol=1e-6), "还不对。decay_ratio = (1050 − 100) / (2000 − 100)，"
           "coeff = 0.5·(1 + cos(π·decay_ratio))，lr = min_lr + coeff·(learning_rate − min_lr)。")


q4 = Problem(
    prompt="nanoGPT README 的 CPU 配方：learning_rate = 1e-3，min_lr = 1e-4，warmup_iters = 100，lr_decay_iters = 2000。"
    f"第 {HALFWAY} 步的学习率是多少？",
    checker=_check_q4,
    hint_text="先看它在哪一段：预热（< 100）、余弦下降（100…2000）、还是之后。余弦走到一半时 cos(π/2) = 0。",
    solution_text="decay_ratio = (1050 - 100) / (2000 - 100) = 0.5；coeff = 0.5 * (1 + cos(π/2)) = 0.5\n"
    "answer = 1e-4 + 0.5 * (1e-3 - 1e-4)   # 0.00055，即 nl.get_lr(1050, 100, 2000, 1e-3, 1e-4)",
    reference=lambda: get_lr(HALFWAY, **SCHEDULE),
    praise="对：余弦把学习率从 learning_rate 平滑地降到 min_lr，正中间就是两者的平均。",
)
