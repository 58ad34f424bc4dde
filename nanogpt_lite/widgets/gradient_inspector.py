"""Gradient inspector: click forward / zero_grad / backward / step on the FAQ's ``nn.Linear(2, 1)`` and watch ``.grad``.

    from nanogpt_lite.widgets.gradient_inspector import GradientInspector
    GradientInspector()

After every click it shows the parameters, their ``.grad``, the loss history and what the click did.
"Train one step" runs the FAQ's loop body and honours the skip checkboxes, so leaving out
``zero_grad``, ``backward`` or ``step`` can be seen directly.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..instruments.grad_steps import LinearStepper, StepOrderError, StepperState
from ..plotting import figure_label
from .inputs import ErrorGuard
from .saved import chapter_widget

ACTIONS = ("forward", "zero_grad", "backward", "step")


def _num(value: float) -> str:
    return f"{value:.4f}"


def _grad(value: float | None) -> str:
    return "None" if value is None else _num(value)


def describe_action(action: str, before: StepperState, after: StepperState) -> str:
    """One sentence (zh) on what ``action`` changed, read off the states before and after it."""
    if action == "forward":
        return f"forward：算出 loss = {_num(after.losses[-1])}，并记下一张新的计算图。参数和 .grad 都没变。"
    if action == "zero_grad":
        return "zero_grad(set_to_none=True)：所有 .grad 变成 None。参数没变。"
    if action == "backward":
        if before.weight_grad is None:
            return "backward：.grad 从 None 变成 ∂loss/∂参数。参数没变。"
        return "backward：新梯度加到了旧的 .grad 上（累加！没有先 zero_grad）。参数没变。"
    if action == "step":
        if before.weight == after.weight and before.bias == after.bias:
            return "step：参数一点没动——.grad 是 None（没 backward），SGD 跳过了它们。"
        moved = [a - b for a, b in zip(after.weight + [after.bias], before.weight + [before.bias])]
        return f"step：参数 -= lr × grad，这一步移动了 [{', '.join(_num(m) for m in moved)}]。"
    raise ValueError(f"没有这个操作：{action!r}，只能是 {ACTIONS} 之一。 / unknown action {action!r}; expected one of {ACTIONS}")


def loss_sparkline(losses: list[float], width: int = 260, height: int = 70) -> str:
    """An inline SVG line of the loss history (empty text when there is none yet)."""
    if not losses:
        return ""
    low, high = min(losses), max(losses)
    dx = (width - 10) / max(len(losses) - 1, 1)
    y = lambda v: 5 + (high - v) / (high - low) * (height - 10) if high > low else height / 2  # noqa: E731
    points = " ".join(f"{5 + i * dx:.1f},{y(v):.1f}" for i, v in enumerate(losses))
    return (  # the theme's border and brand colours: a white box would glare in JupyterLab Dark
        f'<svg width="{width}" height="{height}" style="border:1px solid var(--jp-border-color1, #ddd)">'
        f'<polyline fill="none" style="stroke:var(--jp-brand-color1, #1565c0)" stroke-width="2" points="{points}"/></svg>'
    )


def lr_message(old: float, new: float) -> str | None:
    """What moving the lr slider to ``new`` reports, or None when the shown value (3 decimals) stays the same: the
    browser's slider snaps 0.01 to 0.010000000000000002 when it is first drawn, and nobody moved it."""
    if f"{old:.3f}" == f"{new:.3f}":
        return None
    return f"学习率改成了 {new:.3f}（下一次 step 生效）。"


def render_state(state: StepperState, message: str = "") -> str:
    """The inspector's view as HTML: parameter table, loss history (numbers and a line), the last few actions."""
    rows = [
        ("w₁", state.weight[0], None if state.weight_grad is None else state.weight_grad[0]),
        ("w₂", state.weight[1], None if state.weight_grad is None else state.weight_grad[1]),
        ("b", state.bias, state.bias_grad),
    ]
    table = "".join(f"<tr><td>{name}</td><td>{_num(value)}</td><td>{_grad(grad)}</td></tr>" for name, value, grad in rows)
    cell = "td,th{padding:1px 12px;text-align:right}"
    recent = state.losses[-8:]
    history = ", ".join(_num(v) for v in recent) if recent else "（还没有 forward）"
    if len(state.losses) > len(recent):
        history = "…, " + history
    actions = " → ".join(state.actions[-10:]) or "（还没有操作）"
    return (
        f'<div class="nl-gradient-state" style="font-family:monospace"><style>.nl-gradient-state {cell.replace(",", ",.nl-gradient-state ")}</style>'
        f'<p style="margin:2px;white-space:pre-wrap">{html.escape(message)}</p>'
        '<table><tr><th>参数</th><th>值</th><th>.grad</th></tr>'
        f"{table}</table>"
        f'<p style="margin:2px">lr = {state.lr:.3f} · x = [[1, 2]], y = [[3]]</p>'
        f'<p style="margin:2px">loss 历史（{len(state.losses)} 次 forward）：{history}</p>'
        f"{loss_sparkline(state.losses)}"
        f'<p style="margin:2px">最近的操作：{html.escape(actions)}</p></div>'
    )


def accumulation_figure(times: int = 3, seed: int = 0) -> Figure:
    """The static twin: ``.grad`` of w₁, w₂, b after each of ``times`` forward+backward with no zero_grad and no step."""
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"times 必须是 ≥ 1 的整数，收到 {times!r}。 / times must be an int >= 1, got {times!r}")
    stepper = LinearStepper(seed=seed)
    grads = []
    for _ in range(times):
        stepper.forward()
        stepper.backward()
        state = stepper.state()
        grads.append(state.weight_grad + [state.bias_grad])
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    width = 0.8 / times
    for k, values in enumerate(grads):
        ax.bar(np.arange(3) + (k - (times - 1) / 2) * width, values, width, label=figure_label(f"第 {k + 1} 次 backward 后", f"after backward #{k + 1}"))
    ax.set_xticks(range(3), ["w₁.grad", "w₂.grad", "b.grad"])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_title(figure_label("没有 zero_grad：第 k 次 backward 后 .grad = k × 第一次", "no zero_grad: after k backward()s, .grad = k × the first"))
    ax.legend()
    return fig


class GradientInspector(widgets.VBox):
    """Buttons for the four training-loop lines, skip checkboxes for "train one step", an lr slider."""

    def __init__(self, lr: float = 0.01, seed: int = 0) -> None:
        super().__init__()
        self.seed = seed
        self.stepper = LinearStepper(lr=lr, seed=seed)
        self.forward_button = widgets.Button(description="forward", tooltip="loss = (model(x) - y) ** 2")
        self.zero_grad_button = widgets.Button(description="zero_grad", tooltip="optimizer.zero_grad(set_to_none=True)")
        self.backward_button = widgets.Button(description="backward", tooltip="loss.backward()")
        self.step_button = widgets.Button(description="step", tooltip="optimizer.step()")
        self.train_step_button = widgets.Button(description="训练一步", button_style="primary", tooltip="forward, zero_grad, backward, step")
        self.reset_button = widgets.Button(description="重来 reset")
        snug = widgets.Layout(width="auto", margin="0 14px 0 4px")
        self.skip_zero_grad = widgets.Checkbox(value=False, description="跳过 zero_grad", indent=False, layout=snug)
        self.skip_backward = widgets.Checkbox(value=False, description="跳过 backward", indent=False, layout=snug)
        self.skip_step = widgets.Checkbox(value=False, description="跳过 step", indent=False, layout=snug)
        self.lr = widgets.FloatSlider(value=lr, min=0.001, max=0.2, step=0.001, readout_format=".3f", description="学习率 lr")
        self.view = widgets.HTML()
        self.out = widgets.Output()
        self._guard = ErrorGuard(self.out)  # callbacks' errors show in self.out

        for action in ACTIONS:
            getattr(self, f"{action}_button").on_click(self._guard(lambda _, action=action: self.apply(action)))
        self.train_step_button.on_click(self._guard(lambda _: self.train_step()))
        self.reset_button.on_click(self._guard(lambda _: self.reset()))
        self.lr.observe(self._guard(self._set_lr), names="value")

        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")  # a narrow notebook wraps, never clips
        self.children = [
            widgets.HBox([self.forward_button, self.zero_grad_button, self.backward_button, self.step_button], layout=wrap),
            widgets.HBox([self.train_step_button, self.skip_zero_grad, self.skip_backward, self.skip_step], layout=wrap),
            widgets.HBox([self.lr, self.reset_button], layout=wrap),
            self.view,
            self.out,
        ]
        chapter_widget(self, "nl-gradient-inspector")
        self._show("点一个按钮开始：forward → backward → step。")


    def _show(self, message: str) -> None:
        self.view.value = render_state(self.stepper.state(), message)

    def apply(self, action: str) -> str:
        """Run one training-loop line; return (and show) what it changed."""
        if action not in ACTIONS:
            raise ValueError(f"没有这个操作：{action!r}，只能是 {ACTIONS} 之一。 / unknown action {action!r}; expected one of {ACTIONS}")
        before = self.stepper.state()
        try:
            getattr(self.stepper, action)()
        except StepOrderError as error:
            message = f"{action} 没有执行：{error}"
        else:
            message = describe_action(action, before, self.stepper.state())
        self._show(message)
        return message

    def train_step(self) -> str:
        """forward, zero_grad, backward, step, leaving out the checked ones; show what each did."""
        skipped = {"zero_grad": self.skip_zero_grad.value, "backward": self.skip_backward.value, "step": self.skip_step.value}
        messages = [self.apply(action) for action in ACTIONS if not skipped.get(action, False)]
        note = "（跳过了 " + "、".join(a for a, s in skipped.items() if s) + "）" if any(skipped.values()) else ""
        message = "训练一步" + note + "：\n" + "\n".join(messages)
        self._show(message)
        return message

    def reset(self) -> None:
        self.stepper = LinearStepper(lr=self.lr.value, seed=self.seed)
        self._show("重新开始：参数回到初始值，.grad 是 None。")

    def _set_lr(self, change: dict) -> None:
        self.stepper.set_lr(change["new"])
        message = lr_message(change["old"], change["new"])
        if message is not None:
            self._show(message)
