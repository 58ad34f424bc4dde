"""The Chinese-text instrument (chapter 1's 选读) and the packaged 《全唐诗》."""
from __future__ import annotations

import hashlib
import lzma
from importlib import resources

import pytest

import nanogpt_lite as nl
from nanogpt_lite import data as D
from nanogpt_lite.bpe import BPETokenizer, as_bytes
from nanogpt_lite.instruments.chinese_text import (
    FiguresTable,
    byte_tokens_per_char,
    char_level_figures,
    han_bytes_per_char,
    is_han,
)


def test_figures_count_what_a_train_split_tokenizer_would_not_know() -> None:
    text = "床前明月光" * 9 + "疑是地上霜"  # 50 chars: train = first 45, val = last 5
    f = char_level_figures("诗", text, n_embd=4)
    assert (f.chars, f.vocab_size, f.train_vocab_size) == (50, 10, 5)
    assert (f.unseen_distinct, f.unseen_share) == (5, 1.0)
    assert f.embedding_params == 40
    assert f.bytes_per_char == 3.0
    assert "10 × 4 = 40" in repr(FiguresTable([f])) and "nl-chinese-text" in FiguresTable([f])._repr_html_()


def test_han_characters_and_their_bytes() -> None:
    assert [is_han(c) for c in "月a，𠀀㐀"] == [True, False, False, True, True]
    assert han_bytes_per_char("月a，𠀀") == pytest.approx((3 + 4) / 2)


def test_a_byte_bpe_learns_to_join_a_characters_bytes() -> None:
    poem = "床前明月光，疑是地上霜。举头望明月，低头思故乡。" * 20
    untrained = BPETokenizer.train_bytes("", 0)
    assert byte_tokens_per_char(untrained, "明月") == 3.0
    trained = BPETokenizer.train_bytes(poem, 60)
    assert byte_tokens_per_char(trained, "明月") < 1.5
    assert trained.decode(trained.encode(as_bytes("明月光"))) == as_bytes("明月光")


def test_byte_chunks_never_split_a_character() -> None:
    from nanogpt_lite.bpe import byte_chunks, chunks, from_bytes

    text = "秦川雄帝宅，函谷壯皇居。 the cat"
    assert [from_bytes(c) for c in byte_chunks(as_bytes(text))] == chunks(text)


def test_the_tang_corpus_loads_by_name_and_matches_its_checksum() -> None:
    text = nl.load_text("tang")
    raw = text.encode("utf-8")
    assert (len(raw), hashlib.sha256(raw).hexdigest()) == (D.TANG.size_bytes, D.TANG.sha256)
    assert text.startswith("帝京篇十首 一\n秦川雄帝宅，函谷壯皇居。\n")
    assert text.count("\n\n") == 57_607 - 1  # a blank line between poems
    assert nl.load_text("shakespeare") == nl.load_text()


def test_a_wrong_checksum_is_refused() -> None:
    blob = resources.files("nanogpt_lite.data").joinpath(D.TANG.file).read_bytes()
    tampered = lzma.compress(lzma.decompress(blob).replace("床".encode(), "牀".encode(), 1), preset=0)
    with pytest.raises(nl.DataError, match="tang_poems.txt.xz 校验失败.*failed its checksum"):
        D.decode_packaged(tampered, D.TANG)


def test_a_wrong_name_lists_the_names() -> None:
    with pytest.raises(nl.DataError, match=r"没有叫 'tnag' 的语料.*'shakespeare', 'tang'.*no corpus named 'tnag'"):
        nl.load_text("tnag")


def test_the_licence_ships_beside_the_corpus() -> None:
    notice = resources.files("nanogpt_lite.data").joinpath("tang_poems.LICENSE").read_text(encoding="utf-8")
    assert "MIT" in notice and "JackeyGao" in notice
