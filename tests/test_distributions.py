import math
from collections import Counter

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

import nanogpt_lite as nl
from nanogpt_lite.instruments.distributions import (
    chi_square,
    entropy,
    entropy_curve,
    example_words,
    followers,
    sample_frequencies,
    total_variation,
)

logit_rows = st.lists(st.floats(-6, 6, allow_nan=False), min_size=2, max_size=10)
distributions = logit_rows.map(lambda values: torch.softmax(torch.tensor(values, dtype=torch.float64), -1))


# --- followers: the measured next-character distribution -------------------------------------------------

def test_followers_is_the_normalised_count_row(small_text, small_tok, small_data):
    counts = nl.bigram_counts(small_data, small_tok.vocab_size)
    after_e = followers(counts, small_tok, "e")
    by_hand = Counter(b for a, b in zip(small_text, small_text[1:]) if a == "e")
    assert after_e.total == sum(by_hand.values())
    for ch, n in by_hand.items():
        assert after_e.probs[small_tok.stoi[ch]].item() == pytest.approx(n / after_e.total)
    assert after_e.probs.sum().item() == pytest.approx(1.0)
    top = after_e.top(3)
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    assert top[0] == (by_hand.most_common(1)[0][0], pytest.approx(by_hand.most_common(1)[0][1] / after_e.total))


def test_followers_of_e_in_tiny_shakespeare(shakespeare):
    text, tok, _, _ = shakespeare
    counts = nl.bigram_counts(torch.tensor(tok.encode(text)), tok.vocab_size)
    after_e = followers(counts, tok, "e")
    by_hand = Counter(b for a, b in zip(text, text[1:]) if a == "e")
    assert after_e.total == sum(by_hand.values()) == 94_611
    assert [(ch, round(100 * p, 1)) for ch, p in after_e.top(5)] == [
        (" ", 29.2), ("r", 12.4), ("n", 8.0), ("s", 6.8), ("a", 6.6)
    ]


def test_followers_reject_bad_input(small_tok, small_data):
    counts = nl.bigram_counts(small_data, small_tok.vocab_size)
    with pytest.raises(ValueError, match="single character"):
        followers(counts, small_tok, "er")
    with pytest.raises(nl.UnknownCharacterError, match="'Z'"):
        followers(counts, small_tok, "Z")
    with pytest.raises(ValueError, match="counts must be"):
        followers(counts[:-1], small_tok, "e")
    tok = nl.CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match="'c' is never followed"):
        followers(nl.bigram_counts(torch.tensor(tok.encode("abc")), 3), tok, "c")


def test_example_words():
    text = "Here her, her! were the sea; the bee\nme. The eee"
    assert example_words(text, "er", k=2) == [("her", 2), ("Here", 1)]  # case matters, as for characters
    assert example_words(text, "e ") == [("the", 2), ("Here", 1), ("were", 1)]  # not "bee\n", "me.", "sea;"
    assert example_words(text, "e\n") == [("bee", 1)]
    assert example_words(text, "ee") == [("eee", 2), ("bee", 1)]  # every occurrence, overlapping ones too
    for bad in ["", " t", "e,,", 5]:
        with pytest.raises(ValueError, match="pair must be"):
            example_words(text, bad)


@pytest.mark.parametrize("pair", ["e ", "er", "ed", "e\n"])
def test_example_words_account_for_every_occurrence_of_the_pair(shakespeare, pair):
    text, tok, _, _ = shakespeare
    everywhere = sum(n for _, n in example_words(text, pair, k=100_000))
    counts = nl.bigram_counts(torch.tensor(tok.encode(text)), tok.vocab_size)
    assert everywhere == counts[tok.stoi[pair[0]], tok.stoi[pair[1]]]


# --- entropy ---------------------------------------------------------------------------------------------

@given(distributions)
def test_entropy_is_between_zero_and_log_n(probs):
    h = entropy(probs).item()
    assert -1e-12 <= h <= math.log(len(probs)) + 1e-9
    assert entropy(probs.flip(0)).item() == pytest.approx(h)  # order does not matter


@pytest.mark.parametrize("n", [1, 2, 65])
def test_entropy_extremes(n):
    assert entropy(torch.full((n,), 1.0 / n)).item() == pytest.approx(math.log(n))
    certain = entropy(torch.nn.functional.one_hot(torch.tensor(0), n).double()).item()
    assert certain == 0.0 and math.copysign(1, certain) == 1  # not -0.0, which prints as "-0.000"
    assert entropy(torch.tensor([1 + 1e-7, 0.0])).item() == 0.0  # rounding never makes it negative


def test_entropy_rows_and_bad_input():
    rows = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    assert entropy(rows).tolist() == pytest.approx([math.log(2), 0.0])
    for bad in (torch.tensor([0.5, 0.6]), torch.tensor([1.5, -0.5])):
        with pytest.raises(ValueError, match="non-negative and sum to 1"):
            entropy(bad)


@settings(max_examples=50)
@given(logit_rows, st.lists(st.floats(0.05, 50), min_size=2, max_size=6))
def test_entropy_grows_with_temperature(values, temperatures):
    curve = entropy_curve(torch.tensor(values), sorted(temperatures))
    assert all(a <= b + 1e-6 for a, b in zip(curve, curve[1:]))  # float32 softmax: equal up to rounding


def test_entropy_curve_limits_and_top_k():
    logits = torch.tensor([2.0, 1.0, 0.5, -1.0, 0.0])
    zero, cold, hot = entropy_curve(logits, [0, 0.01, 1e6])
    assert zero == 0.0 and cold < 1e-6 and hot == pytest.approx(math.log(5), abs=1e-6)
    (capped,) = entropy_curve(logits, [1e6], top_k=2)
    assert capped == pytest.approx(math.log(2), abs=1e-6)


# --- multinomial draws converge to the probabilities -----------------------------------------------------

def test_sample_frequencies_are_prefixes_of_one_run():
    probs = torch.tensor([0.5, 0.3, 0.2, 0.0])
    sizes = [10, 100, 5000]
    freqs = sample_frequencies(probs, sizes, generator=torch.Generator().manual_seed(0))
    counts = freqs * torch.tensor(sizes, dtype=torch.float64)[:, None]
    assert torch.allclose(freqs.sum(1), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(counts, counts.round()) and (counts[1:] >= counts[:-1]).all()  # later prefixes only add
    assert (freqs[:, 3] == 0).all()  # probability 0 is never drawn
    again = sample_frequencies(probs, sizes, generator=torch.Generator().manual_seed(0))
    assert torch.equal(freqs, again)


def test_sample_frequencies_converge():
    probs = torch.softmax(torch.linspace(-2, 2, 8, dtype=torch.float64), -1)
    sizes = [100, 10_000, 1_000_000]
    freqs = sample_frequencies(probs, sizes, generator=torch.Generator().manual_seed(1))
    distances = [total_variation(f, probs) for f in freqs]
    assert distances[0] > distances[1] > distances[2] and distances[2] < 0.005


@pytest.mark.parametrize("sizes", [[], [0], [10, 2.5], [-3]])
def test_sample_frequencies_reject_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes must be"):
        sample_frequencies(torch.tensor([0.5, 0.5]), sizes, generator=torch.Generator())


@given(distributions, distributions, distributions)
def test_total_variation_is_a_distance(p, q, r):
    n = min(len(p), len(q), len(r))
    p, q, r = (x[:n] / x[:n].sum() for x in (p, q, r))
    assert 0 <= total_variation(p, q) <= 1
    assert total_variation(p, q) == pytest.approx(total_variation(q, p))
    assert total_variation(p, p) == 0
    assert total_variation(p, r) <= total_variation(p, q) + total_variation(q, r) + 1e-12


def test_total_variation_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        total_variation(torch.ones(2) / 2, torch.ones(3) / 3)


# --- chi-square ------------------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(distributions, st.integers(0, 2**31 - 1))
def test_chi_square_accepts_draws_from_the_distribution(probs, seed):
    n = 20_000
    assume(float(probs.min()) * n >= 5)  # chi_square refuses (too few samples) otherwise
    (freqs,) = sample_frequencies(probs, [n], generator=torch.Generator().manual_seed(seed))
    result = chi_square(freqs * n, probs)
    assert result.pvalue > 1e-4 and result.dof >= 1


@settings(max_examples=25, deadline=None)
@given(distributions, st.integers(0, 2**31 - 1))
def test_chi_square_rejects_draws_from_another_distribution(probs, seed):
    other = probs.flip(0)
    assume(total_variation(probs, other) > 0.1)
    n = 20_000
    # The test pools categories expected fewer than 5 times; with one pooled away (e.g. probs
    # [0.99988, 1.2e-4]) too little is left to reject anything, so the law needs every cell >= 5.
    assume(float(probs.min()) * n >= 5)
    (freqs,) = sample_frequencies(other, [n], generator=torch.Generator().manual_seed(seed))
    assert chi_square(freqs * n, probs).pvalue < 1e-6


def test_chi_square_matches_scipy_without_pooling():
    observed = torch.tensor([30.0, 50.0, 20.0])
    probs = torch.tensor([0.25, 0.5, 0.25])
    result = chi_square(observed, probs)
    reference = chisquare([30, 50, 20], [25, 50, 25])
    assert (result.statistic, result.pvalue, result.dof) == (pytest.approx(reference.statistic), pytest.approx(reference.pvalue), 2)
    exact = chi_square(torch.tensor([25.0, 50.0, 25.0]), probs)
    assert exact.statistic == 0 and exact.pvalue == pytest.approx(1.0)


def test_chi_square_pools_rare_categories():
    probs = torch.tensor([0.45, 0.45, 0.06, 0.03, 0.01])
    observed = torch.tensor([45.0, 45.0, 6.0, 3.0, 1.0])  # expected 6, 3, 1: 3 + 1 pooled into one cell of 4 < 5
    result = chi_square(observed, probs)
    assert result.dof == 2  # cells: 45, 45, 6 + (3 + 1) -> the too-small pool joins the smallest cell
    pooled = chi_square(torch.tensor([68.0, 67.0, 9.0, 3.0, 3.0]), torch.tensor([0.45, 0.45, 0.06, 0.02, 0.02]))
    assert pooled.dof == 3  # expected 3 + 3 = 6 >= 5: the pool is a cell of its own
    assert chi_square(torch.tensor([450.0, 450.0, 60.0, 30.0, 10.0]), probs).dof == 4  # nothing to pool


def test_chi_square_impossible_category_and_bad_input():
    impossible = chi_square(torch.tensor([10.0, 10.0, 1.0]), torch.tensor([0.5, 0.5, 0.0]))
    assert impossible.statistic == math.inf and impossible.pvalue == 0.0
    with pytest.raises(ValueError, match="too few samples"):
        chi_square(torch.tensor([3.0, 2.0]), torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="same length"):
        chi_square(torch.tensor([3.0, 2.0]), torch.tensor([0.2, 0.3, 0.5]))
    with pytest.raises(ValueError, match="probs a distribution"):
        chi_square(torch.tensor([30.0, 20.0]), torch.tensor([0.6, 0.6]))
