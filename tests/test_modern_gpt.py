import dataclasses
import math
import re

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import nanogpt_lite as nl
from nanogpt_lite.gpt import GPT, GPTConfig
from nanogpt_lite.gpt import CausalSelfAttention as GPTAttention
from nanogpt_lite.modern_gpt import (
    LADDER,
    CausalSelfAttention,
    KVCache,
    ModernConfig,
    ModernGPT,
    Muon,
    MuonAdamW,
    apply_rotary_emb,
    generate_cached,
    ladder,
    newton_schulz,
    rms_norm,
    rotary_tables,
)

TINY = ModernConfig(block_size=12, vocab_size=11, n_layer=2, n_head=4, n_embd=16, dropout=0.0, bias=True)
BILINGUAL = re.compile(r"[\u4e00-\u9fff].* / [A-Za-z]", re.DOTALL)  # Chinese first, then " / " English
needs_torch_muon = pytest.mark.skipif(not hasattr(torch.optim, "Muon"), reason="torch.optim.Muon needs torch >= 2.9")

# Every switch alone, all of them, and grouped-query attention alone and with all (not zero_init: it makes
# the blocks start as the identity, so a "nothing leaks from the future" check would pass trivially).
SWITCHES = [{}] + [{k: v} for rung, ch in LADDER.items() if rung not in ("muon", "all", "zero_init") for k, v in ch.items()]
ALL = {k: v for k, v in LADDER["all"].items() if k not in ("muon", "zero_init")}
COMBOS = SWITCHES + [ALL, {"n_kv_head": 1}, {"n_kv_head": 2, **ALL}]
IDS = [",".join(f"{k}={v}" for k, v in c.items()) or "all_off" for c in COMBOS]


def tiny(**changes) -> ModernGPT:
    torch.manual_seed(0)
    return ModernGPT(dataclasses.replace(TINY, **changes))


def ids(B: int = 2, T: int = 12, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, TINY.vocab_size, (B, T), generator=torch.Generator().manual_seed(seed))


def gpt_config(**changes) -> GPTConfig:
    nanogpt = {f.name: getattr(TINY, f.name) for f in dataclasses.fields(GPTConfig)}
    return GPTConfig(**{**nanogpt, **changes})


@pytest.mark.parametrize("changes", COMBOS, ids=IDS)
def test_shapes_and_loss(changes):
    model = tiny(**changes)
    x, y = ids(), ids(seed=2)
    logits, loss = model(x, y)
    assert logits.shape == (2, 12, TINY.vocab_size)
    assert loss.shape == () and loss.item() == pytest.approx(F.cross_entropy(logits.flatten(0, 1), y.flatten()).item())
    assert model(x)[1] is None
    assert model.context_size == TINY.block_size


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("flash", [True, False])
def test_all_switches_off_is_nanogpts_gpt(bias, flash, monkeypatch):
    monkeypatch.setattr(GPTAttention, "flash", flash)
    monkeypatch.setattr(CausalSelfAttention, "flash", flash)
    torch.manual_seed(3)
    gpt = GPT(gpt_config(bias=bias))
    with torch.no_grad():  # weights far from their small init, so every nonlinearity is exercised
        for p in gpt.parameters():
            p.normal_(0.0, 0.5)
    modern = ModernGPT(ModernConfig(**dataclasses.asdict(gpt.config)))
    assert list(modern.state_dict()) == list(gpt.state_dict())  # the same names, in the same order
    modern.load_state_dict(gpt.state_dict())
    x, y = ids(), ids(seed=2)
    (g_logits, g_loss), (m_logits, m_loss) = gpt(x, y), modern(x, y)
    torch.testing.assert_close(m_logits, g_logits)
    torch.testing.assert_close(m_loss, g_loss)
    assert modern.get_num_params() == gpt.get_num_params()


def test_same_seed_gives_gpts_weights():
    torch.manual_seed(5)
    gpt = GPT(gpt_config())
    torch.manual_seed(5)
    modern = ModernGPT(TINY)
    for (name, a), b in zip(gpt.state_dict().items(), modern.state_dict().values()):
        assert torch.equal(a, b), name
    assert modern.lm_head.weight is modern.transformer.wte.weight  # tied, as nanoGPT


@pytest.mark.parametrize("changes", COMBOS, ids=IDS)
def test_a_future_token_never_changes_earlier_logits(changes):
    model = tiny(**changes).eval()
    x = ids()
    for t in (0, 5, 11):
        changed = x.clone()
        changed[:, t] = (changed[:, t] + 1) % TINY.vocab_size
        before, after = model(x)[0], model(changed)[0]
        torch.testing.assert_close(after[:, :t], before[:, :t])
        assert not torch.allclose(after[:, t], before[:, t])  # the changed position itself does change


@pytest.mark.parametrize("flash", [True, False])
@pytest.mark.parametrize("changes", COMBOS, ids=IDS)
def test_cached_logits_equal_the_full_forward(changes, flash, monkeypatch):
    monkeypatch.setattr(CausalSelfAttention, "flash", flash)
    model = tiny(**changes).eval()
    x = ids()
    full, _ = model(x)
    c = model.config
    cache = KVCache(2, c.kv_heads, 12, c.n_embd // c.n_head, c.n_layer)
    pieces = [model(x[:, :5], kv_cache=cache)[0]]  # a prompt of 5, then 3 at once, then one by one
    pieces.append(model(x[:, 5:8], kv_cache=cache)[0])
    pieces += [model(x[:, t : t + 1], kv_cache=cache)[0] for t in range(8, 12)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full)
    assert cache.get_pos() == 12


def test_the_cache_path_is_causal_too():
    model = tiny(**ALL).eval()
    x = ids()
    changed = x.clone()
    changed[:, 7] = (changed[:, 7] + 1) % TINY.vocab_size
    c = model.config
    outs = []
    for seq in (x, changed):
        cache = KVCache(2, c.kv_heads, 12, c.n_embd // c.n_head, c.n_layer)
        outs.append(torch.cat([model(seq[:, t : t + 1], kv_cache=cache)[0] for t in range(12)], dim=1))
    torch.testing.assert_close(outs[1][:, :7], outs[0][:, :7])
    assert not torch.allclose(outs[1][:, 7:], outs[0][:, 7:])


@pytest.mark.parametrize("changes", [{}, {"rotary": True}, ALL, {"n_kv_head": 1, "rotary": True}], ids=["all_off", "rotary", "all", "gqa1"])
@pytest.mark.parametrize("greedy", [False, True])
def test_cached_generation_draws_the_same_tokens(changes, greedy):
    model = tiny(**changes)
    prompt = ids(B=3, T=3)
    # 3 + 10 tokens: the model is fed 12 positions (the last new token is never fed): no cropping
    plain = nl.generate(model, prompt, 10, greedy=greedy, top_k=5, generator=torch.Generator().manual_seed(7))
    cached = generate_cached(model, prompt, 10, greedy=greedy, top_k=5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(cached, plain)
    assert model.training  # the mode is restored


def test_generate_cached_edge_cases():
    model = tiny()
    prompt = ids(B=1, T=4)
    assert torch.equal(generate_cached(model, prompt, 0), prompt)
    one = generate_cached(model, prompt, 1, greedy=True)
    assert torch.equal(one, nl.generate(model, prompt, 1, greedy=True))
    with pytest.raises(ValueError, match=BILINGUAL):
        generate_cached(model, torch.tensor([[3, 11]]), 2)  # id 11 is outside the vocabulary of 11
    with pytest.raises(ValueError, match=BILINGUAL):
        generate_cached(model, prompt, 2, temperature=-1.0)


@pytest.mark.parametrize("changes, limit", [({}, 12), ({"rotary": True}, 120)], ids=["wpe", "rotary"])
def test_the_cache_cannot_go_past_the_position_table(changes, limit):
    model = tiny(**changes)
    assert model.max_cache_len == limit
    prompt = ids(B=1, T=4)
    out = generate_cached(model, prompt, limit - 3, greedy=True)  # feeds exactly `limit` positions
    assert out.shape == (1, limit + 1)
    with pytest.raises(ValueError, match=BILINGUAL) as err:
        generate_cached(model, prompt, limit - 2)
    assert f"{limit + 1}" in str(err.value) and ("rotary" in str(err.value) if changes else "wpe" in str(err.value))
    c = model.config
    cache = KVCache(1, c.kv_heads, limit + 5, c.n_embd // c.n_head, c.n_layer)
    model(torch.zeros(1, limit, dtype=torch.long), kv_cache=cache)
    with pytest.raises(ValueError, match=BILINGUAL):
        model(torch.zeros(1, 1, dtype=torch.long), kv_cache=cache)  # position limit + 1


def test_a_full_cache_says_so():
    model = tiny(rotary=True)
    c = model.config
    cache = KVCache(1, c.kv_heads, 4, c.n_embd // c.n_head, c.n_layer)
    model(ids(B=1, T=4), kv_cache=cache)
    with pytest.raises(ValueError, match=BILINGUAL) as err:
        model(ids(B=1, T=1), kv_cache=cache)
    assert "seq_len >= 5" in str(err.value)
    cache.reset()
    assert cache.get_pos() == 0


def test_plain_forward_still_stops_at_block_size():
    with pytest.raises(ValueError, match=BILINGUAL):
        tiny(rotary=True)(ids(T=13))


def test_rotary_tables_and_rotation():
    cos, sin = rotary_tables(50, 8)
    assert cos.shape == sin.shape == (50, 4)
    torch.testing.assert_close(cos[0], torch.ones(4))  # position 0: no turn
    x = torch.randn(2, 3, 50, 8)
    rotated = apply_rotary_emb(x, cos, sin)
    torch.testing.assert_close(rotated[..., 0, :], x[..., 0, :])
    torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1))  # a rotation keeps lengths
    assert not torch.allclose(rotated[..., 1:, :], x[..., 1:, :])


@given(m=st.integers(0, 60), n=st.integers(0, 60), shift=st.integers(0, 59), seed=st.integers(0, 2**16))
def test_rotary_scores_depend_only_on_the_distance(m, n, shift, seed):
    head_size = 16
    cos, sin = rotary_tables(120, head_size)
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(head_size, generator=g), torch.randn(head_size, generator=g)

    def score(i: int, j: int) -> torch.Tensor:
        return apply_rotary_emb(q, cos[i], sin[i]) @ apply_rotary_emb(k, cos[j], sin[j])

    torch.testing.assert_close(score(m + shift, n + shift), score(m, n), atol=1e-4, rtol=1e-4)


def test_rotary_scores_do_depend_on_the_distance():
    cos, sin = rotary_tables(20, 8)
    q = torch.randn(8, generator=torch.Generator().manual_seed(0))
    scores = torch.stack([apply_rotary_emb(q, cos[0], sin[0]) @ apply_rotary_emb(q, cos[d], sin[d]) for d in range(4)])
    assert scores.unique().numel() == 4


def test_rmsnorm_after_the_embedding_makes_its_scale_irrelevant():
    model = tiny(rmsnorm=True, rotary=True, untied_head=True)
    x = ids()
    before = model(x)[0]
    with torch.no_grad():
        model.transformer.wte.weight.mul_(50.0)
    torch.testing.assert_close(model(x)[0], before)


def manual_attention(attn: CausalSelfAttention, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Head by head with einsum: rotary, QK norm x1.2, the shared k/v head, the causal softmax."""
    T = x.shape[1]
    hs, nh, nkv = attn.head_size, attn.n_head, attn.n_kv_head
    q, k, v = attn.c_attn(x).split([nh * hs, nkv * hs, nkv * hs], dim=2)
    outs = []
    for h in range(nh):
        g = h // (nh // nkv)  # the key/value head of query head h
        qh = apply_rotary_emb(q[..., h * hs : (h + 1) * hs], cos, sin)
        kh = apply_rotary_emb(k[..., g * hs : (g + 1) * hs], cos, sin)
        qh = 1.2 * qh / qh.pow(2).mean(-1, keepdim=True).sqrt()
        kh = 1.2 * kh / kh.pow(2).mean(-1, keepdim=True).sqrt()
        scores = torch.einsum("btd,bsd->bts", qh, kh) / math.sqrt(hs)
        scores = scores.masked_fill(torch.ones(T, T).triu(1).bool(), float("-inf"))
        outs.append(torch.einsum("bts,bsd->btd", scores.softmax(-1), v[..., g * hs : (g + 1) * hs]))
    return attn.c_proj(torch.cat(outs, dim=-1))


@pytest.mark.parametrize("flash", [True, False])
def test_attention_matches_a_manual_version(flash, monkeypatch):
    monkeypatch.setattr(CausalSelfAttention, "flash", flash)
    model = tiny(rotary=True, qk_norm=True, n_kv_head=2)
    attn = model.transformer.h[0].attn
    x = torch.randn(2, 12, TINY.n_embd)
    cos_sin = (model.cos[:12], model.sin[:12])
    torch.testing.assert_close(attn(x, cos_sin), manual_attention(attn, x, *cos_sin), atol=1e-5, rtol=1e-4)


def test_rms_norm_is_torchs():
    x = torch.randn(3, 5, 16)
    torch.testing.assert_close(rms_norm(x), F.rms_norm(x, (16,)))
    assert list(tiny(rmsnorm=True).transformer.h[0].ln_1.parameters()) == []


def test_each_switch_changes_what_it_says():
    assert "wpe" not in tiny(rotary=True).transformer and tiny(rotary=True).cos.shape == (120, 2)
    rms = tiny(rmsnorm=True)
    assert not any(".ln_" in n for n, _ in rms.named_parameters())
    assert isinstance(rms.transformer.ln_emb, torch.nn.Module)
    assert type(tiny(relu2=True).transformer.h[0].mlp.act).__name__ == "ReLUSquared"
    untied = tiny(untied_head=True)
    assert untied.lm_head.weight is not untied.transformer.wte.weight
    assert untied.get_num_params() == tiny().get_num_params() + TINY.vocab_size * TINY.n_embd
    assert not any(n.endswith(".bias") for n, _ in tiny(bias=False).named_parameters())
    zero = tiny(zero_init=True, untied_head=True)
    for name, p in zero.named_parameters():
        if name.endswith(".weight") and ".ln_" not in name:  # (biases start at zero anyway)
            assert (p.count_nonzero() == 0) == (name.endswith("c_proj.weight") or name == "lm_head.weight"), name
    assert tiny(zero_init=True).transformer.wte.weight.count_nonzero() > 0  # a tied head is not zeroed
    capped = tiny(softcap=2.0)
    with torch.no_grad():
        capped.lm_head.weight.mul_(1000)  # huge logits before the cap
    logits = capped(ids())[0]
    assert logits.abs().max() <= 2.0 and logits.abs().max() > 1.9  # (tanh rounds to exactly 1 in float32)
    keys = list(tiny(n_kv_head=2).state_dict())
    assert keys == list(tiny().state_dict())  # GQA keeps c_attn fused, only narrower


def test_grouped_query_attention_with_one_kv_head():
    full, gqa = tiny(), tiny(n_kv_head=1)
    E, hs = TINY.n_embd, TINY.n_embd // TINY.n_head
    assert gqa.transformer.h[0].attn.c_attn.weight.shape == (E + 2 * hs, E)
    per_layer = 2 * (E - hs) * E + 2 * (E - hs)  # k and v lose (n_head - 1) heads of weights and biases
    assert full.get_num_params() - gqa.get_num_params() == TINY.n_layer * per_layer
    logits, loss = gqa(ids(), ids(seed=2))
    assert logits.shape == (2, 12, 11) and torch.isfinite(loss)


def test_gqa_shares_keys_like_sdpa_enable_gqa():
    attn = tiny(n_kv_head=2).transformer.h[0].attn.eval()
    x = torch.randn(2, 12, TINY.n_embd)
    q, k, v = attn.c_attn(x).split(attn.sizes, dim=2)
    q, k, v = (t.view(2, 12, -1, 4).transpose(1, 2) for t in (q, k, v))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    expected = attn.c_proj(y.transpose(1, 2).reshape(2, 12, TINY.n_embd))
    torch.testing.assert_close(attn(x), expected)


@pytest.mark.parametrize(
    "changes, culprit",
    [({"rotary": True, "n_embd": 12, "n_head": 4}, "head_size"),  # 12 / 4 = 3: no pairs
     ({"n_kv_head": 3}, "n_kv_head"), ({"n_kv_head": 0}, "n_kv_head"), ({"n_kv_head": 8}, "n_kv_head"),
     ({"n_embd": 10}, "n_embd"), ({"softcap": -1.0}, "softcap")],
)
def test_bad_configs_are_explained_in_both_languages(changes, culprit):
    with pytest.raises(ValueError, match=BILINGUAL) as err:
        tiny(**changes)
    assert culprit in str(err.value)


def test_ladder():
    config, options = ladder(TINY, "rotary")
    assert config == dataclasses.replace(TINY, rotary=True) and options == {"muon": False}
    for rung, changes in LADDER.items():
        config, options = ladder(TINY, rung)
        model_changes = {k: v for k, v in changes.items() if k != "muon"}
        assert config == dataclasses.replace(TINY, **model_changes), rung
        assert options["muon"] == ("muon" in changes), rung
        ModernGPT(config)  # every rung builds
    config, options = ladder(TINY, "all")
    assert (config.rotary, config.rmsnorm, config.qk_norm, config.relu2, config.untied_head, config.bias,
            config.zero_init, config.softcap, options["muon"]) == (True, True, True, True, True, False, True, 15.0, True)
    assert config.n_kv_head is None  # GQA is not on the ladder: nanochat's default has as many kv heads as heads
    assert ladder(gpt_config(), "no_bias")[0] == dataclasses.replace(TINY, bias=False)  # a GPTConfig works as base
    assert ladder(TINY, "rotary", "relu2")[0] == dataclasses.replace(TINY, rotary=True, relu2=True)
    assert TINY.rotary is False  # the base is not changed


def test_unknown_rung_names_the_rungs():
    with pytest.raises(ValueError, match=BILINGUAL) as err:
        ladder(TINY, "rotary", "rope")
    assert "'rope'" in str(err.value) and "qk_norm" in str(err.value)


def test_adamw_path_is_gpts():
    model = tiny(untied_head=True)
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu")
    assert isinstance(opt, torch.optim.AdamW)
    decayed, plain = opt.param_groups
    assert all(p.dim() >= 2 for p in decayed["params"]) and all(p.dim() < 2 for p in plain["params"])
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))


@pytest.mark.parametrize("untied", [False, True])
def test_muon_takes_the_blocks_matrices_and_adamw_the_rest(untied):
    model = tiny(untied_head=untied, rotary=untied)
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu", muon=True, embedding_lr=5e-3)
    assert isinstance(opt, MuonAdamW) and isinstance(opt.muon, Muon) and isinstance(opt.adamw, torch.optim.AdamW)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = {g["name"]: [names[id(p)] for p in g["params"]] for g in opt.param_groups}
    assert all(n.startswith("transformer.h.") and n.endswith("weight") and "ln_" not in n for n in groups["matrix"])
    assert len(groups["matrix"]) == 4 * TINY.n_layer
    assert groups["embedding"] == ["transformer.wte.weight"] + ([] if untied else ["transformer.wpe.weight"])
    assert groups.get("unembedding", []) == (["lm_head.weight"] if untied else [])
    assert sorted(n for names_ in groups.values() for n in names_) == sorted(names.values())  # every parameter exactly once
    kinds = {g["name"]: (g["kind"], g["lr"], g["lr_scale"]) for g in opt.param_groups}
    assert kinds["matrix"] == ("muon", 1e-3, 1.0) and kinds["embedding"] == ("adamw", 5e-3, 5.0)
    assert (opt.muon.param_groups[0]["momentum"], opt.muon.param_groups[0]["nesterov"]) == (0.95, True)


def test_muon_adamw_trains():
    model = tiny(**ALL)
    opt = model.configure_optimizers(0.0, 1e-2, (0.9, 0.95), "cpu", muon=True)
    x, y = ids(B=4), ids(B=4, seed=2)
    first = model(x, y)[1].item()
    for _ in range(10):
        model(x, y)[1].backward()
        opt.step()
        opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model(x, y)[1].item() < first - 0.5
    state = opt.state_dict()
    opt.load_state_dict(state)
    assert set(state) == {"muon", "adamw"}


def test_train_gpt_trains_a_modern_gpt(small_data):
    model = tiny(**ALL, vocab_size=int(small_data.max()) + 1)
    history = nl.train_gpt(model, small_data, small_data, steps=3, batch_size=2, block_size=12, learning_rate=1e-3,
                           generator=torch.Generator().manual_seed(0), warmup_iters=1, eval_interval=3, eval_iters=1,
                           progress=False)
    assert len(history.step_loss) == 3 and all(math.isfinite(x) for x in history.step_loss)


def random_with_singular_values(s: torch.Tensor, rows: int, cols: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    U, _ = torch.linalg.qr(torch.randn(rows, len(s), generator=g, dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.randn(cols, len(s), generator=g, dtype=torch.float64))
    return U, V, (U * s) @ V.T


@given(rows=st.integers(2, 24), cols=st.integers(2, 24), seed=st.integers(0, 2**16),
       values=st.lists(st.floats(0.05, 1.0), min_size=24, max_size=24), scale=st.floats(1e-3, 1e3))
def test_newton_schulz_pushes_singular_values_towards_one_and_keeps_the_vectors(rows, cols, seed, values, scale):
    s = torch.tensor(values[: min(rows, cols)], dtype=torch.float64) * scale
    U, V, G = random_with_singular_values(s, rows, cols, seed)
    X = newton_schulz(G)
    inner = U.T @ X @ V  # diagonal exactly when X = U S' Vᵀ with the same U and V
    new = torch.diagonal(inner)
    torch.testing.assert_close(inner, torch.diag(new), atol=1e-9, rtol=0)
    # every value is at least 1/100 of the Frobenius norm: 5 quintic steps put it in about 0.68..1.16
    assert new.min() > 0.6 and new.max() < 1.2, new


@needs_torch_muon
def test_newton_schulz_is_one_muon_step():
    # Muon with no momentum and no weight decay: W <- W - lr * 0.2 * sqrt(max(rows, cols)) * NS(grad)
    for rows, cols in [(32, 96), (96, 32), (48, 48)]:
        torch.manual_seed(rows)
        W = torch.nn.Parameter(torch.randn(rows, cols))
        before, G = W.detach().clone(), torch.randn(rows, cols)
        W.grad = G.clone()
        torch.optim.Muon([W], lr=0.1, momentum=0.0, weight_decay=0.0, adjust_lr_fn="match_rms_adamw").step()
        step = (before - W.detach()) / (0.1 * 0.2 * math.sqrt(max(rows, cols)))
        torch.testing.assert_close(step, newton_schulz(G), atol=0.03, rtol=0)  # torch's Muon works in bfloat16


def test_newton_schulz_wants_a_matrix():
    with pytest.raises(ValueError, match=BILINGUAL):
        newton_schulz(torch.randn(3, 4, 5))


SHAPES = [(48, 16), (16, 48), (32, 32)]  # tall, wide, square


@needs_torch_muon
@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("rows, cols", SHAPES)
def test_our_muon_steps_like_torchs(rows, cols, weight_decay, nesterov):
    g = torch.Generator().manual_seed(rows * cols)
    start = 2 * torch.randn(rows, cols, generator=g)  # large weights, so a wrong weight decay shows
    ours, theirs = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    opts = [Muon([ours], lr=0.02, weight_decay=weight_decay, nesterov=nesterov),
            torch.optim.Muon([theirs], lr=0.02, weight_decay=weight_decay, nesterov=nesterov,
                             adjust_lr_fn="match_rms_adamw")]
    for lr, grad_scale in [(0.02, 1.0), (0.05, 3.0), (0.01, 0.1), (0.03, 1.0), (0.02, 2.0), (0.04, 0.5)]:
        grad = grad_scale * torch.randn(rows, cols, generator=g)
        before = [ours.detach().clone(), theirs.detach().clone()]
        for opt, p in zip(opts, (ours, theirs)):
            opt.param_groups[0]["lr"] = lr  # as a schedule would
            p.grad = grad.clone()
            opt.step()
        scale = lr * 0.2 * math.sqrt(max(rows, cols))
        our_step, their_step = (b - p.detach() for b, p in zip(before, (ours, theirs)))
        # torch's Newton-Schulz is in bfloat16: its update is off by up to about 0.02 of lr * scale
        torch.testing.assert_close(our_step / scale, their_step / scale, atol=0.03, rtol=0)
        assert torch.equal(opts[0].state[ours]["momentum_buffer"], opts[1].state[theirs]["momentum_buffer"])
    torch.testing.assert_close(ours.detach(), theirs.detach(), atol=6 * 0.03 * 0.05 * 0.2 * math.sqrt(48), rtol=0)


@needs_torch_muon
def test_muon_weight_decay_uses_the_unscaled_lr_as_torch():
    start = torch.randn(16, 48)
    ours, theirs = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    ours.grad, theirs.grad = torch.zeros(16, 48), torch.zeros(16, 48)  # a zero update: only the decay moves W
    Muon([ours], lr=0.1, weight_decay=0.5).step()
    torch.optim.Muon([theirs], lr=0.1, weight_decay=0.5, adjust_lr_fn="match_rms_adamw").step()
    assert torch.equal(ours.detach(), theirs.detach())
    torch.testing.assert_close(ours.detach(), start * (1 - 0.1 * 0.5))


@pytest.mark.parametrize("rows, cols", SHAPES)
def test_one_muon_step_in_float64(rows, cols):
    # from a zero momentum buffer: buf = (1 - m) G, and Nesterov's update G.lerp(buf, m) = (1 - m²) G
    g = torch.Generator().manual_seed(rows + cols)
    W0, G = torch.randn(rows, cols, generator=g, dtype=torch.float64), torch.randn(rows, cols, generator=g, dtype=torch.float64)
    W = torch.nn.Parameter(W0.clone())
    W.grad = G.clone()
    opt = Muon([W], lr=0.03, weight_decay=0.2, momentum=0.95)
    opt.step()
    lr, m, scale = 0.03, 0.95, 0.2 * math.sqrt(max(rows, cols))
    expected = W0 * (1 - lr * 0.2) - lr * scale * newton_schulz((1 - m**2) * G)  # decay first, then the step
    torch.testing.assert_close(W.detach(), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(opt.state[W]["momentum_buffer"], (1 - m) * G, atol=1e-15, rtol=0)


def test_muon_wants_matrices():
    with pytest.raises(ValueError, match=BILINGUAL) as err:
        Muon([torch.nn.Parameter(torch.zeros(4, 4)), torch.nn.Parameter(torch.zeros(4))])
    assert "(4,)" in str(err.value)
