"""The offline handout (python -m tools.handout): built once per session, then read back as a learner and a
printer would: the PDF's text, every page in chromium with its requests recorded, print layout, solutions."""
from __future__ import annotations

import importlib
import os
import re
import shutil
import unicodedata
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from nanogpt_lite.exercises.core import Feedback, problems
from tools import handout

REQUIRE_ENV = "NANOGPT_LITE_REQUIRE_BROWSER"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
A4_POINTS = (595, 842)
A4_PRINT_WIDTH_PX = 703  # 210 mm minus the 12 mm side margins of PRINT_CSS, at 96 px per inch
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def require(reason: str | None) -> None:
    """Skip with ``reason`` (or fail, when CI requires the browser tests to run)."""
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 says the handout must be built", pytrace=False)
    pytest.skip(reason)


def assets_unavailable() -> str | None:
    if handout.NODE_MODULES.is_dir() or shutil.which("npm"):
        return None
    return "node_modules/ is missing and npm is not installed, so the handout's scripts cannot be vendored"


def flat(text: str) -> str:
    """Text as compared across PDF extraction: NFKC (PDF fonts map some CJK to radicals) without whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def page_text(html_file: Path) -> str:
    return BeautifulSoup(html_file.read_text(encoding="utf-8"), "html.parser").get_text()


def chapter_solutions(chapter: handout.Chapter) -> list[str]:
    name = f"nanogpt_lite.exercises.ch{chapter.number}"
    if importlib.util.find_spec(name) is None:
        return []
    return [problem.solution_text for problem in problems(importlib.import_module(name)).values()]


def has_maths(markdown: str) -> bool:
    """Whether markdown holds TeX ($...$ or $$...$$) outside code spans and fences."""
    prose = re.sub(r"```.*?```|`[^`\n]*`", "", markdown, flags=re.DOTALL)
    return re.search(r"\$[^$\n]+\$", prose) is not None


def widget_classes(nb: nbformat.NotebookNode) -> set[str]:
    """The nl-* CSS classes of every displayed widget and its descendants, from the saved widget state."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    todo = [out.data[WIDGET_VIEW]["model_id"] for cell in nb.cells if cell.cell_type == "code"
            for out in cell.outputs if WIDGET_VIEW in out.get("data", {})]
    classes, seen = set(), set()
    while todo:
        model_id = todo.pop()
        if model_id in seen or model_id not in state:
            continue
        seen.add(model_id)
        model = state[model_id]["state"]
        classes.update(c for c in model.get("_dom_classes", []) if c.startswith("nl-"))
        todo.extend(child.removeprefix("IPY_MODEL_") for child in model.get("children", []))
    return classes


@pytest.fixture(scope="module")
def browser():
    """Module-scoped, like tests/browser's: Playwright's sync API cannot run two chromiums at once."""
    require(handout.browser_unavailable())
    with handout.chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def student(browser, tmp_path_factory) -> tuple[Path, list[handout.Chapter]]:
    require(assets_unavailable())
    out = tmp_path_factory.mktemp("handout-student")
    return out, handout.build(out, browser=browser)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> tuple[Path, list[handout.Chapter]]:
    require(assets_unavailable())
    out = tmp_path_factory.mktemp("handout-teacher")
    return out, handout.build(out, teacher=True, pdf=False)


def test_pdf_is_a4_and_each_chapter_prints_its_chinese_title(student):
    from pypdf import PdfReader

    out, chapters = student
    reader = PdfReader(out / handout.PDF_NAME)
    assert all(tuple(round(float(x)) for x in page.mediabox[2:]) == A4_POINTS for page in reader.pages)
    starts = [reader.get_destination_page_number(item) for item in reader.outline]
    assert [item.title for item in reader.outline] == ["目录 Contents"] + [c.title for c in chapters]
    ends = starts[1:] + [len(reader.pages)]
    for chapter, start, end in zip(chapters, starts[1:], ends[1:]):
        text = flat("".join(reader.pages[n].extract_text() for n in range(start, end)))
        assert re.search(r"[\u4e00-\u9fff]", chapter.title), f"{chapter.notebook.name}: title has no Chinese"
        assert flat(chapter.title) in text, f"{chapter.notebook.name}: its pages do not show {chapter.title!r}"


def test_every_page_loads_only_local_files_and_renders_its_widgets_and_maths(student, browser):
    out, chapters = student
    page = browser.new_page()
    requests, failures = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failures.append(f"{r.url} ({r.failure})"))
    page.on("pageerror", lambda e: failures.append(f"page error: {e}"))
    page.goto((out / "index.html").as_uri())
    assert page.locator("ol li a").all_inner_texts() == [c.title for c in chapters]
    for chapter in chapters:
        nb = nbformat.read(chapter.notebook, as_version=4)
        page.goto((out / chapter.page).as_uri())
        handout.wait_until_rendered(page)
        views = page.locator(f'script[type="{WIDGET_VIEW}"]').count()
        assert views == sum(WIDGET_VIEW in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        for css_class in widget_classes(nb):
            shown = page.locator(f".{css_class}").first
            assert shown.is_visible(), f"{chapter.page}: widget .{css_class} is not drawn"
            assert shown.inner_text().strip() or shown.locator("img").count(), f"{chapter.page}: .{css_class} is empty"
        if any(has_maths(c.source) for c in nb.cells if c.cell_type == "markdown"):
            assert page.locator(".MathJax_CHTML").count() > 0, f"{chapter.page}: MathJax typeset nothing"
    page.close()
    remote = sorted({url for url in requests if not url.startswith(LOCAL_SCHEMES)})
    assert not remote, f"the handout fetched remote URLs: {remote}"
    assert not failures, f"failed requests or page errors: {failures}"
    assert any(url.endswith("embed-amd.js") for url in requests) and any("MathJax.js" in url for url in requests)


def test_no_printed_code_or_output_is_clipped(student, browser):
    out, chapters = student
    page = browser.new_page(viewport={"width": A4_PRINT_WIDTH_PX, "height": 1000})
    page.emulate_media(media="print")
    for chapter in chapters:
        page.goto((out / chapter.page).as_uri())
        handout.wait_until_rendered(page)
        clipped = page.evaluate("""() => [...document.querySelectorAll('pre')]
            .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.innerText.slice(0, 80))""")
        assert not clipped, f"{chapter.page}: lines wider than the printed page: {clipped}"
        # A table ends inside the printed page, and nothing in its cell scrolls or clips it.
        wide = page.evaluate("""() => [...document.querySelectorAll('table')].filter(t => {
                const edge = document.documentElement.clientWidth;
                let cut = t.getBoundingClientRect().right > edge + 1;
                for (let e = t.parentElement; e && !cut && !e.classList.contains('jp-Cell'); e = e.parentElement) cut = e.scrollWidth > e.clientWidth + 1;
                return cut;
            }).map(t => t.innerText.slice(0, 80))""")
        assert not wide, f"{chapter.page}: tables wider than the printed page: {wide}"
    page.close()


def test_long_code_lines_wrap_in_print(browser, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 第 9 章 · 很长的一行"),
        nbformat.v4.new_code_cell("x = " + " + ".join(f"value_{n}" for n in range(40))),
    ])
    path = tmp_path / "09_long.ipynb"
    nbformat.write(nb, path)
    page_html = handout.chapter_html(handout.find_chapters([path])[0], False, "")
    (tmp_path / "09_long.html").write_text(page_html, encoding="utf-8")
    page = browser.new_page(viewport={"width": A4_PRINT_WIDTH_PX, "height": 1000})
    page.emulate_media(media="print")
    page.goto((tmp_path / "09_long.html").as_uri())
    code = page.locator(".jp-InputArea pre").first
    assert code.evaluate("p => p.scrollWidth <= p.clientWidth + 1")
    assert code.evaluate("p => p.getClientRects()[0].height") > 3 * 14  # the line wrapped onto several rows
    page.close()


def test_student_edition_leaves_solutions_out_and_teacher_edition_appends_them(student, teacher):
    (student_out, chapters), (teacher_out, _) = student, teacher
    with_exercises = [c for c in chapters if chapter_solutions(c)]
    assert with_exercises, "no chapter has checked exercises"
    for chapter in chapters:
        student_text, teacher_text = page_text(student_out / chapter.page), page_text(teacher_out / chapter.page)
        assert "教师版" not in student_text and repr(Feedback("solution", "")) not in student_text
        for solution in chapter_solutions(chapter):
            assert solution.strip() in teacher_text, f"{chapter.page}: teacher edition misses {solution!r}"
        assert ("参考答案（教师版）" in teacher_text) == bool(chapter_solutions(chapter))


def test_a_solution_shown_before_saving_is_dropped_from_the_student_edition(tmp_path):
    shown = Feedback("solution", "tok.stoi['z']  # 64")
    cell = nbformat.v4.new_code_cell("ch01.q1.solution()")
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": repr(shown),
                                                                   "text/html": shown._repr_html_()}, execution_count=1)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 第 9 章 · 答案"), cell])
    path = tmp_path / "09_answers.ipynb"
    nbformat.write(nb, path)
    chapter = handout.find_chapters([path])[0]
    assert "tok.stoi" in handout.chapter_html(chapter, teacher=True, nav="")
    student_text = BeautifulSoup(handout.chapter_html(chapter, teacher=False, nav=""), "html.parser").get_text()
    assert "ch01.q1.solution()" in student_text and "tok.stoi" not in student_text


def test_optional_cells_are_boxed_and_core_cells_are_not(tmp_path):
    optional = {"tags": ["optional"]}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 第 9 章 · 选读"),
        nbformat.v4.new_markdown_cell("## 9.1 核心路径"),
        nbformat.v4.new_markdown_cell("## 9.2 卡方检验（选读）", metadata=optional),
        nbformat.v4.new_code_cell("print('chi')", metadata=optional),
    ])
    path = tmp_path / "09_optional.ipynb"
    nbformat.write(nb, path)
    page = BeautifulSoup(handout.chapter_html(handout.find_chapters([path])[0], teacher=False, nav=""),
                         "html.parser")
    boxed = page.select(".celltag_optional")
    assert len(boxed) == 2 and "9.2" in boxed[0].get_text() and "chi" in boxed[1].get_text()
    assert "核心路径" not in " ".join(b.get_text() for b in boxed)
    assert ".celltag_optional" in page.find_all("style")[-1].get_text()


def test_every_widget_is_followed_by_its_static_twin_figure():
    """The handout has no kernel: each widget must be followed (within two code cells) by a static figure."""
    checked = 0
    for chapter in handout.find_chapters():
        nb = nbformat.read(chapter.notebook, as_version=4)
        state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})

        def ours(output) -> bool:  # the series' widgets carry an nl-… CSS class; a tqdm bar is a widget too, but not ours
            model = state.get(output.get("data", {}).get(WIDGET_VIEW, {}).get("model_id"), {})
            return any(c.startswith("nl-") for c in model.get("state", {}).get("_dom_classes", []))

        code = [c for c in nb.cells if c.cell_type == "code"]
        for n, cell in enumerate(code):
            if any(ours(o) for o in cell.outputs):
                following = [o for c in code[n + 1:n + 3] for o in c.outputs]
                assert any({"image/png", "image/svg+xml"} & set(o.get("data", {})) for o in following), (
                    f"{chapter.notebook.name}: the widget in code cell {n + 1} has no static figure after it")
                checked += 1
    assert checked >= len(handout.find_chapters()) - 1  # every chapter but the start page has its widget


def test_chapters_are_found_in_order_with_plain_text_titles(tmp_path):
    chapters = handout.find_chapters()
    assert [c.number for c in chapters] == sorted(c.number for c in chapters)
    assert all(re.fullmatch(r"第 \d+ 章 · \S.*", c.title) for c in chapters), [c.title for c in chapters]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("intro\n\n# 第 9 章 · `parameters()` 与 **梯度**")])
    nbformat.write(nb, tmp_path / "09_x.ipynb")
    assert handout.find_chapters([tmp_path / "09_x.ipynb"])[0].title == "第 9 章 · parameters() 与 梯度"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## 没有一级标题")]), tmp_path / "10_y.ipynb")
    with pytest.raises(handout.HandoutError, match="10_y.ipynb: no '# 第 N 章"):
        handout.find_chapters([tmp_path / "10_y.ipynb"])
    with pytest.raises(handout.HandoutError, match="not found"):
        handout.find_chapters([tmp_path / "99_missing.ipynb"])


def test_the_command_line_names_what_is_missing(tmp_path, capsys):
    assert handout.main(["--no-pdf", "--out", str(tmp_path), str(tmp_path / "07_nowhere.ipynb")]) == 1
    error = capsys.readouterr().err
    assert "notebook not found" in error and "07_nowhere.ipynb" in error
