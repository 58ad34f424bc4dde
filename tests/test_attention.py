import math

import pytest
import torch

from nanogpt_lite.gpt import GPT, GPTConfig
from nanogpt_lite.instruments.attention import (
    attention_maps,
    context_probability,
    count_probability,
    next_char_distribution,
    occurrences,
)


@pytest.fixture
def model() -> GPT:
    torch.manual_seed(0)
    m = GPT(GPTConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8))
    with torch.no_grad():  # sharper than the 0.02 init, so the maps are far from uniform
        for p in m.parameters():
            if p.dim() >= 2:
                p.mul_(20)
    return m


IDX = torch.tensor([3, 1, 4, 1, 5, 9, 2])


def manual_maps(model: GPT, idx: torch.Tensor) -> torch.Tensor:
    """Walk the blocks by hand: ln_1, one head at a time from c_attn's rows, masked softmax, then the block."""
    x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(len(idx)))
    C, H = model.config.n_embd, model.config.n_head
    D, T = C // H, len(idx)
    layers = []
    for block in model.transformer.h:
        h = block.ln_1(x)
        W, b = block.attn.c_attn.weight, block.attn.c_attn.bias
        heads = []
        for head in range(H):
            q = h @ W[head * D : (head + 1) * D].T + b[head * D : (head + 1) * D]
            k = h @ W[C + head * D : C + (head + 1) * D].T + b[C + head * D : C + (head + 1) * D]
            scores = torch.full((T, T), -math.inf)
            for t in range(T):
                for s in range(t + 1):
                    scores[t, s] = q[t] @ k[s] / math.sqrt(D)
            heads.append(scores.softmax(-1))
        layers.append(torch.stack(heads))
        x = block(x[None])[0]
    return torch.stack(layers)


def test_maps_match_a_manual_computation(model):
    maps = attention_maps(model, IDX)
    assert maps.shape == (2, 2, 7, 7)
    with torch.no_grad():
        assert torch.allclose(maps, manual_maps(model, IDX), atol=1e-5)


def test_rows_sum_to_one_and_the_future_gets_nothing(model):
    maps = attention_maps(model, IDX[None])
    assert torch.allclose(maps.sum(-1), torch.ones(2, 2, 7))
    assert torch.all(maps.triu(1) == 0)
    assert torch.all(maps[..., 0, 0] == 1)  # the first position can only look at itself
    assert maps[0, 0, 6].max() > 0.3  # sharpened weights: not a uniform average


def test_maps_leave_the_model_as_it_was(model):
    model.train()
    before, _ = model(IDX[None])
    attention_maps(model, IDX)
    assert model.training
    assert all(len(b.attn._forward_hooks) == 0 for b in model.transformer.h)
    assert torch.equal(model(IDX[None])[0], before)


def test_next_char_distribution_is_the_softmax_of_the_logits(model):
    probs = next_char_distribution(model, IDX, 3)
    logits, _ = model(IDX[None, :4])
    assert torch.allclose(probs, logits[0, -1].softmax(-1), atol=1e-6)
    assert torch.allclose(next_char_distribution(model, IDX), next_char_distribution(model, IDX, len(IDX) - 1))
    assert probs.sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("bad, message", [(torch.zeros(2, 3, dtype=torch.long), "one sequence"),
                                          (torch.zeros(0, dtype=torch.long), "empty")])
def test_bad_inputs_are_refused(model, bad, message):
    with pytest.raises(ValueError, match=message):
        attention_maps(model, bad)


def test_position_out_of_range(model):
    with pytest.raises(ValueError, match="outside a sequence of length 7"):
        next_char_distribution(model, IDX, 7)



def test_occurrences_and_counts_on_a_known_sequence():
    data = torch.tensor([1, 2, 3, 1, 2, 4, 1, 2])
    assert occurrences(data, [1, 2]).tolist() == [1, 4]  # the last [1, 2] has no next token
    share, n = count_probability(data, [1, 2], 3)
    assert (share, n) == (0.5, 2)
    assert count_probability(data, [2], 4) == (0.5, 2)
    with pytest.raises(ValueError, match="never occurs"):
        count_probability(data, [4, 4], 1)


def test_context_probability_is_the_mean_of_the_model_over_full_windows(model):
    gen = torch.Generator().manual_seed(0)
    data = torch.randint(0, 11, (300,), generator=gen)
    context, target = data[100:102].tolist(), 5
    mean, n = context_probability(model, data, context, target, batch_size=3)
    ends = [e for e in occurrences(data, context).tolist() if e >= 7]
    assert n == len(ends) >= 1
    by_hand = [next_char_distribution(model, data[e - 7 : e + 1])[target].item() for e in ends]
    assert mean == pytest.approx(sum(by_hand) / len(by_hand), rel=1e-5)
    assert model.training  # restored
