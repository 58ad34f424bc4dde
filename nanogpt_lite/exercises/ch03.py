"""Chapter 3 exercises: what ``nn.Module`` registers, what AdamW updates, and the plain-list bug.

Every checker compares with a value measured from torch when it runs, not with a number typed here.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from ..instruments.examples import MyModel, TwoLayerModel
from ..instruments.inspection import measure_attributes
from .core import Incorrect, Problem, ____, expect

MYMODEL_ATTRIBUTES = ("weight1", "linear", "temp_tensor", "scale_factor", "running_mean")


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _build(builder: Callable[[], Any]) -> Any:
    """Build a model seeded, without disturbing the learner's random stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return builder()


def _as_int(answer: Any) -> int:
    if isinstance(answer, bool) or not isinstance(answer, (int, torch.Tensor)) or (
        isinstance(answer, torch.Tensor) and answer.numel() != 1
    ):
        raise Incorrect(f"请给一个整数（得到的是 {type(answer).__name__}）。")
    return int(answer)


# ----------------------------------------------------------------------------- q1: count the parameters


def _check_count(answer: Any) -> None:
    n = _as_int(answer)
    truth = _count(_build(lambda: TwoLayerModel(65, n_embd=10)))
    expect(n != 65 * 10 * 2, "差一点：别忘了 lm_head 还有偏置 bias，长度 65。")
    expect(n != 65 * 65, "4,225 是二元模型的数；这里的嵌入只有 10 维。")
    expect(n == truth, "还不对：Embedding(65, 10) 有 65×10 个数；Linear(10, 65) 有 65×10 的权重加 65 个偏置。")


q1 = Problem(
    prompt="TwoLayerModel(65, n_embd=10) 一共有多少个参数（数字个数）？先用纸笔算，再用代码验证。",
    checker=_check_count,
    hint_text="嵌入表是 (65, 10)；nn.Linear(10, 65) 的 weight 是 (65, 10)，bias 是 (65,)。",
    solution_text="sum(p.numel() for p in TwoLayerModel(65, n_embd=10).parameters())  # 650 + 650 + 65 = 1365",
    reference=lambda: _count(_build(lambda: TwoLayerModel(65, n_embd=10))),
    praise="对：65×10 + 65×10 + 65。",
)


# ----------------------------------------------------------------------------- q2: what AdamW updates


def updated_by_adamw() -> set[str]:
    """The attributes of the FAQ's MyModel that one AdamW step changes, measured."""
    x = torch.randn(10, 10, generator=torch.Generator().manual_seed(0))
    reports = measure_attributes(_build(MyModel), MYMODEL_ATTRIBUTES, lambda m: m(x).pow(2).mean())
    return {r.name for r in reports if r.changed}


_WHY_NOT = {
    "temp_tensor": "temp_tensor 参与了 forward，但它是普通张量，没有登记，优化器看不到它。",
    "scale_factor": "scale_factor 是 Python float，不是张量，更不会被登记。",
    "running_mean": "running_mean 是缓冲区：会被 state_dict() 保存、被 .to() 搬走，但不在 parameters() 里。",
}


def _check_updated(answer: Any) -> None:
    expect(isinstance(answer, (set, list, tuple)), "请给一个属性名的集合，例如 {'weight1'}。")
    names = {str(a).split(".")[0] for a in answer}  # "linear.weight" counts as "linear"
    unknown = names - set(MYMODEL_ATTRIBUTES)
    expect(not unknown, f"MyModel 没有这些属性：{sorted(unknown)}；可选的是 {list(MYMODEL_ATTRIBUTES)}。")
    truth = updated_by_adamw()
    extra, missing = sorted(names - truth), sorted(truth - names)
    expect(not extra, "".join(f"{n} 不会被更新。{_WHY_NOT.get(n, '')}\n" for n in extra).strip())
    expect(not missing, f"漏了 {missing}：nn.Parameter 会被直接登记，子模块（如 nn.Linear）的参数会被递归收集。")


q2 = Problem(
    prompt="FAQ 的 MyModel 有 weight1、linear、temp_tensor、scale_factor、running_mean。一步 AdamW 会改变哪些？给一个名字的集合。",
    checker=_check_updated,
    hint_text="优化器只拿到 model.parameters()。哪些属性的张量在 parameters() 里？缓冲区在不在？",
    solution_text="{'weight1', 'linear'}  # linear 指 linear.weight 和 linear.bias",
    reference=updated_by_adamw,
    praise="对：只有登记为参数的（weight1 与 linear 里的 weight、bias）会被更新。",
)


# ----------------------------------------------------------------------------- q3: fix the plain-list bug


class BrokenStack(nn.Module):
    """Three Linear layers kept in a plain Python list: forward works, but nothing is registered."""

    def __init__(self, n_layers: int = 3, width: int = 8) -> None:
        super().__init__()
        self.layers = [nn.Linear(width, width) for _ in range(n_layers)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


def _fixed_stack() -> type[nn.Module]:
    class FixedStack(BrokenStack):
        def __init__(self, n_layers: int = 3, width: int = 8) -> None:
            super().__init__(n_layers, width)
            self.layers = nn.ModuleList(self.layers)

    return FixedStack


def _check_stack(answer: Any) -> None:
    model = _build(answer) if isinstance(answer, type) else answer
    expect(isinstance(model, nn.Module), f"请给一个 nn.Module 的子类（或它的实例），得到的是 {type(answer).__name__}。")
    expect(hasattr(model, "layers"), "请保留属性名 self.layers，只改它的类型。")
    expect(_count(model) > 0, "parameters() 还是空的：普通 list 里的层不会被登记，用 nn.ModuleList 包起来。")
    expected = 3 * _count(_build(lambda: nn.Linear(8, 8)))
    expect(_count(model) == expected, f"参数个数是 {_count(model):,}，应为 3 层 Linear(8, 8) 共 {expected:,}。")
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    (report,) = measure_attributes(model, ["layers"], lambda m: m(x).pow(2).mean())
    expect(report.in_parameters and report.changed, "layers 的参数还没有全部交给优化器：检查每一层是否都在 ModuleList 里。")
    expect(report.in_state_dict, "layers 没有出现在 state_dict() 里：它还不是登记的子模块。")


q3 = Problem(
    prompt="BrokenStack 把三层 nn.Linear(8, 8) 放在普通 list 里，parameters() 是空的。写一个修好的类 FixedStack（保留 self.layers 这个名字）。",
    checker=_check_stack,
    hint_text="nn.Module 只认得赋给它的 Parameter 和 Module；list 不是 Module。nn.ModuleList 是。",
    solution_text=(
        "class FixedStack(nn.Module):\n"
        "    def __init__(self, n_layers=3, width=8):\n"
        "        super().__init__()\n"
        "        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(n_layers)])\n"
        "    def forward(self, x):\n"
        "        for layer in self.layers:\n"
        "            x = torch.relu(layer(x))\n"
        "        return x"
    ),
    reference=_fixed_stack,
    untouched=lambda answer: isinstance(answer, type) and getattr(_build(answer), "layers", None) is ____,
    praise="对：三层都登记了，一步 AdamW 真的改变了它们，state_dict() 也存下了它们。",
)


# ----------------------------------------------------------------------------- q4: a tied weight counts once


def tied_count() -> int:
    """Parameters of TwoLayerModel(65, 24) after tying lm_head.weight to the embedding, measured."""
    model = _build(lambda: TwoLayerModel(65, n_embd=24))
    model.lm_head.weight = model.token_embedding_table.weight
    return _count(model)


def _check_tied(answer: Any) -> None:
    n = _as_int(answer)
    expect(n != _count(_build(lambda: TwoLayerModel(65, n_embd=24))), "那是没有共享时的数：同一个 Parameter 出现两次，parameters() 只给一次。")
    expect(n == tied_count(), "还不对：共享后只剩一张 (65, 24) 的表，再加 lm_head 的偏置。")


q4 = Problem(
    prompt=(
        "model = TwoLayerModel(65, n_embd=24); model.lm_head.weight = model.token_embedding_table.weight\n"
        "之后 sum(p.numel() for p in model.parameters()) 是多少？"
    ),
    checker=_check_tied,
    hint_text="共享（绑定）权重：两个名字指向同一个 Parameter 对象。parameters() 按对象去重。",
    solution_text="65 * 24 + 65  # 1625：共享的表只算一次",
    reference=tied_count,
    praise="对：同一个 Parameter 只数一次（state_dict() 里却有两个键）。",
)
