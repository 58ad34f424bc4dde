import html
import re

import pytest

from nanogpt_lite.instruments.inspection import ATTACH_CODE, ATTACH_KINDS, measure_attach
from nanogpt_lite.widgets.module_explorer import ModuleExplorer, attach_figure, attach_view, model_view


def marks(html: str) -> list[bool]:
    """The ✓/✗ cells of the measured matrix row, in order."""
    return [m == "✓" for m in re.findall(r"<td style=\"[^\"]*\">([✓✗])</td>", html)]


def test_model_view_shows_tree_and_table_of_the_chosen_model():
    bigram = model_view("bigram")
    assert "BigramLanguageModel" in bigram and "token_embedding_table.weight" in bigram and "4,225" in bigram
    mymodel = model_view("mymodel")
    assert "linear.bias" in mymodel and "running_mean" in mymodel and "缓冲区" in mymodel
    assert "temp_tensor = Tensor (10, 10)  [未注册]" in mymodel
    tied = model_view("zero_layer_gpt")
    assert "与 transformer.wte.weight 共享" in tied and "参数共 1,200 个数" in tied  # 65×16 + 8×16 + 16 + 16
    with pytest.raises(ValueError, match="'gpt'"):
        model_view("gpt")


def test_attach_view_shows_the_code_and_the_measured_row():
    for kind in ATTACH_KINDS:
        view = attach_view(kind)
        r = measure_attach(kind)
        assert ATTACH_CODE[kind].replace('"', "&quot;") in view
        assert marks(view) == [r.has_grad, r.changed, r.in_parameters, r.in_state_dict, r.moved], kind
    with pytest.raises(ValueError, match="'Buffer'"):
        attach_view("Buffer")


def test_trees_and_tables_scroll_sideways_with_headers_on_one_line():
    for view in (model_view("bigram"), attach_view("buffer")):
        assert view.count('<div class="nl-scroll">') == 2 and view.index('<div class="nl-scroll">') == 0
    style = ModuleExplorer().children[0].value
    assert ".nl-scroll { overflow-x: auto; }" in style and "white-space: nowrap" in style


def test_widget_recomputes_on_change():
    w = ModuleExplorer()
    assert "nl-module-explorer" in w._dom_classes
    assert "token_embedding_table.weight" in w.model_html.value
    w.model.value = "two_layer"
    assert "lm_head.bias" in w.model_html.value and "BigramLanguageModel" not in w.model_html.value
    assert marks(w.attach_html.value) == [True] * 5  # Parameter: registered, optimized, saved, moved
    w.attach.value = "list of Linear"
    assert "extra = list [Linear, Linear]  [未注册]" in w.attach_html.value
    assert marks(w.attach_html.value) == [True, False, False, False, False]  # a grad, but nothing else
    w.attach.value = "ModuleList"
    assert marks(w.attach_html.value) == [True] * 5
    assert w.out.outputs == ()


def test_widget_starts_where_asked():
    w = ModuleExplorer(model="mymodel", attach="buffer")
    assert "weight1" in w.model_html.value
    assert marks(w.attach_html.value) == [False, False, False, True, True]


def test_attach_figure_draws_the_measured_grid():
    from nanogpt_lite.instruments.inspection import attach_table

    kinds = ["Parameter", "buffer", "list of Linear"]
    fig = attach_figure(kinds)
    ax = fig.axes[0]
    drawn = [t.get_text() == "✓" for t in ax.texts]
    assert drawn == [v for row in attach_table(kinds).rows for v in row[2:]]
    assert [t.get_text() for t in ax.get_yticklabels()] == [ATTACH_CODE[k] for k in kinds]


def test_the_widget_does_not_import_matplotlib_until_a_figure_is_drawn():
    """Chapter 3's kernel stays smaller: matplotlib (~30 MiB) loads only for attach_figure."""
    import subprocess
    import sys

    code = ("import sys, nanogpt_lite.widgets.module_explorer as m; m.ModuleExplorer(); a = 'matplotlib' in sys.modules; "
            "m.attach_figure(['Parameter']); print('imported:', a, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, encoding="utf-8")
    assert re.search(r"imported: False True", out.stdout), out.stdout + out.stderr


def test_attach_grid_is_the_measured_table_as_svg():
    from nanogpt_lite.instruments.inspection import attach_table
    from nanogpt_lite.widgets.module_explorer import AttachGrid

    kinds = ["Parameter", "buffer", "list of Linear"]
    grid = AttachGrid(kinds)
    assert grid.marks == [list(row[2:]) for row in attach_table(kinds).rows]
    svg = grid._repr_svg_()
    assert svg.startswith("<svg") and svg.count("✓") == sum(map(sum, grid.marks))
    assert svg.count("✗") == sum(len(m) - sum(m) for m in grid.marks)
    assert all(html.escape(ATTACH_CODE[k]) in svg for k in kinds)
