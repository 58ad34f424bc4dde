"""A learner's own nanoGPT run: ckpt.pt from train.py and meta.pkl from data/shakespeare_char/prepare.py."""
import dataclasses
import os
import pickle
import re
import shutil
from collections import namedtuple
from pathlib import Path

import pytest
import torch

import nanogpt_lite as nl
from nanogpt_lite import checkpoint
from nanogpt_lite.checkpoint import CheckpointError, MEMORY_SHARE
from nanogpt_lite.gpt import GPT, GPTConfig

MODEL_ARGS = dict(block_size=16, n_layer=2, n_head=2, n_embd=8, bias=False, dropout=0.0)  # vocab_size: per test


def write_meta(path: Path, chars: list[str]) -> Path:
    """meta.pkl as nanoGPT's prepare.py writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": {ch: i for i, ch in enumerate(chars)}}
    with open(path, "wb") as f:
        pickle.dump(meta, f)
    return path


def write_pickle(path: Path, obj: object) -> Path:
    path.write_bytes(pickle.dumps(obj))
    return path


def tiny_gpt(vocab_size: int) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab_size, **MODEL_ARGS))


def save_run(folder: Path, model: GPT, dataset: str = "shakespeare_char") -> Path:
    """``out/ckpt.pt`` inside ``folder``, with some of train.py's settings."""
    (folder / "out").mkdir(parents=True, exist_ok=True)
    config = {"out_dir": "out", "dataset": dataset, "block_size": 16, "compile": False}
    return nl.save_nanogpt_checkpoint(folder / "out" / "ckpt.pt", model, iter_num=250, best_val_loss=1.5, config=config)


@pytest.fixture(autouse=True)
def elsewhere(tmp_path, monkeypatch):
    """Run from an empty folder: no data/ of the current directory is found by accident."""
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")


@pytest.fixture
def checkout(tmp_path, small_tok):
    """A nanoGPT checkout after prepare.py and train.py: (model, ckpt.pt, data/shakespeare_char/meta.pkl)."""
    model = tiny_gpt(small_tok.vocab_size)
    ckpt = save_run(tmp_path / "nanoGPT", model)
    meta = write_meta(tmp_path / "nanoGPT" / "data" / "shakespeare_char" / "meta.pkl", small_tok.chars)
    return model, ckpt, meta


def test_a_learners_run_loads_with_its_tokenizer(checkout, small_tok, small_text):
    model, ckpt, meta = checkout
    loaded, tok, info = nl.load_char_checkpoint(ckpt, map_location="cpu")
    assert info.meta_path == meta  # found in data/<dataset>/ of the checkout
    assert tok.chars == small_tok.chars and tok.stoi == small_tok.stoi
    ids = tok.encode(small_text)
    assert ids == small_tok.encode(small_text) and tok.decode(ids) == small_text
    idx = torch.tensor([ids[:16]])
    assert torch.equal(loaded(idx)[0], model.eval()(idx)[0])
    assert not loaded.training
    assert (info.iter_num, info.best_val_loss, info.train_config["dataset"]) == (250, 1.5, "shakespeare_char")
    assert info.optimizer is None
    assert sorted(os.listdir(ckpt.parent)) == ["ckpt.pt"] and sorted(os.listdir(meta.parent)) == ["meta.pkl"]


def test_a_run_saved_on_a_gpu_under_torch_compile_loads_here(tmp_path, small_tok, monkeypatch):
    model = tiny_gpt(small_tok.vocab_size)
    state = {f"_orig_mod.{k}": v for k, v in model.state_dict().items()}  # train.py with compile=True
    saved = {"model": state, "optimizer": {}, "model_args": dataclasses.asdict(model.config), "iter_num": 5000,
             "best_val_loss": torch.tensor(1.47), "config": {"dataset": "shakespeare_char"}}
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")  # as torch.save tags GPU tensors
        torch.save(saved, tmp_path / "ckpt.pt")
    write_meta(tmp_path / "meta.pkl", small_tok.chars)
    loaded, _, info = nl.load_char_checkpoint(tmp_path / "ckpt.pt")
    assert next(loaded.parameters()).device.type == nl.default_device().type
    assert all(torch.equal(loaded.state_dict()[k].cpu(), v) for k, v in model.state_dict().items())
    assert info.iter_num == 5000 and info.best_val_loss == pytest.approx(1.47)


def test_ids_follow_the_meta_not_sorted_order(tmp_path, small_tok):
    chars = small_tok.chars[::-1]  # a prepare.py that numbered the characters the other way round
    tok = nl.load_meta(write_meta(tmp_path / "meta.pkl", chars))
    assert tok.chars == chars and tok.encode(chars[0] + chars[-1]) == [0, len(chars) - 1]


def test_where_meta_pkl_is_looked_for(tmp_path, small_tok, monkeypatch):
    model = tiny_gpt(small_tok.vocab_size)
    ckpt = save_run(tmp_path / "nanoGPT", model)
    in_data = write_meta(tmp_path / "nanoGPT" / "data" / "shakespeare_char" / "meta.pkl", small_tok.chars)
    beside = write_meta(ckpt.parent / "meta.pkl", small_tok.chars[::-1])
    _, tok, info = nl.load_char_checkpoint(ckpt, map_location="cpu")
    assert info.meta_path == beside and tok.chars == small_tok.chars[::-1]  # next to ckpt.pt comes first
    _, tok, info = nl.load_char_checkpoint(ckpt, in_data, map_location="cpu")
    assert info.meta_path == in_data and tok.chars == small_tok.chars  # a meta_path given wins
    moved = tmp_path / "copied" / "ckpt.pt"
    moved.parent.mkdir()
    shutil.copy(ckpt, moved)
    monkeypatch.chdir(tmp_path / "nanoGPT")  # a notebook started in the checkout
    _, _, info = nl.load_char_checkpoint(moved, map_location="cpu")
    assert info.meta_path == in_data.absolute()


def test_missing_meta_pkl_says_where_it_looked(tmp_path, small_tok):
    ckpt = save_run(tmp_path / "run", tiny_gpt(small_tok.vocab_size))
    with pytest.raises(CheckpointError) as error:
        nl.load_char_checkpoint(ckpt, map_location="cpu")
    message = str(error.value)
    assert message.index("找不到") < message.index("no meta.pkl")
    places = [ckpt.parent / "meta.pkl", Path.cwd() / "data/shakespeare_char/meta.pkl",
              tmp_path / "run/data/shakespeare_char/meta.pkl"]
    assert all(str(place) in message for place in places)
    assert "meta_path='<nanoGPT folder>/data/shakespeare_char/meta.pkl'" in message


def test_a_missing_meta_path_names_it(checkout, tmp_path):
    _, ckpt, _ = checkout
    with pytest.raises(CheckpointError, match="不存在.*is not a file") as error:
        nl.load_char_checkpoint(ckpt, tmp_path / "typo.pkl")
    assert str(tmp_path / "typo.pkl") in str(error.value)


def test_meta_pkl_of_other_data_is_refused(checkout, tmp_path, small_tok):
    _, ckpt, _ = checkout
    other = write_meta(tmp_path / "meta.pkl", sorted(set(nl.load_text())))  # all of tiny Shakespeare's characters
    with pytest.raises(CheckpointError, match="属于别的数据") as error:
        nl.load_char_checkpoint(ckpt, other, map_location="cpu")
    assert f"{other} has 65 characters" in str(error.value)
    assert f"vocab_size {small_tok.vocab_size}:" in str(error.value) and small_tok.vocab_size != 65
    assert "dataset='shakespeare_char'" in str(error.value)


def test_a_gpt2_bpe_checkpoint_is_named(tmp_path):
    ckpt = save_run(tmp_path / "run", tiny_gpt(50304), dataset="openwebtext")  # train.py pads 50257 to 50304
    with pytest.raises(CheckpointError) as error:
        nl.load_char_checkpoint(ckpt, map_location="cpu")
    message = str(error.value)
    assert "GPT-2 的 BPE 模型" in message and "字符级" in message
    assert "50304 tokens and no meta.pkl: it is a GPT-2 BPE model" in message
    assert message.index("字符级") < message.index("character-level")


def model_bytes(model: GPT) -> int:
    return sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))


def test_a_model_too_big_for_memory_is_refused_before_it_is_built(checkout, monkeypatch):
    model, ckpt, _ = checkout
    need = model_bytes(model)
    loaded, _, _ = nl.load_char_checkpoint(ckpt, max_bytes=need, map_location="cpu")
    assert model_bytes(loaded) == need
    monkeypatch.setattr(checkpoint, "_build", lambda *args: pytest.fail("the GPT was built"))
    with pytest.raises(CheckpointError, match="超过上限") as error:
        nl.load_char_checkpoint(ckpt, max_bytes=need - 1, map_location="cpu")
    assert f"needs {need:,} B" in str(error.value) and f"limit of {need - 1:,} B" in str(error.value)


@pytest.mark.parametrize("available_times, fits", [(1.0, False), (3.0, True)])
def test_the_default_limit_is_a_share_of_the_free_memory(checkout, monkeypatch, available_times, fits):
    psutil = pytest.importorskip("psutil")
    model, ckpt, _ = checkout
    available = int(model_bytes(model) * available_times)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: namedtuple("Memory", "available")(available))
    if fits:
        assert nl.load_char_checkpoint(ckpt, map_location="cpu")[2].meta_path is not None
    else:
        with pytest.raises(CheckpointError, match="可用内存") as error:
            nl.load_char_checkpoint(ckpt, map_location="cpu")
        assert f"limit of {int(available * MEMORY_SHARE):,} B" in str(error.value)


def test_a_truncated_checkpoint(checkout, tmp_path):
    _, ckpt, meta = checkout
    cut = tmp_path / "cut.pt"
    cut.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="不完整.*truncated"):
        nl.load_char_checkpoint(cut, meta)


class RunsACommand:
    """Unpickling this runs a shell command: what a malicious meta.pkl could hold."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_meta_pkl_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "hacked"
    payload = pickle.dumps({"vocab_size": 2, "itos": RunsACommand(f'echo hacked > "{marker}"'), "stoi": {}})
    (tmp_path / "meta.pkl").write_bytes(payload)
    with pytest.raises(CheckpointError, match="已拒绝.*refused") as error:
        nl.load_meta(tmp_path / "meta.pkl")
    assert f"{os.system.__module__}.system" in str(error.value)
    assert not marker.exists()  # nothing ran
    pickle.loads(payload)  # the control: plain pickle does run the command, so the file is a real threat
    assert marker.exists()


@pytest.mark.parametrize("meta, message", [
    ([1, 2], "缺少 ['vocab_size', 'itos', 'stoi']"),
    ({"vocab_size": 2, "itos": {0: "a", 1: "b"}}, "lacking ['stoi']"),
    ({"vocab_size": 2, "itos": {0: "a", 2: "b"}, "stoi": {"a": 0, "b": 2}}, "itos must map the ids 0..n-1"),
    ({"vocab_size": 1, "itos": {0: "ab"}, "stoi": {"ab": 0}}, "distinct single characters"),
    ({"vocab_size": 2, "itos": {0: "a", 1: "a"}, "stoi": {"a": 1}}, "distinct single characters"),
    ({"vocab_size": 2, "itos": {0: "a", 1: "b"}, "stoi": {"a": 1, "b": 0}}, "(itos[0] = 'a', stoi['a'] = 1)"),
    ({"vocab_size": 2, "itos": {0: "a", 1: "b"}, "stoi": {"a": 0, "b": 1, "c": 2}}, "stoi['c'] = 2"),
    ({"vocab_size": 2, "itos": {0: "a", 1: "b"}, "stoi": ["a", "b"]}, "(stoi: list)"),
    ({"vocab_size": 3, "itos": {0: "a", 1: "b"}, "stoi": {"a": 0, "b": 1}}, "says vocab_size=3 but itos has 2"),
])
def test_a_damaged_meta_pkl_names_what_is_wrong(tmp_path, meta, message):
    with pytest.raises(CheckpointError) as error:
        nl.load_meta(write_pickle(tmp_path / "meta.pkl", meta))
    assert message in str(error.value) and str(tmp_path / "meta.pkl") in str(error.value)
    chinese, english = str(error.value).split(" / ", 1)
    assert re.search("[\u4e00-\u9fff]", chinese) and not re.search("[\u4e00-\u9fff]", english)


def test_a_meta_pkl_cut_short_or_missing(tmp_path, small_tok):
    whole = write_meta(tmp_path / "meta.pkl", small_tok.chars).read_bytes()
    (tmp_path / "cut.pkl").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CheckpointError, match="读不出来.*cannot be read"):
        nl.load_meta(tmp_path / "cut.pkl")
    with pytest.raises(CheckpointError, match="不存在.*is not a file"):
        nl.load_meta(tmp_path / "missing.pkl")
