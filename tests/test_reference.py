"""The shipped reference GPT is what ``make reference`` (``python -m nanogpt_lite.reference``) writes.

A full rebuild takes about two minutes, so here the same code path runs for a few steps and its file is
compared with the shipped one key by key; ``make bench`` rebuilds it whole and compares the loss.
"""
from __future__ import annotations

from typing import Any

import pytest
import torch

import nanogpt_lite as nl
from nanogpt_lite.checkpoint import CHECKPOINT_KEYS, CheckpointError
from nanogpt_lite.gpt_training import CPU_RECIPE, model_from_recipe
from nanogpt_lite.reference import REFERENCE_FILE, build_reference, load_reference, main, recipe_of

MAX_BYTES = 3_000_000  # the budget for what the checkpoint adds to the wheel


def shape_of(value: Any) -> Any:
    """What a checkpoint holds, without its numbers: keys, types, tensor shapes and dtypes."""
    if isinstance(value, dict):
        return {k: shape_of(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), value.dtype)
    if isinstance(value, list):
        return ("list", sorted({type(v).__name__ for v in value}))
    return type(value).__name__


@pytest.fixture(scope="module")
def short_build(tmp_path_factory):
    return build_reference(tmp_path_factory.mktemp("ref") / "ckpt.pt", steps=6, progress=False)


def test_the_shipped_file_has_the_shape_of_what_the_command_writes(short_build):
    built = torch.load(short_build, weights_only=True)
    shipped = torch.load(REFERENCE_FILE, weights_only=True)
    assert list(shipped) == list(CHECKPOINT_KEYS)
    for key in ("model", "model_args", "iter_num", "best_val_loss", "config"):
        assert shape_of(built[key]) == shape_of(shipped[key]), key
    # the optimizer: the same tensors per parameter; param_groups' option keys may differ between torch versions
    assert shape_of(built["optimizer"]["state"]) == shape_of(shipped["optimizer"]["state"])
    assert [g["params"] for g in built["optimizer"]["param_groups"]] == [g["params"] for g in shipped["optimizer"]["param_groups"]]
    assert built["model_args"] == shipped["model_args"]
    assert REFERENCE_FILE.stat().st_size <= MAX_BYTES


def test_the_shipped_file_was_trained_with_todays_recipe():
    model, history, info = load_reference()
    assert recipe_of(info.train_config) == CPU_RECIPE, "CPU_RECIPE changed: rebuild the reference with `make reference`"
    assert model.config == model_from_recipe(CPU_RECIPE, 65).config
    assert info.iter_num == CPU_RECIPE["steps"] == len(history.step_loss) == len(history.grad_norm) == len(history.lr)
    assert history.eval_steps[-1] == CPU_RECIPE["steps"] and not model.training


def test_the_shipped_optimizer_can_resume_training():
    model, _, info = load_reference()
    state = info.optimizer["state"]
    assert len(state) == len(list(model.parameters()))  # Adam's moments for every tensor (the tied one once)
    assert all(int(s["step"]) == CPU_RECIPE["steps"] and s["exp_avg_sq"].gt(0).any() for s in state.values())
    optimizer = model.configure_optimizers(0.1, CPU_RECIPE["learning_rate"], (0.9, CPU_RECIPE["beta2"]), "cpu")
    optimizer.load_state_dict(info.optimizer)  # what train.py --init_from=resume does


def test_the_recorded_loss_is_the_models_whole_split_loss(shakespeare):
    _, _, _, val = shakespeare
    model, history, info = load_reference()
    assert nl.split_loss(model, val) == pytest.approx(info.best_val_loss, abs=1e-4)
    assert info.best_val_loss <= 1.80  # chapter 6's goal
    assert history.val_loss[-1] < history.val_loss[0] - 2  # the curve went down from about ln 65


def test_the_command_is_deterministic(short_build, tmp_path):
    again = build_reference(tmp_path / "ckpt.pt", steps=6, progress=False)
    a, b = (torch.load(p, weights_only=True)["model"] for p in (short_build, again))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_command_line_reports_what_it_wrote(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "ckpt.pt"), "--steps", "2"]) == 0
    assert "2 steps, whole-split val" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporary file left behind


def test_a_missing_or_foreign_file_says_how_to_rebuild(tmp_path):
    with pytest.raises(CheckpointError, match="找不到参考检查点.*make reference"):
        load_reference(tmp_path / "nope.pt")
    foreign = nl.save_nanogpt_checkpoint(tmp_path / "ckpt.pt", model_from_recipe(CPU_RECIPE, 65))
    with pytest.raises(CheckpointError, match="不是本系列的参考模型.*make reference"):
        load_reference(foreign)
