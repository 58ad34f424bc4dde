import math

import pytest
import torch
import torch.nn.functional as F

import nanogpt_lite as nl


def test_bigram_forward_shapes_and_loss(small_data, small_tok):
    torch.manual_seed(0)
    model = nl.BigramLanguageModel(small_tok.vocab_size)
    x, y = nl.get_batch(small_data, 4, 8, generator=torch.Generator().manual_seed(0))
    logits, loss = model(x, y)
    assert logits.shape == (4, 8, small_tok.vocab_size)
    expected = F.cross_entropy(logits.reshape(-1, small_tok.vocab_size), y.reshape(-1))
    assert torch.allclose(loss, expected)
    assert model(x)[1] is None


def test_bigram_has_vocab_squared_parameters():
    model = nl.BigramLanguageModel(65)
    assert sum(p.numel() for p in model.parameters()) == 4225
    assert [name for name, _ in model.named_parameters()] == ["token_embedding_table.weight"]


def test_counts_match_a_python_loop(small_data, small_tok):
    counts = nl.bigram_counts(small_data, small_tok.vocab_size)
    loop = torch.zeros_like(counts)
    for a, b in zip(small_data[:-1].tolist(), small_data[1:].tolist()):
        loop[a, b] += 1
    assert torch.equal(counts, loop)
    assert counts.sum() == len(small_data) - 1


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8])
def test_counting_in_place_leaves_the_data_alone(small_data, small_tok, dtype):
    """bigram_counts adds into its own pairs tensor: the caller's ids keep their values, whatever their dtype."""
    data = small_data.to(dtype)
    before = data.clone()
    counts = nl.bigram_counts(data, small_tok.vocab_size)
    assert torch.equal(data, before)
    assert torch.equal(counts, nl.bigram_counts(small_data.long(), small_tok.vocab_size))


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_pairs_across_chunk_boundaries_are_counted(small_data, small_tok, monkeypatch, chunk):
    """Counting a few pairs at a time gives the one-shot bincount: no pair is lost or doubled at a chunk's edge."""
    import nanogpt_lite.counts as counts_module

    data = small_data[:50]
    pairs = data[:-1] * small_tok.vocab_size + data[1:]
    whole = torch.bincount(pairs, minlength=small_tok.vocab_size ** 2).view(small_tok.vocab_size, -1).double()
    monkeypatch.setattr(counts_module, "PAIR_CHUNK", chunk)
    assert torch.equal(nl.bigram_counts(data, small_tok.vocab_size), whole)
    assert nl.bigram_counts(data[:1], small_tok.vocab_size).sum() == 0


def test_probs_rows_sum_to_one_and_smoothing_validated(small_data, small_tok):
    counts = nl.bigram_counts(small_data, small_tok.vocab_size)
    for k in (0.0, 0.5, 1.0):
        assert torch.allclose(nl.bigram_probs(counts, k).sum(dim=1), torch.ones(small_tok.vocab_size, dtype=torch.double))
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="smoothing"):
            nl.bigram_probs(counts, bad)


def test_count_model_is_the_floor_for_trained_models(small_data, small_tok):
    """No bigram beats the counts on the text they were counted from."""
    counts = nl.bigram_counts(small_data, small_tok.vocab_size)
    floor = nl.cross_entropy(nl.bigram_probs(counts), small_data)
    model = nl.BigramLanguageModel(small_tok.vocab_size)
    losses = nl.train_full_batch(model, counts, steps=200, lr=0.3, progress=False)
    assert losses[-1] >= floor - 1e-9
    assert losses[-1] < floor * 1.02
    counted = nl.count_model(nl.bigram_probs(counts, 1e-9))
    assert nl.exact_loss(counted, small_data) == pytest.approx(floor, rel=1e-5)


def test_best_smoothing_beats_its_neighbours(small_tok):
    train = torch.tensor(small_tok.encode("First Citizen:\nBefore we proceed any further, hear me speak.\n"))
    val = torch.tensor(small_tok.encode("All: speak, speak, You are resolved rather to die?\n"))
    counts = nl.bigram_counts(train, small_tok.vocab_size)
    k = nl.best_smoothing(counts, val)
    best = nl.cross_entropy(nl.bigram_probs(counts, k), val)
    assert best <= nl.cross_entropy(nl.bigram_probs(counts, k * 1.5), val)
    assert best <= nl.cross_entropy(nl.bigram_probs(counts, k / 1.5), val)


def test_shakespeare_floor_reference_figures(shakespeare):
    _, tok, train, val = shakespeare
    counts = nl.bigram_counts(train, tok.vocab_size)
    assert nl.cross_entropy(nl.bigram_probs(counts), train) == pytest.approx(2.451913, abs=5e-7)
    assert nl.cross_entropy(nl.bigram_probs(counts), val) == math.inf
    assert nl.unseen_pairs(counts, val) == 23
    k = nl.best_smoothing(counts, val)
    assert 0.7 < k < 0.85
    assert nl.cross_entropy(nl.bigram_probs(counts, k), val) == pytest.approx(2.481835, abs=5e-6)
    assert nl.cross_entropy(nl.bigram_probs(counts, 1.0), val) == pytest.approx(2.481889, abs=5e-6)
