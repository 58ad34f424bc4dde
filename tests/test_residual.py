import pytest
import torch

from nanogpt_lite.gpt import GPT, GPTConfig
from nanogpt_lite.instruments.residual import block_input_grad_norms, without_residual


@pytest.fixture
def model() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(block_size=8, vocab_size=11, n_layer=3, n_head=2, n_embd=8, bias=False))


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 11, (4, 8), generator=g), torch.randint(0, 11, (4, 8), generator=g)


def forward_by_hand(model: GPT, idx: torch.Tensor, residual: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    tr = model.transformer
    x = tr.wte(idx) + tr.wpe(torch.arange(idx.shape[1]))
    inputs = []
    for block in tr.h:
        inputs.append(x)
        a = block.attn(block.ln_1(x))
        x = x + a if residual else a
        m = block.mlp(block.ln_2(x))
        x = x + m if residual else m
    return model.lm_head(tr.ln_f(x)), inputs


def test_without_residual_drops_the_additions_and_leaves_the_original(model):
    idx, _ = batch()
    before = model(idx)[0].detach()
    plain = without_residual(model)
    assert torch.equal(model(idx)[0], before)
    assert torch.allclose(plain(idx)[0], forward_by_hand(model, idx, residual=False)[0], atol=1e-6)
    assert not torch.allclose(plain(idx)[0], before, atol=1e-3)


@pytest.mark.parametrize("residual", [True, False])
def test_the_norms_are_the_gradients_at_each_blocks_input(model, residual):
    idx, targets = batch()
    measured = block_input_grad_norms(model if residual else without_residual(model), idx, targets)
    logits, inputs = forward_by_hand(model, idx, residual)
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
    expected = [g.norm().item() for g in torch.autograd.grad(loss, inputs)]
    assert measured == pytest.approx(expected, rel=1e-5)
    assert all(p.grad is None for p in model.parameters())  # cleared again
    assert all(not b._forward_pre_hooks for b in model.transformer.h)
