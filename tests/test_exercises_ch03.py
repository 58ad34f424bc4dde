import torch
import torch.nn as nn

from nanogpt_lite.exercises import ch03


def test_q1_counts_are_checked_against_torch():
    assert ch03.q1.check(65 * 10 * 2 + 65).correct
    assert ch03.q1.check(torch.tensor(1365)).correct
    assert "bias" in repr(ch03.q1.check(65 * 10 * 2))
    assert "二元模型" in repr(ch03.q1.check(4225))
    assert ch03.q1.check(True).kind == "incorrect" and ch03.q1.check("1365").kind == "incorrect"


def test_q2_is_the_measured_set_and_explains_each_mistake():
    assert ch03.updated_by_adamw() == {"embed", "gain"}
    assert ch03.q2.check(["embed.weight", "gain"]).correct
    wrong = repr(ch03.q2.check({"embed", "gain", "offset", "heads", "mask", "frozen"}))
    for advice in ("普通张量", "普通 list", "缓冲区", "requires_grad=False"):
        assert advice in wrong
    assert "漏了 ['embed']" in repr(ch03.q2.check({"gain"}))
    assert "没有这些属性" in repr(ch03.q2.check({"weight1"}))
    assert ch03.q2.check("gain").kind == "incorrect"


def test_q2_mystery_model_uses_every_attribute_in_forward():
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


def test_q3_accepts_a_real_fix_and_rejects_the_bug():
    assert sum(p.numel() for p in ch03.BrokenStack().parameters()) == 0
    assert "nn.ModuleList" in repr(ch03.q3.check(ch03.BrokenStack))

    class Renamed(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])

    assert "self.layers" in repr(ch03.q3.check(Renamed))

    class TooWide(ch03.BrokenStack):
        def __init__(self):
            super().__init__(width=16)
            self.layers = nn.ModuleList(self.layers)

    assert "应为" in repr(ch03.q3.check(TooWide))
    fixed = ch03.q3.reference()
    assert ch03.q3.check(fixed()).correct  # an instance works too
    assert ch03.q3.check(42).kind == "incorrect"


def test_q4_tied_weight_counts_once():
    assert ch03.tied_count() == 65 * 24 + 65
    assert ch03.q4.check(1625).correct
    assert "没有共享" in repr(ch03.q4.check(65 * 24 * 2 + 65))


def test_checking_does_not_disturb_the_learners_random_stream():
    torch.manual_seed(1)
    expected = torch.rand(2)
    torch.manual_seed(1)
    for q in (ch03.q1, ch03.q2, ch03.q3, ch03.q4, ch03.q5):
        q.check(q.reference())
    assert torch.equal(torch.rand(2), expected)


def test_q3_class_with_the_blank_left_in_is_not_attempted():
    from nanogpt_lite.exercises import ____

    class Untouched(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = ____

    class Crashing(nn.Module):
        def __init__(self):
            raise RuntimeError("boom")

    assert ch03.q3.check(Untouched).kind == "not attempted"
    crashed = ch03.q3.check(Crashing)
    assert crashed.kind == "incorrect" and "boom" in repr(crashed)


def _mask_class(line):
    """A CausalMask whose one line is ``line(self, mask)``, as a learner might write it."""
    class CausalMask(nn.Module):
        def __init__(self, block_size=8):
            super().__init__()
            line(self, torch.tril(torch.ones(block_size, block_size)))

        def forward(self, scores):
            T = scores.size(-1)
            return scores.masked_fill(self.mask[:T, :T] == 0, float("-inf"))

    return CausalMask


def test_q5_accepts_a_non_persistent_buffer():
    assert ch03.q5.check(_mask_class(lambda self, m: self.register_buffer("mask", m, persistent=False))).correct
    assert ch03.q5.check(ch03.q5.reference()()).correct  # an instance works too


def test_q5_explains_each_typical_mistake():
    def plain(self, m):
        self.mask = m

    def parameter(self, m):
        self.mask = nn.Parameter(m, requires_grad=False)

    def wrong_values(self, m):
        self.register_buffer("mask", torch.ones_like(m), persistent=False)

    def renamed(self, m):
        self.register_buffer("causal", m, persistent=False)

    cases = {
        plain: "普通张量",
        parameter: "成了参数",
        (lambda self, m: self.register_buffer("mask", m)): "persistent=False",
        wrong_values: "值变了",
        renamed: "保留 mask",
    }
    for line, advice in cases.items():
        feedback = ch03.q5.check(_mask_class(line))
        assert feedback.kind == "incorrect" and advice in repr(feedback), (advice, feedback)
    assert ch03.q5.check("mask").kind == "incorrect"


def test_q5_blank_is_not_attempted():
    from nanogpt_lite.exercises import ____

    def blank(self, m):
        self.mask = ____

    assert ch03.q5.check(_mask_class(blank)).kind == "not attempted"


def test_class_solutions_run_as_written_and_pass_their_checker():
    """solution() shows q3's and q5's whole class: run as written (as nbgrader's solution cell does), it passes.

    q5's solution used to be the one changed line, which does not run outside ``__init__`` (``self`` is
    undefined), so nbgrader's solution cell left the blank class in place and scored 0.
    """
    for problem, name in ((ch03.q3, "FixedStack"), (ch03.q5, "CausalMask")):
        namespace = {"torch": torch, "nn": nn}
        exec(problem.solution_text, namespace)  # noqa: S102 - the package's own solution text
        assert problem.check(namespace[name]).correct, name
