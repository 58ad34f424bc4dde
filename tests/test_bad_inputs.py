"""Public calls given a bad argument say what is wrong, in Chinese first, instead of a raw error or nothing."""
import pytest
import torch

import nanogpt_lite as nl
from nanogpt_lite.gpt import GPT, GPTConfig


def chinese_then_english(message: str, zh: str, en: str) -> None:
    """``zh`` occurs before the " / " that starts the English ``en``."""
    assert 0 <= message.index(zh) < message.index(" / ") < message.index(en)


def test_tokenizer_from_empty_text_is_refused():
    with pytest.raises(ValueError) as err:
        nl.CharTokenizer.from_text("")
    chinese_then_english(str(err.value), "文本是空的（收到 ''）", "the text is empty (got '')")
    assert "nl.load_text()" in str(err.value)


@pytest.mark.parametrize("batch_size", [0, -3])
def test_get_batch_refuses_a_batch_of_no_windows(batch_size):
    data = torch.arange(100)
    with pytest.raises(ValueError) as err:
        nl.get_batch(data, batch_size, 8, generator=torch.Generator().manual_seed(0))
    chinese_then_english(str(err.value), f"batch_size 必须是 >= 1 的整数，收到 {batch_size}",
                         f"batch_size must be a whole number >= 1, got {batch_size}")


@pytest.mark.parametrize("path", [42, b"input.txt", ["input.txt"]])
def test_load_text_refuses_what_is_not_a_path(path):
    with pytest.raises(TypeError) as err:
        nl.load_text(path)
    chinese_then_english(str(err.value),
                         f"load_text 的参数必须是语料名（'shakespeare', 'tang'）或文件路径（字符串或 pathlib.Path），收到 {path!r}",
                         f"load_text takes a corpus name ('shakespeare', 'tang') or a file path (a str or os.PathLike "
                         f"such as pathlib.Path), got {path!r}")


def _gpt(vocab_size: int) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(block_size=8, vocab_size=vocab_size, n_layer=1, n_head=1, n_embd=8))


@pytest.mark.parametrize(
    "make, vocab_size",
    [(nl.BigramLanguageModel, 5), (_gpt, 7), (lambda n: nl.count_model(torch.full((n, n), 1 / n)), 6)],
    ids=["bigram", "gpt", "count_model"],
)
@pytest.mark.parametrize("bad, where", [(65, "0, 1"), (-1, "1, 0")])
def test_generate_names_an_id_outside_the_models_vocabulary(make, vocab_size, bad, where):
    """As after encoding with another tokenizer than the model's: the id, the vocab_size and the likely cause."""
    idx = torch.tensor([[0, 1], [2, 3]])
    idx[tuple(map(int, where.split(", ")))] = bad
    with pytest.raises(ValueError) as err:
        nl.generate(make(vocab_size), idx, 5, generator=torch.Generator().manual_seed(0))
    message = str(err.value)
    chinese_then_english(message, f"编号 {bad}（idx[{where}]）超出模型的词表：模型的 vocab_size={vocab_size}",
                         f"id {bad} at idx[{where}] is outside the model's vocabulary: its vocab_size is {vocab_size}")
    chinese_then_english(message, "分词器和模型不是一套", "the tokenizer is not the one the model was trained with")


def test_generate_accepts_every_id_of_the_vocabulary():
    model = nl.BigramLanguageModel(5)
    out = nl.generate(model, torch.tensor([[0, 4]]), 3, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 5) and out[0, :2].tolist() == [0, 4]


def test_generate_without_a_known_vocabulary_still_runs():
    """A model that says neither config.vocab_size nor token_embedding_table: no range check, as before."""

    class Uniform(torch.nn.Module):
        def forward(self, idx, targets=None):
            return torch.zeros(*idx.shape, 3), None

    out = nl.generate(Uniform(), torch.tensor([[0]]), 4, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 5)


@pytest.mark.parametrize("idx, got", [(torch.tensor([[1.0, 2.0]]), "torch.float32"),
                                      (torch.tensor([[True]]), "torch.bool"),
                                      ([[1, 2]], "list")])
def test_generate_wants_a_tensor_of_integer_ids(idx, got):
    with pytest.raises(TypeError) as err:
        nl.generate(nl.BigramLanguageModel(5), idx, 3)
    chinese_then_english(str(err.value), f"idx 必须是整数编号的张量（dtype torch.long），收到 {got}",
                         f"idx must be a tensor of integer ids (dtype torch.long), got {got}")
