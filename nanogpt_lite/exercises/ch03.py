"""Chapter 3 exercises: what ``nn.Module`` registers, what AdamW updates, the plain-list bug, a tied
weight, and a causal mask kept as a non-persistent buffer.

Every checker compares with a value measured from torch when it runs, not with a number typed here.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import copy

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


q2 = Problem(
    prompt="ch03.MysteryModel 有 embed、gain、offset、heads、mask、frozen 六个属性，forward 每个都用到。"
    "一步 AdamW(model.parameters()) 之后，哪些属性的值变了？给一个名字的集合。",
    checker=_check_updated,
    hint_text="一个一个对照 3.6 的五个陷阱：这个属性注册了吗？在 parameters() 里吗？backward 之后它有梯度吗？",
    solution_text="{'embed', 'gain'}  # offset：未注册；heads：普通 list；mask：缓冲区；frozen：没有梯度",
    reference=updated_by_adamw,
    praise="对：只有注册为参数、并且得到了梯度的 embed 和 gain 被更新。",
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
    expect(_count(model) > 0, "parameters() 还是空的：普通 list 里的层不会被注册，用 nn.ModuleList 包起来。")
    expected = 3 * _count(_build(lambda: nn.Linear(8, 8)))
    expect(_count(model) == expected, f"参数个数是 {_count(model):,}，应为 3 层 Linear(8, 8) 共 {expected:,}。")
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    (report,) = measure_attributes(model, ["layers"], lambda m: m(x).pow(2).mean())
    expect(report.in_parameters and report.changed, "layers 的参数还没有全部交给优化器：检查每一层是否都在 ModuleList 里。")
    expect(report.in_state_dict, "layers 没有出现在 state_dict() 里：它还不是注册过的子模块。")


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
    praise="对：三层都注册了，一步 AdamW 真的改变了它们，state_dict() 也存下了它们。",
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


# ----------------------------------------------------------------------------- q5: a mask as a non-persistent buffer


def _mask_module() -> type[nn.Module]:
    class CausalMask(nn.Module):
        def __init__(self, block_size: int = 8) -> None:
            super().__init__()
            mask = torch.tril(torch.ones(block_size, block_size))
            self.register_buffer("mask", mask, persistent=False)

        def forward(self, scores: torch.Tensor) -> torch.Tensor:
            T = scores.size(-1)
            return scores.masked_fill(self.mask[:T, :T] == 0, float("-inf"))

    return CausalMask


def _check_mask(answer: Any) -> None:
    model = _build(answer) if isinstance(answer, type) else answer
    expect(isinstance(model, nn.Module), f"请给一个 nn.Module 的子类（或它的实例），得到的是 {type(answer).__name__}。")
    expect(hasattr(model, "mask"), "找不到 self.mask：请保留 mask 这个名字。")
    expect(isinstance(model.mask, torch.Tensor), f"self.mask 应是张量，得到的是 {type(model.mask).__name__}。")
    expect(not any(p is model.mask for p in model.parameters()),
           "mask 成了参数：它会出现在 parameters() 里，被优化器当成要训练的数。掩码是固定的 0/1 表，注册成缓冲区。")
    moved = copy.deepcopy(model).to("meta").mask
    expect(moved.device.type == "meta",
           "mask 还是普通张量：model.to(device) 不会搬它（陷阱 3）。用 self.register_buffer(...) 注册它。")
    expect("mask" not in model.state_dict(),
           "mask 在 state_dict() 里：它随时能重新算出来，不必保存。register_buffer 加上 persistent=False。")
    truth = torch.tril(torch.ones(model.mask.shape))
    expect(model.mask.dim() == 2 and torch.equal(model.mask, truth),
           "mask 的值变了：请保留 torch.tril(torch.ones(block_size, block_size))。")
    out = model(torch.zeros(4, 4))
    expect(torch.equal(torch.isinf(out), torch.ones(4, 4).triu(1).bool()),
           "forward 的输出不对：对角线以上（未来的位置）应是 -inf，其余不变。")


q5 = Problem(
    prompt="CausalMask 把因果掩码存在 self.mask 里。改写那一行，让 mask 跟着 model.to(device) 走，"
    "却不进 state_dict()、也不在 parameters() 里。",
    checker=_check_mask,
    hint_text="self.register_buffer(名字, 张量, persistent=...)：第三个参数决定它进不进 state_dict()。",
    solution_text=(  # the whole class, like q3's: nbgrader's solution cell must bind CausalMask
        "class CausalMask(nn.Module):\n"
        "    def __init__(self, block_size=8):\n"
        "        super().__init__()\n"
        "        mask = torch.tril(torch.ones(block_size, block_size))\n"
        "        self.register_buffer(\"mask\", mask, persistent=False)   # 改写的就是这一行\n"
        "\n"
        "    def forward(self, scores):\n"
        "        T = scores.size(-1)\n"
        "        return scores.masked_fill(self.mask[:T, :T] == 0, float(\"-inf\"))"
    ),
    reference=_mask_module,
    untouched=lambda answer: isinstance(answer, type) and getattr(_build(answer), "mask", None) is ____,
    praise="对：mask 是不保存的缓冲区：.to() 搬它，state_dict() 不存它，优化器看不到它。",
)
