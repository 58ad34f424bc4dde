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
