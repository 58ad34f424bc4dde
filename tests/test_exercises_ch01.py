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
    assert ch01.QUESTION_MARK == tok.stoi["?"]


def test_function_placeholders_are_not_attempted():
    def my_encode(s):
        return ____

    def my_decode(ids):
        return ____

    assert ch01.q3.check(my_encode).kind == "not attempted"
    assert ch01.q4.check(my_decode).kind == "not attempted"
    assert ch01.q5.check(my_encode).kind == "not attempted"


@pytest.mark.parametrize(
    "answer, advice",
    [
        (9, "9 是这个小词表的大小"),
        (12, "在句子里第一次出现的位置"),
        (58, "完整的 65 字符词表里 't' 的编号"),
        (2, "大写 'T' 的编号"),
        ("t", "不是字符本身"),
        (7.0, "应是一个整数"),
        (True, "应是一个整数"),
        (5, "5 是 'n' 的编号"),
    ],
)
def test_q1_wrong_answers_get_advice(answer, advice):
    kind, text = feedback_of(ch01.q1, answer)
    assert kind == "incorrect" and advice in text


@pytest.mark.parametrize(
    "answer, advice",
    [
        (ch01.HAMLET_IDS, "这还是一串编号"),
        (list(ch01.HAMLET), "''.join"),
        (" ".join(ch01.HAMLET), "多了空格"),
        (ch01.HAMLET.upper(), "大小写不对"),
        ("".join(ch01.ITOS[i + 1] for i in ch01.HAMLET_IDS), "错开了一位"),
        ("that", "你给的是 'that'"),
        ("To be, or not to be", "你给的是 'To be, or not to be'"),  # exercise 1's line, not this one
        (42, "应是一个字符串"),
    ],
)
def test_q2_wrong_answers_get_advice(answer, advice):
    kind, text = feedback_of(ch01.q2, answer)
    assert kind == "incorrect" and advice in text


@pytest.mark.parametrize(
    "my_encode, advice",
    [
        (lambda s: s, "返回的是字符串"),
        (lambda s: tuple(ch01.STOI[c] for c in s), "返回 tuple"),
        (lambda s: [ord(c) for c in s], "Unicode 码位"),
        (lambda s: [ch01.STOI[c] + 1 for c in s], "多了 1"),
        (lambda s: [ch01.STOI[c] for c in s.strip()], "my_encode('\\n') 应是 [0]"),  # edge case: whitespace
        (lambda s: [ch01.STOI[c] for c in s] or None, "my_encode('') 应是 []"),  # edge case: empty text
        ([46, 43], "把函数本身传进来"),
    ],
)
def test_q3_checks_the_learners_encode_on_edge_cases(my_encode, advice):
    kind, text = feedback_of(ch01.q3, my_encode)
    assert kind == "incorrect" and advice in text


@pytest.mark.parametrize(
    "my_decode, advice",
    [
        (lambda ids: [ch01.ITOS[i] for i in ids], "''.join"),
        (lambda ids: " ".join(ch01.ITOS[i] for i in ids), "多了空格"),
        (lambda ids: "".join(ch01.ITOS[i + 1] for i in ids), "错开了一位"),
        (lambda ids: "".join(ch01.ITOS[i] for i in ids).strip(), "应是 '\\n'"),
        (lambda ids: "".join(ch01.ITOS[i] for i in ids[:10]), "应是"),  # long text gets cut off
    ],
)
def test_q4_checks_the_learners_decode_on_edge_cases(my_decode, advice):
    kind, text = feedback_of(ch01.q4, my_decode)
    assert kind == "incorrect" and advice in text


def test_q4_crash_is_reported_not_raised():
    kind, text = feedback_of(ch01.q4, lambda ids: "".join(ch01.ITOS[i] for i in ids) + ids)
    assert kind == "incorrect" and "TypeError" in text


@pytest.mark.parametrize(
    "encode_or_replace, advice",
    [
        (lambda s: [ch01.STOI[c] for c in s], "KeyError：用 stoi.get"),
        (lambda s: [ch01.STOI[c] for c in s if c in ch01.STOI], "不要丢掉"),
        (lambda s: [ch01.STOI.get(c, 0) for c in s], "'7' 换成 '?' 的编号 12"),
        (lambda s: [ch01.STOI.get(c, 12) for c in s.lower()], "encode_or_replace('Act 7') 应是"),
        (lambda s: [12 for c in s], "词表里的字符照常编码"),
        (lambda s: [ch01.STOI.get(c, 12) for c in s.replace("\n", "")], "encode_or_replace('7\\n') 应是"),
    ],
)
def test_q5_wrong_answers_get_advice(encode_or_replace, advice):
    kind, text = feedback_of(ch01.q5, encode_or_replace)
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
