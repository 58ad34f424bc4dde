import pytest
import torch

import nanogpt_lite as nl
from nanogpt_lite.exercises import ch06
from nanogpt_lite.gpt import Block, CausalSelfAttention, GPTConfig
from nanogpt_lite.gpt_training import CPU_RECIPE


def test_the_exercises_describe_the_chapters_model():
    assert (ch06.N_EMBD, ch06.N_HEAD) == (CPU_RECIPE["n_embd"], CPU_RECIPE["n_head"])
    assert CPU_RECIPE["bias"] is False


def test_q1_reference_is_the_width_the_attention_uses():
    attn = CausalSelfAttention(GPTConfig(n_embd=ch06.Q3_EMBD, n_head=ch06.N_HEAD))
    x = torch.zeros(1, 3, ch06.Q3_EMBD)
    q, _, _ = attn.c_attn(x).split(attn.n_embd, dim=2)
    head_size = q.view(1, 3, attn.n_head, -1).shape[-1]
    assert ch06.q1.check(head_size).correct


def test_q2_reference_counts_the_ones_of_the_mask():
    assert ch06.q2.check(int(torch.tril(torch.ones(ch06.T, ch06.T)).sum())).correct


@pytest.mark.parametrize("n_embd", [64, 128])
@pytest.mark.parametrize("bias", [False, True])
def test_block_parameters_counts_a_real_block(bias, n_embd):
    block = Block(GPTConfig(n_embd=n_embd, n_head=4, bias=bias))
    assert ch06.block_parameters(n_embd, bias) == sum(p.numel() for p in block.parameters())


def test_q3_reference_is_a_real_blocks_count():
    block = Block(GPTConfig(n_embd=ch06.Q3_EMBD, n_head=4, bias=False))
    assert ch06.q3.check(sum(p.numel() for p in block.parameters())).correct


def test_q4_reference_is_get_lr_and_the_midpoint():
    lr = nl.get_lr(1050, 100, 2000, 1e-3, 1e-4)
    assert lr == pytest.approx((1e-3 + 1e-4) / 2)
    assert ch06.q4.check(lr).correct and ch06.q4.check(0.00055).correct


@pytest.mark.parametrize("q, answer, advice", [
    (ch06.q1, 512, "乘反了"), (ch06.q1, 128, "1/n_head"), (ch06.q1, 4, "头的个数"), (ch06.q1, "x", "一个数"),
    (ch06.q1, 16, "本章 n_embd = 64"),
    (ch06.q2, 25, "未来"), (ch06.q2, 10, "对角线"), (ch06.q2, 0, "还不对"),
    (ch06.q3, 12 * 128 * 128, "LayerNorm"), (ch06.q3, ch06.block_parameters(128, True), "bias=False"),
    (ch06.q3, ch06.block_parameters(64, False), "n_embd = 128"), (ch06.q3, 4 * 128 * 128 + 256, "MLP"),
    (ch06.q3, None, "None"),
    (ch06.q4, 5e-4, "min_lr"), (ch06.q4, 1e-3, "预热"), (ch06.q4, 1e-4, "一半"), (ch06.q4, True, "True"),
])
def test_typical_wrong_answers_get_advice(q, answer, advice):
    feedback = q.check(answer)
    assert not feedback.correct and advice in repr(feedback)


def test_solutions_are_not_in_the_prompts():
    for q, shown in ((ch06.q1, "32"), (ch06.q2, "15"), (ch06.q3, "196864"), (ch06.q4, "0.00055")):
        assert shown not in q.prompt


def _cell_text(cell) -> str:
    outputs = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))
    return cell.source + outputs


def test_q3_is_predicted_before_the_next_cell_measures_it():
    """q3 is the chapter's "predict a number": nothing above shows the count; the cell after the exercise measures it."""
    from pathlib import Path

    import nbformat

    nb = nbformat.read(Path(__file__).parents[1] / "notebooks" / "06_gpt.ipynb", as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "ch06.q3.check(" in c.source)
    count = ch06.q3.reference()
    for shown in (str(count), f"{count:,}"):
        assert not [i for i, c in enumerate(nb.cells[:at]) if shown in _cell_text(c)], shown
    measured = next(c for c in nb.cells[at + 1:] if c.cell_type == "code")
    assert "Block(" in measured.source and f"{count:,}" in _cell_text(measured)
