"""Chapter 3 exercises: what ``nn.Module`` registers, what AdamW updates, a plain dict of layers, a tied
weight, and a prediction of how many tensors ``parameters()`` yields.

Every checker compares with a value measured from torch when it runs, not with a number typed here.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from ..instruments.examples import TwoLayerModel
from ..instruments.inspection import measure_attributes
from .core import Incorrect, Problem, ____, expect

MYSTERY_ATTRIBUTES = ("embed", "gain", "offset", "heads", "mask", "frozen")


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


# ----------------------------------------------------------------------------- q1: what AdamW updates


class MysteryModel(nn.Module):
    """Six attributes attached six ways; ``forward`` uses every one of them."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(8, 4)
        self.gain = nn.Parameter(torch.ones(4))
        self.offset = torch.zeros(4, requires_grad=True)
        self.heads = [nn.Linear(4, 4)]
        self.register_buffer("mask", torch.ones(4))
        self.frozen = nn.Parameter(torch.ones(4), requires_grad=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.embed(idx) * self.gain + self.offset
        return self.heads[0](x) * self.mask * self.frozen


def updated_by_adamw() -> set[str]:
    """The attributes of MysteryModel that one AdamW step over ``parameters()`` changes, measured."""
    idx = torch.randint(0, 8, (4, 3), generator=torch.Generator().manual_seed(0))
    reports = measure_attributes(_build(MysteryModel), MYSTERY_ATTRIBUTES, lambda m: m(idx).pow(2).mean())
    return {r.name for r in reports if r.changed}


_WHY_NOT = {
    "offset": "offset 是 requires_grad=True 的普通张量：算出了梯度，但没有注册，不在 parameters() 里（陷阱 2）。",
    "heads": "heads 是普通 list：里面的 nn.Linear 没有注册为子模块，优化器拿不到它（陷阱 1）。",
    "mask": "mask 是缓冲区：会被 state_dict() 保存、被 .to() 搬走，但不在 parameters() 里。",
    "frozen": "frozen 在 parameters() 里，但 requires_grad=False：它没有梯度，AdamW 跳过梯度为 None 的参数（陷阱 5）。",
}


def _check_updated(answer: Any) -> None:
    expect(isinstance(answer, (set, list, tuple)), "请给一个属性名的集合，例如 {'gain'}。")
    names = {str(a).split(".")[0] for a in answer}  # "embed.weight" counts as "embed"
    unknown = names - set(MYSTERY_ATTRIBUTES)
    expect(not unknown, f"MysteryModel 没有这些属性：{sorted(unknown)}；可选的是 {list(MYSTERY_ATTRIBUTES)}。")
    truth = updated_by_adamw()
    extra, missing = sorted(names - truth), sorted(truth - names)
    expect(not extra, "".join(f"{n} 不会被更新。{_WHY_NOT.get(n, '')}\n" for n in extra).strip())
    expect(not missing, f"漏了 {missing}：nn.Parameter 会被直接注册，子模块（如 nn.Embedding）的参数会被递归收集。")


q1 = Problem(
    prompt="ch03.MysteryModel 有 embed、gain、offset、heads、mask、frozen 六个属性，forward 每个都用到。"
    "一步 AdamW(model.parameters()) 之后，哪些属性的值变了？给一个名字的集合。",
    checker=_check_updated,
    hint_text="一个一个对照 3.6 的五个陷阱：这个属性注册了吗？在 parameters() 里吗？backward 之后它有梯度吗？",
    solution_text="{'embed', 'gain'}  # offset：未注册；heads：普通 list；mask：缓冲区；frozen：没有梯度",
    reference=updated_by_adamw,
    praise="对：只有注册为参数、并且得到了梯度的 embed 和 gain 被更新。",
)


# ----------------------------------------------------------------------------- q2: fix a plain dict of layers


class BrokenHeads(nn.Module):
    """Two Linear heads kept in a plain Python dict, by name: forward works, but nothing is registered."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.heads = {"left": nn.Linear(width, width), "right": nn.Linear(width, width)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads["left"](x) + self.heads["right"](x)


HEAD_KEYS = ("heads.left.weight", "heads.left.bias", "heads.right.weight", "heads.right.bias")


def _fixed_heads() -> type[nn.Module]:
    class FixedHeads(BrokenHeads):
        def __init__(self, width: int = 8) -> None:
            super().__init__(width)
            self.heads = nn.ModuleDict(self.heads)

    return FixedHeads


def _check_heads(answer: Any) -> None:
    model = _build(answer) if isinstance(answer, type) else answer
    expect(isinstance(model, nn.Module), f"请给一个 nn.Module 的子类（或它的实例），得到的是 {type(answer).__name__}。")
    expect(hasattr(model, "heads"), "请保留属性名 self.heads，只改它的类型。")
    expect(_count(model) > 0, "parameters() 还是空的：普通 dict 里的层不会被注册。有没有一个像 nn.ModuleList、却按名字存层的容器？")
    expect(not isinstance(model.heads, nn.ModuleList),
           "nn.ModuleList 会把名字丢掉（forward 里的 self.heads['left'] 就找不到了）：换一个按名字存层的容器。")
    expected = 2 * _count(_build(lambda: nn.Linear(8, 8)))
    expect(_count(model) == expected, f"参数个数是 {_count(model):,}，应为两层 Linear(8, 8) 共 {expected:,}。")
    keys = tuple(model.state_dict())
    expect(set(HEAD_KEYS) <= set(keys), f"state_dict() 的键是 {list(keys)}，应含 {list(HEAD_KEYS)}：保留 left、right 这两个名字。")
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    (report,) = measure_attributes(model, ["heads"], lambda m: m(x).pow(2).mean())
    expect(report.in_parameters and report.changed, "heads 的参数还没有全部交给优化器：检查两层是否都注册了。")


q2 = Problem(
    prompt="BrokenHeads 把两层 nn.Linear(8, 8) 按名字放在普通 dict 里（'left'、'right'），parameters() 是空的。"
    "写一个修好的类 FixedHeads：保留 self.heads 和这两个名字，让 state_dict() 的键是 heads.left.weight 这样的。",
    checker=_check_heads,
    hint_text="nn.Module 只认得赋给它的 Parameter 和 Module；dict 不是 Module。torch.nn 里有一个按名字存子模块的容器，3.7 节的树里见过它。",
    solution_text=(
        "class FixedHeads(nn.Module):\n"
        "    def __init__(self, width=8):\n"
        "        super().__init__()\n"
        "        self.heads = nn.ModuleDict({\"left\": nn.Linear(width, width), \"right\": nn.Linear(width, width)})\n"
        "\n"
        "    def forward(self, x):\n"
        "        return self.heads[\"left\"](x) + self.heads[\"right\"](x)"
    ),
    reference=_fixed_heads,
    untouched=lambda answer: isinstance(answer, type) and getattr(_build(answer), "heads", None) is ____,
    praise="对：nn.ModuleDict 按名字注册了两层，一步 AdamW 真的改变了它们，state_dict() 也用这两个名字存下了它们。",
)


# ----------------------------------------------------------------------------- q3: a tied weight counts once


def tied_count() -> int:
    """Parameters of TwoLayerModel(65, 24) after tying lm_head.weight to the embedding, measured."""
    model = _build(lambda: TwoLayerModel(65, n_embd=24))
    model.lm_head.weight = model.token_embedding_table.weight
    return _count(model)


def _check_tied(answer: Any) -> None:
    n = _as_int(answer)
    expect(n != _count(_build(lambda: TwoLayerModel(65, n_embd=24))), "那是没有绑定时的数：同一个 Parameter 出现两次，parameters() 只给一次。")
    expect(n == tied_count(), "还不对：绑定后只剩一张 (65, 24) 的表，再加 lm_head 的偏置。")


q3 = Problem(
    prompt=(
        "model = TwoLayerModel(65, n_embd=24); model.lm_head.weight = model.token_embedding_table.weight\n"
        "之后 sum(p.numel() for p in model.parameters()) 是多少？"
    ),
    checker=_check_tied,
    hint_text="权重绑定：两个名字指向同一个 Parameter 对象。parameters() 按对象去重。",
    solution_text="65 * 24 + 65  # 1625：绑定的表只算一次",
    reference=tied_count,
    praise="对：同一个 Parameter 只数一次（state_dict() 里却有两个键）。",
)


# ----------------------------------------------------------------------------- q4: predict how many tensors


def registered_after_fix() -> int:
    """How many tensors ``parameters()`` yields for MysteryModel once ``heads`` is a ModuleList, measured."""
    model = _build(MysteryModel)
    model.heads = nn.ModuleList(model.heads)
    return len(list(model.parameters()))


def _check_tensor_count(answer: Any) -> None:
    n = _as_int(answer)
    truth = registered_after_fix()
    expect(n != truth - 2, "少了两个：改过之后 heads 是 ModuleList，里面那层 nn.Linear 的 weight 和 bias 都注册了。")
    expect(n != truth - 1, "少了一个：是不是把 nn.Linear 当成了一个张量（它有 weight 和 bias 两个），"
                           "或者漏了 frozen？requires_grad=False 的 Parameter 照样在 parameters() 里。")
    expect(n < truth + 1, "多了：offset 是普通张量（requires_grad=True 也不注册），mask 是缓冲区，"
                          "都不在 parameters() 里。")
    expect(n == truth, "还不对：逐个属性问一句“它是 Parameter，或者在一个注册过的子模块里吗？”，再数每个子模块有几个张量。")


q4 = Problem(
    prompt="先预测：m = ch03.MysteryModel(); m.heads = nn.ModuleList(m.heads) 之后，"
    "len(list(m.parameters())) 是多少（几个张量，不是几个数）？",
    checker=_check_tensor_count,
    hint_text="embed 是 nn.Embedding（1 个张量）；gain、frozen 是 Parameter；nn.Linear 有 weight 和 bias；offset 和 mask 呢？",
    solution_text="5  # embed.weight、gain、frozen、heads.0.weight、heads.0.bias；offset 是普通张量，mask 是缓冲区",
    reference=registered_after_fix,
    praise="对：5 个。frozen 没有梯度，却仍在 parameters() 里；ModuleList 让那层 Linear 的两个张量都注册了。",
)
