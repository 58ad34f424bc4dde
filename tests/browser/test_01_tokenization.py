"""Chapter 1 in a real browser: run every cell, then type into the tokenizer playground."""
import pytest

import nanogpt_lite as nl

WIDGET = "nl-tokenizer-playground"
VIEW = f".{WIDGET} .widget-html"
LATENCY_TEXT = "the quick brown fox jumps over"  # 30 characters, all in the vocabulary


@pytest.fixture(scope="module")
def chapter(lab, browser):
    with lab.run_all(browser, "notebooks/01_tokenization.ipynb") as opened:
        yield opened


@pytest.fixture(scope="module")
def tok() -> nl.CharTokenizer:
    return nl.CharTokenizer.from_text(nl.load_text())


def chip_ids(chapter) -> list[str]:
    return chapter.page.locator(f"{VIEW} .nl-chip small").all_inner_texts()


def test_typing_shows_one_chip_per_character_with_its_id(chapter, tok):
    box = chapter.widget(WIDGET).locator("textarea")
    box.fill("")
    box.focus()
    typed = ""
    for ch in "hello":  # key by key, as a learner types: every key press updates the chips
        typed += ch
        chapter.measure(WIDGET, VIEW, lambda: chapter.page.keyboard.type(ch), rf"^{len(typed)} 个字符 → {len(typed)} 个词元")
    assert chip_ids(chapter) == [str(i) for i in tok.encode("hello")]
    assert "✔ decode(encode(text)) == text" in chapter.text(VIEW)
    chapter.screenshot(WIDGET)


def test_characters_outside_the_vocabulary_are_flagged(chapter):
    box = chapter.widget(WIDGET).locator("textarea")
    chapter.measure(WIDGET, VIEW, lambda: box.fill("hi 你好"), r"未知字符 2 个")
    assert chip_ids(chapter)[-2:] == ["?", "?"]
    assert chapter.page.locator(f"{VIEW} .nl-unknown").count() == 2
    assert "UnknownCharacterError" in chapter.text(VIEW)


def test_bpe_needs_fewer_tokens_than_characters(chapter, tok):
    playground = chapter.widget(WIDGET)
    chapter.measure(WIDGET, VIEW, lambda: playground.locator("textarea").fill("hello world"), r"^11 个字符 → 11 个词元")
    buttons = playground.locator(".widget-toggle-buttons button")
    chapter.measure(WIDGET, VIEW, lambda: buttons.get_by_text("BPE", exact=False).click(),
                    rf"词表大小 (?!{tok.vocab_size}\b)\d+")
    ids = chip_ids(chapter)
    assert 0 < len(ids) < len("hello world") and "?" not in ids
    assert "✔ decode(encode(text)) == text" in chapter.text(VIEW)
    chapter.measure(WIDGET, VIEW, lambda: buttons.get_by_text("字符级", exact=False).click(), rf"词表大小 {tok.vocab_size}\b")
    assert not chapter.errors(f".{WIDGET}")


def test_thirty_key_presses_for_the_latency_probe(chapter):
    box = chapter.widget(WIDGET).locator("textarea")
    box.fill("")
    box.focus()
    for n, ch in enumerate(LATENCY_TEXT, start=1):  # 30 samples: the browser suite's latency figure needs at least 30
        chapter.measure(WIDGET, VIEW, lambda: chapter.page.keyboard.type(ch), rf"^{n} 个字符 → {n} 个词元")
    assert "✔ decode(encode(text)) == text" in chapter.text(VIEW)


def test_readable_in_light_and_dark_at_900_and_600px(chapter):
    box = chapter.widget(WIDGET).locator("textarea")
    chapter.measure(WIDGET, VIEW, lambda: box.fill("hello world, 你好 7!"), r"未知字符 3 个")  # known and unknown chips
    problems = chapter.readability(WIDGET)
    assert not problems, "\n".join(problems)


def test_widgets_survive_save_close_and_reopen(chapter):
    problems = chapter.save_and_reopen([WIDGET])
    assert not problems, "\n".join(problems)
