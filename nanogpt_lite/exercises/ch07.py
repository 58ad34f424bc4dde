"""Chapter 7 exercises: nanochat's bits per byte, a KV cache's memory, grouped-query attention's weights, an untied head.

q2 is the chapter's "predict a number" exercise: the notebook's next cell builds the KVCache and prints its bytes.
Each reference answer is computed from the code the chapter runs: ``bits_per_byte`` on a mixed sample, a real
:class:`~nanogpt_lite.modern_gpt.KVCache`, real :class:`~nanogpt_lite.modern_gpt.ModernGPT` models. So a change of
that code cannot leave an exercise with a stale answer.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from ..bpe import bits_per_byte
from ..gpt import GPTConfig
from ..modern_gpt import ROTARY_TABLE_FACTOR, KVCache, ModernConfig, ModernGPT, ladder
from .core import Incorrect, Problem, expect

# Chapter 6's model (CPU_RECIPE), the one chapter 7 changes rung by rung
N_LAYER, N_HEAD, N_EMBD, BLOCK_SIZE, VOCAB = 4, 4, 64, 64, 65
HEAD_SIZE = N_EMBD // N_HEAD  # 16
VAL_LOSS = 1.7471  # q1: the reference GPT's whole-split val loss, as chapter 6 prints it (nats per character)
BPB_TOLERANCE = 0.005  # q1: 1.68 and 1.6804 are both right
POSITIONS = ROTARY_TABLE_FACTOR * BLOCK_SIZE  # q2: 640, the whole rotary table (10 x block_size)
FLOAT32_BYTES = 4
GQA_KV_HEADS = 1  # q3: one key/value head shared by the 4 query heads


def _number(answer: Any, example: str) -> float:
    expect(answer is not None, f"答案是 None。写出一个数，例如 {example}。")
    if isinstance(answer, bool):
        raise Incorrect(f"请写成一个数，例如 {example}，不是 True / False。")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise Incorrect(f"请写成一个数，例如 {example}。") from None
    expect(math.isfinite(value), f"请写成一个有限的数，例如 {example}。")
    return value


# q1 ---------------------------------------------------------------------------------------------------------------

BYTES_PER_CHAR = 1.5  # q1: a mixed Chinese/English text; chapter 7 shows only 1 (ASCII) and 3 (Chinese) bytes a character
MIXED_SAMPLE = "注abc"  # one Chinese character (3 bytes) and three ASCII ones: 6 bytes for 4 characters, 1.5 on average


def _q1_reference() -> float:
    return bits_per_byte(VAL_LOSS, MIXED_SAMPLE)


def _check_q1(answer: Any) -> None:
    value = _number(answer, "1.23")
    L, B, ln2 = VAL_LOSS, BYTES_PER_CHAR, math.log(2)

    def near(x: float) -> bool:
        return math.isclose(value, x, abs_tol=BPB_TOLERANCE)

    expect(not near(L), f"{L} 还是 nats（自然对数 ln 算出来的）每字符；bpb 要换成比特，再按字节分。")
    expect(not near(L / ln2), f"这是每个**字符**的比特数。这段文字一个字符平均 {B} 个字节，每个字节分到的比特还要再除以 {B}。")
    expect(not near(L / ln2 * B), f"乘反了：字节比字符多，{B} 个字节分一个字符的比特，每个字节分到的更少，要除以 {B}。")
    expect(not near(L / B), "还是 nats：先除以 ln 2 ≈ 0.693 把 nats 换成比特。")
    expect(not near(L * ln2 / B), "乘反了 ln 2：1 比特 = ln 2 ≈ 0.693 nats，比特数比 nats 数**大**，要除以 ln 2。")
    expect(not near(L / ln2 / 3), f"3 是一个汉字的字节数；题目说这段文字平均每个字符 {B} 个字节（有汉字也有英文）。")
    expect(not near(L / math.log(10) / B), "除以了 ln 10：那是以 10 为底（十进制位）。比特是以 2 为底：除以 ln 2。")
    expect(not near(math.log2(VOCAB)), f"log₂({VOCAB}) ≈ {math.log2(VOCAB):.4f} 是均匀猜测 {VOCAB} 个字符的比特数，"
           "与模型无关；题目问的是这个模型。")
    expect(not near(math.log(VOCAB)), f"ln({VOCAB}) ≈ {math.log(VOCAB):.4f} 是均匀猜测的损失（nats），不是这个模型的。")
    expect(not near(math.exp(L)), f"e^{L} 是困惑度（perplexity），不是比特数。")
    expect(not (near(L / ln2 / B * 8) or near(L / ln2 / B / 8)),
           "不用乘或除以 8：bpb 是「每个字节平均多少比特」，字节数已经按 UTF-8 算好了。")
    expect(near(_q1_reference()), f"还不对。每个字符 {L} nats → 除以 ln 2 得到每个字符的比特 → 再除以每个字符的字节数 {B}。")


q1 = Problem(
    prompt=f"第 6 章的参考模型在验证集上每个字符的损失是 {VAL_LOSS} nats（自然对数）。假设它在一段中英混排的文字上"
    f"也是每个字符 {VAL_LOSS} nats，这段文字的 UTF-8 平均每个字符 {BYTES_PER_CHAR} 个字节。"
    "它在这段文字上的 bpb（bits per byte，nanochat 报告的每字节比特数）是多少？（写到小数点后两位即可）",
    checker=_check_q1,
    hint_text="两步：nats 换成比特（log₂(x) = ln(x) / ln 2）；再把每个字符的比特分给它的字节（每个字符平均 "
    f"{BYTES_PER_CHAR} 个字节）。",
    solution_text=f"answer = {VAL_LOSS} / math.log(2) / {BYTES_PER_CHAR}   # {VAL_LOSS / math.log(2) / BYTES_PER_CHAR:.4f} 比特每字节\n"
    f"验证：nanogpt_lite.bpe.bits_per_byte({VAL_LOSS}, {MIXED_SAMPLE!r})：{MIXED_SAMPLE!r} 是 4 个字符、6 个字节",
    reference=_q1_reference,
    praise="对：bpb 把损失分到字节上。同一个模型每个字符的损失不变，文字的字节越多，bpb 越低；"
    "所以 bpb 可以比较用不同分词器、不同文字的模型，但要记住它按字节算。",
)


# q2 ---------------------------------------------------------------------------------------------------------------

def kv_cache_bytes() -> int:
    """Bytes of a real KVCache for q2: one sequence, chapter 6's shape, POSITIONS positions, float32."""
    kv = KVCache(batch_size=1, num_heads=N_HEAD, seq_len=POSITIONS, head_dim=HEAD_SIZE, num_layers=N_LAYER,
                 dtype=torch.float32)
    return kv.k_cache.nbytes + kv.v_cache.nbytes


Q2_FORMULA = 2 * N_LAYER * 1 * N_HEAD * POSITIONS * HEAD_SIZE * FLOAT32_BYTES  # shown in the solution only


def _check_q2(answer: Any) -> None:
    value = _number(answer, "1000000")
    right = kv_cache_bytes()
    expect(not any(math.isclose(value, right / unit, rel_tol=0.02) for unit in (2**20, 1e6, 2**10, 1e3)),
           "单位换了：题目问的是字节数（bytes），不是 MiB、MB 或 KiB。写出整数个字节。")
    expect(value != right / 2, "正好一半：缓存里有两份，键（k_cache）和值（v_cache）各一份。"
           "（如果你每个数按 2 字节算：那是 bfloat16，nanochat 在 GPU 上用它；这里是 float32，每个数 4 字节。）")
    expect(value != right / 4, f"差 4 倍，检查三个 4：每一层（n_layer = {N_LAYER}）都有自己的键和值；"
           f"float32 每个数占 {FLOAT32_BYTES} 个字节（你可能数的是元素个数）；键/值头有 n_kv_head = {N_HEAD} 个。")
    expect(value != right / 8, "差 8 倍：键和值要各算一份（×2），还少了一个 4 倍（层数，或每个 float32 的 4 个字节）。")
    expect(value != right / 16, f"差 16 倍：层数（{N_LAYER}）和每个数的字节数（{FLOAT32_BYTES}）可能都没乘。")
    expect(value != right * BLOCK_SIZE // POSITIONS, f"这是 block_size = {BLOCK_SIZE} 个位置的缓存；"
           f"题目的缓存装 {POSITIONS} 个位置（rotary 表的全长）。")
    expect(value != right * 2, "多了一倍：float32 每个数 4 字节（8 字节是 float64）；键和值各算一次就够了。")
    expect(value != right * 4, f"多了 4 倍：每个头的宽度 head_size = n_embd / n_head = {HEAD_SIZE}，不是 n_embd = {N_EMBD}；"
           "或者 4 个字节乘了两次。")
    expect(value == right, "还不对。KVCache 建两个张量 k_cache 和 v_cache，形状都是 "
           "(n_layer, batch, n_kv_head, seq_len, head_size)，每个 float32 占 4 个字节。")


q2 = Problem(
    prompt=f"本章的 ModernGPT 沿用第 6 章的形状：n_layer = {N_LAYER}，n_kv_head = {N_HEAD}（和 n_head 一样），"
    f"head_size = {HEAD_SIZE}。用 KVCache 生成一条序列（批大小为 1），缓存要装下 {POSITIONS} 个位置"
    "（rotary 表的全长，10 × block_size）。缓存的键和值都是 float32：这个缓存一共占多少字节？"
    "（先预测：练习下面的一格会建一个真的 KVCache 量一量。）",
    checker=_check_q2,
    hint_text="读 KVCache.__init__：它建了几个张量，什么形状？一个 float32 占 4 个字节；"
    "torch 里 tensor.nbytes = tensor.numel() × tensor.element_size()。",
    solution_text=f"answer = 2 * {N_LAYER} * 1 * {N_HEAD} * {POSITIONS} * {HEAD_SIZE} * {FLOAT32_BYTES}"
    f"   # {Q2_FORMULA:,} 字节 ≈ {Q2_FORMULA / 2**20:.2f} MiB：键和值 × 层 × 批大小 × 头 × 位置 × head_size × 字节\n"
    f"验证：cache = KVCache(batch_size=1, num_heads={N_HEAD}, seq_len={POSITIONS}, head_dim={HEAD_SIZE}, "
    f"num_layers={N_LAYER})；cache.k_cache.nbytes + cache.v_cache.nbytes",
    reference=kv_cache_bytes,
    praise="对：缓存随层数、键/值头数和位置数线性增长。nanochat 的模型大得多，缓存也大得多；"
    "把 n_kv_head 减少（分组查询注意力）就能按比例省下这部分内存。",
)


# q3 ---------------------------------------------------------------------------------------------------------------

def gqa_c_attn_weights() -> int:
    """Weights of one block's c_attn in a real ModernGPT with GQA (n_kv_head = 1), no bias."""
    config = ModernConfig(n_layer=N_LAYER, n_head=N_HEAD, n_embd=N_EMBD, block_size=BLOCK_SIZE, vocab_size=VOCAB,
                          bias=False, n_kv_head=GQA_KV_HEADS)
    with torch.random.fork_rng(devices=[]):  # initialising the model must not move the learner's random numbers
        model = ModernGPT(config)
    return model.transformer.h[0].attn.c_attn.weight.numel()


def _check_q3(answer: Any) -> None:
    value = _number(answer, "1234")
    C, hs, kv = N_EMBD, HEAD_SIZE, GQA_KV_HEADS
    right = gqa_c_attn_weights()
    expect(value != 3 * C * C, f"这是普通多头注意力（n_kv_head = n_head）的 c_attn：q、k、v 各 {C}×{C}。"
           f"GQA 只有 {kv} 个键/值头，k 和 v 各只有 n_kv_head × head_size = {kv * hs} 列。")
    expect(value != C * C, "只算了 q（或者算的是 c_proj）：c_attn 一次同时算出 q、k、v 三部分。")
    expect(value != C * (C + kv * hs), f"k 和 v 要各算一份：还少了一个 {C}×{kv * hs}。")
    expect(value != C * 3 * kv * hs, f"查询头没有减少：GQA 只让键/值头变少，q 仍有 n_head = {N_HEAD} 个头，"
           f"共 {N_HEAD * hs} 列。")
    expect(value != right // N_HEAD, "除以了头数：c_attn 是一个 Linear，所有头的 q、k、v 都在这一个权重矩阵里。")
    expect(value != right + C + 2 * kv * hs, "这里 bias = False：Linear 没有偏置，只数 weight。")
    expect(value != right + C * C, "c_proj 是另一个 Linear；题目只问 c_attn。")
    expect(value != right * N_LAYER, f"这是 {N_LAYER} 个 Block 加起来；题目问一个 Block 的 c_attn。")
    expect(value == right, "还不对。c_attn 的输入是 n_embd，输出宽度是 n_head·head_size + 2·n_kv_head·head_size。")


q3 = Problem(
    prompt=f"分组查询注意力（GQA）：n_embd = {N_EMBD}，n_head = {N_HEAD}，n_kv_head = {GQA_KV_HEADS}，bias = False。"
    "ModernGPT 一个 Block 里的 c_attn（一次算出 q、k、v 的那个 Linear）有多少个权重？",
    checker=_check_q3,
    hint_text="head_size = n_embd / n_head。q 有 n_head 个头，k 和 v 各只有 n_kv_head 个头，每个头 head_size 宽："
    "看 CausalSelfAttention.__init__ 里的 self.sizes。",
    solution_text=f"hs = {N_EMBD} // {N_HEAD}   # {HEAD_SIZE}\n"
    f"answer = {N_EMBD} * ({N_HEAD}*hs + {GQA_KV_HEADS}*hs + {GQA_KV_HEADS}*hs)"
    f"   # {N_EMBD} × ({N_HEAD * HEAD_SIZE} + {GQA_KV_HEADS * HEAD_SIZE} + {GQA_KV_HEADS * HEAD_SIZE})"
    f" = {N_EMBD * (N_HEAD + 2 * GQA_KV_HEADS) * HEAD_SIZE}\n"
    f"验证：ModernGPT(ModernConfig(n_embd={N_EMBD}, n_head={N_HEAD}, n_kv_head={GQA_KV_HEADS}, bias=False))"
    ".transformer.h[0].attn.c_attn.weight.numel()",
    reference=gqa_c_attn_weights,
    praise=f"对：比普通多头注意力的 3·{N_EMBD}² 少了一半。4 个查询头共用 1 组键和值，"
    "参数和 KV 缓存都变小，而每个查询头仍然各自决定看哪里。",
)


# q4 ---------------------------------------------------------------------------------------------------------------

def _parameters(config: ModernConfig) -> int:
    with torch.random.fork_rng(devices=[]):  # initialising the model must not move the learner's random numbers
        model = ModernGPT(config)
    return sum(p.numel() for p in model.parameters())  # parameters() yields a tied matrix once


def untied_head_extra_parameters() -> int:
    """How many parameters chapter 6's GPT gains when nanochat unties lm_head from wte: real models, counted."""
    base = GPTConfig(block_size=BLOCK_SIZE, vocab_size=VOCAB, n_layer=N_LAYER, n_head=N_HEAD, n_embd=N_EMBD,
                     dropout=0.0, bias=False)
    tied, _ = ladder(base)
    untied, _ = ladder(base, "untied_head")
    return _parameters(untied) - _parameters(tied)


def _check_q4(answer: Any) -> None:
    value = _number(answer, "1234")
    right = untied_head_extra_parameters()
    expect(value != 0, "绑定时 lm_head.weight 就是 wte.weight，只数一次；解开后 lm_head 有了自己的矩阵，参数变多了。")
    expect(value > 0, "题目问的是多出多少：解开权重绑定之后参数变多，答案是正数。")
    expect(value != 2 * right, "只多出一个矩阵：wte 原来就有，解开权重绑定只新添 lm_head 自己的那一份。")
    expect(value != VOCAB * VOCAB, f"lm_head 是 Linear(n_embd, vocab_size, bias=False)：{VOCAB} × {N_EMBD} 个权重，"
           f"没有偏置。不是 {VOCAB} × {VOCAB}（{VOCAB}×{N_EMBD} 再加 {VOCAB} 个偏置也恰好是这个数）。")
    expect(value != N_EMBD * N_EMBD, f"{N_EMBD}×{N_EMBD} 是 n_embd × n_embd；lm_head 把 n_embd 维映射成 vocab_size 个 logits。")
    expect(value < 10 * right, "这是整个模型的参数个数；题目问的是解开之后**多出来**的那部分。")
    expect(value == right, "还不对。多出来的就是 lm_head.weight，形状 (vocab_size, n_embd)。")


q4 = Problem(
    prompt=f"第 6 章的 GPT：n_embd = {N_EMBD}，词表有 {VOCAB} 个字符，lm_head 和 wte 权重绑定（是同一个矩阵）。"
    "nanochat 解开了权重绑定（untied_head）：lm_head 有它自己的矩阵。模型的参数会多出多少个？",
    checker=_check_q4,
    hint_text="绑定时 wte.weight 和 lm_head.weight 是同一个张量，model.parameters() 只给一次。"
    "解开后多出来的就是 lm_head 自己的 weight：它是什么形状？有没有偏置？",
    solution_text=f"answer = {VOCAB} * {N_EMBD}   # {VOCAB * N_EMBD}：lm_head.weight 的形状是 (vocab_size, n_embd)，没有偏置\n"
    "验证：config, _ = nanogpt_lite.modern_gpt.ladder(GPTConfig(...), 'untied_head')；"
    "两个 ModernGPT 的 sum(p.numel() for p in model.parameters()) 相减",
    reference=untied_head_extra_parameters,
    praise="对：在这个小模型里这只是约 2% 的参数；nanochat 的词表有几万个词元，lm_head 就是一个很大的矩阵，"
    "解开后它和 wte 可以各学各的（nanochat 也给它们不同的学习率）。",
)
