import pytest
from hypothesis import given
from hypothesis import strategies as st

import nanogpt_lite as nl
from nanogpt_lite.bpe import BPETokenizer
from nanogpt_lite.instruments.vocab_compare import (
    bpe_report,
    char_report,
    compare_tokenizers,
    next_char_shares,
    plain_words,
    unknown_shares,
    word_report,
    words,
)

TRAIN = "the cat sat on the mat. the cat ran!"
VAL = "the dog sat on the cat"  # 'dog' is a new word; 'd' and 'g' are new characters


def test_words_keep_punctuation_and_plain_words_drop_it():
    assert words("Speak, speak.\n\nAll:") == ["Speak,", "speak.", "All:"]
    assert plain_words("Speak, speak. 'Tis walk'd--3") == ["speak", "speak", "'tis", "walk'd"]


def test_unknown_shares_count_occurrences_and_distinct_words():
    known = {"the", "sat", "on", "cat"}.__contains__
    assert unknown_shares(known, words(VAL)) == (1 / 6, 1 / 5)
    with pytest.raises(ValueError, match="val_words is empty"):
        unknown_shares(known, [])


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1), st.sets(st.sampled_from(["a", "b", "c", "d"])))
def test_unknown_shares_are_shares(val_words, vocab):
    by_occurrence, by_distinct = unknown_shares(vocab.__contains__, val_words)
    assert 0.0 <= by_occurrence <= 1.0 and 0.0 <= by_distinct <= 1.0
    assert (by_occurrence == 0.0) == (by_distinct == 0.0) == set(val_words).issubset(vocab)


def test_word_report_by_hand():
    report = word_report(TRAIN, VAL)
    assert report.vocab_size == len({"the", "cat", "sat", "on", "mat.", "ran!"})
    assert report.train_tokens == 9 and report.train_chars == len(TRAIN)
    assert report.once_share == pytest.approx(4 / 6)  # sat, on, mat., ran! occur once
    assert (report.unknown_occurrences, report.unknown_distinct) == (1 / 6, 1 / 5)


def test_char_report_by_hand():
    report = char_report(TRAIN, VAL)
    assert report.vocab_size == len(set(TRAIN)) and report.train_tokens == len(TRAIN)
    assert report.chars_per_token == 1.0
    assert (report.unknown_occurrences, report.unknown_distinct) == (1 / 6, 1 / 5)  # 'dog' has 'd' and 'g'


def test_bpe_sits_between_characters_and_words():
    bpe = BPETokenizer.train(TRAIN, 5)
    report = bpe_report(TRAIN, VAL, bpe)
    assert report.vocab_size == len(set(TRAIN)) + 5
    assert report.train_tokens == len(bpe.encode(TRAIN))  # counted chunk by chunk, same as encoding it all
    assert word_report(TRAIN, VAL).train_tokens < report.train_tokens < len(TRAIN)
    assert report.unknown_distinct == char_report(TRAIN, VAL).unknown_distinct


def test_next_char_shares():
    total, top = next_char_shares(TRAIN, "th")
    assert total == 3 and top == [("e", 1.0)]
    total, top = next_char_shares(TRAIN, "a", top=2)
    assert total == 5 and top == [("t", 0.8), ("n", 0.2)]
    assert next_char_shares("aaab", "aa") == (2, [("a", 0.5), ("b", 0.5)])  # overlapping matches count
    with pytest.raises(ValueError, match="'z' is never followed"):
        next_char_shares(TRAIN, "z")
    with pytest.raises(ValueError, match="context must hold"):
        next_char_shares(TRAIN, "")


def test_next_char_shares_agree_with_bigram_counts(small_text, small_tok, small_data):
    counts = nl.bigram_counts(small_data, small_tok.vocab_size)
    for ch in "ehS":
        total, top = next_char_shares(small_text, ch, top=3)
        row = counts[small_tok.stoi[ch]]
        assert total == int(row.sum())
        assert top[0][1] == pytest.approx(float(row.max() / row.sum()))


def test_table_text_and_html():
    table = compare_tokenizers(TRAIN, VAL, BPETokenizer.train(TRAIN, 5))
    rows = table.rows()
    assert rows[0] == ["", "字符级 char", "BPE（5 次合并）", "词级 word（空白切分）"]
    assert all(len(row) == 4 for row in rows)
    text = repr(table)
    assert "词表大小" in text and "16.7%" in text and len(text.splitlines()) == len(rows)
    assert table._repr_html_().startswith("<table class='nl-vocab-compare'>") and "20.0%" in table._repr_html_()


def test_shakespeare_comparison(shakespeare):
    text, _, _, _ = shakespeare
    n = int(0.9 * len(text))
    train_text, val_text = text[:n], text[n:]
    chars, words_ = char_report(train_text, val_text), word_report(train_text, val_text)
    assert chars.vocab_size == 65 and chars.unknown_occurrences == 0.0
    assert words_.vocab_size == 23_841
    assert words_.unknown_occurrences == pytest.approx(0.1172, abs=1e-4)
    assert words_.unknown_distinct == pytest.approx(0.3334, abs=1e-4)
    assert words_.median_count == 1
