import math

import pytest
import torch

from nanogpt_lite import modern_gpt
from nanogpt_lite.bpe import bits_per_byte
from nanogpt_lite.data import load_text
from nanogpt_lite.exercises import ____, ch07
from nanogpt_lite.gpt_training import CPU_RECIPE
from nanogpt_lite.modern_gpt import (
    KVCache,
    ModernConfig,
    ModernGPT,
    generate_cached,
    ladder,
)
from nanogpt_lite.reference import load_reference
from nanogpt_lite.tokenizer import CharTokenizer

QUESTIONS = (ch07.q1, ch07.q2, ch07.q3, ch07.q4)


def test_the_exercises_describe_the_chapters_model():
    recipe = (CPU_RECIPE["n_layer"], CPU_RECIPE["n_head"], CPU_RECIPE["n_embd"], CPU_RECIPE["block_size"])
    assert (ch07.N_LAYER, ch07.N_HEAD, ch07.N_EMBD, ch07.BLOCK_SIZE) == recipe and CPU_RECIPE["bias"] is False
    assert ch07.VOCAB == CharTokenizer.from_text(load_text()).vocab_size
    rotary = ModernGPT(ModernConfig(n_layer=1, n_head=ch07.N_HEAD, n_embd=ch07.N_EMBD, block_size=ch07.BLOCK_SIZE,
                                    rotary=True))
    assert ch07.POSITIONS == rotary.max_cache_len  # q2's 640: as far as a rotary model's cache may go


def test_q1_quotes_the_reference_models_loss_and_its_sample_has_the_prompts_bytes_per_character():
    _, _, info = load_reference()
    assert ch07.VAL_LOSS == round(info.best_val_loss, 4)
    sample = ch07.MIXED_SAMPLE
    assert len(sample.encode("utf-8")) / len(sample) == ch07.BYTES_PER_CHAR
    assert f"{ch07.BYTES_PER_CHAR} 个字节" in ch07.q1.prompt


def test_q1_reference_is_bits_per_byte_of_a_text_with_one_and_a_half_bytes_a_character():
    assert ch07.q1.reference() == pytest.approx(ch07.VAL_LOSS / math.log(2) / 1.5)
    mixed = "注意力" + "abcdefghi"  # 9 + 9 bytes for 12 characters: any such text gives the same bpb
    assert ch07.q1.check(bits_per_byte(ch07.VAL_LOSS, mixed)).correct
    for close_enough in (1.68, 1.6804, "1.68", ch07.VAL_LOSS * math.log2(math.e) / 1.5):
        assert ch07.q1.check(close_enough).correct, close_enough


def test_q2_reference_is_a_real_caches_bytes():
    cache = KVCache(batch_size=1, num_heads=ch07.N_HEAD, seq_len=ch07.POSITIONS, head_dim=ch07.HEAD_SIZE,
                    num_layers=ch07.N_LAYER, dtype=torch.float32)
    nbytes = cache.k_cache.nbytes + cache.v_cache.nbytes
    assert ch07.q2.check(nbytes).correct and ch07.q2.reference() == nbytes == ch07.Q2_FORMULA


def test_q2_is_the_cache_that_generation_fills(monkeypatch):
    """generate_cached on a rotary ModernGPT of the chapter's shape, to the end of its table, builds q2's cache."""
    made = []

    class Spy(KVCache):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(modern_gpt, "KVCache", Spy)
    torch.manual_seed(0)
    model = ModernGPT(ModernConfig(n_layer=ch07.N_LAYER, n_head=ch07.N_HEAD, n_embd=ch07.N_EMBD,
                                   block_size=ch07.BLOCK_SIZE, vocab_size=ch07.VOCAB, rotary=True))
    generate_cached(model, torch.zeros(1, 1, dtype=torch.long), ch07.POSITIONS, greedy=True)
    (cache,) = made
    assert cache.get_pos() == cache.max_seq_len == ch07.POSITIONS  # every position of the table filled
    assert cache.k_cache.dtype == torch.float32
    assert ch07.q2.check(cache.k_cache.nbytes + cache.v_cache.nbytes).correct


def test_q3_reference_is_a_real_gqa_c_attn():
    config = ModernConfig(n_embd=64, n_head=4, n_kv_head=1, bias=False)
    assert ch07.q3.check(ModernGPT(config).transformer.h[0].attn.c_attn.weight.numel()).correct
    plain = ModernGPT(ModernConfig(n_embd=64, n_head=4, bias=False)).transformer.h[0].attn.c_attn.weight.numel()
    assert plain == 3 * 64 * 64 and not ch07.q3.check(plain).correct  # the typical mistake is the model without GQA


def test_q4_reference_is_the_difference_of_two_real_models():
    base = ModernConfig(n_layer=4, n_head=4, n_embd=64, block_size=64, vocab_size=65, bias=False)
    untied, _ = ladder(base, "untied_head")
    tied_model, untied_model = ModernGPT(base), ModernGPT(untied)
    extra = sum(p.numel() for p in untied_model.parameters()) - sum(p.numel() for p in tied_model.parameters())
    assert extra == untied_model.lm_head.weight.numel()
    assert ch07.q4.check(extra).correct and ch07.q4.reference() == extra


@pytest.mark.parametrize("name, builder", [
    ("KVCache", "q2"), ("ModernGPT", "q3"), ("ModernGPT", "q4"), ("bits_per_byte", "q1"),
])
def test_references_are_computed_from_the_code_not_written_down(monkeypatch, name, builder):
    """Each reference goes through the package's own objects: break one and its reference changes."""
    real = getattr(ch07, name)
    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(ch07, name, spy)
    getattr(ch07, builder).reference()
    assert calls, f"{builder}.reference() does not use {name}"


def test_references_do_not_move_the_learners_random_numbers():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    for q in QUESTIONS:
        q.reference()
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("q, answer, advice", [
    (ch07.q1, 1.7471, "还是 nats"), (ch07.q1, 1.7471 / math.log(2), "每个**字符**的比特数"),
    (ch07.q1, 1.7471 / math.log(2) * 1.5, "要除以 1.5"), (ch07.q1, 1.7471 / 1.5, "先除以 ln 2"),
    (ch07.q1, 1.7471 * math.log(2) / 1.5, "乘反了 ln 2"), (ch07.q1, 1.7471 / math.log(2) / 3, "一个汉字的字节数"),
    (ch07.q1, 1.7471 / math.log(10) / 1.5, "ln 10"),
    (ch07.q1, math.log2(65), "均匀猜测"), (ch07.q1, math.log(65), "均匀猜测"), (ch07.q1, math.exp(1.7471), "困惑度"),
    (ch07.q1, 1.7471 / math.log(2) / 1.5 * 8, "不用乘或除以 8"), (ch07.q1, 1.7471 / math.log(2) / 1.5 / 8, "不用乘或除以 8"),
    (ch07.q1, 3.0, "每个字符的字节数"), (ch07.q1, "x", "一个数"), (ch07.q1, float("nan"), "有限"), (ch07.q1, True, "True"),
    (ch07.q2, 655360, "键（k_cache）和值（v_cache）"), (ch07.q2, 327680, "n_layer"), (ch07.q2, 327680, "元素个数"),
    (ch07.q2, 163840, "差 8 倍"), (ch07.q2, 81920, "差 16 倍"), (ch07.q2, 131072, "block_size"),
    (ch07.q2, 2621440, "float64"), (ch07.q2, 5242880, "head_size"), (ch07.q2, 1.25, "字节数"), (ch07.q2, 1.31, "MiB"),
    (ch07.q2, 1000, "还不对"), (ch07.q2, None, "None"),
    (ch07.q3, 12288, "n_kv_head = n_head"), (ch07.q3, 4096, "只算了 q"), (ch07.q3, 5120, "各算一份"),
    (ch07.q3, 3072, "查询头没有减少"), (ch07.q3, 1536, "除以了头数"), (ch07.q3, 6240, "bias = False"),
    (ch07.q3, 10240, "c_proj"), (ch07.q3, 24576, "一个 Block"), (ch07.q3, 100, "还不对"),
    (ch07.q4, 8320, "只多出一个矩阵"), (ch07.q4, 4225, "65 × 64"), (ch07.q4, 0, "只数一次"), (ch07.q4, 4096, "n_embd × n_embd"),
    (ch07.q4, -4160, "正数"), (ch07.q4, 209600, "整个模型"), (ch07.q4, 4000, "还不对"),
])
def test_typical_wrong_answers_get_advice(q, answer, advice):
    feedback = q.check(answer)
    assert not feedback.correct and advice in repr(feedback), repr(feedback)


@pytest.mark.parametrize("q", QUESTIONS)
def test_the_placeholder_is_not_attempted(q):
    assert q.check(____).kind == "not attempted" and q.check().kind == "not attempted"


def test_solutions_are_not_in_the_prompts():
    for q, shown in ((ch07.q1, "1.68"), (ch07.q2, "1310720"), (ch07.q2, "1,310,720"), (ch07.q2, "1.25"),
                     (ch07.q3, "6144"), (ch07.q4, "4160")):
        assert shown not in q.prompt
    for q in QUESTIONS:
        reference = q.reference()
        shown = f"{reference:.4f}" if isinstance(reference, float) else str(reference)
        assert shown not in q.prompt and shown in q.solution_text.replace(",", "")


def _cell_text(cell) -> str:
    outputs = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))
    return cell.source + outputs


def test_q2_is_predicted_before_the_next_cell_measures_it():
    """q2 is the chapter's "predict a number": nothing above shows the bytes; the cell after the exercise measures them."""
    from pathlib import Path

    import nbformat

    nb = nbformat.read(Path(__file__).parents[1] / "notebooks" / "07_nanochat.ipynb", as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "ch07.q2.check(" in c.source)
    nbytes = ch07.q2.reference()
    for shown in (str(nbytes), f"{nbytes:,}"):
        assert not [i for i, c in enumerate(nb.cells[:at]) if shown in _cell_text(c)], shown
    measured = next(c for c in nb.cells[at + 1:] if c.cell_type == "code")
    assert "KVCache(" in measured.source and f"{nbytes:,}" in _cell_text(measured)
