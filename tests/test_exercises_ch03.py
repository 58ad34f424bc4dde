import torch
import torch.nn as nn

from nanogpt_lite.exercises import ch03


def test_q1_is_the_measured_set_and_explains_each_mistake():
    assert ch03.updated_by_adamw() == {"embed", "gain"}
    assert ch03.q1.check(["embed.weight", "gain"]).correct
    wrong = repr(ch03.q1.check({"embed", "gain", "offset", "heads", "mask", "frozen"}))
    for advice in ("普通张量", "普通 list", "缓冲区", "requires_grad=False"):
        assert advice in wrong
    assert "漏了 ['embed']" in repr(ch03.q1.check({"gain"}))
    assert "没有这些属性" in repr(ch03.q1.check({"weight1"}))
    assert ch03.q1.check("gain").kind == "incorrect"


def test_q1_mystery_model_uses_every_attribute_in_forward():
    torch.manual_seed(0)
    model = ch03.MysteryModel()
    idx = torch.tensor([[1, 2]])
    base = model(idx)
    for name in ("offset", "mask", "frozen"):
        getattr(model, name).data += 1.0
        assert not torch.equal(model(idx), base), name
        getattr(model, name).data -= 1.0
    model.heads[0].bias.data += 1.0
    assert not torch.equal(model(idx), base)


def test_q2_accepts_a_module_dict_and_rejects_the_bug():
    assert sum(p.numel() for p in ch03.BrokenHeads().parameters()) == 0
    assert "普通 dict" in repr(ch03.q2.check(ch03.BrokenHeads))

    class Renamed(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleDict({"left": nn.Linear(8, 8), "right": nn.Linear(8, 8)})

    assert "self.heads" in repr(ch03.q2.check(Renamed))

    class AsList(ch03.BrokenHeads):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleList(self.heads.values())

    assert "名字" in repr(ch03.q2.check(AsList))

    class OtherNames(ch03.BrokenHeads):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"a": self.heads["left"], "b": self.heads["right"]})

    assert "left、right" in repr(ch03.q2.check(OtherNames))

    class TooWide(ch03.BrokenHeads):
        def __init__(self):
            super().__init__(width=16)
            self.heads = nn.ModuleDict(self.heads)

    assert "应为" in repr(ch03.q2.check(TooWide))
    fixed = ch03.q2.reference()
    assert ch03.q2.check(fixed()).correct  # an instance works too
    assert ch03.q2.check(42).kind == "incorrect"


def test_q3_tied_weight_counts_once():
    assert ch03.tied_count() == 65 * 24 + 65
    assert ch03.q3.check(1625).correct
    assert "没有绑定" in repr(ch03.q3.check(65 * 24 * 2 + 65))


def test_checking_does_not_disturb_the_learners_random_stream():
    torch.manual_seed(1)
    expected = torch.rand(2)
    torch.manual_seed(1)
    for q in (ch03.q1, ch03.q2, ch03.q3, ch03.q4):
        q.check(q.reference())
    assert torch.equal(torch.rand(2), expected)


def test_q2_class_with_the_blank_left_in_is_not_attempted():
    from nanogpt_lite.exercises import ____

    class Untouched(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = ____

    class Crashing(nn.Module):
        def __init__(self):
            raise RuntimeError("boom")

    assert ch03.q2.check(Untouched).kind == "not attempted"
    crashed = ch03.q2.check(Crashing)
    assert crashed.kind == "incorrect" and "boom" in repr(crashed)


def test_q4_predicts_the_measured_tensor_count_and_explains_typical_guesses():
    model = ch03.MysteryModel()
    model.heads = nn.ModuleList(model.heads)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["gain", "frozen", "embed.weight", "heads.0.weight", "heads.0.bias"]
    assert ch03.registered_after_fix() == len(names) == 5
    assert ch03.q4.check(5).correct and ch03.q4.check(torch.tensor(5)).correct
    assert "weight 和 bias" in repr(ch03.q4.check(3))
    assert "frozen" in repr(ch03.q4.check(4))
    for guess in (6, 7):
        assert "缓冲区" in repr(ch03.q4.check(guess))
    assert ch03.q4.check(2).kind == "incorrect" and ch03.q4.check("5").kind == "incorrect"


def test_the_q2_solution_runs_as_written_and_passes_its_checker():
    """solution() shows q2's whole class: run as written (as nbgrader's solution cell does), it passes."""
    namespace = {"torch": torch, "nn": nn}
    exec(ch03.q2.solution_text, namespace)  # noqa: S102 - the package's own solution text
    assert ch03.q2.check(namespace["FixedHeads"]).correct
