import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

import nanogpt_lite as nl

finite_logits = st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=8)


@settings(max_examples=25, deadline=None)
@given(finite_logits, st.integers(0, 2**31 - 1))
def test_sample_frequencies_match_softmax(values, seed):
    logits = torch.tensor([values])
    probs = torch.softmax(logits, dim=-1)[0].double()
    n = 20_000
    g = torch.Generator().manual_seed(seed)
    ids = nl.sample_next(logits.expand(n, -1), generator=g)
    observed = torch.bincount(ids[:, 0], minlength=len(values)).double()
    keep = probs * n >= 5  # chi-square needs expected counts >= 5; pool the rest
    expected = torch.cat([probs[keep] * n, (probs[~keep] * n).sum(dim=0, keepdim=True)])
    observed = torch.cat([observed[keep], observed[~keep].sum(dim=0, keepdim=True)])
    if expected[-1] == 0:
        expected, observed = expected[:-1], observed[:-1]
    expected = expected * (observed.sum() / expected.sum())  # exact totals for scipy
    assert chisquare(observed.numpy(), expected.numpy()).pvalue > 1e-4


@given(finite_logits)
def test_low_temperature_is_argmax(values):
    logits = torch.tensor([values])
    top = logits.max()
    if (logits >= top - 1e-3).sum() > 1:
        return  # near-ties: argmax is not well defined
    probs = nl.next_token_probs(logits, temperature=1e-4)
    assert probs.argmax() == logits.argmax() and probs.max() > 0.999
    assert nl.sample_next(logits, temperature=0).item() == logits.argmax().item()


def test_high_temperature_approaches_uniform():
    logits = torch.tensor([[3.0, -1.0, 0.5, 2.0]])
    probs = nl.next_token_probs(logits, temperature=1e6)
    assert torch.allclose(probs, torch.full_like(probs, 0.25), atol=1e-5)


def test_top_k_keeps_only_k_tokens():
    logits = torch.tensor([[1.0, 4.0, 2.0, 3.0, 0.0]])
    probs = nl.next_token_probs(logits, top_k=2)
    assert (probs > 0).sum() == 2 and probs[0, 1] > 0 and probs[0, 3] > 0
    assert torch.allclose(probs.sum(), torch.tensor(1.0))
    assert torch.equal(nl.next_token_probs(logits, top_k=99), torch.softmax(logits, -1))


@pytest.mark.parametrize(
    "kwargs, zh, en",
    [
        ({"temperature": -0.5}, "温度必须", "temperature must be"),
        ({"temperature": math.nan}, "温度必须", "temperature must be"),
        ({"temperature": math.inf}, "温度必须", "temperature must be"),
        ({"top_k": 0}, "top_k 必须", "top_k must be"),
        ({"top_k": 1.5}, "top_k 必须", "top_k must be"),
    ],
)
def test_bad_options_raise_chinese_first(kwargs, zh, en):
    for call in (lambda: nl.sample_next(torch.zeros(1, 3), **kwargs),
                 lambda: nl.generate(nl.BigramLanguageModel(3), torch.zeros(1, 1, dtype=torch.long), 0, **kwargs)):
        with pytest.raises(ValueError, match=en) as info:
            call()
        assert 0 <= info.value.args[0].index(zh) < info.value.args[0].index(en)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_bad_logits_raise(bad):
    with pytest.raises(ValueError, match="NaN 或 \\+inf.*NaN or \\+infinity"):
        nl.sample_next(torch.tensor([[0.0, bad]]))


def test_minus_infinity_means_impossible():
    logits = torch.tensor([[0.0, -math.inf, 1.0]])
    ids = nl.sample_next(logits.expand(500, -1), generator=torch.Generator().manual_seed(0))
    assert 1 not in ids
    with pytest.raises(ValueError, match="全是 -inf.*all -infinity"):
        nl.sample_next(torch.full((1, 3), -math.inf))


def test_temperature_zero_has_no_distribution():
    with pytest.raises(ValueError, match="贪婪解码.*greedy"):
        nl.next_token_probs(torch.zeros(1, 3), temperature=0)


def _trained(small_data, small_tok):
    model = nl.BigramLanguageModel(small_tok.vocab_size)
    nl.train_full_batch(model, nl.bigram_counts(small_data, small_tok.vocab_size), steps=50, progress=False)
    return model


def test_generate_equals_lecture_generate(small_data, small_tok):
    model = _trained(small_data, small_tok)
    start = torch.zeros(3, 1, dtype=torch.long)
    ours = nl.generate(model, start, 300, generator=torch.Generator().manual_seed(42))
    lecture = nl.generate_lecture(model, start, 300, generator=torch.Generator().manual_seed(42))
    assert torch.equal(ours, lecture)


def test_same_seed_same_text_other_seed_other_text(small_data, small_tok):
    model = _trained(small_data, small_tok)
    start = torch.zeros(1, 1, dtype=torch.long)
    run = lambda seed: nl.generate(model, start, 100, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


def test_greedy_is_deterministic_and_follows_argmax(small_data, small_tok):
    model = _trained(small_data, small_tok)
    out = nl.generate(model, torch.zeros(1, 1, dtype=torch.long), 30, greedy=True)
    table = model.token_embedding_table.weight
    for a, b in zip(out[0, :-1].tolist(), out[0, 1:].tolist()):
        assert b == table[a].argmax().item()


def _spy(context_size):
    seen = []

    class Spy(nl.BigramLanguageModel):
        def forward(self, idx, targets=None):
            seen.append(tuple(idx.shape))
            return super().forward(idx, targets)

    Spy.context_size = context_size
    torch.manual_seed(0)
    return Spy(5), seen


def test_a_one_token_model_is_fed_one_token_per_step():
    model, seen = _spy(1)
    nl.generate(model, torch.zeros(2, 4, dtype=torch.long), 50, generator=torch.Generator().manual_seed(0))
    assert seen == [(2, 1)] * 50  # never more context than the model can use


def test_generate_is_nanogpts_loop_and_restores_the_mode():
    """Against a hand-written nanoGPT generate(): crop, last logits, / temperature, top-k, softmax, multinomial."""
    from nanogpt_lite.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=4, vocab_size=7, n_layer=1, n_head=1, n_embd=8, dropout=0.3))
    model.train()
    idx = torch.tensor([[1, 2], [3, 4]])
    ours = nl.generate(model, idx, 12, temperature=0.8, top_k=3, generator=torch.Generator().manual_seed(4))
    assert model.training
    model.eval()
    g, ref = torch.Generator().manual_seed(4), idx
    with torch.no_grad():
        for _ in range(12):
            logits = model(ref[:, -4:])[0][:, -1, :] / 0.8
            v, _ = torch.topk(logits, 3)
            logits[logits < v[:, [-1]]] = -float("inf")
            ref = torch.cat((ref, torch.multinomial(torch.softmax(logits, -1), 1, generator=g)), dim=1)
    assert torch.equal(ours, ref)


def test_a_model_with_a_context_window_sees_at_most_that_window():
    model, seen = _spy(3)
    nl.generate(model, torch.zeros(1, 1, dtype=torch.long), 10, generator=torch.Generator().manual_seed(0))
    assert [width for _, width in seen] == [1, 2] + [3] * 8


@pytest.mark.parametrize("context_size", [1, 3, None])
@pytest.mark.parametrize("options", [{}, {"temperature": 0.7, "top_k": 3}, {"greedy": True}])
def test_every_generation_path_draws_the_same_tokens(context_size, options):
    """A one-token window, a wider window, and the whole sequence: same model, same seed, same text."""
    model, _ = _spy(context_size)
    reference, _ = _spy(None)
    reference.load_state_dict(model.state_dict())
    start = torch.tensor([[0], [3]])
    ours = nl.generate(model, start, 200, generator=torch.Generator().manual_seed(9), **options)
    theirs = nl.generate(reference, start, 200, generator=torch.Generator().manual_seed(9), **options)
    assert torch.equal(ours, theirs)


def test_greedy_loops_on_shakespeare(shakespeare):
    _, tok, train, _ = shakespeare
    counted = nl.count_model(nl.bigram_probs(nl.bigram_counts(train, tok.vocab_size)))
    start = torch.tensor([[tok.stoi["\n"]]])
    assert tok.decode(nl.generate(counted, start, 20, greedy=True)[0].tolist()) == "\n" * 21
    start = torch.tensor([[tok.stoi["t"]]])
    assert tok.decode(nl.generate(counted, start, 10, greedy=True)[0].tolist()) == "the the the"
