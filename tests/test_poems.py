"""Chapter 7's 五言 hands-on (nanogpt_lite.instruments.poems)."""
from __future__ import annotations

import torch

import nanogpt_lite as nl
from nanogpt_lite.gpt_training import model_from_recipe
from nanogpt_lite.instruments.poems import POEM_RECIPE, is_wuyan, sample_lines, wuyan_text

CORPUS = "\n\n".join([
    "登鸛雀樓\n白日依山盡，黃河入海流。\n欲窮千里目，更上一層樓。\n",
    "七言\n朝辭白帝彩雲間，千里江陵一日還。\n",        # 七言: dropped
    "問句\n山中何所有？嶺上多白雲。\n",                # "？" mid-line: not a 五言 line
    "生僻\n白日依山盡，黃河入海麤。\n",                  # 麤 occurs once
])


def test_the_shape_of_a_wuyan_line() -> None:
    assert is_wuyan("白日依山盡，黃河入海流。")
    assert is_wuyan("君自故鄉來，應知故鄉事？")
    for line in ["白日依山盡，黃河入海流", "白日依山，黃河入海流。", "白日依山盡,黃河入海流。", "abcde，fghij。"]:
        assert not is_wuyan(line), line


def test_wuyan_text_keeps_bodies_of_wuyan_poems_of_common_characters() -> None:
    assert wuyan_text(CORPUS, common=None) == (
        "白日依山盡，黃河入海流。\n欲窮千里目，更上一層樓。\n\n白日依山盡，黃河入海麤。\n")
    # common=22: ，。 and the first poem's 20 characters; 麤 (once, last seen) is left out
    assert wuyan_text(CORPUS, common=22) == "白日依山盡，黃河入海流。\n欲窮千里目，更上一層樓。\n"


def test_sample_lines_gives_one_line_per_start() -> None:
    text = wuyan_text(CORPUS, common=None) * 3
    tok = nl.CharTokenizer.from_text(text)
    model = model_from_recipe({**POEM_RECIPE, "n_layer": 1, "n_embd": 16, "n_head": 2}, tok.vocab_size)
    lines = sample_lines(model, tok, "白欲", generator=torch.Generator().manual_seed(0))
    assert len(lines) == 2 and [line[0] for line in lines] == ["白", "欲"]
    assert all("\n" not in line and len(line) <= 15 for line in lines)


def test_the_real_corpus_gives_a_small_vocabulary_of_wuyan_lines() -> None:
    text = wuyan_text(nl.load_text("tang"))
    lines = [line for line in text.split("\n") if line]
    assert all(map(is_wuyan, lines))
    assert 1900 <= len(set(text)) <= 2001 and len(lines) > 10_000
