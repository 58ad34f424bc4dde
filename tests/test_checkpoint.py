import os

import pytest
import torch

import nanogpt_lite as nl
from nanogpt_lite.checkpoint import CheckpointError, load_nanogpt_checkpoint, save_nanogpt_checkpoint
from nanogpt_lite.gpt import GPT, GPTConfig

MODEL_ARGS = dict(n_layer=2, n_head=2, n_embd=8, block_size=8, bias=False, vocab_size=11, dropout=0.0)


def trained_like_nanogpt() -> tuple[GPT, dict]:
    """A checkpoint dict assembled the way nanoGPT's train.py assembles it (one AdamW step taken)."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(**MODEL_ARGS))
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), "cpu")
    _, loss = model(torch.zeros(1, 8, dtype=torch.long), torch.ones(1, 8, dtype=torch.long))
    loss.backward()
    optimizer.step()
    config = dict(out_dir="out-shakespeare-char", eval_interval=250, eval_iters=200, always_save_checkpoint=False,
                  dataset="shakespeare_char", batch_size=12, block_size=8, n_layer=2, learning_rate=1e-3,
                  decay_lr=True, device="cpu", dtype="float32", compile=False)  # train.py's int/float/bool/str globals
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "model_args": dict(MODEL_ARGS),
        "iter_num": 250,
        "best_val_loss": torch.tensor(1.8857),  # losses['val'] is a 0-d tensor in train.py
        "config": config,
    }
    return model, checkpoint


def test_loads_a_checkpoint_built_as_train_py_builds_it(tmp_path):
    model, checkpoint = trained_like_nanogpt()
    torch.save(checkpoint, tmp_path / "ckpt.pt")
    loaded, info = load_nanogpt_checkpoint(tmp_path / "ckpt.pt", map_location="cpu")
    assert info.config == GPTConfig(**MODEL_ARGS)
    assert info.iter_num == 250 and info.best_val_loss == pytest.approx(1.8857)
    assert info.train_config["dataset"] == "shakespeare_char"
    assert info.optimizer["param_groups"][0]["weight_decay"] == 0.1
    assert not loaded.training
    idx = torch.tensor([[1, 2, 3]])
    assert torch.equal(loaded(idx)[0], model.eval()(idx)[0])


def test_compiled_prefix_and_old_mask_buffers_are_accepted(tmp_path):
    model, checkpoint = trained_like_nanogpt()
    state = {f"_orig_mod.{k}": v for k, v in checkpoint["model"].items()}
    state["_orig_mod.transformer.h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 8, 8))  # nanoGPT before PyTorch 2
    torch.save({**checkpoint, "model": state}, tmp_path / "ckpt.pt")
    loaded, _ = load_nanogpt_checkpoint(tmp_path / "ckpt.pt", map_location="cpu")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    model, _ = trained_like_nanogpt()
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), "cpu")
    path = save_nanogpt_checkpoint(tmp_path / "ckpt.pt", model, optimizer, iter_num=7, best_val_loss=2.5,
                                   config={"dataset": "shakespeare_char"})
    loaded, info = load_nanogpt_checkpoint(path, nl.CharTokenizer("abcdefghijk"), map_location="cpu")
    assert loaded.state_dict().keys() == model.state_dict().keys()
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    assert (info.iter_num, info.best_val_loss, info.train_config) == (7, 2.5, {"dataset": "shakespeare_char"})
    assert loaded.lm_head.weight is loaded.transformer.wte.weight  # still tied after loading
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporary file left


def test_saved_file_has_train_py_layout(tmp_path):
    model, _ = trained_like_nanogpt()
    save_nanogpt_checkpoint(tmp_path / "ckpt.pt", model)
    raw = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert set(raw) == {"model", "optimizer", "model_args", "iter_num", "best_val_loss", "config"}
    assert raw["model_args"] == MODEL_ARGS
    # what nanoGPT's sample.py does with it: GPT(GPTConfig(**model_args)).load_state_dict(model), strict
    fresh = GPT(GPTConfig(**raw["model_args"]))
    fresh.load_state_dict(raw["model"])


def test_a_failed_save_leaves_the_old_file_whole(tmp_path, monkeypatch):
    model, _ = trained_like_nanogpt()
    path = save_nanogpt_checkpoint(tmp_path / "ckpt.pt", model, iter_num=1)
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"PK\x03\x04half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_nanogpt_checkpoint(path, model, iter_num=2)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pt"]


def test_not_a_file(tmp_path):
    with pytest.raises(CheckpointError, match="is not a file"):
        load_nanogpt_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="文件夹"):
        load_nanogpt_checkpoint(tmp_path)


def test_not_a_torch_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(CheckpointError, match="not a torch checkpoint") as info:
        load_nanogpt_checkpoint(tmp_path / "notes.txt")
    assert isinstance(info.value, ValueError)
    assert info.value.args[0].index("不是 PyTorch 检查点") < info.value.args[0].index("not a torch checkpoint")


def test_truncated_file(tmp_path):
    _, checkpoint = trained_like_nanogpt()
    torch.save(checkpoint, tmp_path / "ckpt.pt")
    data = (tmp_path / "ckpt.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_nanogpt_checkpoint(tmp_path / "cut.pt")


def test_missing_keys_are_named(tmp_path):
    _, checkpoint = trained_like_nanogpt()
    torch.save({k: v for k, v in checkpoint.items() if k != "model_args"}, tmp_path / "a.pt")
    with pytest.raises(CheckpointError, match=r"\['model_args'\]"):
        load_nanogpt_checkpoint(tmp_path / "a.pt")
    torch.save({**checkpoint, "model_args": {"n_layer": 2}}, tmp_path / "b.pt")
    with pytest.raises(CheckpointError, match="n_head"):
        load_nanogpt_checkpoint(tmp_path / "b.pt")
    torch.save(checkpoint["model"], tmp_path / "c.pt")  # a bare state_dict is a dict without 'model'
    with pytest.raises(CheckpointError, match="'model'"):
        load_nanogpt_checkpoint(tmp_path / "c.pt")


def test_vocab_size_mismatch_names_both_sizes(tmp_path):
    _, checkpoint = trained_like_nanogpt()
    torch.save(checkpoint, tmp_path / "ckpt.pt")
    tok = nl.CharTokenizer.from_text(nl.load_text())
    with pytest.raises(CheckpointError, match="vocab_size is 11 but the tokenizer has 65"):
        load_nanogpt_checkpoint(tmp_path / "ckpt.pt", tok)


def test_weights_that_do_not_fit_the_config(tmp_path):
    _, checkpoint = trained_like_nanogpt()
    torch.save({**checkpoint, "model_args": {**MODEL_ARGS, "n_embd": 16}}, tmp_path / "ckpt.pt")
    with pytest.raises(CheckpointError, match="do not match its model_args"):
        load_nanogpt_checkpoint(tmp_path / "ckpt.pt")
    state = dict(checkpoint["model"])
    del state["transformer.h.1.mlp.c_fc.weight"]
    torch.save({**checkpoint, "model": state}, tmp_path / "ckpt.pt")
    with pytest.raises(CheckpointError, match="mlp.c_fc.weight"):
        load_nanogpt_checkpoint(tmp_path / "ckpt.pt")
