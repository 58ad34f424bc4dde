import pytest
from hypothesis import given
from hypothesis import strategies as st

import nanogpt_lite as nl
from tests.conftest import SMALL_TEXT

TOK = nl.CharTokenizer.from_text(SMALL_TEXT)


def test_vocabulary_is_sorted_distinct_characters(small_text, small_tok):
    assert small_tok.chars == sorted(set(small_text))
    assert small_tok.vocab_size == len(set(small_text))
    assert all(small_tok.itos[small_tok.stoi[ch]] == ch for ch in small_tok.chars)


@given(st.text(alphabet=TOK.chars))
def test_decode_inverts_encode(s):
    assert TOK.decode(TOK.encode(s)) == s


@given(st.lists(st.integers(0, TOK.vocab_size - 1)))
def test_encode_inverts_decode(ids):
    assert TOK.encode(TOK.decode(ids)) == ids


def test_unknown_character_names_character_and_index(small_tok):
    with pytest.raises(nl.UnknownCharacterError) as err:
        small_tok.encode("hear 我 me")
    message = str(err.value)
    assert "'我'" in message and "index 5" in message and "training text" in message
    assert isinstance(err.value, ValueError)


def test_unknown_character_counts_the_rest(small_tok):
    with pytest.raises(ValueError, match=r"index 0 .*\(2 more unknown"):
        small_tok.encode("ZZZ")


def test_out_of_range_id_is_named(small_tok):
    with pytest.raises(nl.UnknownCharacterError, match=rf"id 999 at index 1 .*0\.\.{small_tok.vocab_size - 1}"):
        small_tok.decode([0, 999])
    with pytest.raises(nl.UnknownCharacterError, match="id -1 at index 0"):
        small_tok.decode([-1])


def test_unknown_chars_lists_every_position(small_tok):
    assert small_tok.unknown_chars("a7e7") == [(1, "7"), (3, "7")]


def test_chars_must_be_distinct():
    with pytest.raises(ValueError):
        nl.CharTokenizer(["a", "a"])


def test_shakespeare_reference_figures(shakespeare):
    _, tok, _, _ = shakespeare
    assert tok.vocab_size == 65
    assert tok.encode("hello world") == [46, 43, 50, 50, 53, 1, 61, 53, 56, 50, 42]
    assert tok.decode([46, 43, 50, 50, 53]) == "hello"
    assert (tok.stoi["h"], tok.stoi["e"], tok.stoi["l"], tok.stoi["o"]) == (46, 43, 50, 53)
    assert tok.chars[:3] == ["\n", " ", "!"]


def test_errors_say_it_in_chinese_first_then_english():
    tok = nl.CharTokenizer.from_text("hello")
    with pytest.raises(nl.UnknownCharacterError) as err:
        tok.encode("he7")
    message = str(err.value)
    assert message.index("不在词表里") < message.index("is not in the vocabulary")
    assert "第 2 位" in message and "index 2" in message
    with pytest.raises(nl.UnknownCharacterError, match=r"^编号 9（第 0 位）超出范围.* / id 9 at index 0"):
        tok.decode([9])
    with pytest.raises(ValueError, match=r"^词表里的字符必须互不相同，\['a'\].*sorted\(set\(text\)\)"):
        nl.CharTokenizer(["a", "b", "a"])
