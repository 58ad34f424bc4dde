import copy

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_lite.gpt import GPT, CausalSelfAttention, GPTConfig
from nanogpt_lite.instruments.ablation import all_heads, heads_off, layer_heads

VOCAB, T = 11, 16


def make_model(bias: bool = True) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=VOCAB, n_layer=2, n_head=2, n_embd=16, block_size=T, bias=bias)).eval()


@pytest.fixture(scope="module")
def model() -> GPT:
    return make_model()


IDX = torch.randint(VOCAB, (2, T), generator=torch.Generator().manual_seed(1))


@torch.no_grad()
def logits(model: GPT, idx: torch.Tensor = IDX) -> torch.Tensor:
    return model(idx)[0]


def hooked(model: GPT) -> bool:
    return any(m._forward_pre_hooks or m._forward_hooks for m in model.modules())


def zero_values(model: GPT, heads: list[tuple[int, int]]) -> GPT:
    """A copy of ``model`` whose listed heads have value vectors of zero: the hand-made ablation."""
    model = copy.deepcopy(model)
    C = model.config.n_embd
    D = C // model.config.n_head
    with torch.no_grad():
        for layer, head in heads:
            c_attn = model.transformer.h[layer].attn.c_attn
            rows = slice(2 * C + head * D, 2 * C + (head + 1) * D)  # the head's rows of the v third
            c_attn.weight[rows] = 0
            if c_attn.bias is not None:
                c_attn.bias[rows] = 0
    return model


def test_head_lists(model):
    assert layer_heads(model, 1) == [(1, 0), (1, 1)]
    assert all_heads(model) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_no_heads_off_is_the_plain_model(model):
    plain = logits(model)
    with heads_off(model, []) as inside:
        assert inside is model
        assert torch.equal(logits(model), plain)


def test_the_model_is_restored_after_the_block_and_after_an_error(model):
    plain = logits(model)
    with heads_off(model, [(0, 1), (1, 0)]):
        assert hooked(model)
        assert not torch.allclose(logits(model), plain, atol=1e-3)
    assert not hooked(model)
    assert torch.equal(logits(model), plain)
    with pytest.raises(RuntimeError, match="boom"), heads_off(model, all_heads(model)):
        raise RuntimeError("boom")
    assert not hooked(model)
    assert torch.equal(logits(model), plain)


@pytest.mark.parametrize("flash", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("choose", [lambda m: [(0, 0)], lambda m: [(1, 1)], lambda m: [(0, 1), (1, 0), (0, 1)],
                                    lambda m: layer_heads(m, 1), all_heads],
                         ids=["0.0", "1.1", "0.1+1.0+0.1", "layer 1", "all"])
def test_a_head_off_is_a_head_with_zero_values(monkeypatch, flash, bias, choose):
    monkeypatch.setattr(CausalSelfAttention, "flash", flash)
    model = make_model(bias)
    heads = choose(model)
    with heads_off(model, heads):
        ablated = logits(model)
    assert not torch.allclose(ablated, logits(model), atol=1e-3)  # the heads mattered
    assert torch.allclose(ablated, logits(zero_values(model, heads)), atol=1e-6)


@given(data=st.data())
def test_with_every_head_off_a_position_sees_only_its_own_token(model, data):
    t = data.draw(st.integers(1, T - 1), label="t")
    tokens = data.draw(st.lists(st.integers(0, VOCAB - 1), min_size=T, max_size=T), label="tokens")
    earlier = data.draw(st.lists(st.integers(0, VOCAB - 1), min_size=t, max_size=t), label="new tokens 0..t-1")
    idx = torch.tensor([tokens, earlier + tokens[t:]])
    with heads_off(model, all_heads(model)):
        out = logits(model, idx)
    assert torch.allclose(out[0, t], out[1, t], atol=1e-6)


def test_with_the_heads_on_earlier_tokens_change_the_prediction(model):
    t = 5
    idx = IDX[:1].repeat(2, 1)
    idx[1, :t] = (idx[1, :t] + 1) % VOCAB
    out = logits(model, idx)
    assert (out[0, t] - out[1, t]).abs().max() > 1e-3


@pytest.mark.parametrize("heads, message", [([(2, 0)], "layer 2 is out of range"),
                                            ([(-1, 0)], "layer -1 is out of range"),
                                            ([(0, 0), (1, 2)], r"head 2 \(layer 1\) is out of range")])
def test_heads_out_of_range_are_refused(model, heads, message):
    with pytest.raises(ValueError, match=message), heads_off(model, heads):
        pass
    assert not hooked(model)


def test_layer_out_of_range_is_refused(model):
    with pytest.raises(ValueError, match="layer 2 is out of range"):
        layer_heads(model, 2)
