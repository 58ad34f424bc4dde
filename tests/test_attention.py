import math

import pytest
import torch

from nanogpt_lite.gpt import GPT, GPTConfig
from nanogpt_lite.instruments.attention import (
    attention_maps,
    compare_at_places,
    context_probability,
    count_probability,
    next_char_distribution,
    occurrences,
    previous_token_weight,
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


def test_compare_at_places_puts_the_gpt_the_bigram_and_the_counts_on_the_same_places(model):
    gen = torch.Generator().manual_seed(1)
    data = torch.randint(0, 11, (400,), generator=gen)
    context, target = data[200:202].tolist(), 4
    bigram = torch.softmax(torch.randn(11, 11, generator=gen), dim=-1)
    at = compare_at_places(model, data, context, target, bigram, batch_size=5)
    ends = [e for e in occurrences(data, context).tolist() if e >= 7]  # full windows only, as the GPT needs
    following = [int(data[e + 1]) for e in ends]
    gpt = [next_char_distribution(model, data[e - 7 : e + 1]) for e in ends]
    assert at.places == len(ends)
    assert at.counted == pytest.approx(sum(f == target for f in following) / len(ends))
    assert at.gpt == pytest.approx(sum(p[target].item() for p in gpt) / len(ends), rel=1e-5)
    assert at.bigram == pytest.approx(bigram[context[-1], target].item())
    assert at.gpt_loss == pytest.approx(sum(-math.log(p[f].item()) for p, f in zip(gpt, following)) / len(ends), rel=1e-5)
    assert at.bigram_loss == pytest.approx(sum(-math.log(bigram[context[-1], f].item()) for f in following) / len(ends), rel=1e-5)
    with pytest.raises(ValueError, match="没有完整的窗口"):
        compare_at_places(model, data[:8], context, target, bigram)


def previous_token_model() -> GPT:
    """Every head of both layers looks at the previous position and nowhere else, set by hand.

    Position t enters as the one-hot e_t and nothing is ever added to it (c_proj and the MLP are zero),
    so every ln_1 sees u_t = LayerNorm(e_t). Keys are u_s; queries are 10 · u_{t-1} (a shift of u_t):
    q·k is largest by far where s = t - 1.
    """
    config = GPTConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=16, bias=False)
    m = GPT(config)
    shift = torch.eye(16).roll(1, dims=1)  # shift @ e_t = e_{t-1}, hence shift @ u_t = u_{t-1}
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "ln_" not in name:  # the LayerNorms keep their weights of 1
                p.zero_()
        m.transformer.wpe.weight.copy_(torch.eye(16)[:8])
        for block in m.transformer.h:
            block.attn.c_attn.weight[:16] = 10 * shift[:8].repeat(2, 1)  # each head's query: u_{t-1}'s first 8 numbers
            block.attn.c_attn.weight[16:32] = torch.eye(16)[:8].repeat(2, 1)  # each head's key: u_s's first 8 numbers
    return m


def test_previous_token_weight_of_heads_made_to_look_back_is_one():
    model = previous_token_model()
    data = torch.randint(0, 11, (100,), generator=torch.Generator().manual_seed(0))
    weight = previous_token_weight(model, data, windows=5, generator=torch.Generator().manual_seed(0))
    assert weight.shape == (2, 2)
    assert torch.allclose(weight, torch.ones(2, 2), atol=1e-6)


def test_previous_token_weight_of_one_window_is_the_mean_below_the_diagonal(model):
    data = IDX.tolist() + [0]  # exactly one window of block_size = 8: every draw is this one
    weight = previous_token_weight(model, data, windows=3, generator=torch.Generator().manual_seed(0), batch_size=2)
    by_hand = attention_maps(model, torch.tensor(data)).diagonal(offset=-1, dim1=-2, dim2=-1).mean(-1)
    assert torch.allclose(weight, by_hand, atol=1e-6)


def test_previous_token_weight_is_a_seeded_mean_in_0_1(model):
    data = torch.randint(0, 11, (500,), generator=torch.Generator().manual_seed(0))
    model.train()

    def weight(seed: int, batch_size: int = 64) -> torch.Tensor:
        return previous_token_weight(model, data, windows=20, generator=torch.Generator().manual_seed(seed),
                                     batch_size=batch_size)

    first = weight(1)
    assert first.shape == (2, 2)
    assert torch.all((first >= 0) & (first <= 1))
    assert torch.equal(weight(1), first)
    assert torch.allclose(weight(1, batch_size=3), first, atol=1e-6)  # the chunks change nothing
    assert not torch.allclose(weight(2), first, atol=1e-4)  # other windows, another mean
    assert model.training  # restored
    assert all(len(b.attn._forward_hooks) == 0 for b in model.transformer.h)


@pytest.mark.parametrize("length, windows, message", [(7, 1, "data has 7 tokens, fewer than one window"),
                                                      (0, 1, "data has 0 tokens"),
                                                      (100, 0, "windows=0: draw at least 1 window")])
def test_previous_token_weight_refuses_bad_inputs(model, length, windows, message):
    with pytest.raises(ValueError, match=message):
        previous_token_weight(model, torch.zeros(length, dtype=torch.long), windows=windows,
                              generator=torch.Generator().manual_seed(0))


def test_previous_token_weight_needs_two_positions():
    model = GPT(GPTConfig(block_size=1, vocab_size=11, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(ValueError, match="block_size=1: a window needs 2 positions"):
        previous_token_weight(model, torch.zeros(10, dtype=torch.long), windows=1, generator=torch.Generator())
