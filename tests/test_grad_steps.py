import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from nanogpt_lite.instruments.grad_steps import X, Y, LinearStepper, StepOrderError, analytic_grads, numerical_grad, squared_error

floats = st.floats(min_value=-3, max_value=3, allow_nan=False)


def test_starts_like_torch_manual_seed_then_linear_and_keeps_the_global_rng():
    torch.manual_seed(0)
    reference = nn.Linear(2, 1)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    state = LinearStepper(seed=0).state()
    assert torch.equal(torch.get_rng_state(), before)
    assert state.weight == reference.weight.view(-1).tolist() and state.bias == reference.bias.item()
    assert state.weight_grad is None and state.bias_grad is None and state.losses == []


def test_forward_then_backward_gives_the_analytic_gradient():
    s = LinearStepper()
    loss = s.forward()
    assert s.state().weight_grad is None  # forward alone computes no gradient
    s.backward()
    state = s.state()
    pred = s.model(X).item()
    assert loss == pytest.approx((pred - 3.0) ** 2)
    assert state.weight_grad == pytest.approx([2 * (pred - 3.0) * 1.0, 2 * (pred - 3.0) * 2.0])
    assert state.bias_grad == pytest.approx(2 * (pred - 3.0))


def test_two_backwards_without_zero_grad_are_exactly_twice_one():
    s = LinearStepper()
    s.forward(); s.backward()
    once = s.state()
    s.forward(); s.backward()
    twice = s.state()
    assert twice.weight_grad == [2 * g for g in once.weight_grad]
    assert twice.bias_grad == 2 * once.bias_grad
    s.zero_grad()
    assert s.state().weight_grad is None


def test_backward_needs_a_fresh_forward():
    s = LinearStepper()
    with pytest.raises(StepOrderError, match="forward"):
        s.backward()
    s.forward(); s.backward()
    with pytest.raises(StepOrderError, match="frees the graph"):
        s.backward()


def test_a_second_backward_quotes_pytorchs_own_refusal_chinese_first_and_changes_nothing():
    torch.manual_seed(0)
    loss = squared_error(nn.Linear(2, 1))
    loss.backward()
    with pytest.raises(RuntimeError) as pytorch:
        loss.backward()
    pytorch_says = str(pytorch.value).splitlines()[0]
    assert "retain_graph=True" in pytorch_says

    s = LinearStepper()
    s.forward(); s.backward()
    before = s.state()
    with pytest.raises(StepOrderError) as refused:
        s.backward()
    message = str(refused.value)
    assert pytorch_says in message and isinstance(refused.value.__cause__, RuntimeError)
    assert message.index("计算图已被上一次 backward() 释放") < message.index("frees the graph")
    after = s.state()
    assert (after.weight_grad, after.bias_grad, after.actions) == (before.weight_grad, before.bias_grad, before.actions)


def test_backward_before_any_forward_says_so_in_chinese_first():
    with pytest.raises(StepOrderError) as refused:
        LinearStepper().backward()
    message = str(refused.value)
    assert message.index("还没有 forward()") < message.index("needs a forward() first")


def test_step_without_backward_changes_nothing():
    s = LinearStepper(lr=0.1)
    before = s.state()
    s.forward(); s.step()
    after = s.state()
    assert (after.weight, after.bias) == (before.weight, before.bias)


@given(lr=st.floats(min_value=1e-4, max_value=0.5))
@settings(max_examples=25, deadline=None)
def test_sgd_step_moves_by_exactly_minus_lr_times_grad(lr):
    s = LinearStepper(lr=lr)
    s.forward(); s.backward()
    w, grad = s.model.weight.detach().clone(), s.model.weight.grad.clone()
    s.step()
    assert torch.allclose(s.model.weight.detach(), w - lr * grad, rtol=1e-6, atol=1e-7)  # equal up to float rounding


def test_train_step_honours_the_skips():
    full = LinearStepper(lr=0.01)
    losses = [full.train_step() for _ in range(5)]
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert full.state().actions[:4] == ["forward", "zero_grad", "backward", "step"]

    frozen = LinearStepper(lr=0.01)
    frozen_losses = [frozen.train_step(skip_step=True) for _ in range(3)]
    assert frozen_losses == [frozen_losses[0]] * 3 and frozen.state().weight_grad is not None

    no_backward = LinearStepper(lr=0.01)
    assert [no_backward.train_step(skip_backward=True) for _ in range(3)] == [losses[0]] * 3
    assert no_backward.state().weight_grad is None

    piling = LinearStepper(lr=0.01)
    piling.train_step(skip_zero_grad=True, skip_step=True)
    one = piling.state().weight_grad
    piling.train_step(skip_zero_grad=True, skip_step=True)
    piling.train_step(skip_zero_grad=True, skip_step=True)
    assert piling.state().weight_grad == pytest.approx([3 * g for g in one], rel=1e-6)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), "0.1", True])
def test_bad_learning_rates_are_refused(lr):
    with pytest.raises(ValueError, match="lr must be"):
        LinearStepper(lr=lr)
    with pytest.raises(ValueError, match="lr must be"):
        LinearStepper().set_lr(lr)


def test_set_lr_changes_the_next_step():
    s = LinearStepper(lr=0.01)
    s.set_lr(0.05)
    s.forward(); s.backward()
    w, grad = s.model.weight.detach().clone(), s.model.weight.grad.clone()
    s.step()
    assert s.lr == 0.05 and torch.allclose(s.model.weight.detach(), w - 0.05 * grad, rtol=1e-6, atol=1e-7)


@given(w1=floats, w2=floats, b=floats, x1=floats, x2=floats, y=floats)
@settings(max_examples=50, deadline=None)
def test_autograd_matches_the_hand_formula_and_finite_differences(w1, w2, b, x1, x2, y):
    weight = torch.tensor([[w1, w2]], dtype=torch.float64, requires_grad=True)
    bias = torch.tensor([b], dtype=torch.float64, requires_grad=True)
    x, target = torch.tensor([[x1, x2]], dtype=torch.float64), torch.tensor([[y]], dtype=torch.float64)
    ((x @ weight.T + bias - target) ** 2).sum().backward()
    by_hand = analytic_grads(weight.detach(), bias.detach(), x, target)
    assert torch.allclose(weight.grad, by_hand[0]) and torch.allclose(bias.grad, by_hand[1])
    numeric_w = numerical_grad(lambda w: (x @ w.T + bias.detach() - target) ** 2, weight)
    numeric_b = numerical_grad(lambda c: (x @ weight.detach().T + c - target) ** 2, bias)
    assert torch.allclose(weight.grad, numeric_w, atol=1e-5) and torch.allclose(bias.grad, numeric_b, atol=1e-5)


def test_gradcheck_in_double_on_the_linear_loss_and_a_cross_entropy():
    g = torch.Generator().manual_seed(0)
    x, y = X.double(), Y.double()
    inputs = (torch.randn(1, 2, dtype=torch.float64, generator=g, requires_grad=True), torch.randn(1, dtype=torch.float64, generator=g, requires_grad=True))
    assert torch.autograd.gradcheck(lambda w, b: (x @ w.T + b - y) ** 2, inputs)
    logits = torch.randn(6, 5, dtype=torch.float64, generator=g, requires_grad=True)
    targets = torch.tensor([0, 4, 2, 2, 1, 3])
    assert torch.autograd.gradcheck(lambda z: torch.nn.functional.cross_entropy(z, targets), (logits,))


def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t

        @staticmethod
        def backward(ctx, grad):
            (t,) = ctx.saved_tensors
            return grad * t  # should be 2 t

    t = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    assert not torch.autograd.gradcheck(WrongSquare.apply, (t,), raise_exception=False)
    WrongSquare.apply(t).sum().backward()
    assert not torch.allclose(t.grad, numerical_grad(lambda v: v * v, t), atol=1e-5)


def test_numerical_grad_refuses_a_bad_eps():
    with pytest.raises(ValueError, match="eps"):
        numerical_grad(lambda v: v, torch.zeros(2), eps=0.0)


def test_squared_error_is_the_faq_loss():
    model = nn.Linear(2, 1)
    assert torch.equal(squared_error(model), (model(X) - Y) ** 2)
