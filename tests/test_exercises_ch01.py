import pytest

import nanogpt_lite as nl
from nanogpt_lite.bpe import BPETokenizer
from nanogpt_lite.exercises import ____, ch01, problems


def feedback_of(problem, answer) -> tuple[str, str]:
    feedback = problem.check(answer)
    return feedback.kind, repr(feedback)


def test_six_exercises_whose_references_pass():
    found = problems(ch01)
    assert list(found) == ["q1", "q2", "q3", "q4", "q5", "q6"]
    for problem in found.values():
        assert problem.check(problem.reference()).correct
        assert problem.check().kind == "not attempted" and problem.check(____).kind == "not attempted"


def test_the_exercise_alphabet_is_tiny_shakespeares(shakespeare):
    _, tok, _, _ = shakespeare
    assert list(ch01.CHARS) == tok.chars
    assert ch01.q1.reference() == nl.CharTokenizer.from_text(ch01.SMALL_TEXT).stoi["t"]
    assert ch01.q2.reference() == tok.decode(ch01.HAMLET_IDS)
    assert ch01.q5.reference() == len(tok.unknown_chars(ch01.UNKNOWN_TEXT))


def test_function_placeholders_are_not_attempted():
    def prepare(text):
        return ____

    def make_decode(stoi):
        itos = ____  # noqa: F841 - the notebook's scaffold

        def decode(ids):
            return ____
        return decode

    assert ch01.q3.check(prepare).kind == "not attempted"
    assert ch01.q4.check(make_decode).kind == "not attempted"


def test_prepare_matches_the_chapter_on_tiny_shakespeare(shakespeare):
    text, tok, train, val = shakespeare
    stoi, train_ids, val_ids = ch01.q3.reference()(text)
    assert stoi == tok.stoi and train_ids == train.tolist() and val_ids == val.tolist()


def test_the_last_prepare_case_needs_the_whole_text_for_its_vocabulary():
    text = ch01.PREPARE_CASES[-1]
    assert set(text) - set(text[:int(len(text) * 0.9)])


def test_the_shuffled_vocabulary_is_not_in_sorted_order():
    assert ch01.SHUFFLED_STOI != {ch: i for i, ch in enumerate(sorted(ch01.SHUFFLED_STOI))}


def _split(t: str, stoi: dict, n: int) -> tuple:
    ids = [stoi[c] for c in t]
    return stoi, ids[:n], ids[n:]


def _vocab(t: str, **order) -> dict:
    return {c: i for i, c in enumerate(sorted(set(t), **order))}


@pytest.mark.parametrize(
    "prepare, advice",
    [
        (lambda t: _split(t, _vocab(t[:int(len(t) * 0.9)]), int(len(t) * 0.9)), "先对**全文**建词表"),  # KeyError
        (lambda t: (_vocab(t[:int(len(t) * 0.9)]),) + _split(t, _vocab(t), int(len(t) * 0.9))[1:], "不只是前 90%"),
        (lambda t: _split(t, _vocab(t, reverse=True), int(len(t) * 0.9)), "编号顺序不对"),
        (lambda t: _split(t, _vocab(t), round(len(t) * 0.9)), "向下取整"),
        (lambda t: _split(t, _vocab(t), int(len(t) * 0.8)), "应有 int(11 * 0.9) = 9 个编号"),
        (lambda t: (lambda r: (r[0], r[2], r[1]))(_split(t, _vocab(t), int(len(t) * 0.9))), "两段反了"),
        (lambda t: list(_split(t, _vocab(t), int(len(t) * 0.9))), "要返回三样东西"),
        (lambda t: (list(_vocab(t)),) + _split(t, _vocab(t), int(len(t) * 0.9))[1:], "第一项应是 stoi 字典"),
        (lambda t: (lambda r: (r[0], r[1], r[2][:-1]))(_split(t, _vocab(t), int(len(t) * 0.9))), "一个不多、一个不少"),
        (lambda t: (lambda r: (r[0], tuple(r[1]), r[2]))(_split(t, _vocab(t), int(len(t) * 0.9))), "编号的列表"),
        ({"a": 0}, "把函数本身传进来"),
    ],
)
def test_q3_wrong_prepares_get_advice(prepare, advice):
    kind, text = feedback_of(ch01.q3, prepare)
    assert kind == "incorrect" and advice in text


def _itos(stoi: dict) -> dict:
    return {i: ch for ch, i in stoi.items()}


@pytest.mark.parametrize(
    "make_decode, advice",
    [
        (lambda stoi: (lambda ids: [_itos(stoi)[i] for i in ids]), "''.join"),
        (lambda stoi: (lambda ids: " ".join(_itos(stoi)[i] for i in ids)), "多了空格"),
        (lambda stoi: (lambda ids: "".join(ch01.ITOS[i] for i in ids)), "用的是本章的 itos"),
        (lambda stoi: (lambda ids: "".join(sorted(stoi)[i] for i in ids)), "假设了编号按字符排序"),
        (lambda stoi: "".join(stoi), "要返回一个函数"),
        (lambda stoi: (lambda ids: "".join(_itos(stoi)[i] for i in ids[:10])), "应是"),  # long text gets cut off
    ],
)
def test_q4_wrong_decoders_get_advice(make_decode, advice):
    kind, text = feedback_of(ch01.q4, make_decode)
    assert kind == "incorrect" and advice in text


def test_q4_crash_is_reported_not_raised():
    kind, text = feedback_of(ch01.q4, lambda stoi: (lambda ids: "".join(stoi[i] for i in ids)))
    assert kind == "incorrect" and "KeyError" in text


def test_q5_counts_every_occurrence_outside_the_vocabulary(shakespeare):
    """What q5 asks, measured independently of its checker: '3' and ':' are known, the rest is not."""
    _, tok, _, _ = shakespeare
    unknown = "".join(ch for _, ch in tok.unknown_chars(ch01.UNKNOWN_TEXT))
    assert unknown == "(160)生存还是毁灭" and ch01.q5.reference() == len(unknown) == 11
    assert "3" in tok.stoi and ":" in tok.stoi


@pytest.mark.parametrize(
    "answer, advice",
    [
        (13, "'3' 在词表里"),            # both 3s counted
        (12, "'3' 在词表里"),            # the 3 of 1603 counted
        (23, "不是 UTF-8 字节"),         # hanzi counted as 3 bytes each
        (9, "漏了括号"),
        (6, "英文部分也有词表外的字符"),
        (5, "6 个汉字也一个都不在词表里"),
        (10, "差一个"),
        (28, "总字符数"),
        (7, "逐个字符对照"),
        ("11", "答案是一个整数"),
    ],
)
def test_q5_wrong_predictions_get_advice(answer, advice):
    kind, text = feedback_of(ch01.q5, answer)
    assert kind == "incorrect" and advice in text


def test_feedback_reads_as_plain_text_and_html():
    feedback = ch01.q1.check(9)
    assert repr(feedback).startswith("✘ 还不对 Incorrect: 9 是这个小词表的大小")
    assert "nl-incorrect" in feedback._repr_html_()
    assert "排序" in repr(ch01.q1.hint()) and "stoi['t']  # 8" in repr(ch01.q1.solution())


def test_q6_lengths_are_chapter_ones_measurements(shakespeare):
    """The constants behind q6 are the real lengths of the training split (BPE trained as in chapter 1)."""
    text, tok, train, _ = shakespeare
    train_text = text[: len(train)]
    assert ch01.TRAIN_CHARS == len(train_text) == len(train)
    assert ch01.WORD_TOKENS == len(train_text.split())
    assert ch01.BPE_TOKENS == len(BPETokenizer.train(train_text, 256).encode(train_text))


def test_q6_reference_is_tokens_to_characters_to_words():
    chars_per_word = ch01.TRAIN_CHARS / ch01.WORD_TOKENS
    char_words, bpe_words = ch01.q6.reference()
    assert char_words == pytest.approx(8 / chars_per_word, abs=0.01)
    assert bpe_words == pytest.approx(8 * ch01.TRAIN_CHARS / ch01.BPE_TOKENS / chars_per_word, abs=0.01)
    assert ch01.q6.check((1.5, 2.8)).correct  # rounded by hand, within 10%


@pytest.mark.parametrize(
    "answer, advice",
    [
        ((8, 8), "8 是词元数，不是单词数"),
        ((2.85, 1.45), "顺序反了"),
        ((44.0, 2.85), "乘反了"),
        ((1.45, 0.74), "不是 8 ÷ 1.96"),
        ((1.45, 5.0), "BPE 还不对"),
        ((3.0, 2.85), "字符级还不对"),
        (1.45, "答案是两个数"),
        (("1.45", "2.85"), "都应是数字"),
    ],
)
def test_q6_wrong_answers_get_advice(answer, advice):
    kind, text = feedback_of(ch01.q6, answer)
    assert kind == "incorrect" and advice in text
