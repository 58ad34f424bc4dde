import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_lite.instruments.enumeration import build_steps, enumerate_by_hand, positions

starts = st.integers(-1000, 1000)


@given(st.lists(st.integers()), starts)
def test_enumerate_by_hand_matches_enumerate(items, start):
    assert list(enumerate_by_hand(items, start)) == list(enumerate(items, start))


def test_enumerate_by_hand_is_lazy():
    pulled = []

    def source():
        for x in "abc":
            pulled.append(x)
            yield x

    pairs = enumerate_by_hand(source(), start=1)
    assert pulled == []
    assert next(pairs) == (1, "a") and pulled == ["a"]
    assert next(enumerate_by_hand(itertools.count(), 5)) == (5, 0)  # infinite input is fine


@pytest.mark.parametrize("bad", [1.0, "0", None, True])
def test_start_must_be_an_int(bad):
    with pytest.raises(TypeError, match="start must be an int"):
        next(enumerate_by_hand("ab", bad))
    with pytest.raises(TypeError, match=f"got {bad!r}"):
        build_steps(["a"], bad)


@given(st.lists(st.characters(), unique=True), starts)
def test_build_steps_ends_at_the_comprehensions(chars, start):
    steps = build_steps(chars, start)
    assert len(steps) == len(chars)
    if chars:
        last = steps[-1]
        assert last.stoi == {ch: i for i, ch in enumerate(chars, start)}
        assert last.itos == {i: ch for i, ch in enumerate(chars, start)}
        assert all(last.itos[last.stoi[ch]] == ch for ch in chars)  # inverse of each other
    for k, step in enumerate(steps):
        assert (step.i, step.ch) == (start + k, chars[k])
        assert len(step.stoi) == len(step.itos) == k + 1 and step.replaced is None


@given(st.text(max_size=30), starts)
def test_repeated_characters_overwrite_and_say_so(text, start):
    steps = build_steps(text, start)
    seen: dict[str, int] = {}
    for step in steps:
        assert step.replaced == seen.get(step.ch)
        seen[step.ch] = step.i
    if steps:
        assert steps[-1].stoi == seen and len(steps[-1].itos) == len(text)


def test_hello_keeps_the_last_l():
    *_, last = build_steps("hello")
    assert last.stoi == {"h": 0, "e": 1, "l": 3, "o": 4}
    assert build_steps("hello")[3].replaced == 2
    assert last.itos[2] == "l" and last.stoi["l"] == 3  # not inverse any more


def test_states_are_snapshots_not_one_shared_dict():
    first, second = build_steps("ab")
    assert first.stoi == {"a": 0} and second.stoi == {"a": 0, "b": 1}


def test_build_steps_names_a_non_string_item():
    with pytest.raises(TypeError, match="item 1 is 2 of type int"):
        build_steps(["a", 2])


def test_faq_positions_of_l_in_hello():
    assert positions("hello", "l") == [2, 3]
    assert positions("hello", "z") == [] and positions("", "a") == []


@given(st.text(alphabet="abc\n "), st.sampled_from("abc\n "))
def test_positions_finds_exactly_the_matches(text, ch):
    found = positions(text, ch)
    assert found == sorted(found) and len(found) == text.count(ch)
    assert all(text[i] == ch for i in found)


def test_positions_names_bad_arguments():
    with pytest.raises(ValueError, match=r"exactly one character, got 'll' \(2 characters\)"):
        positions("hello", "ll")
    with pytest.raises(ValueError, match="got ''"):
        positions("hello", "")
    with pytest.raises(TypeError, match="text must be a str, got list"):
        positions(["h", "l"], "l")
    with pytest.raises(TypeError, match="ch must be a str of one character, got int"):
        positions("hello", 108)


def test_shakespeare_vocabulary_step_by_step(shakespeare):
    _, tok, _, _ = shakespeare
    steps = build_steps(tok.chars)
    assert [(s.i, s.ch) for s in steps[:3]] == [(0, "\n"), (1, " "), (2, "!")]
    assert steps[2].stoi == {"\n": 0, " ": 1, "!": 2}
    assert steps[-1].stoi == tok.stoi and steps[-1].itos == tok.itos and len(steps) == 65
    assert steps[-1].stoi["h"] == 46


def test_errors_say_it_in_chinese_first_then_english():
    with pytest.raises(TypeError, match=r"^start 必须是整数.* / start must be an int"):
        list(enumerate_by_hand("ab", start=1.5))
    with pytest.raises(ValueError, match=r"^ch 必须正好是一个字符.* / ch must be exactly one character"):
        positions("hello", "ll")
