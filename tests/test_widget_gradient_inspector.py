import re

import pytest

from nanogpt_lite.instruments.grad_steps import LinearStepper
from nanogpt_lite.widgets.gradient_inspector import (
    GradientInspector,
    describe_action,
    loss_sparkline,
    lr_message,
    render_state,
)


def grads_shown(widget):
    """The .grad column of the view's table: three numbers, or 'None'."""
    rows = re.findall(r"<tr><td>(w₁|w₂|b)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", widget.view.value)
    return [grad if grad == "None" else float(grad) for _, _, grad in rows]


def values_shown(widget):
    rows = re.findall(r"<tr><td>(w₁|w₂|b)</td><td>([^<]+)</td>", widget.view.value)
    return [float(value) for _, value in rows]


def test_it_is_findable_and_starts_at_the_seeded_linear():
    w = GradientInspector()
    assert "nl-gradient-inspector" in w._dom_classes
    state = LinearStepper(seed=0).state()
    assert values_shown(w) == [round(v, 4) for v in state.weight + [state.bias]]
    assert grads_shown(w) == ["None"] * 3


def test_clicking_forward_backward_step_shows_each_change():
    w = GradientInspector()
    w.forward_button.click()
    assert grads_shown(w) == ["None"] * 3 and "1 次 forward" in w.view.value
    w.backward_button.click()
    state = w.stepper.state()
    assert grads_shown(w) == [round(g, 4) for g in state.weight_grad + [state.bias_grad]]
    assert "从 None 变成" in w.view.value
    before = values_shown(w)
    w.step_button.click()
    assert values_shown(w) != before and "参数 -= lr × grad" in w.view.value
    w.zero_grad_button.click()
    assert grads_shown(w) == ["None"] * 3


def test_backward_twice_without_zero_grad_doubles_the_shown_grad():
    w = GradientInspector()
    w.forward_button.click(); w.backward_button.click()
    once = grads_shown(w)
    w.forward_button.click(); w.backward_button.click()
    assert grads_shown(w) == pytest.approx([2 * g for g in once], abs=1e-4) and "累加" in w.view.value


def test_backward_without_a_fresh_forward_explains_instead_of_crashing():
    w = GradientInspector()
    w.backward_button.click()
    assert "backward 没有执行" in w.view.value and grads_shown(w) == ["None"] * 3
    assert w.out.outputs == ()  # the expected mistake is explained in the view, not as a traceback


def test_step_without_backward_says_nothing_moved():
    w = GradientInspector()
    before = values_shown(w)
    w.forward_button.click(); w.step_button.click()
    assert values_shown(w) == before and "一点没动" in w.view.value


def test_train_step_honours_each_skip_checkbox():
    w = GradientInspector()
    w.skip_step.value = True
    w.train_step_button.click(); w.train_step_button.click()
    assert values_shown(w) == values_shown(GradientInspector()) and "跳过了 step" in w.view.value

    w = GradientInspector()
    w.skip_zero_grad.value, w.skip_step.value = True, True
    for _ in range(3):
        w.train_step_button.click()
    once = GradientInspector()
    once.forward_button.click(); once.backward_button.click()
    assert grads_shown(w) == pytest.approx([3 * g for g in grads_shown(once)], abs=1e-3)

    w = GradientInspector()
    w.skip_backward.value = True
    w.train_step_button.click()
    assert grads_shown(w) == ["None"] * 3 and "一点没动" in w.view.value

    w = GradientInspector()
    for _ in range(4):
        w.train_step_button.click()
    losses = w.stepper.state().losses
    assert len(losses) == 4 and all(b < a for a, b in zip(losses, losses[1:]))
    assert "4 次 forward" in w.view.value and "<polyline" in w.view.value


def test_the_lr_slider_sets_the_step_size():
    w = GradientInspector()
    w.lr.value = 0.05
    assert w.stepper.lr == 0.05 and "lr = 0.050" in w.view.value
    w.forward_button.click(); w.backward_button.click()
    state = w.stepper.state()
    w.step_button.click()
    moved = [a - b for a, b in zip(w.stepper.state().weight, state.weight)]
    assert moved == pytest.approx([-0.05 * g for g in state.weight_grad], rel=1e-5)


def test_lr_message_reports_only_a_change_the_learner_can_see():
    assert lr_message(0.01, 0.05) == "学习率改成了 0.050（下一次 step 生效）。"
    assert lr_message(0.01, 0.010000000000000002) is None  # the browser slider snapping 0.01 to its step grid
    assert lr_message(0.05, 0.05) is None


def test_opening_reports_no_change_even_when_the_slider_snaps_the_value():
    w = GradientInspector()
    start = w.view.value
    assert "点一个按钮开始" in start and "学习率改成了" not in start
    w.lr.value = 0.010000000000000002  # what the browser sends back when it first draws the slider
    assert w.view.value == start and w.stepper.lr == pytest.approx(0.01)
    w.lr.value = 0.011
    assert "学习率改成了 0.011" in w.view.value and w.out.outputs == ()


def test_reset_goes_back_to_the_start_with_the_current_lr():
    w = GradientInspector()
    start = w.view.value
    w.lr.value = 0.02
    w.train_step_button.click()
    w.reset_button.click()
    assert values_shown(w) == values_shown(GradientInspector()) and grads_shown(w) == ["None"] * 3
    assert w.stepper.lr == 0.02 and "重新开始" in w.view.value and w.view.value != start


def test_pure_renderers():
    s = LinearStepper()
    assert loss_sparkline([]) == ""
    assert re.search(r'points="([^"]*)"', loss_sparkline([3.0, 2.0, 1.0])).group(1).count(",") == 3
    s.forward()
    before = s.state()
    with pytest.raises(ValueError, match="^没有这个操作.*unknown action"):  # Chinese first, then English
        describe_action("jump", before, before)
    html = render_state(before, "<b>x</b>")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "None" in html
    with pytest.raises(ValueError, match="unknown action"):
        GradientInspector().apply("jump")


def test_the_static_twin_shows_k_times_the_first_gradient():
    from nanogpt_lite.widgets.gradient_inspector import accumulation_figure

    fig = accumulation_figure(times=3)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    first, second, third = heights[0:3], heights[3:6], heights[6:9]
    assert len(heights) == 9 and second == [2 * h for h in first]
    assert third == pytest.approx([3 * h for h in first], rel=1e-6)
    s = LinearStepper()
    s.forward(); s.backward()
    assert first == s.state().weight_grad + [s.state().bias_grad]
    with pytest.raises(ValueError, match="^times 必须是 ≥ 1 的整数.* / times must be"):
        accumulation_figure(times=0)


def test_a_failing_click_is_shown_then_cleared_once_a_click_works(monkeypatch):
    """Inside a kernel the Output shows the traceback. A working click sends the Output
    nothing (``out.capture(clear_output=True)`` would clear it on every click), except once after a failure."""
    w = GradientInspector()
    cleared = []
    monkeypatch.setattr(w.out, "clear_output", lambda *a, **k: cleared.append(k))
    w.forward_button.click()
    w.lr.value = 0.05
    assert cleared == []
    monkeypatch.setattr(w.stepper, "forward", lambda: 1 / 0)
    w.forward_button.click()  # ipywidgets' click dispatcher reports the error itself outside a kernel
    assert cleared == [{"wait": True}]
    monkeypatch.undo()
    monkeypatch.setattr(w.out, "clear_output", lambda *a, **k: cleared.append(k))
    w.backward_button.click()
    assert cleared == [{"wait": True}, {}] and "backward" in w.view.value
