import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import nanogpt_lite as nl
from nanogpt_lite.instruments.landscape import TwoKnobBigram, descent_figure, gradient_descent, loss_grid, plot_landscape


@pytest.fixture
def knobs(small_data, small_tok):
    return TwoKnobBigram(nl.bigram_counts(small_data, small_tok.vocab_size), smoothing=0.5), small_data, small_tok


def test_the_three_landmarks(knobs):
    f, data, tok = knobs
    counts = nl.bigram_counts(data, tok.vocab_size)
    at = lambda a, b: f(torch.tensor([a, b], dtype=torch.float64)).item()  # noqa: E731
    assert at(0, 0) == pytest.approx(math.log(tok.vocab_size))  # uniform: ln V
    assert at(0, 1) == pytest.approx(nl.cross_entropy(nl.bigram_probs(counts, 0.5), data))  # the smoothed count table
    next_counts = counts.sum(dim=0)
    unigram = (next_counts + 0.5) / (next_counts + 0.5).sum()
    assert at(1, 0) == pytest.approx(-(next_counts * unigram.log()).sum().item() / next_counts.sum().item())


def test_batched_call_matches_one_at_a_time(knobs):
    f, _, _ = knobs
    params = torch.tensor([[[0.0, 0.0], [0.3, 0.9]], [[1.0, -0.5], [2.0, 2.0]]], dtype=torch.float64)
    batched = f(params)
    assert batched.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            assert batched[i, j].item() == pytest.approx(f(params[i, j]).item())


def test_loss_grid_rows_follow_b(knobs):
    f, _, _ = knobs
    a, b = torch.linspace(-1, 1, 5), torch.linspace(0, 2, 3)
    grid = loss_grid(f, a, b)
    assert grid.shape == (3, 5)
    assert grid[2, 1].item() == pytest.approx(f(torch.tensor([a[1].item(), b[2].item()], dtype=torch.float64)).item())


@given(
    curvature=st.lists(st.floats(min_value=0.1, max_value=5.0), min_size=2, max_size=2),
    start=st.lists(st.floats(min_value=-3, max_value=3), min_size=2, max_size=2),
    lr=st.floats(min_value=0.01, max_value=0.3),
    steps=st.integers(min_value=0, max_value=20),
)
@settings(max_examples=40, deadline=None)
def test_descent_on_a_bowl_follows_the_closed_form(curvature, start, lr, steps):
    """On f = ½ Σ c_i p_i², each step multiplies p_i by (1 − lr c_i), so p_k = (1 − lr c)^k p_0."""
    c = torch.tensor(curvature, dtype=torch.float64)
    path = gradient_descent(lambda p: 0.5 * (c * p * p).sum(-1), tuple(start), lr=lr, steps=steps)
    expected = torch.stack([(1 - lr * c) ** k * torch.tensor(start, dtype=torch.float64) for k in range(steps + 1)])
    assert path.points.shape == (steps + 1, 2) and path.losses.shape == (steps + 1,)
    assert torch.allclose(path.points, expected, atol=1e-12)
    assert torch.allclose(path.losses, 0.5 * (c * expected**2).sum(-1), atol=1e-12)


def test_descent_diverges_when_the_step_is_too_big():
    path = gradient_descent(lambda p: (p * p).sum(-1), (1.0, 1.0), lr=1.1, steps=10)  # |1 - 2 lr| > 1
    assert all(b > a for a, b in zip(path.losses, path.losses[1:]))


def test_descent_on_the_two_knobs_goes_downhill_towards_the_count_table(knobs):
    f, _, _ = knobs
    path = gradient_descent(f, (1.0, 0.0), lr=0.1, steps=60)
    assert all(b <= a for a, b in zip(path.losses, path.losses[1:]))
    assert path.losses[-1] < f(torch.tensor([0.0, 1.0], dtype=torch.float64)) + 0.01


@pytest.mark.parametrize(
    "counts, match",
    [(torch.ones(3, 4), "square"), (-torch.ones(3, 3), "non-negative"), (torch.zeros(3, 3), "not all zero"), (torch.ones(3), "square")],
)
def test_bad_counts_are_refused(counts, match):
    with pytest.raises(ValueError, match=match):
        TwoKnobBigram(counts)


def test_bad_arguments_name_the_culprit(knobs):
    f, _, _ = knobs
    with pytest.raises(ValueError, match="smoothing"):
        TwoKnobBigram(torch.ones(3, 3), smoothing=0.0)
    with pytest.raises(ValueError, match="params"):
        f(torch.zeros(3))
    with pytest.raises(ValueError, match="lr"):
        gradient_descent(f, (0.0, 0.0), lr=0.0, steps=3)
    with pytest.raises(ValueError, match="steps"):
        gradient_descent(f, (0.0, 0.0), lr=0.1, steps=2.5)
    with pytest.raises(ValueError, match="start"):
        gradient_descent(f, (0.0, 0.0, 1.0), lr=0.1, steps=3)
    with pytest.raises(ValueError, match="scalar"):
        gradient_descent(lambda p: p * 2, (0.0, 0.0), lr=0.1, steps=3)
    with pytest.raises(ValueError, match="a_values"):
        loss_grid(f, torch.zeros(1), torch.zeros(4))


def test_plot_draws_contours_path_and_landmarks(knobs):
    f, _, _ = knobs
    a, b = torch.linspace(-0.5, 1.5, 9), torch.linspace(-0.5, 1.5, 7)
    grid = loss_grid(f, a, b)
    path = gradient_descent(f, (1.0, 0.0), lr=0.1, steps=5)
    fig = plot_landscape(a, b, grid, path, landmarks={"uniform": (0.0, 0.0)})
    ax = fig.axes[0]
    orange = [line for line in ax.lines if len(line.get_xdata()) == 6]
    assert len(orange) == 1 and list(orange[0].get_xdata()) == path.points[:, 0].tolist()
    assert "uniform" in [t.get_text() for t in ax.texts]
    assert len(fig.axes) == 2  # the contour axes and its colour bar
    with pytest.raises(ValueError, match="grid must have shape"):
        plot_landscape(a, b, grid.T)


def test_descent_figure_pairs_the_path_with_its_losses(knobs):
    f, _, _ = knobs
    a, b = torch.linspace(-0.5, 1.5, 9), torch.linspace(-0.5, 1.5, 7)
    path = gradient_descent(f, (1.0, 0.0), lr=0.1, steps=5)
    fig = descent_figure(a, b, loss_grid(f, a, b), path, landmarks={"uniform": (0.0, 0.0)})
    landscape_ax, losses_ax, _ = fig.axes  # the two panels, then the colour bar
    assert "uniform" in [t.get_text() for t in landscape_ax.texts]
    assert list(losses_ax.lines[0].get_ydata()) == path.losses.tolist()


def test_errors_say_it_in_chinese_first(knobs):
    f, _, _ = knobs
    with pytest.raises(ValueError) as refused:
        gradient_descent(f, (1.0, 0.0), lr=-1.0, steps=5)
    message = str(refused.value)
    assert message.index("学习率必须") < message.index("lr must")
