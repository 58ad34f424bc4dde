import math

import pytest
import torch
import torch.nn.functional as F

from nanogpt_lite.gpt import GPT, GPTConfig
from nanogpt_lite.gpt_training import (
    CPU_RECIPE,
    NANOGPT_CPU_RECIPE,
    QUICK_STEPS,
    get_lr,
    live_recipe,
    model_from_recipe,
    split_loss,
    train_gpt,
    training_args,
)


def tiny(vocab_size: int, block_size: int = 8) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(block_size=block_size, vocab_size=vocab_size, n_layer=2, n_head=2, n_embd=16))


def test_get_lr_warms_up_linearly_then_follows_a_cosine():
    lr = lambda it: get_lr(it, 10, 110, 1e-3, 1e-4)
    assert lr(0) == pytest.approx(1e-3 / 11) and lr(4) == pytest.approx(5e-3 / 11)
    assert lr(10) == pytest.approx(1e-3)  # the top, where the cosine starts
    assert lr(60) == pytest.approx((1e-3 + 1e-4) / 2)  # half-way down the cosine: half-way between
    assert lr(35) == pytest.approx(1e-4 + 0.9e-3 * (1 + math.cos(math.pi / 4)) / 2)
    assert lr(110) == pytest.approx(1e-4) and lr(5000) == 1e-4
    decay = [lr(it) for it in range(10, 111)]
    assert all(a >= b for a, b in zip(decay, decay[1:]))


def test_training_lowers_the_loss_and_records_everything(small_data, small_tok):
    model = tiny(small_tok.vocab_size)
    h = train_gpt(model, small_data, small_data, steps=60, batch_size=8, block_size=8, learning_rate=3e-3,
                  warmup_iters=5, generator=torch.Generator().manual_seed(0), eval_interval=20, eval_iters=4,
                  progress=False)
    assert h.eval_steps == [0, 20, 40, 60]
    assert len(h.train_loss) == len(h.val_loss) == len(h.eval_seconds) == 4
    assert len(h.step_loss) == len(h.grad_norm) == len(h.lr) == len(h.step_seconds) == 60
    assert h.val_loss[0] == pytest.approx(math.log(small_tok.vocab_size), abs=0.15)
    assert h.val_loss[-1] < h.val_loss[0] - 0.5
    assert h.lr[0] == pytest.approx(3e-3 / 6) and h.lr[-1] == pytest.approx(3e-4, rel=0.05)
    assert h.seconds == pytest.approx(sum(h.step_seconds)) and model.training


def test_training_is_deterministic_and_evaluation_does_not_change_it(small_data, small_tok):
    def run(eval_interval):
        model = tiny(small_tok.vocab_size)
        train_gpt(model, small_data, small_data, steps=12, batch_size=4, block_size=8, learning_rate=1e-3,
                  generator=torch.Generator().manual_seed(5), eval_interval=eval_interval, eval_iters=2, progress=False)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(run(3), run(3))
    assert torch.equal(run(3), run(100))


def test_accumulated_micro_batches_give_the_big_batch_gradient(small_data, small_tok):
    """k micro-batches with loss / k: same loss and same (pre-clip) gradient norm as one batch k times as big."""
    runs = []
    for batch_size, k in [(8, 1), (4, 2), (2, 4)]:
        model = tiny(small_tok.vocab_size)
        runs.append(train_gpt(model, small_data, small_data, steps=1, batch_size=batch_size, block_size=8,
                              learning_rate=1e-3, accumulation_steps=k, generator=torch.Generator().manual_seed(2),
                              eval_interval=10, eval_iters=1, progress=False))
    for h in runs[1:]:
        assert h.step_loss[0] == pytest.approx(runs[0].step_loss[0], rel=1e-5)
        assert h.grad_norm[0] == pytest.approx(runs[0].grad_norm[0], rel=1e-4)


def test_clipping_bounds_the_gradient_the_optimizer_sees(small_data, small_tok):
    """grad_norm records the norm before clipping; AdamW then steps with gradients of norm grad_clip."""
    model = tiny(small_tok.vocab_size)
    seen = []

    def norm_at_step(optimizer, args, kwargs):
        seen.append(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()])).item())

    make_optimizer = model.configure_optimizers

    def with_hook(*args):
        optimizer = make_optimizer(*args)
        optimizer.register_step_pre_hook(norm_at_step)
        return optimizer

    model.configure_optimizers = with_hook
    h = train_gpt(model, small_data, small_data, steps=5, batch_size=4, block_size=8, learning_rate=1e-3,
                  grad_clip=0.05, generator=torch.Generator().manual_seed(0), eval_interval=10, eval_iters=1,
                  progress=False)
    assert len(seen) == 5
    assert all(n > 0.05 for n in h.grad_norm)  # the raw norm is bigger ...
    assert all(n == pytest.approx(0.05, rel=1e-4) for n in seen)  # ... and the optimizer saw it clipped


def test_bad_arguments_are_refused(small_data, small_tok):
    model = tiny(small_tok.vocab_size)
    with pytest.raises(ValueError, match="accumulation_steps must be"):
        train_gpt(model, small_data, small_data, steps=1, batch_size=1, block_size=8, learning_rate=1e-3,
                  accumulation_steps=0, generator=torch.Generator(), progress=False)
    with pytest.raises(ValueError, match="exceeds the model's 8"):
        train_gpt(model, small_data, small_data, steps=1, batch_size=1, block_size=9, learning_rate=1e-3,
                  generator=torch.Generator(), progress=False)
    before = [p.clone() for p in model.parameters()]
    for bad in (float("nan"), float("inf"), -1e-3):
        with pytest.raises(ValueError, match=r"learning_rate 必须是一个有限的非负数.*must be a finite number"):
            train_gpt(model, small_data, small_data, steps=1, batch_size=1, block_size=8, learning_rate=bad,
                      generator=torch.Generator(), progress=False)
    with pytest.raises(ValueError, match="min_lr"):
        train_gpt(model, small_data, small_data, steps=1, batch_size=1, block_size=8, learning_rate=1e-3,
                  min_lr=float("nan"), generator=torch.Generator(), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # refused before any step


def test_the_history_keeps_the_optimizer_that_trained(small_data, small_tok):
    model = tiny(small_tok.vocab_size)
    h = train_gpt(model, small_data, small_data, steps=3, batch_size=2, block_size=8, learning_rate=1e-3,
                  generator=torch.Generator().manual_seed(0), eval_interval=10, eval_iters=1, progress=False)
    state = h.optimizer.state_dict()["state"]
    assert len(state) == len(list(model.parameters()))  # Adam's moments for every tensor: training can resume
    assert all(int(s["step"]) == 3 and s["exp_avg"].abs().sum() > 0 for s in state.values())


def test_split_loss_needs_a_next_token(small_tok):
    model = tiny(small_tok.vocab_size)
    for data in (torch.tensor([3]), torch.tensor([], dtype=torch.long)):
        with pytest.raises(ValueError, match=f"数据只有 {len(data)} 个词元.*pass at least 2"):
            split_loss(model, data)


def test_split_loss_predicts_every_token_once_from_its_window(small_tok):
    data = torch.tensor(small_tok.encode("First Citizen:\nBefore we proceed"))  # 31 tokens: 3 windows of 8, then 6
    model = tiny(small_tok.vocab_size)
    losses = []
    for i in range(len(data) - 1):  # token by token: the context is its own window, up to itself
        start = i // 8 * 8
        logits, _ = model(data[start : i + 1][None])
        losses.append(-F.log_softmax(logits[0, -1].double(), -1)[data[i + 1]].item())
    assert split_loss(model, data, batch_size=2) == pytest.approx(sum(losses) / len(losses), rel=1e-6)
    assert model.training


def test_recipes_build_the_models_they_name():
    ours = model_from_recipe(CPU_RECIPE, 65)
    theirs = model_from_recipe(NANOGPT_CPU_RECIPE, 65)
    assert theirs.config == GPTConfig(block_size=64, vocab_size=65, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False)
    assert ours.config.block_size == CPU_RECIPE["block_size"]
    args = training_args(NANOGPT_CPU_RECIPE)
    assert args["betas"] == (0.9, 0.99) and args["steps"] == 2000 and args["min_lr"] == 1e-4


def test_live_recipe_is_the_recipe_unless_quick(monkeypatch):
    monkeypatch.delenv("NANOGPT_LITE_QUICK", raising=False)
    assert live_recipe(CPU_RECIPE) == CPU_RECIPE and live_recipe(CPU_RECIPE) is not CPU_RECIPE
    monkeypatch.setenv("NANOGPT_LITE_QUICK", "0")
    assert live_recipe(CPU_RECIPE) == CPU_RECIPE
    monkeypatch.setenv("NANOGPT_LITE_QUICK", "1")
    quick = live_recipe(CPU_RECIPE)
    assert quick["steps"] == quick["lr_decay_iters"] == QUICK_STEPS < CPU_RECIPE["steps"]
    assert quick["warmup_iters"] < QUICK_STEPS and quick["learning_rate"] == CPU_RECIPE["learning_rate"]
    assert {k: v for k, v in quick.items() if k not in ("steps", "lr_decay_iters", "warmup_iters")} == \
        {k: v for k, v in CPU_RECIPE.items() if k not in ("steps", "lr_decay_iters", "warmup_iters")}


def test_a_given_optimizer_is_used_and_each_group_keeps_its_lr_scale(small_data, small_tok):
    model = tiny(small_tok.vocab_size)
    params = list(model.parameters())
    optimizer = torch.optim.SGD([{"params": params[:3], "lr_scale": 0.5}, {"params": params[3:]}], lr=1.0)
    h = train_gpt(model, small_data, small_data, steps=4, batch_size=2, block_size=8, learning_rate=1e-2, warmup_iters=0,
                  generator=torch.Generator().manual_seed(0), eval_interval=10, eval_iters=1, progress=False,
                  optimizer=optimizer)
    assert h.optimizer is optimizer
    last = h.lr[-1]
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5 * last) and optimizer.param_groups[1]["lr"] == pytest.approx(last)
