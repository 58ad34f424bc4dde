import math

import pytest
import torch
import torch.nn.functional as F

import nanogpt_lite as nl
from nanogpt_lite.gpt import GPT, CausalSelfAttention, GPTConfig

TINY = GPTConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8, dropout=0.0, bias=True)


def tiny(**changes) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(**{**TINY.__dict__, **changes}))


def nanogpt_names(n_layer: int, bias: bool) -> list[str]:
    """named_parameters() of nanoGPT's GPT, written out from reading its model.py (order included)."""
    names = ["transformer.wte.weight", "transformer.wpe.weight"]
    for i in range(n_layer):
        for sub in ["ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"]:
            names.append(f"transformer.h.{i}.{sub}.weight")
            if bias:
                names.append(f"transformer.h.{i}.{sub}.bias")
    names += ["transformer.ln_f.weight"] + (["transformer.ln_f.bias"] if bias else [])
    return names  # lm_head.weight is the tied wte.weight: named_parameters() yields it once


@pytest.mark.parametrize("bias", [True, False])
def test_parameter_names_and_shapes_are_nanogpts(bias):
    c = TINY
    model = tiny(bias=bias)
    params = dict(model.named_parameters())
    assert list(params) == nanogpt_names(c.n_layer, bias)
    E, V, T = c.n_embd, c.vocab_size, c.block_size
    expected = {"wte.weight": (V, E), "wpe.weight": (T, E), "c_attn.weight": (3 * E, E), "c_attn.bias": (3 * E,),
                "attn.c_proj.weight": (E, E), "mlp.c_fc.weight": (4 * E, E), "mlp.c_fc.bias": (4 * E,),
                "mlp.c_proj.weight": (E, 4 * E), "ln_1.weight": (E,), "ln_f.weight": (E,)}
    for name, p in params.items():
        for tail, shape in expected.items():
            if name.endswith(tail):
                assert tuple(p.shape) == shape, name
    # state_dict has the tied matrix under both names and no mask buffer (as a PyTorch-2 nanoGPT)
    keys = list(model.state_dict())
    assert keys == nanogpt_names(c.n_layer, bias) + ["lm_head.weight"]
    assert model.state_dict()["lm_head.weight"].data_ptr() == model.state_dict()["transformer.wte.weight"].data_ptr()


def test_mask_is_a_non_persistent_buffer():
    model = tiny()
    mask = model.transformer.h[0].attn.bias
    assert torch.equal(mask[0, 0], torch.tril(torch.ones(8, 8)))
    assert "transformer.h.0.attn.bias" in dict(model.named_buffers())
    assert not any(k.endswith(".attn.bias") for k in model.state_dict())


def test_get_num_params_by_formula():
    c = TINY
    E, V, T, L = c.n_embd, c.vocab_size, c.block_size, c.n_layer
    per_block = (2 * E) + (3 * E * E + 3 * E) + (E * E + E) + (2 * E) + (4 * E * E + 4 * E) + (4 * E * E + E)
    total = V * E + T * E + L * per_block + 2 * E  # tied head counted once
    model = tiny()
    assert model.get_num_params(non_embedding=False) == total
    assert model.get_num_params() == total - T * E
    no_bias = tiny(bias=False)
    assert no_bias.get_num_params(non_embedding=False) == V * E + T * E + L * (12 * E * E + 2 * E) + E


def test_init_follows_gpt2():
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=32, vocab_size=300, n_layer=4, n_head=4, n_embd=64))
    assert model.transformer.wte.weight.std().item() == pytest.approx(0.02, rel=0.05)
    c_proj = torch.cat([b.attn.c_proj.weight.flatten() for b in model.transformer.h])
    assert c_proj.std().item() == pytest.approx(0.02 / math.sqrt(8), rel=0.05)
    assert torch.count_nonzero(model.transformer.h[0].attn.c_attn.bias) == 0
    assert torch.all(model.transformer.ln_f.weight == 1)


def manual_attention(attn: CausalSelfAttention, x: torch.Tensor) -> torch.Tensor:
    """Multi-head causal attention by einsum, one head at a time, independent of gpt.py's reshapes."""
    _, T, C = x.shape
    H, D = attn.n_head, C // attn.n_head
    W, b = attn.c_attn.weight, attn.c_attn.bias
    heads = []
    for h in range(H):
        q, k, v = (torch.einsum("btc,dc->btd", x, W[i * C + h * D : i * C + (h + 1) * D]) + b[i * C + h * D : i * C + (h + 1) * D]
                   for i in range(3))
        scores = torch.einsum("btd,bsd->bts", q, k) / math.sqrt(D)
        scores = scores + torch.full((T, T), float("-inf")).triu(1)
        heads.append(torch.einsum("bts,bsd->btd", scores.softmax(-1), v))
    return attn.c_proj(torch.cat(heads, dim=-1))


@pytest.mark.parametrize("flash", [True, False])
def test_attention_matches_a_manual_einsum_version(flash):
    attn = tiny().transformer.h[0].attn
    attn.flash = flash
    x = torch.randn(3, 8, 8, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(attn(x), manual_attention(attn, x), atol=1e-6)


def test_attention_is_causal():
    model = tiny().eval()
    idx = torch.tensor([[1, 2, 3, 4, 5, 6]])
    changed = idx.clone()
    changed[0, 4] = 9
    a, _ = model(idx)
    b, _ = model(changed)
    assert torch.allclose(a[0, :4], b[0, :4])  # the future does not change earlier positions
    assert not torch.allclose(a[0, 4], b[0, 4])


def test_forward_gives_logits_everywhere_and_the_mean_cross_entropy():
    model = tiny()
    idx = torch.randint(0, 11, (2, 5), generator=torch.Generator().manual_seed(0))
    targets = torch.randint(0, 11, (2, 5), generator=torch.Generator().manual_seed(1))
    logits, loss = model(idx, targets)
    assert logits.shape == (2, 5, 11)
    assert loss.item() == pytest.approx(F.cross_entropy(logits.reshape(10, 11), targets.reshape(10)).item())
    assert model(idx)[1] is None
    assert loss.item() == pytest.approx(math.log(11), abs=0.1)  # small init: near uniform guessing


def test_too_long_input_is_refused_in_both_languages():
    model = tiny()
    assert model.context_size == 8
    with pytest.raises(ValueError, match="block_size=8") as info:
        model(torch.zeros(1, 9, dtype=torch.long))
    assert info.value.args[0].index("输入") < info.value.args[0].index("got 9 tokens")


def test_n_embd_must_split_into_heads():
    with pytest.raises(ValueError, match="n_head"):
        GPT(GPTConfig(n_embd=10, n_head=3))


def test_configure_optimizers_splits_like_nanogpt():
    model = tiny()
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), "cpu")
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert opt.defaults["betas"] == (0.9, 0.99) and not opt.defaults.get("fused")
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    n_decay = sum(p.numel() for p in decay["params"])
    E, V, T, L = 8, 11, 8, 2
    assert n_decay == V * E + T * E + L * 12 * E * E  # wte (= lm_head, once), wpe, 4 matrices per block
    assert n_decay + sum(p.numel() for p in no_decay["params"]) == model.get_num_params(non_embedding=False)
    model.transformer.wpe.weight.requires_grad_(False)
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), "cpu")
    assert sum(p.numel() for p in opt.param_groups[0]["params"]) == n_decay - T * E


def test_dropout_only_in_training_mode():
    model = tiny(dropout=0.5)
    idx = torch.randint(0, 11, (1, 8), generator=torch.Generator().manual_seed(0))
    model.eval()
    assert torch.equal(model(idx)[0], model(idx)[0])
    model.train()
    torch.manual_seed(1)
    assert not torch.equal(model(idx)[0], model(idx)[0])


def test_generate_crops_to_block_size():
    model = tiny()
    out = nl.generate(model, torch.zeros(1, 1, dtype=torch.long), 20, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 21)  # more tokens than block_size: only the last 8 are fed
    assert model.training  # mode restored
