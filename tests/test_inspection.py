import re

import pytest
import torch
import torch.nn as nn

import nanogpt_lite as nl
from nanogpt_lite.instruments.examples import (
    EXAMPLE_MODELS,
    CausalAverage,
    MyModel,
    TestModel,
    TwoLayerModel,
    ZeroLayerGPT,
    example_model,
)
from nanogpt_lite.instruments.inspection import (
    ATTACH_CODE,
    ATTACH_KINDS,
    AttachDemo,
    Table,
    attach_table,
    conversion_table,
    describe,
    display_width,
    matrix_table,
    measure_attach,
    measure_attributes,
    module_tree,
    named_tensors,
    parameter_table,
    plain_attributes,
)

MYMODEL_NAMES = ["weight1", "linear", "temp_tensor", "scale_factor", "running_mean"]


def mymodel_loss(model: nn.Module) -> torch.Tensor:
    x = torch.randn(10, 10, generator=torch.Generator().manual_seed(0))
    return model(x).pow(2).mean()


def as_rows(reports):
    return {r.name: (r.has_grad, r.changed, r.in_parameters, r.in_state_dict, r.moved) for r in reports}


def test_the_faq_mymodel_matrix_is_measured_as_the_faq_says():
    rows = as_rows(measure_attributes(MyModel(), MYMODEL_NAMES, mymodel_loss))
    assert rows == {
        "weight1": (True, True, True, True, True),
        "linear": (True, True, True, True, True),
        "temp_tensor": (False, False, False, False, False),
        "scale_factor": (False, False, False, False, False),
        "running_mean": (False, False, False, True, True),
    }


def test_measurement_leaves_the_model_untouched():
    model = MyModel()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    measure_attributes(model, MYMODEL_NAMES, mymodel_loss)
    assert all(torch.equal(before[k], v) and v.dtype == torch.float32 for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_changed_means_changed_by_the_step_not_by_forward():
    """A frozen parameter gets no gradient, so AdamW skips it; the other parameters still move."""
    model = TwoLayerModel(65)
    model.token_embedding_table.weight.requires_grad_(False)
    idx = torch.randint(0, 65, (4, 8), generator=torch.Generator().manual_seed(0))
    rows = as_rows(measure_attributes(model, ["token_embedding_table", "lm_head"], lambda m: m(idx, idx)[1]))
    assert rows["token_embedding_table"][:3] == (False, False, True)  # still in parameters(), never stepped
    assert rows["lm_head"][:2] == (True, True)


def test_zero_learning_rate_changes_nothing():
    rows = as_rows(measure_attributes(MyModel(), ["weight1"], mymodel_loss, lr=0.0))
    assert rows["weight1"][:2] == (True, False)


def test_bigram_on_real_data_updates_its_only_table(shakespeare):
    _, tok, train, _ = shakespeare
    x, y = nl.get_batch(train, 8, 8, generator=torch.Generator().manual_seed(1337))
    (report,) = measure_attributes(nl.BigramLanguageModel(tok.vocab_size), ["token_embedding_table"], lambda m: m(x, y)[1])
    assert report.attached_as == "Embedding(65, 65)"
    assert (report.has_grad, report.changed, report.in_parameters, report.in_state_dict, report.moved) == (True,) * 5


def test_integer_buffers_are_not_converted_by_a_dtype_but_would_be_by_a_device():
    model = nn.Module()
    model.lin = nn.Linear(2, 2)
    model.register_buffer("steps", torch.zeros((), dtype=torch.long))
    model.register_buffer("scale", torch.ones(2))
    rows = as_rows(measure_attributes(model, ["steps", "scale"], lambda m: m.lin(m.scale).sum()))
    assert rows["steps"][4] is False and rows["scale"][4] is True
    on_meta = as_rows(measure_attributes(model, ["steps", "scale"], lambda m: m.lin(m.scale).sum(), target="meta"))
    assert on_meta["steps"][4] is True and on_meta["scale"][4] is True


def test_conversion_table_measures_dtype_and_device_for_every_kind_of_tensor():
    model = MyModel()
    model.register_buffer("steps", torch.zeros((), dtype=torch.long))
    rows = {row[0]: row[1:] for row in conversion_table(model).rows}
    assert list(rows) == ["weight1", "linear.weight", "linear.bias", "running_mean", "steps", "temp_tensor"]
    assert rows["steps"] == ("缓冲区", "int64, cpu", "int64", "meta")  # a dtype skips integers, a device does not
    assert rows["running_mean"] == ("缓冲区", "float32, cpu", "float64", "meta")
    assert rows["temp_tensor"] == ("普通张量", "float32, cpu", "float32", "cpu")  # neither reaches it
    assert rows["weight1"][2:] == ("float64", "meta")
    assert model.weight1.dtype == torch.float32 and model.steps.device.type == "cpu"  # measured on copies


def test_named_tensors_finds_plain_tensors_in_submodules_and_counts_a_tied_weight_once():
    outer = nn.Module()
    outer.inner = MyModel()
    names = [(n, kind) for n, kind, _ in named_tensors(outer)]
    assert ("inner.temp_tensor", "普通张量") in names and ("inner.running_mean", "缓冲区") in names
    assert [n for n, kind, _ in named_tensors(ZeroLayerGPT()) if kind == "参数"] == [
        "transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight", "transformer.ln_f.bias"]


def test_bad_inputs_name_the_culprit():
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        measure_attributes(MyModel(), ["weight1", "nope"], mymodel_loss)
    with pytest.raises(ValueError, match="linear.weight"):
        measure_attributes(MyModel(), ["linear.weight"], mymodel_loss)
    with pytest.raises(ValueError, match="torch.int64 is not floating point"):
        measure_attributes(MyModel(), ["weight1"], mymodel_loss, target=torch.int64)
    with pytest.raises(ValueError, match=r"\['weight1'\] already hold tensors at torch.float32"):
        measure_attributes(MyModel(), ["weight1"], mymodel_loss, target=torch.float32)
    with pytest.raises(ValueError, match="'Buffer'"):
        AttachDemo("Buffer")
    with pytest.raises(ValueError, match="'gpt'"):
        example_model("gpt")


def test_bad_input_errors_speak_chinese_first_then_english():
    calls = [lambda: measure_attributes(MyModel(), ["nope"], mymodel_loss),
             lambda: measure_attributes(MyModel(), ["weight1"], mymodel_loss, target=torch.int64),
             lambda: measure_attributes(MyModel(), ["weight1"], mymodel_loss, target=torch.float32),
             lambda: AttachDemo("Buffer"), lambda: example_model("gpt")]
    for call in calls:
        with pytest.raises(ValueError) as info:
            call()
        chinese, english = str(info.value).split(" / ", 1)
        assert re.search(r"[\u4e00-\u9fff]", chinese) and re.fullmatch(r"[ -~]+", english), str(info.value)


def test_every_attach_kind_is_measured_and_agrees_with_torch_rules():
    expected = {  # (grad, changed, parameters, state_dict, moved): what torch does, re-measured each run
        "Parameter": (True, True, True, True, True),
        "tensor": (False, False, False, False, False),
        "tensor requires_grad": (True, False, False, False, False),
        "buffer": (False, False, False, True, True),
        "float": (False, False, False, False, False),
        "list of Linear": (True, False, False, False, False),
        "ModuleList": (True, True, True, True, True),
    }
    assert set(ATTACH_KINDS) == set(expected)
    for kind in ATTACH_KINDS:
        r = measure_attach(kind)
        assert (r.has_grad, r.changed, r.in_parameters, r.in_state_dict, r.moved) == expected[kind], kind


def test_attach_demo_runs_exactly_the_line_shown():
    for kind, code in ATTACH_CODE.items():
        model = AttachDemo(kind)
        registered = "extra" in model._parameters or "extra" in model._buffers or "extra" in model._modules
        assert registered == (kind in ("Parameter", "buffer", "ModuleList")), code
        assert model(torch.ones(2, 4)).shape == (2, 4)


def test_measure_attach_leaves_the_global_random_stream_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    measure_attach("Parameter")
    example_model("mymodel")
    assert torch.equal(torch.rand(3), expected)


def test_tree_shows_registered_and_unregistered_attributes():
    tree = module_tree(MyModel())
    lines = tree.splitlines()
    assert lines[0] == "MyModel"
    assert "├── weight1  (10, 10)  100  [参数]" in lines
    assert "│   └── bias  (10,)  10  [参数]" in lines
    assert "├── temp_tensor = Tensor (10, 10)  [未注册]" in lines
    assert lines[-1] == "└── scale_factor = float 2.0  [未注册]"
    assert "in_features" not in tree.split("[子模块]")[1]  # torch layers' settings are left out


def test_tree_marks_a_tied_weight_as_shared():
    model = TwoLayerModel(65)
    model.lm_head.weight = model.token_embedding_table.weight
    assert "weight  (65, 16)  1,040  [参数，与 token_embedding_table.weight 共享]" in module_tree(model)


def test_parameter_table_lists_parameters_then_buffers_with_totals():
    table = parameter_table(MyModel())
    assert [row[0] for row in table.rows] == ["weight1", "linear.weight", "linear.bias", "running_mean"]
    assert table.rows[-1] == ("running_mean", "缓冲区", "(10,)", "10", False)
    assert table.caption == "参数共 210 个数，缓冲区共 10 个数"
    bigram = parameter_table(nl.BigramLanguageModel(65))
    assert bigram.rows == (("token_embedding_table.weight", "参数", "(65, 65)", "4,225", True),)


def test_plain_attributes_and_describe():
    model = MyModel()
    assert plain_attributes(model) == ["temp_tensor", "scale_factor"]
    assert [describe(model, n) for n in MYMODEL_NAMES] == [
        "Parameter (10, 10)",
        "Linear(in_features=10, out_features=10, bias=True)",
        "Tensor (10, 10)",
        "float 2.0",
        "buffer (10,)",
    ]
    assert describe(AttachDemo("list of Linear"), "extra") == "list [Linear, Linear]"
    assert describe(AttachDemo("tensor requires_grad"), "extra") == "Tensor (4,), requires_grad=True"


def test_table_text_aligns_chinese_and_html_escapes():
    table = Table(("名称", "x"), (("<a>", True), ("参数参数", False)), caption="c")
    text = repr(table).splitlines()
    assert text[0] == "c"
    second = [line.rstrip()[-1] for line in text[1:]]
    assert second == ["x", "✓", "✗"]
    widths = [display_width(line[: line.rindex(cell)]) for line, cell in zip(text[1:], second)]
    assert widths == [10, 10, 10]  # "参数参数" is 8 columns wide, then two spaces
    assert "&lt;a&gt;" in table._repr_html_() and "<caption>c</caption>" in table._repr_html_()
    with pytest.raises(ValueError, match="2 headers"):
        Table(("a", "b"), (("only one",),))


def test_matrix_and_attach_tables_have_one_row_per_input():
    reports = measure_attributes(MyModel(), MYMODEL_NAMES, mymodel_loss)
    assert [row[0] for row in matrix_table(reports).rows] == MYMODEL_NAMES
    table = attach_table(["float", "ModuleList"])
    assert [row[:2] for row in table.rows] == [("float", ATTACH_CODE["float"]), ("ModuleList", ATTACH_CODE["ModuleList"])]


def test_examples():
    assert set(EXAMPLE_MODELS) == {"bigram", "mymodel", "two_layer", "zero_layer_gpt"}
    assert torch.equal(example_model("two_layer").lm_head.weight, example_model("two_layer").lm_head.weight)
    assert [n for n, _ in TestModel().named_parameters()] == ["param1"]
    logits, loss = TwoLayerModel(65)(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long))
    assert logits.shape == (2, 3, 65) and loss.ndim == 0


def test_causal_average_keeps_its_mask_as_a_buffer_and_averages_the_past():
    m = CausalAverage(5)
    assert [n for n, _ in m.named_parameters()] == [] and [n for n, _ in m.named_buffers()] == ["bias"]
    assert list(m.state_dict()) == ["bias"] and m.to("meta").bias.device.type == "meta"
    x = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0))
    running_mean = torch.stack([x[:, : t + 1].mean(dim=1) for t in range(4)], dim=1)  # a loop, independently
    assert torch.allclose(CausalAverage(5)(x), running_mean, atol=1e-6)


def test_zero_layer_gpt_ties_its_head_and_counts_like_nanogpt():
    torch.manual_seed(0)
    m = ZeroLayerGPT(65, block_size=8, n_embd=16)
    assert m.lm_head.weight is m.transformer.wte.weight and m.lm_head.bias is None
    by_hand = 65 * 16 + 8 * 16 + 16 + 16  # wte (= lm_head), wpe, ln_f weight and bias
    assert m.get_num_params(non_embedding=False) == by_hand and m.get_num_params() == by_hand - 8 * 16
    assert len(m.state_dict()) == len(list(m.named_parameters())) + 1 == 5  # lm_head.weight: one more key
    idx = torch.randint(0, 65, (2, 8), generator=torch.Generator().manual_seed(0))
    logits, loss = m(idx, idx)
    assert logits.shape == (2, 8, 65) and loss.ndim == 0 and m.context_size == 8
    loss.backward()
    assert m.lm_head.weight.grad is m.transformer.wte.weight.grad  # one tensor gets both layers' gradient
    with pytest.raises(ValueError, match="block_size=8"):
        m(torch.zeros(1, 9, dtype=torch.long))


def test_tree_skips_an_empty_bias_slot():
    tree = module_tree(ZeroLayerGPT())
    assert "bias  (" not in tree.split("lm_head")[1]
    assert "[参数，与 transformer.wte.weight 共享]" in tree


def test_a_device_target_moves_the_same_attributes_as_a_dtype_when_no_tensor_is_an_integer():
    """MyModel holds no integer tensor, so here the meta device and float64 reach the same attributes."""
    by_dtype = as_rows(measure_attributes(MyModel(), MYMODEL_NAMES, mymodel_loss))
    by_device = as_rows(measure_attributes(MyModel(), MYMODEL_NAMES, mymodel_loss, target="meta"))
    assert {n: row[4] for n, row in by_device.items()} == {n: row[4] for n, row in by_dtype.items()}
    assert by_device["running_mean"][4] and not by_device["temp_tensor"][4]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_moves_parameters_and_buffers_only():
    rows = as_rows(measure_attributes(MyModel(), MYMODEL_NAMES, mymodel_loss, target="cuda"))
    assert [n for n, row in rows.items() if row[4]] == ["weight1", "linear", "running_mean"]
