"""What a chapter widget shows when the notebook is opened and nothing has run yet.

JupyterLab then draws the widget from the state saved in the file, with no kernel behind it, and ipywidgets marks every
part of it "disconnected" with a red broken-chain icon: about twenty on one widget, and they look like errors. A chapter
widget replaces them with one grey line at its top that says what is going on.
"""
from __future__ import annotations

import ipywidgets as widgets

WAITING_NOTE = "这是保存时的样子：运行本章的代码格之后才能操作 / a saved picture: run the chapter's cells to use it"
WAITING_CLASS = "nanogpt-lite-waits"
WAITING_STYLE = f"""<style>
.{WAITING_CLASS} .jupyter-widgets-disconnected::before {{content: none}}
.{WAITING_CLASS}.jupyter-widgets-disconnected::before {{content: "{WAITING_NOTE}"; display: block; padding: 2px 0;
  font: inherit; font-size: var(--jp-ui-font-size1, 13px); color: var(--jp-ui-font-color1, #424242)}}
</style>"""


def chapter_widget(box: widgets.Box, css_class: str) -> None:
    """Give ``box`` its ``css_class`` (the browser tests find it by that) and the note above, in a hidden last child
    (a <style> applies wherever it sits, and a last child shifts no other child's place)."""
    box.add_class(css_class)
    box.add_class(WAITING_CLASS)
    box.children = (*box.children, widgets.HTML(WAITING_STYLE, layout=widgets.Layout(display="none")))
