import pytest
import torch
import torch.nn as nn

from nanogpt_lite.exercises import ch05


def faq_linear():
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([ch05.WEIGHT]))
        model.bias.fill_(ch05.BIAS)
    x, y = torch.tensor([ch05.X]), torch.tensor([[ch05.Y]])
    return model, lambda: ((model(x) - y) ** 2).sum()


def test_q1_reference_is_what_backward_computes():
    model, loss = faq_linear()
    loss().backward()
    autograd = model.weight.grad.view(-1).tolist() + [model.bias.grad.item()]
    assert ch05.q1.check(autograd).correct
    assert ch05.q1.check(torch.tensor(autograd)).correct


def test_q2_reference_is_two_backwards():
    model, loss = faq_linear()
    loss().backward()
    loss().backward()
    assert ch05.q2.check(model.weight.grad.view(-1).tolist()).correct


def test_q4_reference_is_one_sgd_step():
    model, _ = faq_linear()
    model.weight.grad = torch.tensor([ch05.Q4_GRAD])
    torch.optim.SGD([model.weight], lr=ch05.Q4_LR).step()
    assert ch05.q4.check(model.weight.detach().view(-1).tolist()).correct


def test_q4_prompt_does_not_give_away_exercise_1():
    """Exercise 4 comes after exercise 1 in the notebook: its w.grad must not be exercise 1's answer."""
    assert ch05.Q4_GRAD != ch05.q1.reference()[:2]
    assert "[[−1, −2]]" not in ch05.q4.prompt


@pytest.mark.parametrize(
    "answer, advice",
    [
        ([-0.5, -1.0, -0.5], "因子 2"),
        ([1.0, 2.0, 1.0], "符号反了"),
        ([-1.0, -2.0, -2.0], "不乘 x"),
        ([-1.0, -2.0], "需要 3 个数"),
        ("abc", "列表"),
        (None, "None"),
        ([0.0, 0.0, 0.0], "先算 pred"),
    ],
)
def test_q1_gives_advice(answer, advice):
    feedback = ch05.q1.check(answer)
    assert not feedback.correct and advice in repr(feedback)


@pytest.mark.parametrize(
    "answer, advice",
    [([-1.0, -2.0], "只做一次"), ([-4.0, -8.0], "太多了"), ([2.0, 4.0], "符号反了"), ([0.0, 0.0], "参数没变")],
)
def test_q2_gives_advice(answer, advice):
    feedback = ch05.q2.check(answer)
    assert not feedback.correct and advice in repr(feedback)


@pytest.mark.parametrize("answer, advice", [([0.7, 0.7], "方向反了"), ([4.0, -1.5], "学习率"), ([0.3, -0.2], "变化量"), ([1.0, 0.5], "还不对")])
def test_q4_gives_advice(answer, advice):
    feedback = ch05.q4.check(answer)
    assert not feedback.correct and advice in repr(feedback)


def test_nothing_is_attempted_by_default():
    for q in (ch05.q1, ch05.q2, ch05.q3, ch05.q4, ch05.q5):
        assert q.check().kind == "not attempted"


def test_q3_reference_is_what_backward_computes_on_an_all_zero_bigram():
    """Exercise 3 predicts d loss / d table[a, b] for an all-zero table and one position a -> b."""
    from nanogpt_lite import BigramLanguageModel

    model = BigramLanguageModel(ch05.VOCAB)
    nn.init.zeros_(model.token_embedding_table.weight)
    a, b = 39, 40  # 'a' and 'b' in tiny Shakespeare's vocabulary; any two different rows will do
    _, loss = model(torch.tensor([[a]]), torch.tensor([[b]]))
    loss.backward()
    grad = model.token_embedding_table.weight.grad
    assert ch05.q3.check(grad[a, b].item()).correct
    assert ch05.q3.check(round(grad[a, b].item(), 4)).correct  # four decimals are enough
    assert ch05.q3.check(1 / 65 - 1).correct and ch05.q3.check("-0.9846").correct
    assert torch.allclose(grad[a].sum(), torch.tensor(0.0), atol=1e-6)


@pytest.mark.parametrize(
    "answer, advice",
    [
        (0, "全零的分数也有梯度"),
        (-1, "1/65"),
        (1 / 65, "还要减去"),
        (1 - 1 / 65, "符号反了"),
        (4.1744, "损失"),
        (1 / 64 - 1, "65 个字符"),
        (-0.5, "先算 softmax"),
        ("abc", "一个数"),
        (None, "None"),
    ],
)
def test_q3_gives_advice_for_the_typical_wrong_predictions(answer, advice):
    feedback = ch05.q3.check(answer)
    assert not feedback.correct and advice in repr(feedback)


def test_q3_is_not_answered_above_it_in_the_notebook():
    """A prediction exercise: no output above exercise 3 may print its answer; the cell right after it measures it."""
    from pathlib import Path

    import nbformat

    nb = nbformat.read(Path(__file__).parents[1] / "notebooks" / "05_backward.ipynb", as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "ch05.q3.check" in c.source)
    printed = lambda cell: "".join(o.get("text", "") for o in cell.get("outputs", []))  # noqa: E731
    assert not any("0.9846" in printed(c) or "0.98461" in printed(c) for c in nb.cells[:at] if c.cell_type == "code")
    assert "-0.9846" in printed(nb.cells[at + 1])


def test_q5_reference_gives_the_big_batch_gradient():
    """Scaling each of k equal micro-batch losses by the reference factor reproduces the big batch's gradient."""
    k = ch05.MICRO_STEPS
    factor = ch05.q5.reference()
    assert ch05.q5.check(factor).correct and ch05.q5.check(1 / 40).correct
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = torch.randn(4 * k, 3), torch.randn(4 * k, 1)
    ((model(x) - y) ** 2).mean().backward()
    whole = model.weight.grad.clone()
    model.zero_grad(set_to_none=True)
    for xm, ym in zip(x.chunk(k), y.chunk(k)):
        (((model(xm) - ym) ** 2).mean() * factor).backward()
    assert torch.allclose(model.weight.grad, whole, atol=1e-6)


@pytest.mark.parametrize(
    "answer, advice",
    [(1, "40 倍"), (40, "1600"), (0.25, "k = 4"), (0.1, "平均值"), ("abc", "一个数"), (None, "None")],
)
def test_q5_gives_advice(answer, advice):
    feedback = ch05.q5.check(answer)
    assert not feedback.correct and advice in repr(feedback)


def test_q5_blank_reads_not_attempted():
    assert ch05.q5.check().kind == "not attempted"
