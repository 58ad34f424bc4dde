import shutil

import graphviz
import pytest
import torch
import torch.nn as nn
from matplotlib.figure import Figure
from matplotlib.text import Annotation

import nanogpt_lite as nl
from nanogpt_lite.instruments import autograd_graph as ag


def linear_loss():
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    loss = (model(torch.tensor([[1.0, 2.0]])) - torch.tensor([[3.0]])) ** 2
    return model, loss


def test_linear_example_graph_follows_next_functions():
    model, loss = linear_loss()
    graph = ag.trace_graph(loss, dict(model.named_parameters()))
    assert graph.labels() == ["loss\n(1, 1)", "PowBackward0", "SubBackward0", "AddmmBackward0", "bias\n(1,)", "TBackward0", "weight\n(1, 2)"]
    assert [n.kind for n in graph.nodes] == ["root", "op", "op", "op", "leaf", "op", "leaf"]
    assert graph.describe().splitlines() == [
        "loss (1, 1)  →  PowBackward0",
        "PowBackward0  →  SubBackward0",
        "SubBackward0  →  AddmmBackward0",
        "AddmmBackward0  →  bias (1,)",
        "AddmmBackward0  →  TBackward0",
        "TBackward0  →  weight (1, 2)",
    ]


def test_every_parameter_that_gets_a_gradient_is_a_leaf_of_the_graph(small_data, small_tok):
    torch.manual_seed(0)
    model = nl.BigramLanguageModel(small_tok.vocab_size)
    xb, yb = nl.get_batch(small_data, 4, 8, generator=torch.Generator().manual_seed(0))
    _, loss = model(xb, yb)
    graph = ag.trace_graph(loss, dict(model.named_parameters()))
    V = small_tok.vocab_size
    assert graph.labels() == ["loss\n()", "NllLossBackward0", "LogSoftmaxBackward0", "ViewBackward0", "EmbeddingBackward0", f"token_embedding_table.weight\n({V}, {V})"]
    loss.backward()
    assert model.token_embedding_table.weight.grad is not None
    # the walk still works after backward(): the nodes stay, only their saved tensors are freed
    assert ag.trace_graph(loss).labels()[-1] == f"leaf\n({V}, {V})"


def test_a_tensor_used_twice_is_one_node_with_two_edges():
    w = torch.randn(3, requires_grad=True)
    graph = ag.trace_graph((w * w).sum(), {"w": w})
    assert graph.labels() == ["loss\n()", "SumBackward0", "MulBackward0", "w\n(3,)"]
    assert graph.edges.count(("n2", "n3")) == 2


def test_inputs_without_gradients_are_not_in_the_graph():
    w = torch.randn(2, requires_grad=True)
    x = torch.randn(2)
    graph = ag.trace_graph((w * x).sum())
    assert sum(node.kind == "leaf" for node in graph.nodes) == 1


def test_no_graph_is_a_clear_error():
    weight = nn.Linear(2, 1).weight
    with torch.no_grad():
        no_grad_loss = (weight * 2).sum()
    for value in (no_grad_loss, torch.ones(2).sum(), weight):
        with pytest.raises(ValueError, match="loss has no grad_fn"):
            ag.trace_graph(value)
    with pytest.raises(TypeError, match="loss must be a torch.Tensor, got list"):
        ag.trace_graph([1.0])


def test_dot_source_is_deterministic_and_complete():
    model, loss = linear_loss()
    graph = ag.trace_graph(loss, dict(model.named_parameters()))
    source = ag.to_dot(graph).source
    assert source == ag.to_dot(ag.trace_graph(loss, dict(model.named_parameters()))).source
    assert source.count("->") == len(graph.edges) and "0x" not in source
    assert 'label="weight\\n(1, 2)"' in source


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")
def test_draw_gives_a_png_when_dot_is_installed():
    _, loss = linear_loss()
    picture = ag.draw(ag.trace_graph(loss))
    assert picture.data.startswith(b"\x89PNG")


def test_draw_falls_back_to_matplotlib_without_dot(monkeypatch):
    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", missing)
    model, loss = linear_loss()
    graph = ag.trace_graph(loss, dict(model.named_parameters()))
    figure = ag.draw(graph)
    assert isinstance(figure, Figure)
    boxes = {t.get_text(): t.get_position() for t in figure.axes[0].texts if t.get_text()}
    arrows = [t for t in figure.axes[0].texts if isinstance(t, Annotation)]
    assert sorted(boxes) == sorted(graph.labels()) and len(arrows) == len(graph.edges)
    # every arrow points down, from the loss at the top towards the parameters
    for arrow in arrows:
        assert arrow.xy[1] < arrow.xyann[1]
    assert boxes["loss\n(1, 1)"][1] > boxes["PowBackward0"][1] > boxes["TBackward0"][1] > boxes["weight\n(1, 2)"][1]
