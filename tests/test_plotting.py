import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nanogpt_lite import plotting  # noqa: E402


def test_chinese_title_draws_without_warnings(monkeypatch):
    """With the CJK font the glyphs exist; without it the warnings are silenced. Either way: no warning."""
    for has_font in (True, False):
        if not has_font:
            monkeypatch.setattr(plotting, "has_cjk_font", lambda: False)
            matplotlib.rcParams["font.family"] = ["DejaVu Sans"]
        elif not plotting.has_cjk_font():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            plotting.setup_matplotlib()
            fig, ax = plt.subplots()
            ax.set_title("训练损失 loss")
            fig.canvas.draw()
            plt.close(fig)


def test_label_follows_the_font(monkeypatch):
    monkeypatch.setattr(plotting, "has_cjk_font", lambda: False)
    assert plotting.label("损失", "loss") == "loss"
    monkeypatch.setattr(plotting, "has_cjk_font", lambda: True)
    assert plotting.label("损失", "loss") == "损失"
