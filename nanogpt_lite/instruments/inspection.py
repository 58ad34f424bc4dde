"""Look inside an ``nn.Module``: its tree, its parameters and buffers, and what an optimizer step,
``state_dict()`` and ``.to()`` actually reach.

Every column of the "registered / optimized / saved / moved" matrix is *measured* on a copy of the
model (one real AdamW step, a real ``state_dict()``, a real ``.to()``), never looked up from a rule.
"""
from __future__ import annotations

import copy
import html
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn

# ----------------------------------------------------------------------------- a table with a text twin


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: object) -> str:
    return ("✓" if value else "✗") if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Table:
    """Rows shown as an HTML table in Jupyter and as aligned text elsewhere (``print``, the handout's twin)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    caption: str = ""

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"这一行有 {len(row)} 格，表头却有 {len(self.headers)} 列：{row!r} / "
                                 f"row {row!r} has {len(row)} cells for {len(self.headers)} headers")

    def __repr__(self) -> str:
        cells = [list(self.headers)] + [[_cell(v) for v in row] for row in self.rows]
        widths = [max(display_width(row[i]) for row in cells) for i in range(len(self.headers))]
        lines = ["  ".join(c + " " * (w - display_width(c)) for c, w in zip(row, widths)).rstrip() for row in cells]
        return "\n".join(([self.caption] if self.caption else []) + lines)

    def _repr_html_(self) -> str:
        def td(value: object) -> str:
            colour = {True: "#1b7f3b", False: "#b3261e"}.get(value) if isinstance(value, bool) else None
            style = f' style="color:{colour};text-align:center"' if colour else ""
            return f"<td{style}>{html.escape(_cell(value))}</td>"

        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(td(v) for v in row) + "</tr>" for row in self.rows)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f'<table class="nl-table">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# ----------------------------------------------------------------------------- the tree and the table


def _shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


def describe(module: nn.Module, name: str) -> str:
    """How attribute ``name`` is attached to ``module``, e.g. ``Parameter (10, 10)`` or ``float 2.0``."""
    if name in module._parameters:
        return f"Parameter {_shape(module._parameters[name])}"
    if name in module._buffers:
        return f"buffer {_shape(module._buffers[name])}"
    if name in module._modules:
        child = module._modules[name]
        return f"{type(child).__name__}({child.extra_repr()})"
    return _describe_value(getattr(module, name))


def _describe_value(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"Tensor {_shape(value)}" + (", requires_grad=True" if value.requires_grad else "")
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} [{', '.join(type(v).__name__ for v in value)}]"
    if isinstance(value, (bool, int, float, str)):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


def plain_attributes(module: nn.Module) -> list[str]:
    """Public attributes ``nn.Module`` did not register (they live in ``__dict__``), ``training`` aside."""
    return [name for name in vars(module) if not name.startswith("_") and name != "training"]


def _builtin(module: nn.Module) -> bool:
    return type(module).__module__.startswith("torch.nn.")


def module_tree(module: nn.Module) -> str:
    """The module as a tree: own parameters, buffers, submodules (recursively), then unregistered attributes
    (except the settings, like ``in_features``, of torch's own layers).

    A parameter shared with an earlier place (a tied weight) says so instead of being counted again.
    """
    first_name = {id(p): name for name, p in module.named_parameters()}
    lines = [type(module).__name__]

    def walk(m: nn.Module, prefix: str, indent: str) -> None:
        entries: list[tuple[str, str, nn.Module | None]] = []  # (line, name, child to open)
        for name, p in m._parameters.items():
            if p is None:  # a slot left empty, e.g. nn.Linear(..., bias=False)
                continue
            shared = first_name.get(id(p), prefix + name)
            note = f"  [参数，与 {shared} 共享]" if shared != prefix + name else "  [参数]"
            entries.append((f"{name}  {_shape(p)}  {p.numel():,}{note}", name, None))
        for name, b in m._buffers.items():
            entries.append((f"{name}  {_shape(b)}  {b.numel():,}  [缓冲区]", name, None))
        for name, child in m._modules.items():
            entries.append((f"{name}: {describe(m, name)}  [子模块]", name, child))
        for name in plain_attributes(m) if not _builtin(m) else []:
            entries.append((f"{name} = {_describe_value(getattr(m, name))}  [未注册]", name, None))
        for i, (text, name, child) in enumerate(entries):
            last = i == len(entries) - 1
            lines.append(f"{indent}{'└── ' if last else '├── '}{text}")
            if child is not None:
                walk(child, f"{prefix}{name}.", indent + ("    " if last else "│   "))

    walk(module, "", "")
    return "\n".join(lines)


def parameter_table(module: nn.Module) -> Table:
    """One row per parameter, then per buffer: name, kind, shape, count, requires_grad; totals in the caption."""
    params, buffers = list(module.named_parameters()), list(module.named_buffers())
    rows = [(n, "参数", _shape(p), f"{p.numel():,}", p.requires_grad) for n, p in params]
    rows += [(n, "缓冲区", _shape(b), f"{b.numel():,}", b.requires_grad) for n, b in buffers]
    total_p, total_b = sum(p.numel() for _, p in params), sum(b.numel() for _, b in buffers)
    caption = f"参数共 {total_p:,} 个数，缓冲区共 {total_b:,} 个数"
    return Table(("名称", "类别", "形状", "个数", "requires_grad"), tuple(rows), caption)


# ----------------------------------------------------------------------------- the measured matrix


@dataclass(frozen=True)
class AttributeReport:
    """What happened to one attribute, measured: gradient, optimizer step, parameters(), state_dict(), .to()."""

    name: str
    attached_as: str
    has_grad: bool
    changed: bool
    in_parameters: bool
    in_state_dict: bool
    moved: bool


def _tensors(value: object, *, buffers: bool = True) -> list[torch.Tensor]:
    """The tensors an attribute holds: itself, a module's parameters (and buffers), a list's members'."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, nn.Module):
        return [*value.parameters(), *(value.buffers() if buffers else [])]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item, buffers=buffers)]
    return []


def _snapshot(value: object) -> list[object]:
    tensors = _tensors(value)
    return [t.detach().clone() for t in tensors] if tensors else [copy.deepcopy(value)]


def _same(before: list[object], after: list[object]) -> bool:
    return len(before) == len(after) and all(
        torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b for a, b in zip(before, after)
    )


def _convertible(value: object, target: torch.dtype | torch.device) -> list[torch.Tensor]:
    """Tensors ``.to(target)`` would convert: with a dtype, floating-point ones only (as torch does)."""
    return [t for t in _tensors(value) if not isinstance(target, torch.dtype) or t.is_floating_point()]


def _at(t: torch.Tensor, target: torch.dtype | torch.device) -> bool:
    return t.dtype == target if isinstance(target, torch.dtype) else t.device.type == target.type


def measure_attributes(
    model: nn.Module,
    names: Sequence[str],
    loss_fn: Callable[[nn.Module], torch.Tensor],
    *,
    lr: float = 1e-2,
    target: torch.dtype | torch.device | str = torch.float64,
) -> list[AttributeReport]:
    """Measure, on a deep copy of ``model``, what reaches each top-level attribute in ``names``.

    ``loss_fn(model)`` runs the forward pass and returns a scalar loss. After ``backward()`` we record
    which attributes got a ``.grad``; ``changed`` compares values just before and just after one
    ``AdamW(model.parameters()).step()``; ``in_state_dict`` reads the real ``state_dict()`` keys;
    ``moved`` checks what ``.to(target)`` converted. A float dtype works on a CPU-only machine, but it is
    not the same as a device: ``.to(dtype)`` converts floating-point parameters and buffers only (an
    integer buffer keeps its dtype), ``.to(device)`` moves every parameter and buffer. Neither touches
    a plain tensor attribute (see :func:`conversion_table`).
    """
    target = torch.device(target) if isinstance(target, str) else target
    if isinstance(target, torch.dtype) and not target.is_floating_point:
        raise ValueError(f"目标 dtype {target} 不是浮点类型：.to() 什么也不会转换，请用 torch.float64 或一个设备。 / "
                         f"target dtype {target} is not floating point: .to() would convert nothing")
    model = copy.deepcopy(model)
    missing = [name for name in names if "." in name or not hasattr(model, name)]
    if missing:
        raise ValueError(f"{type(model).__name__} 没有这些顶层属性：{missing}；请写 self.xxx 的名字 xxx（不带点）。 / "
                         f"{type(model).__name__} has no top-level attribute(s) {missing}")
    already = [n for n in names if any(_at(t, target) for t in _convertible(getattr(model, n), target))]
    if already:
        raise ValueError(f"{already} 的张量本来就在 {target}：换一个 target 才看得出 .to() 搬了谁。 / "
                         f"{already} already hold tensors at {target}; pick another target to see what .to() moves")

    attached_as = {n: describe(model, n) for n in names}
    param_ids = {id(p) for p in model.parameters()}
    in_parameters = {}
    for n in names:
        tensors = _tensors(getattr(model, n), buffers=False)
        in_parameters[n] = bool(tensors) and all(id(t) in param_ids for t in tensors)
    state = model.state_dict()
    in_state = {n: n in state or any(key.startswith(n + ".") for key in state) for n in names}

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    optimizer.zero_grad()
    loss_fn(model).backward()
    has_grad = {n: any(t.is_leaf and t.grad is not None for t in _tensors(getattr(model, n))) for n in names}
    before = {n: _snapshot(getattr(model, n)) for n in names}
    optimizer.step()
    changed = {n: not _same(before[n], _snapshot(getattr(model, n))) for n in names}

    model.to(target)
    moved = {n: bool(ts) and all(_at(t, target) for t in ts) for n in names
             for ts in [_convertible(getattr(model, n), target)]}
    return [
        AttributeReport(n, attached_as[n], has_grad[n], changed[n], in_parameters[n], in_state[n], moved[n])
        for n in names
    ]


def matrix_table(reports: Iterable[AttributeReport], target: str = "float64") -> Table:
    """The measured matrix, one row per attribute."""
    headers = ("属性", "写法", "得到 .grad", "被 AdamW 改变", "在 parameters()", "在 state_dict()", f".to({target}) 转换")
    rows = tuple(
        (r.name, r.attached_as, r.has_grad, r.changed, r.in_parameters, r.in_state_dict, r.moved) for r in reports
    )
    return Table(headers, rows)


# ----------------------------------------------------------------------------- what .to(dtype) and .to(device) reach


def named_tensors(module: nn.Module) -> list[tuple[str, str, torch.Tensor]]:
    """(dotted name, kind, tensor) for every parameter, buffer and plain tensor attribute of ``module``."""
    found = [(n, "参数", p) for n, p in module.named_parameters()]
    found += [(n, "缓冲区", b) for n, b in module.named_buffers()]
    for prefix, m in module.named_modules():
        for name in plain_attributes(m):
            value = getattr(m, name)
            if isinstance(value, torch.Tensor):
                found.append((f"{prefix}.{name}" if prefix else name, "普通张量", value))
    return found


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def conversion_table(module: nn.Module, device: str = "meta") -> Table:
    """Every tensor of ``module`` before and after ``.to(torch.float64)`` and ``.to(device)``, each measured
    on its own deep copy: the dtype and the device it ends up with."""
    as_float64 = {n: t for n, _, t in named_tensors(copy.deepcopy(module).to(torch.float64))}
    on_device = {n: t for n, _, t in named_tensors(copy.deepcopy(module).to(device))}
    rows = tuple(
        (n, kind, f"{_dtype(t)}, {t.device.type}", _dtype(as_float64[n]), on_device[n].device.type)
        for n, kind, t in named_tensors(module)
    )
    headers = ("名称", "类别", "原来", ".to(float64) 之后的 dtype", f'.to("{device}") 之后的设备')
    return Table(headers, rows)


# ----------------------------------------------------------------------------- the attach-kind experiment

ATTACH_CODE = {
    "Parameter": "self.extra = nn.Parameter(torch.randn(4))",
    "tensor": "self.extra = torch.randn(4)",
    "tensor requires_grad": "self.extra = torch.randn(4, requires_grad=True)",
    "buffer": 'self.register_buffer("extra", torch.randn(4))',
    "float": "self.extra = 2.0",
    "list of Linear": "self.extra = [nn.Linear(4, 4), nn.Linear(4, 4)]",
    "ModuleList": "self.extra = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])",
}
"""Each way of attaching ``extra``: the very line ``AttachDemo.__init__`` runs."""
ATTACH_KINDS = tuple(ATTACH_CODE)


class AttachDemo(nn.Module):
    """``base = nn.Linear(4, 4)`` plus one attribute ``extra`` attached one way; ``forward`` uses both."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind not in ATTACH_CODE:
            raise ValueError(f"没有 {kind!r} 这种写法，可选的是 {list(ATTACH_KINDS)}。 / "
                             f"unknown attach kind {kind!r}; choose one of {list(ATTACH_KINDS)}")
        self.base = nn.Linear(4, 4)
        exec(ATTACH_CODE[kind], {"torch": torch, "nn": nn}, {"self": self})  # run the line shown to the learner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.base(x)
        if isinstance(self.extra, (list, nn.ModuleList)):
            for layer in self.extra:
                x = layer(x)
            return x
        return x * self.extra


def measure_attach(kind: str, *, seed: int = 0) -> AttributeReport:
    """Build ``AttachDemo(kind)``, take one AdamW step on a random batch, and measure ``extra``."""
    with torch.random.fork_rng(devices=[]):  # seeded without disturbing the caller's random stream
        torch.manual_seed(seed)
        model = AttachDemo(kind)
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(seed))
    return measure_attributes(model, ["extra"], lambda m: m(x).pow(2).mean())[0]


def attach_table(kinds: Iterable[str] = ATTACH_KINDS) -> Table:
    """The measured matrix for several ways of attaching ``extra``: one row per kind."""
    headers = ("写法", "代码", "得到 .grad", "被 AdamW 改变", "在 parameters()", "在 state_dict()", ".to(float64) 转换")
    rows = []
    for kind in kinds:
        r = measure_attach(kind)
        rows.append((kind, ATTACH_CODE[kind], r.has_grad, r.changed, r.in_parameters, r.in_state_dict, r.moved))
    return Table(headers, tuple(rows))
