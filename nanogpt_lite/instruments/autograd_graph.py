"""The computation graph behind ``loss.backward()``: walk ``loss.grad_fn.next_functions`` and draw it.

>>> graph = trace_graph(loss, dict(model.named_parameters()))
>>> print(graph.describe())          # one line per edge, in the order backward() meets them
>>> draw(graph)                      # a PNG via graphviz (matplotlib when the ``dot`` program is missing)

Arrows point the way ``backward()`` walks: from the loss towards the parameters, i.e. the way
gradients flow. Each parameter ends in an ``AccumulateGrad`` node, which adds the gradient
that arrives into ``param.grad``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import graphviz
import torch
from IPython.display import Image
from matplotlib.figure import Figure

_COLOURS = {"root": "#fff3c4", "op": "#dbe9ff", "leaf": "#d7f5dd"}


@dataclass(frozen=True)
class AutogradNode:
    """One box of the picture: the loss (``root``), a backward function (``op``) or a parameter (``leaf``)."""

    id: str
    label: str
    kind: str


@dataclass
class AutogradGraph:
    """Nodes in breadth-first order from the loss; ``edges`` are ``(from_id, to_id)`` in the direction backward() walks."""

    nodes: list[AutogradNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def node(self, node_id: str) -> AutogradNode:
        return next(n for n in self.nodes if n.id == node_id)

    def labels(self) -> list[str]:
        return [n.label for n in self.nodes]

    def describe(self) -> str:
        """One ``a → b`` line per edge (labels on one line each)."""
        flat = lambda node_id: self.node(node_id).label.replace("\n", " ")  # noqa: E731
        return "\n".join(f"{flat(a)}  →  {flat(b)}" for a, b in self.edges)


def _shape(tensor: torch.Tensor) -> str:
    return str(tuple(tensor.shape))


def trace_graph(
    loss: torch.Tensor, names: Mapping[str, torch.Tensor] | None = None, *, root_name: str = "loss"
) -> AutogradGraph:
    """Walk ``loss.grad_fn.next_functions`` breadth-first into nodes and edges.

    ``names`` (e.g. ``dict(model.named_parameters())``) labels the parameters found at the
    ``AccumulateGrad`` leaves; other leaves are called ``leaf``. Tensors that do not require
    gradients (the inputs ``xb``, the targets ``yb``) are not part of the graph.
    """
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss 必须是 torch.Tensor，收到 {type(loss).__name__}。 / loss must be a torch.Tensor, got {type(loss).__name__}.")
    if loss.grad_fn is None:
        raise ValueError(
            "loss 没有 grad_fn，也就没有计算图可走：它是在 torch.no_grad() 里算的，或者由不需要梯度的张量算出，"
            "或者它本身就是参数。请在 no_grad 之外重新做一次 forward。 / "
            "loss has no grad_fn, so there is no graph to walk: it was computed under torch.no_grad(), "
            "or from tensors that do not require gradients, or it is a parameter itself."
        )
    name_of = {id(tensor): name for name, tensor in (names or {}).items()}
    graph = AutogradGraph()
    graph.nodes.append(AutogradNode("n0", f"{root_name}\n{_shape(loss)}", "root"))
    ids: dict[object, str] = {}
    queue: list = []

    def visit(fn) -> str:
        """The id of ``fn``'s node, adding the node (and queueing it) the first time it is seen."""
        if fn not in ids:
            ids[fn] = f"n{len(graph.nodes)}"
            variable = getattr(fn, "variable", None)
            if variable is not None:
                label, kind = f"{name_of.get(id(variable), 'leaf')}\n{_shape(variable)}", "leaf"
            else:
                label, kind = type(fn).__name__, "op"
            graph.nodes.append(AutogradNode(ids[fn], label, kind))
            queue.append(fn)
        return ids[fn]

    graph.edges.append(("n0", visit(loss.grad_fn)))
    while queue:
        fn = queue.pop(0)
        for next_fn, _ in fn.next_functions:
            if next_fn is not None:
                graph.edges.append((ids[fn], visit(next_fn)))
    return graph


def to_dot(graph: AutogradGraph) -> graphviz.Digraph:
    """A graphviz description of ``graph`` (deterministic: same graph, same source)."""
    dot = graphviz.Digraph("autograd", graph_attr={"rankdir": "TB", "dpi": "110"}, node_attr={"fontname": "Helvetica", "fontsize": "11"})
    for node in graph.nodes:
        shape = "ellipse" if node.kind == "root" else "box"
        dot.node(node.id, node.label.replace("\n", "\\n"), shape=shape, style="filled,rounded", fillcolor=_COLOURS[node.kind])
    for a, b in graph.edges:
        dot.edge(a, b)
    return dot


def render_png(graph: AutogradGraph) -> bytes:
    """PNG bytes drawn by graphviz's ``dot``; raises ``graphviz.ExecutableNotFound`` when it is not installed."""
    return to_dot(graph).pipe(format="png")


def _depths(graph: AutogradGraph) -> dict[str, int]:
    """Longest distance of each node from the loss (the graph is acyclic), so every arrow points down."""
    depth = {graph.nodes[0].id: 0}
    for _ in graph.nodes:
        for a, b in graph.edges:
            if a in depth:
                depth[b] = max(depth.get(b, 0), depth[a] + 1)
    return depth


def draw_matplotlib(graph: AutogradGraph) -> Figure:
    """The same picture without graphviz: one row per depth, arrows from the loss downwards."""
    depth = _depths(graph)
    rows: dict[int, list[str]] = {}
    for node in graph.nodes:
        rows.setdefault(depth[node.id], []).append(node.id)
    where = {nid: ((i + 1) / (len(row) + 1), -d) for d, row in rows.items() for i, nid in enumerate(row)}
    fig = Figure(figsize=(6, 1.1 * (len(rows) + 1)))
    ax = fig.add_subplot()
    for a, b in graph.edges:
        ax.annotate("", xy=where[b], xytext=where[a], arrowprops={"arrowstyle": "->", "shrinkA": 14, "shrinkB": 14})
    for node in graph.nodes:
        ax.text(*where[node.id], node.label, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": _COLOURS[node.kind]})
    ax.set_xlim(0, 1)
    ax.set_ylim(-len(rows) + 0.5, 0.5)
    ax.set_axis_off()
    ax.set_title("(graphviz 'dot' not found: drawn with matplotlib)", fontsize=8)
    return fig


def draw(graph: AutogradGraph) -> Image | Figure:
    """A picture of ``graph`` for a notebook: a graphviz PNG, or a matplotlib figure when ``dot`` is missing."""
    try:
        return Image(data=render_png(graph), format="png")
    except graphviz.ExecutableNotFound:
        return draw_matplotlib(graph)
