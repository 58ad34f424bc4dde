from nbformat.v4 import new_output

from tools.execute_notebooks import merge_streams


def test_consecutive_chunks_of_one_stream_are_joined():
    outputs = [
        new_output("stream", name="stdout", text="a"),
        new_output("stream", name="stdout", text="b\n"),
        new_output("stream", name="stderr", text="warn\n"),
        new_output("display_data", data={"text/plain": "x"}),
        new_output("stream", name="stdout", text="c\n"),
    ]
    merged = merge_streams(outputs)
    assert [(o["output_type"], o.get("text")) for o in merged] == [
        ("stream", "ab\n"), ("stream", "warn\n"), ("display_data", None), ("stream", "c\n"),
    ]


def test_check_mode_runs_without_saving_and_fails_on_an_error(tmp_path):
    import nbformat
    import pytest
    from nbclient.exceptions import CellExecutionError
    from nbformat.v4 import new_code_cell, new_notebook

    from tools.execute_notebooks import execute

    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("print(6 * 7)")]), good)
    nbformat.write(new_notebook(cells=[new_code_cell("1 / 0")]), bad)
    before = good.read_bytes()
    execute(good, save=False)
    assert good.read_bytes() == before
    execute(good)
    assert "42" in good.read_text(encoding="utf-8")
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        execute(bad, save=False)


def test_check_mode_of_several_notebooks_runs_them_side_by_side_and_reports_an_error(tmp_path, capsys):
    import nbformat
    import pytest
    from nbclient.exceptions import CellExecutionError
    from nbformat.v4 import new_code_cell, new_notebook

    from tools.execute_notebooks import main

    names = []
    for i, source in enumerate(["print(1)", "print(2)", "raise ValueError('第三本坏了')"]):
        names.append(str(tmp_path / f"nb{i}.ipynb"))
        nbformat.write(new_notebook(cells=[new_code_cell(source)]), names[-1])
    assert main(["--check", *names[:2]]) == 0
    assert capsys.readouterr().out.splitlines() == [f"checked {names[0]}", f"checked {names[1]}"]
    with pytest.raises(CellExecutionError, match="第三本坏了"):
        main(["--check", *names])
