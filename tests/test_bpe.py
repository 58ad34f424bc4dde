import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nanogpt_lite as nl
from nanogpt_lite.bpe import BPETokenizer, chunks, learn_merges, merge_pair
from tests.conftest import SMALL_TEXT

BPE = BPETokenizer.train(SMALL_TEXT, num_merges=40)
alphabet_text = st.text(alphabet=BPE.alphabet, max_size=200)


def test_merges_are_learnt_most_frequent_first():
    assert learn_merges("low low lower lowest", 3) == [("o", "w"), ("l", "ow"), (" ", "low")]
    # "ab" occurs three times, "cd" twice: "ab" is merged first
    assert learn_merges("ab ab ab cd cd", 1) == [("a", "b")]


def test_ties_break_the_same_way_every_time():
    assert learn_merges("xy yz", 2) == learn_merges("xy yz", 2) == [("y", "z"), ("x", "y")]


def test_training_stops_when_no_pair_is_left():
    bpe = BPETokenizer.train("ab", num_merges=10)
    assert bpe.merges == [("a", "b")] and bpe.vocab_size == 3


def test_merges_never_cross_chunk_boundaries():
    assert chunks("Speak, speak.\n\nAll:") == ["Speak", ",", " speak", ".", "\n\n", "All", ":"]
    assert all(" " not in token[1:] for token in BPE.tokens if token.strip())  # a space only leads a word


def test_merge_pair_replaces_non_overlapping_occurrences_left_to_right():
    assert merge_pair(list("aaa"), ("a", "a")) == ["aa", "a"]
    assert merge_pair(list("abab"), ("a", "b")) == ["ab", "ab"]


def test_ids_are_the_alphabet_then_the_merges_in_order():
    assert BPE.tokens[: len(BPE.alphabet)] == sorted(set(SMALL_TEXT))
    for rank, (left, right) in enumerate(BPE.merges):
        assert BPE.tokens[len(BPE.alphabet) + rank] == left + right


@given(st.text(max_size=200))
def test_chunks_cover_any_text(s):
    assert "".join(chunks(s)) == s


@given(alphabet_text)
def test_decode_inverts_encode(s):
    assert BPE.decode(BPE.encode(s)) == s


@given(alphabet_text)
def test_merges_never_make_text_longer(s):
    lengths = [len(BPETokenizer(BPE.alphabet, BPE.merges[:k]).encode(s)) for k in (0, 10, 20, 40)]
    assert lengths[0] == len(s)
    assert lengths == sorted(lengths, reverse=True)


@settings(max_examples=30)
@given(st.text(alphabet="abc ", min_size=1, max_size=60), st.integers(0, 8))
def test_training_text_roundtrips_and_each_merge_saves_a_token(text, num_merges):
    bpe = BPETokenizer.train(text, num_merges)
    ids = bpe.encode(text)
    assert bpe.decode(ids) == text
    assert len(ids) <= len(text) - len(bpe.merges)  # every merge was learnt from at least one pair


def test_common_english_pieces_become_tokens(shakespeare):
    text, _, _, _ = shakespeare
    train_text = text[: int(0.9 * len(text))]
    bpe = BPETokenizer.train(train_text, 256)  # its speed is measured by `make bench`, not here
    assert bpe.vocab_size == 65 + 256
    for piece in (" the", "ing", " and", " you"):
        assert piece in bpe.stoi
    assert bpe.tokenize(" walking") == [" w", "al", "k", "ing"]


def test_unknown_character_is_named():
    with pytest.raises(nl.UnknownCharacterError, match=r"'我' \(U\+6211\) at index 5 .*BPE alphabet"):
        BPE.encode("hear 我")
    assert ("我", None) in BPE.pieces("hear 我 me")
    assert BPE.decode(i for _, i in BPE.pieces("hear 我 me") if i is not None) == "hear  me"


def test_out_of_range_id_is_named():
    with pytest.raises(nl.UnknownCharacterError, match=rf"id {BPE.vocab_size} at index 1 "):
        BPE.decode([0, BPE.vocab_size])


@pytest.mark.parametrize("bad", [-1, 2.5, "3", True])
def test_bad_merge_count_is_refused(bad):
    with pytest.raises(ValueError, match="num_merges must be a whole number"):
        BPETokenizer.train("abc", bad)


def test_merge_of_an_unknown_token_is_refused():
    with pytest.raises(ValueError, match=r"merge 0 \('a', 'bc'\)"):
        BPETokenizer(["a", "b", "c"], [("a", "bc")])


def test_errors_say_it_in_chinese_first_then_english():
    with pytest.raises(nl.UnknownCharacterError, match=r"^字符 '我'.*不在 BPE 的.* / character '我'"):
        BPE.encode("我")
    with pytest.raises(ValueError, match=r"^合并次数 num_merges 必须是 ≥ 0 的整数，收到 -1.* / num_merges"):
        BPETokenizer.train("abc", -1)


def test_byte_level_bpe_encodes_any_text_through_its_bytes():
    from nanogpt_lite.bpe import BPETokenizer, as_bytes, from_bytes

    bpe = BPETokenizer.train_bytes("the cat the hat the bat " * 5, num_merges=6)
    assert bpe.vocab_size == 256 + 6
    sentence = "注意力，the cat"
    ids = bpe.encode(as_bytes(sentence))  # '注' is not in the training text, yet it encodes: 3 byte tokens
    assert from_bytes(bpe.decode(ids)) == sentence
    assert [bpe.tokens[i] for i in ids[:3]] == [chr(b) for b in "注".encode("utf-8")]
    assert len(bpe.encode(as_bytes(" the"))) == 1  # a merged chunk of the training text


def test_bits_per_byte_converts_nats_per_character():
    import math

    from nanogpt_lite.bpe import bits_per_byte

    assert bits_per_byte(1.0, "abcd") == pytest.approx(1 / math.log(2))  # ASCII: one byte per character
    assert bits_per_byte(1.0, "注意") == pytest.approx(2 / (6 * math.log(2)))  # 3 bytes per hanzi
