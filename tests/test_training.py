import pytest
import torch

import nanogpt_lite as nl


def test_train_lowers_the_loss_and_records_history(small_data, small_tok):
    torch.manual_seed(0)
    model = nl.BigramLanguageModel(small_tok.vocab_size)
    before = nl.exact_loss(model, small_data)
    history = nl.train(
        model, small_data, steps=300, batch_size=16, block_size=8, lr=1e-1, eval_every=100,
        generator=torch.Generator().manual_seed(0), val_data=small_data, eval_iters=5, progress=False,
    )
    assert len(history.train_loss) == 300
    assert history.eval_steps == [0, 100, 200, 299]
    assert len(history.eval_val) == len(history.eval_train) == 4
    after = nl.exact_loss(model, small_data)
    assert after < before - 1.0


def test_train_is_reproducible(small_data, small_tok):
    def run():
        torch.manual_seed(3)
        model = nl.BigramLanguageModel(small_tok.vocab_size)
        nl.train(model, small_data, steps=20, batch_size=4, block_size=8, lr=1e-2, eval_every=10,
                 generator=torch.Generator().manual_seed(1), eval_iters=2, progress=False)
        return model.token_embedding_table.weight.detach().clone()

    assert torch.equal(run(), run())


@pytest.mark.parametrize("kwargs", [{"steps": 0}, {"lr": -1.0}, {"lr": float("nan")}, {"batch_size": 0}])
def test_train_rejects_bad_settings(small_data, small_tok, kwargs):
    settings = dict(steps=5, batch_size=4, block_size=8, lr=1e-2, eval_every=1, generator=torch.Generator())
    settings.update(kwargs)
    with pytest.raises(ValueError):
        nl.train(nl.BigramLanguageModel(small_tok.vocab_size), small_data, **settings)


def test_exact_loss_matches_a_direct_computation(small_data, small_tok):
    torch.manual_seed(1)
    model = nl.BigramLanguageModel(small_tok.vocab_size)
    logits, loss = model(small_data[None, :-1], small_data[None, 1:])
    assert nl.exact_loss(model, small_data, chunk=7) == pytest.approx(loss.item(), rel=1e-6)


def test_estimate_loss_restores_training_mode(small_data, small_tok):
    model = nl.BigramLanguageModel(small_tok.vocab_size)
    model.train()
    nl.estimate_loss(model, small_data, batch_size=2, block_size=4, eval_iters=2, generator=torch.Generator())
    assert model.training


def test_shakespeare_full_batch_reaches_the_floor_in_30_steps(shakespeare):
    _, tok, train, val = shakespeare
    torch.manual_seed(1337)
    model = nl.BigramLanguageModel(tok.vocab_size)
    counts = nl.bigram_counts(train, tok.vocab_size)
    losses = nl.train_full_batch(model, counts, steps=31, lr=0.3, progress=False)
    assert losses[-1] < 2.451913 * 1.01
    assert nl.exact_loss(model, train) == pytest.approx(nl.cross_entropy(nl.bigram_probs(counts), train), rel=0.01)


def test_default_device_is_cuda_only_when_available():
    assert nl.default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
