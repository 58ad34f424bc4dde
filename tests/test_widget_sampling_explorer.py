import dataclasses
import html
import pickle
import re

import pytest
import torch
from matplotlib.colors import to_hex

import nanogpt_lite as nl
from nanogpt_lite.instruments.distributions import entropy
from nanogpt_lite.plotting import setup_matplotlib
from nanogpt_lite.widgets.sampling_explorer import (
    PICKED,
    SamplingExplorer,
    distribution_bars,
    distribution_html,
    explore,
    explorer_report,
    sampling_distribution,
    show_char,
    temperature_grid_figure,
)


@pytest.fixture(autouse=True)
def chinese_labels():
    setup_matplotlib()  # as the notebook does: Chinese labels without "Glyph missing" warnings


@pytest.fixture
def model(small_data, small_tok):
    counts = nl.bigram_counts(small_data, small_tok.vocab_size)
    return nl.count_model(nl.bigram_probs(counts, smoothing=0.1))


def test_sampling_distribution_is_softmax_and_its_zero_temperature_limit():
    logits = torch.tensor([0.5, 2.0, -1.0, 1.9])
    assert torch.equal(sampling_distribution(logits, temperature=0.7, top_k=2),
                       nl.next_token_probs(logits, temperature=0.7, top_k=2))
    greedy = sampling_distribution(logits, temperature=0)
    assert greedy.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert torch.allclose(sampling_distribution(logits, temperature=1e-3), greedy)
    with pytest.raises(ValueError, match="NaN"):
        sampling_distribution(torch.tensor([0.0, float("nan")]), temperature=0)


def test_explore_draws_its_first_character_from_the_shown_distribution(model, small_tok):
    ex = explore(model, small_tok, "e", temperature=1.3, top_k=5, seed=7, length=120)
    assert ex.text[0] == "e" and len(ex.text) == 121 and ex.stats.length == 121
    assert ex.probs[small_tok.stoi[ex.next_char]] > 0 and int((ex.probs > 0).sum()) == 5
    again = explore(model, small_tok, "e", temperature=1.3, top_k=5, seed=7, length=120)
    assert again.text == ex.text
    start = torch.tensor([[small_tok.stoi["e"]]])
    direct = nl.generate(model, start, 120, temperature=1.3, top_k=5, generator=torch.Generator().manual_seed(7))
    assert ex.text == small_tok.decode(direct[0].tolist())


def test_explore_greedy_ignores_the_seed_and_finds_the_loop(model, small_tok):
    runs = [explore(model, small_tok, "S", greedy=True, seed=s, length=60) for s in (1, 2)]
    assert runs[0].text == runs[1].text and runs[0].deterministic
    assert runs[0].stats.cycle is not None
    assert explore(model, small_tok, "S", temperature=0, seed=3, length=60).text == runs[0].text
    assert explore(model, small_tok, "S", top_k=1, seed=4, length=60).text == runs[0].text
    sampled = [explore(model, small_tok, "S", seed=s, length=60).text for s in (1, 2)]
    assert sampled[0] != sampled[1]


def test_explore_rejects_bad_input(model, small_tok):
    with pytest.raises(ValueError, match="single character"):
        explore(model, small_tok, "Sp")
    with pytest.raises(ValueError, match="length must be"):
        explore(model, small_tok, "S", length=0)
    with pytest.raises(ValueError, match="temperature must be"):
        explore(model, small_tok, "S", temperature=-1)


def test_bars_are_the_top_characters_and_the_drawn_one(model, small_tok):
    ex = explore(model, small_tok, "e", temperature=3.0, seed=11)
    top5 = [small_tok.itos[i] for i in torch.argsort(ex.probs, descending=True, stable=True)[:5].tolist()]
    bars = distribution_bars(ex, top=5)
    assert [bar.char for bar in bars[:5]] == top5
    assert [bar.char for bar in bars if bar.picked] == [ex.next_char]
    assert len(bars) == (5 if ex.next_char in top5 else 6)
    assert all(bar.prob == pytest.approx(float(ex.probs[small_tok.stoi[bar.char]])) for bar in bars)
    rare = next(s for s in range(100) if explore(model, small_tok, "e", temperature=3.0, seed=s).next_char not in top5)
    bars = distribution_bars(explore(model, small_tok, "e", temperature=3.0, seed=rare), top=5)
    assert len(bars) == 6 and bars[-1].picked and not any(bar.picked for bar in bars[:5])


def html_bars(markup: str) -> list[tuple[str, str, int]]:
    """(label, colour, height in px) of every bar in distribution_html's markup."""
    labels = [html.unescape(m) for m in re.findall(r'class="nl-bar-label[^"]*"[^>]*>([^<]*)<', markup)]
    fills = re.findall(r'<div class="nl-fill" style="width:22px;height:(\d+)px;background:(#[0-9a-f]{6})"', markup)
    assert len(labels) == len(fills)
    return [(label, colour, int(height)) for label, (height, colour) in zip(labels, fills)]


def test_html_chart_highlights_the_drawn_character(model, small_tok):
    ex = explore(model, small_tok, "e", temperature=3.0, seed=11)
    markup = distribution_html(ex, top=5)
    bars = html_bars(markup)
    assert [label for label, _, _ in bars] == [show_char(bar.char) for bar in distribution_bars(ex, top=5)]
    colours = [colour for _, colour, _ in bars]
    assert colours.count(PICKED) == 1 and bars[colours.index(PICKED)][0] == show_char(ex.next_char)
    heights = [height for _, _, height in bars]
    assert heights[0] == max(heights) and heights[:5] == sorted(heights[:5], reverse=True)
    assert "T=3 ·" in markup and f"熵 {float(entropy(ex.probs)):.2f} nats" in markup
    assert f"抽中 {show_char(ex.next_char)!r}" in html.unescape(markup)


def test_html_chart_marks_the_drawn_bar_in_its_own_top_slot(model, small_tok):
    ex = explore(model, small_tok, "e", greedy=True, length=20)  # argmax: the drawn bar is also the tallest
    markup = distribution_html(ex, top=5)
    picked = re.findall(r'<div class="nl-bar nl-picked"[^>]*>(.*?)</div></div>', markup)
    assert len(picked) == 1 and picked[0].startswith('<span class="nl-drawn nl-mark">选中</span><span class="nl-percent">')
    assert markup.count('class="nl-drawn') == 1 and "margin-bottom:auto" in markup  # the note rides at the column's top
    assert re.search(r'class="nl-bar-label nl-mark">' + re.escape(show_char(ex.next_char)) + "<", markup)
    assert '<div class="nl-scroll"><div class="nl-bars">' in markup  # a narrow notebook scrolls the bars sideways


def test_html_chart_escapes_characters_and_shows_greedy(model, small_tok):
    ex = explore(model, small_tok, "\n", greedy=True, length=20)
    assert "<" not in ex.chars and "&" not in ex.chars
    chars = ["<" if c == "F" else "&" if c == "A" else c for c in ex.chars]  # as if the vocabulary had them
    markup = distribution_html(dataclasses.replace(ex, chars=chars), top=len(chars))
    labels = [label for label, _, _ in html_bars(markup)]
    assert {"↵", "␣", "<", "&"} <= set(labels) and "&lt;" in markup and "&amp;" in markup
    assert "argmax 选中" in markup and "抽中" not in markup
    assert re.search(r"&(?!amp;|lt;|gt;|quot;|#x27;)", markup) is None  # every & in the markup is an escape


def test_grid_figure_has_one_column_per_temperature(model, small_tok):
    fig = temperature_grid_figure(model, small_tok, "e", (0.5, 1.0, 2.0), length=80)
    assert len(fig.axes) == 6
    for ax, t in zip(fig.axes[:3], (0.5, 1.0, 2.0)):  # each column's bars highlight the character drawn at that T
        ex = explore(model, small_tok, "e", temperature=t, length=80)
        colours = [to_hex(bar.get_facecolor()) for bar in ax.patches]
        labels = [tick.get_text() for tick in ax.get_xticklabels()]
        assert colours.count(PICKED) == 1 and labels[colours.index(PICKED)] == show_char(ex.next_char)
        assert labels[:20] == [show_char(bar.char) for bar in distribution_bars(ex)][:20]
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert all(f"T = {t}" in title for t, title in zip(("0.5", "1", "2"), titles))
    texts = [ax.texts[0].get_text() for ax in fig.axes[3:]]
    assert all(text.startswith("e") for text in texts) and len(set(texts)) == 3


def test_widget_redraws_on_every_control(model, small_tok):
    w = SamplingExplorer(model, small_tok, context="e", seed=5, length=80)
    assert "nl-sampling-explorer" in w._dom_classes
    assert w.chart.value == distribution_html(explore(model, small_tok, "e", seed=5, length=80))

    def shown_text() -> str:
        return html.unescape(w.report.value.split('<pre class="nl-sample"')[1].split(">", 1)[1].split("</pre>")[0])

    assert shown_text() == explore(model, small_tok, "e", seed=5, length=80).text
    first_chart = w.chart.value

    w.seed.value = 6
    assert shown_text() == explore(model, small_tok, "e", seed=6, length=80).text and "种子 6" in w.report.value
    assert w.seed.text.value == "6"

    w.temperature.value = 2.5
    assert shown_text() == explore(model, small_tok, "e", temperature=2.5, seed=6, length=80).text
    assert w.chart.value != first_chart and "T=2.5 ·" in w.chart.value

    w.top_k.value = 3
    assert shown_text() == explore(model, small_tok, "e", temperature=2.5, top_k=3, seed=6, length=80).text
    assert "top-k=3" in w.report.value

    w.context.value = "S"
    assert shown_text().startswith("S")

    w.mode.value = "argmax"
    greedy = explore(model, small_tok, "S", greedy=True, length=80)
    assert shown_text() == greedy.text and "个重复" in w.report.value and "argmax" in w.report.value
    assert w.chart.value == distribution_html(explore(model, small_tok, "S", temperature=2.5, top_k=3, greedy=True, length=80))
    w.seed.value = 99
    assert shown_text() == greedy.text  # argmax: the seed changes nothing

    w.mode.value = "multinomial"
    w.top_k.value = small_tok.vocab_size
    w.temperature.value = 0.0  # T = 0 is greedy, not a division by zero
    assert shown_text() == greedy.text and w.out.outputs == ()


def test_a_bad_seed_is_refused_visibly_and_the_last_good_one_kept(model, small_tok):
    w = SamplingExplorer(model, small_tok, context="e", seed=5, length=40)
    report = w.report.value
    for typed, why in (("-5", "seed 必须在 0 到 4294967295 之间 / seed must be between 0 and 4294967295: got -5"),
                       ("1.5", "seed 必须是整数 / seed must be an integer: got '1.5'")):
        w.seed.text.value = typed
        assert w.seed.value == 5 and w.seed.text.value == typed  # nothing silently changed
        assert w.report.value == report and html.escape(why) in w.seed.note.value
    w.seed.text.value = "8"
    assert w.seed.value == 8 and w.seed.note.value == "" and "种子 8" in w.report.value
    assert w.mode.style.button_width == "auto"  # "multinomial 随机采样" is never cut short


def save_char_run(folder, model, tok):
    """nanoGPT's ckpt.pt and meta.pkl (as its prepare.py pickles it) in ``folder``: (ckpt, meta)."""
    ckpt = nl.save_nanogpt_checkpoint(folder / "ckpt.pt", model, config={"dataset": "shakespeare_char"})
    meta = {"vocab_size": tok.vocab_size, "itos": dict(tok.itos), "stoi": dict(tok.stoi)}
    (folder / "meta.pkl").write_bytes(pickle.dumps(meta))
    return ckpt, folder / "meta.pkl"


def test_from_checkpoint_explores_a_nanogpt_run(tmp_path, small_tok):
    torch.manual_seed(0)
    gpt = nl.GPT(nl.GPTConfig(block_size=16, vocab_size=small_tok.vocab_size, n_layer=1, n_head=2, n_embd=8))
    ckpt, _ = save_char_run(tmp_path, gpt, small_tok)
    w = SamplingExplorer.from_checkpoint(ckpt, map_location="cpu", seed=5)  # meta.pkl found next to ckpt.pt
    assert w.tok.chars == small_tok.chars and w.context.value == "e" and w.seed.value == 5
    assert w.length == 15  # the text is scored in one pass: at most block_size tokens
    assert all(torch.equal(w.model.state_dict()[k], v) for k, v in gpt.state_dict().items())
    assert w.report.value == explorer_report(explore(gpt.eval(), small_tok, "e", seed=5, length=15))
    assert w.out.outputs == ()
    assert SamplingExplorer.from_checkpoint(ckpt, map_location="cpu", length=8, context="S").exploration().text[0] == "S"


def test_from_checkpoint_picks_a_context_the_vocabulary_has(tmp_path):
    tok = nl.CharTokenizer(list("\nab"))  # no 'e'
    gpt = nl.GPT(nl.GPTConfig(block_size=8, vocab_size=3, n_layer=1, n_head=1, n_embd=4))
    ckpt, meta = save_char_run(tmp_path, gpt, tok)
    w = SamplingExplorer.from_checkpoint(ckpt, meta, map_location="cpu")
    assert w.context.value == "\n" and w.exploration().text[0] == "\n" and w.out.outputs == ()
