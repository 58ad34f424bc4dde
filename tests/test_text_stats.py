import math

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import nanogpt_lite as nl
from nanogpt_lite.instruments.text_stats import Cycle, find_cycle, loop_tokens, repeated_ngram_share, text_stats


def iterate(step, first, length):
    """The sequence a deterministic decoder produces: each token is a function of the ones before."""
    ids = list(first)
    while len(ids) < length:
        ids.append(step(ids))
    return ids


def floyd(ids_of, start_state):
    """(mu, lambda) of the iterated map by Floyd's tortoise and hare: an independent reference."""
    tortoise, hare = ids_of(start_state), ids_of(ids_of(start_state))
    while tortoise != hare:
        tortoise, hare = ids_of(tortoise), ids_of(ids_of(hare))
    mu, tortoise = 0, start_state
    while tortoise != hare:
        tortoise, hare, mu = ids_of(tortoise), ids_of(hare), mu + 1
    lam, hare = 1, ids_of(tortoise)
    while tortoise != hare:
        hare, lam = ids_of(hare), lam + 1
    return mu, lam


@given(st.lists(st.integers(0, 11), min_size=12, max_size=12), st.integers(0, 11))
def test_find_cycle_agrees_with_floyd(table, first):
    ids = iterate(lambda ids: table[ids[-1]], [first], 30)  # 12 states: a state repeats within 13 tokens
    cycle = find_cycle(ids)
    assert (cycle.start, cycle.period) == floyd(lambda s: table[s], first)
    assert all(ids[i] == ids[i + cycle.period] for i in range(cycle.start, len(ids) - cycle.period))


@given(st.dictionaries(st.tuples(st.integers(0, 3), st.integers(0, 3)), st.integers(0, 3), min_size=16, max_size=16),
       st.integers(0, 3), st.integers(0, 3))
def test_find_cycle_with_two_tokens_of_context(table, a, b):
    ids = iterate(lambda ids: table[ids[-2], ids[-1]], [a, b], 40)
    cycle = find_cycle(ids, context_size=2)
    assert all(ids[i] == ids[i + cycle.period] for i in range(cycle.start, len(ids) - cycle.period))
    state = lambda s: (s[1], table[s])  # noqa: E731
    assert (cycle.start, cycle.period) == floyd(state, (a, b))


@pytest.mark.parametrize(
    "text, expected",
    [("\n" * 21, Cycle(0, 1)), ("the the the", Cycle(0, 4)), ("qur the the", Cycle(3, 4)), ("abcdefg", None), ("", None)],
)
def test_find_cycle_examples(text, expected):
    assert find_cycle([ord(c) for c in text]) == expected


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_find_cycle_rejects_bad_context_size(bad):
    with pytest.raises(ValueError, match="context_size must be"):
        find_cycle([1, 2, 1], context_size=bad)


def test_loop_tokens_is_the_same_for_every_entry_point():
    text = [ord(c) for c in "xe the the the"]
    from_e, from_t = find_cycle(text[1:]), find_cycle(text[4:])
    assert loop_tokens(text[1:], from_e) == loop_tokens(text[4:], from_t) == tuple(ord(c) for c in " the")
    with pytest.raises(ValueError, match="does not fit"):
        loop_tokens([1, 2], Cycle(1, 5))


primitive_words = st.lists(st.integers(0, 3), min_size=1, max_size=6).filter(
    lambda w: w not in [(w + w)[i : i + len(w)] for i in range(1, len(w))]  # not a power of a shorter word
)


@given(primitive_words, st.integers(2, 8), st.integers(1, 12))
def test_repeated_share_of_a_periodic_text(word, repeats, n):
    ids = word * repeats
    assume(len(ids) - n + 1 >= len(word) and n >= len(word))
    total = len(ids) - n + 1
    assert repeated_ngram_share(ids, n) == pytest.approx(1 - len(word) / total)  # one distinct n-gram per phase


@given(st.lists(st.integers(0, 5), min_size=1, max_size=40), st.integers(1, 5))
def test_repeated_share_bounds(ids, n):
    assume(len(ids) >= n)
    share = repeated_ngram_share(ids, n)
    assert 0 <= share < 1
    assert (share == 0) == (len(set(zip(*(ids[i:] for i in range(n))))) == len(ids) - n + 1)
    assert repeated_ngram_share(list(range(len(ids))), n) == 0


def test_repeated_share_rejects_bad_input():
    with pytest.raises(ValueError, match="too short for 5-grams"):
        repeated_ngram_share([1, 2, 3], 5)
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="n must be"):
            repeated_ngram_share([1, 2, 3], bad)


@pytest.fixture
def counted(small_data, small_tok):
    return nl.bigram_probs(nl.bigram_counts(small_data, small_tok.vocab_size), smoothing=0.5)


def test_text_stats_score_the_text_under_the_model(counted, small_tok):
    model = nl.count_model(counted)
    ids = small_tok.encode("Speak, speak.\nYou are all")
    stats = text_stats(ids, model, n=3)
    by_hand = sum(math.log(counted[a, b]) for a, b in zip(ids, ids[1:])) / (len(ids) - 1)
    assert stats.mean_log_likelihood == pytest.approx(by_hand, abs=1e-5)
    assert (stats.length, stats.distinct, stats.n) == (len(ids), len(set(ids)), 3)
    assert stats.repeated_share == repeated_ngram_share(ids, 3) and stats.cycle is None
    assert f"{stats.mean_log_likelihood:.3f}" in str(stats) and "循环 无" in str(stats)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        text_stats(ids[:1], model)


def test_greedy_text_loops_and_is_more_likely_but_less_varied(shakespeare):
    _, tok, train, _ = shakespeare
    model = nl.count_model(nl.bigram_probs(nl.bigram_counts(train, tok.vocab_size)))
    start = torch.tensor([[tok.stoi["t"]]])
    greedy = text_stats(nl.generate(model, start, 300, greedy=True)[0].tolist(), model, deterministic=True)
    sampled = text_stats(
        nl.generate(model, start, 300, generator=torch.Generator().manual_seed(1337))[0].tolist(), model, deterministic=False
    )
    assert greedy.cycle == Cycle(0, 4) and "每 4 个重复" in str(greedy)
    assert greedy.distinct == 4 < sampled.distinct
    assert greedy.repeated_share > 0.9 > 0.1 > sampled.repeated_share
    assert greedy.mean_log_likelihood > sampled.mean_log_likelihood
