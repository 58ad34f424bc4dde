import subprocess
import sys

import pytest
import torch
import torch.nn as nn

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
    with pytest.raises(ValueError) as refused:
        nl.train(nl.BigramLanguageModel(small_tok.vocab_size), small_data, **settings)
    message = str(refused.value)
    assert " / " in message and message.index("必须") < message.index("must")  # Chinese first, then English


def lecture_loop(model, data, *, steps, generator, zero_grad_last=False):
    """The lecture's bigram.py loop written out; ``zero_grad_last`` is nanoGPT's order.

    At steps 0 and ``steps - 1`` it draws (and ignores) one batch, as :func:`nl.train` does to
    estimate the loss with ``eval_iters=1`` and no validation data.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for step in range(steps):
        if step in (0, steps - 1):
            nl.get_batch(data, 4, 8, generator=generator)
        xb, yb = nl.get_batch(data, 4, 8, generator=generator)
        _, loss = model(xb, yb)
        if not zero_grad_last:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if zero_grad_last:
            optimizer.zero_grad(set_to_none=True)


def test_train_is_the_lectures_loop_and_nanogpts_zero_grad_last_is_the_same(small_data, small_tok):
    def weights(run):
        torch.manual_seed(5)
        model = nl.BigramLanguageModel(small_tok.vocab_size)
        run(model, torch.Generator().manual_seed(2))
        return model.token_embedding_table.weight.detach()

    def ours(model, g):
        nl.train(model, small_data, steps=15, batch_size=4, block_size=8, lr=1e-2, eval_every=100,
                 generator=g, eval_iters=1, progress=False)

    reference = weights(lambda m, g: lecture_loop(m, small_data, steps=15, generator=g))
    assert torch.equal(weights(ours), reference)
    nanogpt_order = weights(lambda m, g: lecture_loop(m, small_data, steps=15, generator=g, zero_grad_last=True))
    assert torch.equal(nanogpt_order, reference)


def test_micro_batches_with_the_loss_divided_give_the_big_batch_gradient(small_data, small_tok):
    torch.manual_seed(0)
    model = nl.BigramLanguageModel(small_tok.vocab_size)
    xb, yb = nl.get_batch(small_data, 12, 8, generator=torch.Generator().manual_seed(0))
    model(xb, yb)[1].backward()
    whole = model.token_embedding_table.weight.grad.clone()
    for k in (2, 3, 4):
        model.zero_grad(set_to_none=True)
        for x_micro, y_micro in zip(xb.chunk(k), yb.chunk(k)):
            (model(x_micro, y_micro)[1] / k).backward()
        assert torch.allclose(model.token_embedding_table.weight.grad, whole, atol=1e-7)


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


class Spy(nn.Module):
    """A bigram that records, at each forward, whether it was in eval mode and whether a graph was recorded."""

    def __init__(self, vocab_size):
        super().__init__()
        self.bigram = nl.BigramLanguageModel(vocab_size)
        self.seen = []

    def forward(self, idx, targets=None):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return self.bigram(idx, targets)


def test_estimate_loss_runs_like_nanogpts_under_no_grad_in_eval_mode(small_data, small_tok):
    model = Spy(small_tok.vocab_size)
    loss = nl.estimate_loss(model, small_data, batch_size=2, block_size=4, eval_iters=3, generator=torch.Generator())
    assert model.seen == [(False, False)] * 3 and model.training
    assert isinstance(loss, float)
    model.seen.clear()
    nl.train(model, small_data, steps=2, batch_size=2, block_size=4, lr=1e-2, eval_every=5,
             generator=torch.Generator(), eval_iters=1, progress=False)
    assert model.seen == [(False, False), (True, True)] * 2  # evaluations at steps 0 and 1, each before its step


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


def test_adam_step_is_torch_adam_to_the_last_bit():
    """train_full_batch writes Adam out; it must be the very arithmetic of torch.optim.Adam."""
    torch.manual_seed(0)
    ours = torch.randn(5, 7, requires_grad=True)
    theirs = ours.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([theirs], lr=0.3)
    exp_avg, exp_avg_sq = torch.zeros_like(ours), torch.zeros_like(ours)
    target = torch.rand(5, 7)
    for step in range(1, 41):
        for weight in (ours, theirs):
            weight.grad = None
            (-(target * torch.log_softmax(weight, dim=-1)).sum()).backward()
        nl.training.adam_step(ours, exp_avg, exp_avg_sq, step, lr=0.3)
        optimizer.step()
        assert torch.equal(ours, theirs), f"step {step}"
    assert not torch.equal(ours, torch.zeros_like(ours))


def test_full_batch_training_loads_no_torch_optimizer():
    """A torch optimizer's first use imports torch._dynamo (about 70 MiB per kernel); chapter 4 avoids it."""
    code = ("import sys, torch, nanogpt_lite as nl\n"
            "model = nl.BigramLanguageModel(5)\n"
            "nl.train_full_batch(model, torch.ones(5, 5), steps=3, progress=False)\n"
            "print('torch._dynamo' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
