"""TinyModule must register exactly what torch.nn.Module registers, on the same structures and the same leaves."""
import copy

import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from nanogpt_lite.instruments.tiny_module import TinyModule

NAMES = ["a", "b", "w", "weight", "bias"]  # few names, so reassignments and clashes happen often

op = st.one_of(
    st.tuples(st.just("child"), st.integers(0, 9), st.sampled_from(NAMES)),
    st.tuples(st.just("share_child"), st.integers(0, 9), st.sampled_from(NAMES), st.integers(0, 9)),
    st.tuples(st.just("param"), st.integers(0, 9), st.sampled_from(NAMES), st.integers(1, 3)),
    st.tuples(st.just("share_param"), st.integers(0, 9), st.sampled_from(NAMES), st.integers(0, 9)),
    st.tuples(st.just("buffer"), st.integers(0, 9), st.sampled_from(NAMES), st.integers(1, 3)),
    st.tuples(st.just("tensor"), st.integers(0, 9), st.sampled_from(NAMES), st.integers(1, 3)),
    st.tuples(st.just("float"), st.integers(0, 9), st.sampled_from(NAMES)),
)


def outcome(action) -> type | None:
    """The exception type an action raises, or None."""
    try:
        action()
    except Exception as exc:  # compared between the two implementations
        return type(exc)
    return None


def build(ops):
    """Apply the same operations to a tree of nn.Modules and a tree of TinyModules, sharing every leaf."""
    torch_nodes, tiny_nodes, params = [nn.Module()], [TinyModule()], []
    for kind, node, name, *extra in ops:
        t_node, y_node = torch_nodes[node % len(torch_nodes)], tiny_nodes[node % len(tiny_nodes)]
        if kind == "child":
            values = nn.Module(), TinyModule()
            torch_nodes.append(values[0])
            tiny_nodes.append(values[1])
        elif kind == "share_child":  # only ever under an earlier node: a DAG, never a cycle
            target = node % len(torch_nodes) + 1 + extra[0]
            if target >= len(torch_nodes):
                continue
            values = torch_nodes[target], tiny_nodes[target]
        elif kind == "param":
            params.append(nn.Parameter(torch.randn(extra[0])))
            values = params[-1], params[-1]
        elif kind == "share_param":
            if not params:
                continue
            values = params[extra[0] % len(params)], params[extra[0] % len(params)]
        elif kind in ("buffer", "tensor"):
            values = (torch.randn(extra[0]),) * 2
        else:
            values = 2.0, 2.0
        if kind == "buffer":
            results = [outcome(lambda m=m, v=v, n=name: m.register_buffer(n, v)) for m, v in zip((t_node, y_node), values)]
        else:
            results = [outcome(lambda m=m, v=v, n=name: setattr(m, n, v)) for m, v in zip((t_node, y_node), values)]
        assert results[0] == results[1], f"{kind} {name!r}: torch -> {results[0]}, TinyModule -> {results[1]}"
    return torch_nodes[0], tiny_nodes[0]


def same_named(a, b) -> bool:
    """Same names in the same order, naming the very same tensor objects."""
    return [(n, id(t)) for n, t in a] == [(n, id(t)) for n, t in b]


@settings(max_examples=100, deadline=None)
@given(st.lists(op, max_size=25))
def test_registration_agrees_with_torch(ops):
    torch_root, tiny_root = build(ops)
    assert same_named(torch_root.named_parameters(), tiny_root.named_parameters())
    assert [id(p) for p in torch_root.parameters()] == [id(p) for p in tiny_root.parameters()]
    assert same_named(torch_root.named_buffers(), tiny_root.named_buffers())
    assert [id(b) for b in torch_root.buffers()] == [id(b) for b in tiny_root.buffers()]
    torch_state, tiny_state = torch_root.state_dict(), tiny_root.state_dict()
    assert list(torch_state) == list(tiny_state)
    assert all(torch_state[k].data_ptr() == tiny_state[k].data_ptr() for k in torch_state)
    assert not any(t.requires_grad for t in tiny_state.values())


@settings(max_examples=40, deadline=None)
@given(st.lists(op, max_size=25))
def test_to_moves_what_torch_moves(ops):
    torch_root, tiny_root = (copy.deepcopy(m) for m in build(ops))
    torch_root.to(torch.float64)
    tiny_root.to(torch.float64)
    assert [(k, v.dtype) for k, v in torch_root.state_dict().items()] == [
        (k, v.dtype) for k, v in tiny_root.state_dict().items()
    ]


class TinyMyModel(TinyModule):
    """The FAQ's MyModel, written against TinyModule."""

    def __init__(self, linear: TinyModule) -> None:
        super().__init__()
        self.weight1 = nn.Parameter(torch.randn(10, 10))
        self.linear = linear
        self.temp_tensor = torch.randn(10, 10)
        self.scale_factor = 2.0
        self.register_buffer("running_mean", torch.zeros(10))


class TinyLinear(TinyModule):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))


def test_the_faq_mymodel_registers_like_torch():
    from nanogpt_lite.instruments.examples import MyModel

    tiny = TinyMyModel(TinyLinear(10, 10))
    real = MyModel()
    assert [n for n, _ in tiny.named_parameters()] == [n for n, _ in real.named_parameters()]
    assert [n for n, _ in tiny.named_buffers()] == [n for n, _ in real.named_buffers()] == ["running_mean"]
    assert list(tiny.state_dict()) == list(real.state_dict())
    assert "temp_tensor" in vars(tiny) and "weight1" not in vars(tiny)  # registered values leave __dict__
    assert tiny.weight1 is tiny._parameters["weight1"]


def test_to_keeps_parameter_identity_and_leaves_plain_tensors():
    tiny = TinyMyModel(TinyLinear(10, 10))
    weight1, temp = tiny.weight1, tiny.temp_tensor
    tiny.to(torch.float64)
    assert tiny.weight1 is weight1 and weight1.dtype == torch.float64  # an optimizer's reference stays valid
    assert tiny.running_mean.dtype == torch.float64
    assert tiny.temp_tensor is temp and temp.dtype == torch.float32


def test_tied_parameter_is_counted_once_but_saved_twice():
    root = TinyModule()
    root.embed, root.head = TinyLinear(4, 3), TinyLinear(4, 3)
    root.head.weight = root.embed.weight  # tie: the very same Parameter in two places
    assert [n for n, _ in root.named_parameters()] == ["embed.weight", "embed.bias", "head.bias"]
    assert sum(p.numel() for p in root.parameters()) == 12 + 3 + 3
    assert {"embed.weight", "head.weight"} <= set(root.state_dict())


def test_clear_errors_name_the_attribute():
    class Early(TinyModule):
        def __init__(self) -> None:
            self.w = nn.Parameter(torch.zeros(1))
            super().__init__()

    with pytest.raises(AttributeError, match="'w' before TinyModule.__init__"):
        Early()
    tiny = TinyMyModel(TinyLinear(10, 10))
    with pytest.raises(TypeError, match="parameter 'weight1'"):
        tiny.weight1 = torch.zeros(10, 10)
    with pytest.raises(TypeError, match="child module 'linear'"):
        tiny.linear = 3
    with pytest.raises(KeyError, match="'temp_tensor' already exists"):
        tiny.register_buffer("temp_tensor", torch.zeros(1))
    with pytest.raises(TypeError, match="buffer 'running_mean'"):
        tiny.running_mean = 1.0
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = tiny.nope  # noqa: B018
