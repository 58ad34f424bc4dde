"""Chapter 5 in a real browser: run every cell, then click through the training loop in the gradient inspector."""
import re

import pytest

WIDGET = "nl-gradient-inspector"
VIEW = f".{WIDGET} .widget-html"


@pytest.fixture(scope="module")
def chapter(lab, browser):
    with lab.run_all(browser, "notebooks/05_backward.ipynb") as opened:
        yield opened


def button(chapter, text: str):
    return chapter.widget(WIDGET).locator("button").get_by_text(text, exact=True)


def grads(chapter) -> list[str]:
    """The .grad column of the parameter table (w1, w2, b)."""
    return chapter.page.locator(f"{VIEW} table tr td:nth-child(3)").all_inner_texts()


def losses(chapter) -> list[float]:
    history = re.search(r"loss 历史（\d+ 次 forward）：(.*)", chapter.text(VIEW)).group(1)
    return [float(v) for v in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", history)]


def click(chapter, text: str, pattern: str) -> None:
    chapter.measure(WIDGET, VIEW, lambda: button(chapter, text).click(), pattern)


def test_it_opens_without_reporting_a_change(chapter):
    view = chapter.text(VIEW)  # the slider's first render must not read as the learner moving it
    assert "点一个按钮开始" in view and "学习率改成了" not in view


def test_forward_backward_step_one_line_at_a_time(chapter):
    click(chapter, "重来 reset", "重新开始")
    assert grads(chapter) == ["None"] * 3
    click(chapter, "forward", r"forward：算出 loss = ")
    assert grads(chapter) == ["None"] * 3  # forward alone fills no .grad
    click(chapter, "backward", r"\.grad 从 None 变成")
    first = grads(chapter)
    assert "None" not in first
    click(chapter, "backward", r"backward 没有执行")  # the graph was freed by the first backward
    click(chapter, "forward", r"forward：")
    click(chapter, "backward", r"累加")
    doubled = grads(chapter)
    for once, twice in zip(first, doubled):  # same inputs, same parameters: accumulation doubles each .grad
        assert float(twice) == pytest.approx(2 * float(once), rel=1e-3)
    click(chapter, "step", r"step：参数 -= lr × grad")
    click(chapter, "zero_grad", r"所有 \.grad 变成 None")
    assert grads(chapter) == ["None"] * 3
    chapter.screenshot(WIDGET)


def test_train_step_lowers_the_loss_unless_backward_is_skipped(chapter):
    click(chapter, "重来 reset", "重新开始")
    for n in range(1, 5):
        click(chapter, "训练一步", rf"loss 历史（{n} 次 forward）")
    trained = losses(chapter)
    assert trained == sorted(trained, reverse=True) and trained[-1] < trained[0]
    chapter.widget(WIDGET).locator(".widget-checkbox:has-text('跳过 backward') input").check()
    click(chapter, "训练一步", r"跳过了 backward")
    click(chapter, "训练一步", r"loss 历史（6 次 forward）")
    frozen = losses(chapter)
    assert frozen[-1] == frozen[-2]  # no backward: no .grad, step moves nothing, the loss stays


def test_learning_rate_slider(chapter):
    handle = chapter.widget(WIDGET).locator(".widget-hslider .noUi-handle")
    handle.focus()
    for _ in range(3):
        chapter.measure(WIDGET, VIEW, lambda: chapter.page.keyboard.press("ArrowRight"), r"学习率改成了 0\.0\d\d")
    value = float(re.search(r"学习率改成了 (\d\.\d{3})", chapter.text(VIEW)).group(1))
    assert "lr = " + f"{value:.3f}" in chapter.text(VIEW)
    assert not chapter.errors(f".{WIDGET}")


def test_thirty_inputs_for_the_latency_probe(chapter):
    click(chapter, "重来 reset", "重新开始")
    for n in range(1, 16):  # 15 training steps and 15 learning-rate steps: 30 samples for the latency figure
        click(chapter, "训练一步", rf"loss 历史（{n} 次 forward）")
    handle = chapter.widget(WIDGET).locator(".widget-hslider .noUi-handle")
    handle.focus()
    lr = float(re.search(r"lr = (\d\.\d{3})", chapter.text(VIEW)).group(1))
    for n in range(15):
        lr = round(lr + 0.001, 3)
        chapter.measure(WIDGET, VIEW, lambda: chapter.page.keyboard.press("ArrowRight"), rf"学习率改成了 {lr:.3f}")
    assert f"lr = {lr:.3f}" in chapter.text(VIEW)


def test_readable_in_light_and_dark_at_900_and_600px(chapter):
    click(chapter, "训练一步", r"训练一步")
    problems = chapter.readability(WIDGET)
    assert not problems, "\n".join(problems)


def test_widgets_survive_save_close_and_reopen(chapter):
    problems = chapter.save_and_reopen([WIDGET])
    assert not problems, "\n".join(problems)
