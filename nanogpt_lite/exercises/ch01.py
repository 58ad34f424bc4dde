"""Chapter 1 exercises: character tokenization. ``from nanogpt_lite.exercises import ch01``; ``ch01.q1.check(answer)``."""
from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from .core import ____, Incorrect, Problem, expect, expect_callable, returns_blank

# The 65 characters of tiny Shakespeare in sorted order (tests check this against the real text).
CHARS = "\n !$&',-.3:;?" + string.ascii_uppercase + string.ascii_lowercase
STOI = {ch: i for i, ch in enumerate(CHARS)}
ITOS = {i: ch for i, ch in enumerate(CHARS)}

# Exercise 2: the second half of the line whose first half exercise 1 uses, so no earlier cell prints the answer.
HAMLET_IDS = [58, 46, 39, 58, 1, 47, 57, 1, 58, 46, 43, 1, 55, 59, 43, 57, 58, 47, 53, 52]
HAMLET = "that is the question"

# Exercise 1: a vocabulary built from one line only, so the answer is not in the chapter's printed tables.
SMALL_TEXT = "To be, or not to be"
SMALL_CHARS = sorted(set(SMALL_TEXT))  # [' ', ',', 'T', 'b', 'e', 'n', 'o', 'r', 't']
SMALL_T = SMALL_CHARS.index("t")  # 8

# Exercise 6: the lengths of the training split (chapter 1's table; tests recompute them from the data).
TRAIN_CHARS = 1_003_854  # characters in the first 90% of tiny Shakespeare
BPE_TOKENS = 512_843  # the same text in tokens of a BPE with 256 merges trained on it
WORD_TOKENS = 182_499  # the same text in whitespace words
BLOCK_SIZE = 8


def words_seen(tokens: int, block_size: int = BLOCK_SIZE) -> float:
    """On average, how many whitespace words ``block_size`` tokens cover, when the split has ``tokens`` tokens."""
    return block_size * (TRAIN_CHARS / tokens) / (TRAIN_CHARS / WORD_TOKENS)


def _check_small_vocab(answer: Any) -> None:
    expect(not isinstance(answer, str), "要的是编号（一个整数），不是字符本身：编号是字符在 sorted(set(...)) 里的位置。")
    expect(isinstance(answer, int) and not isinstance(answer, bool), f"答案应是一个整数，你给的是 {type(answer).__name__}。")
    expect(answer != len(SMALL_CHARS), f"{len(SMALL_CHARS)} 是这个小词表的大小。编号从 0 开始，所以最后一个字符的编号是 {len(SMALL_CHARS) - 1}。")
    expect(answer != SMALL_TEXT.index("t"), f"{answer} 是 't' 在句子里第一次出现的位置。编号要先去重、再排序：看的是 sorted(set(...))。")
    expect(answer != STOI["t"], f"{STOI['t']} 是完整的 65 字符词表里 't' 的编号；这里的词表只由这一句话建成，小得多。")
    expect(answer != SMALL_CHARS.index("T"), "这是大写 'T' 的编号。't' 是小写，排在所有大写字母后面。")
    expect(answer == SMALL_T, f"还不对：{answer} 是 {SMALL_CHARS[answer] if 0 <= answer < len(SMALL_CHARS) else '(超出范围)'!r} 的编号。"
           "排序按 Unicode 码位：空格、标点在前，然后大写字母，最后小写字母。")


def _check_decoded(answer: Any) -> None:
    expect(not isinstance(answer, list) or not all(isinstance(x, int) for x in answer),
           "这还是一串编号。解码是反方向：每个编号用 itos 换回字符。")
    expect(not isinstance(answer, list), "字符都换对了的话，还要用 ''.join(...) 把列表拼成一个字符串。")
    expect(isinstance(answer, str), f"答案应是一个字符串，你给的是 {type(answer).__name__}。")
    expect(answer != " ".join(HAMLET), "字符之间多了空格：用 ''.join，不是 ' '.join。")
    expect(answer.lower() != HAMLET.lower() or answer == HAMLET, "大小写不对：编号 13–38 是大写字母，39–64 才是小写。")
    shifted = "".join(ITOS.get(i + 1, "?") for i in HAMLET_IDS), "".join(ITOS.get(i - 1, "?") for i in HAMLET_IDS)
    expect(answer not in shifted, "每个字符都错开了一位：编号从 0 开始（0 是换行 '\\n'）。")
    expect(answer == HAMLET, f"还不对：你给的是 {answer!r}。用 tok.decode(...) 或 itos 逐个查一遍。")


# Exercise 3: texts for prepare(); the last ends in a character its first 90% never has.
PREPARE_CASES = ["hello world", "To be, or not to be?", "First Citizen:\nBefore we proceed", "aaaaaaaaaaaaaab"]

# Exercise 4: vocabularies whose stoi make_decode() inverts; the last is numbered out of sorted order.
SMALL_STOI = {ch: i for i, ch in enumerate(SMALL_CHARS)}
SHUFFLED_STOI = {"a": 2, "b": 0, "c": 1, " ": 3}


def _prepare(text: str) -> tuple[dict[str, int], list[int], list[int]]:
    stoi = {ch: i for i, ch in enumerate(sorted(set(text)))}
    ids = [stoi[c] for c in text]
    n = int(len(text) * 0.9)
    return stoi, ids[:n], ids[n:]


def _check_prepare(prepare: Callable[[str], Any]) -> None:
    expect_callable(prepare, "prepare")
    for text in PREPARE_CASES:
        want_stoi, want_train, want_val = _prepare(text)
        n = len(want_train)
        try:
            got = prepare(text)
        except KeyError as missing:
            raise Incorrect(f"prepare({text!r}) 报 KeyError {missing}：这个字符只在后 10% 里出现。"
                            "prepare.py 先对**全文**建词表，再切分。") from None
        expect(isinstance(got, tuple) and len(got) == 3, "要返回三样东西：(stoi, 训练集编号列表, 验证集编号列表)。")
        stoi, train, val = got
        expect(isinstance(stoi, dict), f"第一项应是 stoi 字典（字符 → 编号），你给的是 {type(stoi).__name__}。")
        expect(set(stoi) == set(want_stoi),
               f"prepare({text!r}) 的 stoi 应有 {len(want_stoi)} 个字符 {sorted(want_stoi)!r}，你的有 {len(stoi)} 个："
               "词表由全文（不只是前 90%）里所有不同的字符组成。")
        expect(stoi == want_stoi, f"prepare({text!r}) 的编号顺序不对：先 sorted(set(text))，再用 enumerate 编号。")
        expect(isinstance(train, list) and isinstance(val, list), "训练集、验证集都应是编号的列表（list）。")
        ids = [want_stoi[c] for c in text]
        expect(val + train != ids or not val, "两段反了：前 90% 是训练集，后 10% 是验证集。")
        expect(train + val == ids, f"prepare({text!r}) 的两段拼起来应是全文的编号，一个不多、一个不少。")
        expect(len(train) == n, f"prepare({text!r}) 的训练集应有 int({len(text)} * 0.9) = {n} 个编号，你的有 {len(train)} 个："
               "和 prepare.py 一样向下取整。")


def _decode_with(stoi: dict[str, int], ids: list[int]) -> str:
    itos = {i: ch for ch, i in stoi.items()}
    return "".join(itos[i] for i in ids)


def _check_make_decode(make_decode: Callable[[dict[str, int]], Any]) -> None:
    expect_callable(make_decode, "make_decode")
    decode = make_decode(STOI)
    expect(callable(decode), f"make_decode(stoi) 要返回一个函数（decode 本身），你的返回 {type(decode).__name__}。")
    got = decode([46, 43, 50, 50, 53])
    expect(not isinstance(got, list), "decode 返回的是字符列表：再用 ''.join(...) 拼成字符串。")
    expect(isinstance(got, str), f"decode 应返回一个字符串，你的返回 {type(got).__name__}。")
    expect(got != "h e l l o", "字符之间多了空格：用 ''.join，不是 ' '.join。")
    for stoi in (STOI, SMALL_STOI, SHUFFLED_STOI):
        ids = sorted(stoi.values()) + [stoi[ch] for ch in reversed(list(stoi))]
        want, got = _decode_with(stoi, ids), make_decode(stoi)(ids)
        expect(not (stoi is not STOI and got == "".join(ITOS[i] for i in ids)),
               "你的 decode 用的是本章的 itos：要用传进来的 stoi 反查出的表，换一个词表也能解码。")
        expect(not (stoi is SHUFFLED_STOI and got == "".join(sorted(stoi)[i] for i in ids)),
               "你假设了编号按字符排序。把 stoi 的每一对 (字符, 编号) 反过来，才是 itos。")
        expect(got == want, f"用词表 {stoi if len(stoi) < 12 else '（65 个字符）'} 解码 {ids if len(ids) < 12 else '[...]'}"
               f" 应是 {want!r}，你的函数给出 {got!r}。")


# Exercise 5 (predict, then measure): a line that mixes the chapter's alphabet with characters outside it.
# Unknown in tiny Shakespeare's 65 characters: '(' ')' '1' '6' '0' and the six hanzi; '3' and ':' are in it.
UNKNOWN_TEXT = "Hamlet (1603), Act 3: 生存还是毁灭"
UNKNOWN_COUNT = sum(ch not in STOI for ch in UNKNOWN_TEXT)  # 11
_HAN = sum("\u4e00" <= ch <= "\u9fff" for ch in UNKNOWN_TEXT)  # 6
_THREES = UNKNOWN_TEXT.count("3")  # 2: '3' is the one digit tiny Shakespeare has
_PARENS = UNKNOWN_TEXT.count("(") + UNKNOWN_TEXT.count(")")  # 2


def _check_unknown_count(answer: Any) -> None:
    expect(isinstance(answer, int) and not isinstance(answer, bool),
           f"答案是一个整数：这句话里有几个字符不在词表里。你给的是 {type(answer).__name__}。")
    expect(answer != len(UNKNOWN_TEXT), f"{len(UNKNOWN_TEXT)} 是这句话的总字符数。只数不在 65 个字符的词表里的那些。")
    expect(answer not in (UNKNOWN_COUNT + 1, UNKNOWN_COUNT + _THREES),
           "'3' 在词表里：tiny Shakespeare 的数字只有 '3' 这一个（1.1 节的表）。1603 里的 3 和 Act 3 的 3 都编得出来。")
    expect(answer != UNKNOWN_COUNT + 2 * _HAN, "数的是字符，不是 UTF-8 字节：一个汉字是 1 个字符（虽然占 3 个字节）。")
    expect(answer != UNKNOWN_COUNT - _PARENS,
           "漏了括号：词表里的标点只有 !$&',-.:;? 这 10 个，'(' 和 ')' 都不在里面。")
    expect(answer != _HAN, "汉字都不在词表里，这没错；可这句话的英文部分也有词表外的字符：看看数字和括号。")
    expect(answer != UNKNOWN_COUNT - _HAN, "英文部分数对了；6 个汉字也一个都不在词表里。")
    expect(answer != UNKNOWN_COUNT - 1, "差一个：'3' 以外的数字 1、6、0 各算一个，括号两个，再加 6 个汉字。")
    expect(answer == UNKNOWN_COUNT,
           f"还不对：你数出 {answer} 个。逐个字符对照 1.1 节的 65 个字符：大小写字母、空格、10 个标点和数字 '3' 在词表里，其余都不在。")


def _make_decode(stoi: dict[str, int]) -> Callable[[list[int]], str]:
    return lambda ids: _decode_with(stoi, ids)


def _untouched_decode(make_decode: Any) -> bool:
    decode = make_decode(STOI)
    return decode is ____ or (callable(decode) and decode([46]) is ____)


q1 = Problem(
    prompt=f"只用 {SMALL_TEXT!r} 这一句话建词表（sorted(set(...))），'t' 的编号是多少？",
    checker=_check_small_vocab,
    hint_text="先列出这句话里不同的字符，再按 Unicode 码位排序：空格、逗号在前，大写 'T' 在小写字母前面。从 0 数起。",
    solution_text=f"nl.CharTokenizer.from_text({SMALL_TEXT!r}).stoi['t']  # {SMALL_T}：词表是 {SMALL_CHARS!r}",
    reference=lambda: SMALL_T,
    praise=f"词表是 {SMALL_CHARS!r}：{len(SMALL_CHARS)} 个字符，'t' 排在最后。换一段文字，编号就全变了。",
)

q2 = Problem(
    prompt=f"把编号列表 {HAMLET_IDS} 解码成文字。",
    checker=_check_decoded,
    hint_text="decode 是 encode 的反方向：每个编号用 itos 换回字符，再用 ''.join 拼起来；tok.decode 也行。",
    solution_text=f"tok.decode({HAMLET_IDS})  # {HAMLET!r}",
    reference=lambda: HAMLET,
    praise="《哈姆雷特》里最有名的一句的后半句；前半句 'To be, or not to be' 就是练习 1 的那句话。",
)

q3 = Problem(
    prompt="像 nanoGPT 的 prepare.py 那样写 prepare(text)：对全文建词表（sorted(set(...))），编码全文，"
           "前 90% 是训练集、后 10% 是验证集；返回 (stoi, 训练集编号列表, 验证集编号列表)。",
    checker=_check_prepare,
    hint_text="三步：stoi = {ch: i for i, ch in enumerate(sorted(set(text)))}；ids = 逐字符查 stoi；"
              "n = int(len(text) * 0.9)，训练集是 ids[:n]。词表要在切分之前、对全文建。",
    solution_text="def prepare(text):\n"
                  "    stoi = {ch: i for i, ch in enumerate(sorted(set(text)))}\n"
                  "    ids = [stoi[c] for c in text]\n"
                  "    n = int(len(text) * 0.9)\n"
                  "    return stoi, ids[:n], ids[n:]",
    reference=lambda: _prepare,
    praise="这就是 prepare.py 的前半段：全文建表、编码、90/10 切分；它再把两段写成 uint16 的 .bin，把词表存进 meta.pkl。",
    untouched=returns_blank("hello"),
)

q4 = Problem(
    prompt="写 make_decode(stoi)：只给你一张 stoi（比如从 meta.pkl 读回来的），返回一个 decode(ids) 函数，把编号列表变回字符串。",
    checker=_check_make_decode,
    hint_text="itos 是 stoi 反过来：{i: ch for ch, i in stoi.items()}。decode 对每个编号查 itos，再用 ''.join 拼起来。"
              "不要用本章的 itos，也不要假设编号按字符排序。",
    solution_text="def make_decode(stoi):\n"
                  "    itos = {i: ch for ch, i in stoi.items()}\n"
                  "    def decode(ids):\n"
                  "        return ''.join(itos[i] for i in ids)\n"
                  "    return decode",
    reference=lambda: _make_decode,
    praise="stoi 和 itos 互为反查，所以存一张就够了；nanoGPT 的 meta.pkl 两张都存，sample.py 读出来直接用。",
    untouched=_untouched_decode,
)

q5 = Problem(
    prompt=f"先别运行代码：用本章的字符级分词器（65 个字符）编码 {UNKNOWN_TEXT!r}，会碰到几个未知字符？（每次出现都算）",
    checker=_check_unknown_count,
    hint_text="对照 1.1 节列出的 65 个字符：52 个字母、空格、换行、10 个标点 !$&',-.:;? 和唯一的数字 '3'。"
              "其余字符（别的数字、括号、汉字）每出现一次算一个。",
    solution_text=f"len(tok.unknown_chars({UNKNOWN_TEXT!r}))  # {UNKNOWN_COUNT}："
                  "'(' '1' '6' '0' ')' 和 6 个汉字；两个 '3' 和 ':' 都在词表里",
    reference=lambda: UNKNOWN_COUNT,
    praise="数字只认得 '3'，括号也不认得：“没有未知词”只对用这 65 个字符写的文本成立。",
)


def _check_block_words(answer: Any) -> None:
    expect(isinstance(answer, (tuple, list)) and len(answer) == 2,
           "答案是两个数：(字符级 8 个词元约覆盖几个单词, BPE 8 个词元约覆盖几个单词)，例如 (1.2, 3.4)。")
    char_words, bpe_words = answer
    expect(all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in answer), "两个答案都应是数字。")
    want = (words_seen(TRAIN_CHARS), words_seen(BPE_TOKENS))
    expect(tuple(answer) != (BLOCK_SIZE, BLOCK_SIZE), "8 是词元数，不是单词数：先把 8 个词元换算成字符，再换算成单词。")
    close = lambda x, y: abs(x - y) <= 0.1 * y  # noqa: E731
    expect(not (close(char_words, want[1]) and close(bpe_words, want[0])), "两个数的顺序反了：先字符级，后 BPE。")
    expect(not close(char_words, BLOCK_SIZE * TRAIN_CHARS / WORD_TOKENS),
           "乘反了：8 个字符除以每个单词的字符数（约 5.50），得到的单词数比 8 少。")
    expect(not close(bpe_words, BLOCK_SIZE / (TRAIN_CHARS / BPE_TOKENS) / (TRAIN_CHARS / WORD_TOKENS)),
           "BPE 一个词元平均约 1.96 个字符：8 个词元是 8 × 1.96 个字符，不是 8 ÷ 1.96。")
    expect(close(char_words, want[0]), f"字符级还不对：8 个字符 ÷ 每个单词约 5.50 个字符，你给的是 {char_words}。")
    expect(close(bpe_words, want[1]), f"BPE 还不对：8 × 1.96 个字符，再 ÷ 5.50，你给的是 {bpe_words}。")


q6 = Problem(
    prompt="block_size = 8 时，字符级模型一次平均看到几个单词？BPE（256 次合并）呢？用 1.6 节表里的“平均每个词元的字符数”。",
    checker=_check_block_words,
    hint_text="单词级那一列的“每个词元的字符数”就是一个单词（连同它后面的空白）平均占几个字符。"
              "先算 8 个词元是多少个字符，再除以它。",
    solution_text="(8 * 1.00 / 5.50, 8 * 1.96 / 5.50)  # 约 (1.45, 2.85)",
    reference=lambda: (round(words_seen(TRAIN_CHARS), 2), round(words_seen(BPE_TOKENS), 2)),
    praise="字符级的 8 个词元还不到一个半单词；BPE 的 8 个词元约有三个单词。窗口按词元数算，这就是字符级“序列变长”的代价。",
)
