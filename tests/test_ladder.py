import math

import pytest
import torch

from nanogpt_lite.gpt_training import CPU_RECIPE, model_from_recipe
from nanogpt_lite.ladder import (
    RUNGS,
    RungResult,
    fitted_recipe,
    load_results,
    rung_model,
    save_results,
    train_rung,
)

TINY = {**CPU_RECIPE, "n_layer": 1, "n_head": 2, "n_embd": 8, "block_size": 8, "batch_size": 4}


def test_the_baseline_rung_is_chapter_6s_gpt():
    modern, options = rung_model("nanoGPT", 65)
    gpt = model_from_recipe(CPU_RECIPE, 65)
    idx = torch.arange(64)[None] % 65
    assert options == {"muon": False}
    assert torch.equal(modern(idx)[0], gpt(idx)[0])  # same seed, same init, same computation


def test_each_rung_changes_what_its_name_says():
    assert rung_model("rotary", 65)[0].config.rotary and "wpe" not in rung_model("rotary", 65)[0].transformer
    assert rung_model("muon", 65)[1] == {"muon": True} and not rung_model("muon", 65)[0].config.rotary
    everything, options = rung_model("all", 65)
    assert options == {"muon": True} and everything.config.untied_head and everything.config.softcap > 0
    assert RUNGS[0] == "nanoGPT" and RUNGS[-1] == "all"
    with pytest.raises(ValueError, match="没有叫 'rotory' 的台阶"):
        rung_model("rotory", 65)


def test_the_schedule_is_fitted_to_the_steps_that_fit_in_the_time():
    assert fitted_recipe(CPU_RECIPE, 1650) == {**CPU_RECIPE, "steps": 1650, "lr_decay_iters": 1650, "warmup_iters": 100}
    assert fitted_recipe(CPU_RECIPE, 300)["warmup_iters"] == 30  # at most a tenth of the run


@pytest.mark.parametrize("rung", ["nanoGPT", "all"])
def test_a_rung_trains_for_about_the_time_it_was_given(small_data, small_tok, rung):
    result, model = train_rung(rung, small_data, small_data, seconds=0.3, recipe=TINY, vocab_size=small_tok.vocab_size,
                               progress=False)
    assert result.rung == rung and result.steps >= 1
    assert result.steps == round(300 / result.ms_per_step) or result.steps == 1
    assert result.curve_seconds[0] == 0 and result.curve_seconds == sorted(result.curve_seconds)
    assert result.curve_seconds[-1] == pytest.approx(result.cpu_seconds)
    assert len(result.curve_val) == len(result.curve_seconds) and math.isfinite(result.val)
    assert result.params == model.get_num_params(non_embedding=False)
    with pytest.raises(ValueError, match="seconds 必须大于 0"):
        train_rung(rung, small_data, small_data, seconds=0, recipe=TINY, vocab_size=small_tok.vocab_size)


def test_one_estimate_measures_only_the_two_ends_of_the_curve(small_data, small_tok):
    result, _ = train_rung("nanoGPT", small_data, small_data, seconds=0.3, recipe=TINY, vocab_size=small_tok.vocab_size,
                           progress=False, estimates=1)
    assert result.curve_seconds == [0.0, pytest.approx(result.cpu_seconds)] and len(result.curve_val) == 2
    assert math.isfinite(result.val)
    with pytest.raises(ValueError, match="estimates 至少是 1"):
        train_rung("nanoGPT", small_data, small_data, seconds=0.3, recipe=TINY, vocab_size=small_tok.vocab_size, estimates=0)


def test_results_round_trip_through_the_json_file(tmp_path):
    rows = [RungResult("nanoGPT", 10, 2.5, 4, 0.01, [0.0, 0.01], [4.1, 3.9], 3.8),
            RungResult("all", 12, 3.0, 3, 0.009, [0.0, 0.009], [4.1, 3.7], 3.6)]
    path = save_results(tmp_path / "ladder.json", rows, seconds=0.01, noise={1338: 3.9})
    meta, rungs = load_results(path)
    assert meta["noise"] == {"1338": 3.9}
    assert list(rungs) == ["nanoGPT", "all"] and rungs["all"] == rows[1]
    assert meta["seconds"] == 0.01 and meta["threads"] >= 1 and meta["recipe"] == CPU_RECIPE
    assert [p.name for p in tmp_path.iterdir()] == ["ladder.json"]
    with pytest.raises(FileNotFoundError, match="make ladder"):
        load_results(tmp_path / "missing.json")
