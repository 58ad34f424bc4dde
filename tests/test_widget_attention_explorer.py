import html
import pickle
import re

import pytest
import torch

import nanogpt_lite as nl
from nanogpt_lite.gpt import GPT, GPTConfig
from nanogpt_lite.instruments.attention import attention_maps, next_char_distribution
from nanogpt_lite.plotting import setup_matplotlib
from nanogpt_lite.widgets.attention_explorer import (
    MEAN_HEAD,
    AttentionExplorer,
    attention_figure,
    attention_html,
    checkpoint_lines,
    look,
    next_char_html,
)

LINES = ["Speak, speak.", "First Citizen:"]


@pytest.fixture(autouse=True)
def chinese_labels():
    setup_matplotlib()


@pytest.fixture
def model(small_tok) -> GPT:
    torch.manual_seed(0)
    m = GPT(GPTConfig(block_size=16, vocab_size=small_tok.vocab_size, n_layer=2, n_head=2, n_embd=8))
    with torch.no_grad():  # sharper than the 0.02 init, so rows are far from uniform
        for p in m.parameters():
            if p.dim() >= 2:
                p.mul_(20)
    return m


def test_look_is_a_row_of_the_attention_maps_and_the_next_char_distribution(model, small_tok):
    ids = torch.tensor(small_tok.encode(LINES[0]))
    maps = attention_maps(model, ids)
    view = look(model, small_tok, LINES[0], layer=1, head=0, position=6)
    assert torch.equal(view.weights, maps[1, 0, 6, :7])
    assert torch.allclose(view.probs, next_char_distribution(model, ids, 6))
    assert view.weights.sum().item() == pytest.approx(1.0, abs=1e-5)
    mean = look(model, small_tok, LINES[0], layer=1, head=MEAN_HEAD, position=6)
    assert torch.allclose(mean.weights, maps[1, :, 6, :7].mean(0))
    (pos, ch, w), *_ = view.top_attended(3)
    assert ch == LINES[0][pos] and w == pytest.approx(view.weights.max().item())
    assert view.top_next(3)[0][1] == pytest.approx(view.probs.max().item())


@pytest.mark.parametrize("kwargs, message", [
    (dict(text="", layer=0, head=0, position=0), "empty"),
    (dict(text="x" * 17, layer=0, head=0, position=0), "at most 16"),
    (dict(text="Zebra", layer=0, head=0, position=0), "not in the vocabulary"),
    (dict(text="Speak", layer=2, head=0, position=0), "layer must be 0..1"),
    (dict(text="Speak", layer=0, head=5, position=0), "head must be"),
    (dict(text="Speak", layer=0, head=0, position=5), "position must be 0..4"),
])
def test_look_refuses_bad_values_naming_them(model, small_tok, kwargs, message):
    text = kwargs.pop("text")
    with pytest.raises(ValueError, match=message):
        look(model, small_tok, text, **kwargs)


def test_html_shades_the_past_and_greys_the_future(model, small_tok):
    view = look(model, small_tok, LINES[0], layer=0, head=1, position=4)
    markup = attention_html(view)
    weights = [float(w) for w in re.findall(r'data-weight="([\d.]+)"', markup)]
    assert len(weights) == 5 and weights == pytest.approx(view.weights.tolist(), abs=1e-4)
    assert markup.count("nl-att-future") == len(LINES[0]) - 5 + 1  # the CSS rule, then one per later character
    assert markup.count("nl-att-here") == 2  # the CSS rule and the outlined position
    assert "第 0 层 · 头 1 · 位置 4 'k'" in html.unescape(markup)
    table = next_char_html(view, top=4)
    assert table.count('class="nl-next-char"') == 4
    assert f"{view.top_next(1)[0][1]:.1%}" in table


def test_widget_redraws_on_every_control_and_keeps_the_last_good_line(model, small_tok):
    w = AttentionExplorer(model, small_tok, LINES)
    assert "nl-attention-explorer" in w._dom_classes
    assert w.position.value == len(LINES[0]) - 1 and w.position.max == len(LINES[0]) - 1
    assert w.view.value == attention_html(look(model, small_tok, LINES[0], layer=0, head=0, position=12))
    w.layer.value = 1
    w.head.value = MEAN_HEAD
    w.position.value = 3
    assert w.view.value == attention_html(look(model, small_tok, LINES[0], layer=1, head=MEAN_HEAD, position=3))
    assert "各头平均" in w.view.value
    w.pick.value = LINES[1]
    assert w.text.value == LINES[1] and w.position.max == len(LINES[1]) - 1 and w.position.value == 3
    assert w.next.value == next_char_html(look(model, small_tok, LINES[1], layer=1, head=MEAN_HEAD, position=3))
    shown = w.view.value
    w.text.value = "Zebra!"  # 'Z' is not in this vocabulary
    assert "not in the vocabulary" in w.note.value and w.view.value == shown
    w.layer.value = 0  # still the last good line
    assert w.view.value == attention_html(look(model, small_tok, LINES[1], layer=0, head=MEAN_HEAD, position=3))
    w.text.value = "Sp"
    assert w.note.value == "" and w.position.value == 1 and w.position.max == 1
    assert w.out.outputs == ()


def test_static_twin_has_one_map_per_head(model, small_tok):
    fig = attention_figure(model, small_tok, LINES[0], layer=1)
    assert len(fig.axes) == 2
    maps = attention_maps(model, torch.tensor(small_tok.encode(LINES[0])))[1]
    for h, ax in enumerate(fig.axes):
        assert torch.allclose(torch.tensor(ax.images[0].get_array().data).float(), maps[h])
        assert ax.get_xticklabels()[6].get_text() == "␣"  # "Speak, speak.": the space


def test_checkpoint_lines_are_the_chapters_lines(shakespeare):
    text, tok, _, val = shakespeare
    val_text = tok.decode(val[:3000].tolist())
    assert checkpoint_lines(tok, 256) == [line for line in val_text.split("\n") if 40 <= len(line) <= 64][:5]
    assert checkpoint_lines(tok, 64, n=8) == [line for line in val_text.split("\n") if 40 <= len(line) <= 64][:8]


def test_checkpoint_lines_fit_a_small_model_and_its_vocabulary(small_tok):
    lines = checkpoint_lines(small_tok, 16)
    val_text = nl.load_text()[int(0.9 * len(nl.load_text())):]
    assert len(lines) == 5 and len(set(lines)) == 5
    for line in lines:
        assert len(line) == 16 and not small_tok.unknown_chars(line) and f"\n{line}" in val_text
    with pytest.raises(ValueError, match="lines=") as error:
        checkpoint_lines(nl.CharTokenizer(list("你好")), 16)
    assert str(error.value).index("验证集") < str(error.value).index("validation")


def test_from_checkpoint_explores_a_nanogpt_run(tmp_path, model, small_tok):
    nl.save_nanogpt_checkpoint(tmp_path / "ckpt.pt", model, config={"dataset": "shakespeare_char"})
    meta = {"vocab_size": small_tok.vocab_size, "itos": dict(small_tok.itos), "stoi": dict(small_tok.stoi)}
    (tmp_path / "meta.pkl").write_bytes(pickle.dumps(meta))  # as nanoGPT's prepare.py writes it
    w = AttentionExplorer.from_checkpoint(tmp_path / "ckpt.pt", map_location="cpu", position=3)
    assert w.tok.chars == small_tok.chars
    assert all(torch.equal(w.model.state_dict()[k], v) for k, v in model.state_dict().items())
    assert [value for _, value in w.pick.options] == checkpoint_lines(small_tok, 16)
    assert w.position.value == 3
    assert w.view.value == attention_html(look(model.eval(), small_tok, w.line, layer=0, head=0, position=3))
    assert w.out.outputs == ()
    mine = AttentionExplorer.from_checkpoint(tmp_path / "ckpt.pt", tmp_path / "meta.pkl", lines=LINES, map_location="cpu")
    assert mine.line == LINES[0] and mine.position.value == len(LINES[0]) - 1
