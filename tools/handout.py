"""Build the offline classroom handout: one HTML page per chapter, an index, and one A4 PDF.

    python -m tools.handout              # student edition in handout/
    python -m tools.handout --teacher    # teacher edition (solutions appended) in handout/teacher/

Nothing in the handout is fetched from the network. require.js, MathJax 2 and the Jupyter widgets HTML
manager come from npm (package.json + package-lock.json at the repository root, ``npm ci`` into
node_modules/) and are copied into ``OUT/assets/``; figures are embedded in the pages. Widgets render
their saved state (the notebook's executed first frame); each is followed by a static figure in the
chapter. Cells of 选读 sections (tag ``optional``) are boxed, so a reader can see what to skip. The PDF is printed by chromium through Playwright, one chapter at a time, then joined with pypdf.
"""
from __future__ import annotations

import argparse
import html
import importlib
import importlib.util
import io
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NODE_MODULES = REPO / "node_modules"
PROJECT_URL = "https://github.com/nanogpt-faq/nanogpt-faq-notebooks"
PDF_NAME = "nanogpt-faq.pdf"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# What the pages load from assets/, relative to node_modules/: (source, destination under assets/).
VENDORED = [
    ("requirejs/require.js", "require.js"),
    ("@jupyter-widgets/html-manager/dist/embed-amd.js", "@jupyter-widgets/html-manager/dist/embed-amd.js"),
    ("mathjax/MathJax.js", "mathjax/MathJax.js"),
    ("mathjax/config/TeX-AMS_CHTML-full.js", "mathjax/config/TeX-AMS_CHTML-full.js"),
    ("mathjax/config/Safe.js", "mathjax/config/Safe.js"),
    ("mathjax/extensions", "mathjax/extensions"),
    ("mathjax/jax/input/TeX", "mathjax/jax/input/TeX"),
    ("mathjax/jax/element", "mathjax/jax/element"),
    ("mathjax/jax/output/CommonHTML", "mathjax/jax/output/CommonHTML"),
    ("mathjax/fonts/HTML-CSS/TeX/woff", "mathjax/fonts/HTML-CSS/TeX/woff"),
]
# The widget bundle finds its icon fonts beside the require.js module paths it defines
# (@jupyter-widgets/base, .../html-manager/dist/...), resolved against REQUIRE_CONFIG's baseUrl.
WIDGET_FONTS = "@jupyter-widgets/html-manager/dist"
WIDGET_FONT_FOLDERS = ["@jupyter-widgets", "@jupyter-widgets/html-manager/dist"]
FONT_SUFFIXES = {".woff2", ".woff", ".ttf", ".eot", ".svg"}
REQUIRE_JS = "assets/require.js"
REQUIRE_CONFIG = '<script>require.config({baseUrl: "assets/"});</script>'
WIDGET_RENDERER = "assets/@jupyter-widgets/html-manager/dist/embed-amd.js"
MATHJAX_URL = "assets/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
SOLUTION_PREFIX = "📖 参考答案 Solution"  # Feedback("solution") as plain text, see exercises/core.py

PRINT_CSS = """
<style type="text/css">
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
/* Long code lines and printed text wrap instead of being clipped at the page edge. */
pre, .jp-RenderedText pre, .highlight pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
.jp-InputArea-editor, .jp-OutputArea-output { overflow: visible !important; }
img { max-width: 100%; height: auto; }
/* Wide tables (chapter 3's seven columns under no-wrap headers) wrap their headers and cells to fit the page. */
.jp-Cell table { max-width: 100%; }
.jp-Cell th, .jp-Cell td { white-space: normal !important; overflow-wrap: anywhere; }
.nl-handout-nav { font: 14px sans-serif; margin: 0 0 1em 0; padding: 0.5em 0; border-bottom: 1px solid #ddd; }
.nl-handout-nav a { margin-right: 1.5em; }
/* 选读 (optional) cells: nbconvert gives cells tagged "optional" the class celltag_optional. */
.celltag_optional { border-left: 4px solid #b58900; padding-left: 6px; background: rgba(181, 137, 0, 0.06); }
.jp-MarkdownOutput.celltag_optional > h2:first-child::after,
.jp-MarkdownOutput.celltag_optional > h3:first-child::after { content: "  ▸ 可跳过 may skip"; font-size: 0.6em; color: #8a6d00; }
@media print {
  .nl-handout-nav, .jp-InputPrompt, .jp-OutputPrompt { display: none; }
  .jp-Cell-inputWrapper, .jp-OutputArea-child { break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
}
</style>
"""


class HandoutError(RuntimeError):
    """The handout cannot be built (missing notebook, npm assets or browser)."""


@dataclass(frozen=True)
class Chapter:
    """One notebook of the series and its page in the handout."""

    notebook: Path
    title: str

    @property
    def number(self) -> str:
        return self.notebook.name[:2]

    @property
    def page(self) -> str:
        return self.notebook.with_suffix(".html").name


def chapter_title(nb: nbformat.NotebookNode, path: Path) -> str:
    """The text of the first level-1 heading (``# 第 N 章 · 标题``) in the notebook's markdown, as plain text."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^# +(.+?)\s*$", cell.source, flags=re.MULTILINE)
            if match:
                return re.sub(r"[`*]", "", match.group(1))  # as rendered: no code ticks or emphasis marks
    raise HandoutError(f"{path}: no '# 第 N 章 · 标题' heading in any markdown cell")


START_PAGE = "00_start"  # notebooks/00_start.ipynb: the start page `make lab` opens, not a chapter


def find_chapters(paths: list[Path] | None = None) -> list[Chapter]:
    """The chapters to print: ``paths``, or every ``notebooks/NN_*.ipynb`` in order."""
    paths = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p.stem != START_PAGE) if paths is None else paths
    if not paths:
        raise HandoutError(f"no chapter notebooks (NN_name.ipynb) in {NOTEBOOKS}")
    chapters = []
    for path in paths:
        if not path.is_file():
            raise HandoutError(f"notebook not found: {path}")
        chapters.append(Chapter(path, chapter_title(nbformat.read(path, as_version=4), path)))
    return chapters


def ensure_node_modules() -> Path:
    """Install the npm assets with ``npm ci`` when node_modules/ is missing or older than the lock."""
    lock = REPO / "package-lock.json"
    marker = NODE_MODULES / ".package-lock.json"  # written by npm on every install
    if marker.is_file() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return NODE_MODULES
    npm = shutil.which("npm")
    if npm is None:
        raise HandoutError("node_modules/ is missing and npm is not installed: install Node.js + npm, then run `npm ci`")
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=REPO, check=True)
    return NODE_MODULES


def vendor_assets(assets: Path) -> None:
    """Copy the pages' scripts, styles and fonts from node_modules/ into ``assets``."""
    modules = ensure_node_modules()
    for source, destination in VENDORED:
        src, dst = modules / source, assets / destination
        if not src.exists():
            raise HandoutError(f"{src} is missing: the npm packages changed layout; check package.json")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    fonts = [font for font in (modules / WIDGET_FONTS).iterdir() if font.suffix in FONT_SUFFIXES]
    for folder in WIDGET_FONT_FOLDERS:
        (assets / folder).mkdir(parents=True, exist_ok=True)
        for font in fonts:
            shutil.copy2(font, assets / folder / font.name)


def is_solution_output(output: nbformat.NotebookNode) -> bool:
    """Whether an output is a shown exercise solution (``chNN.qK.solution()`` run before saving)."""
    text = output.get("data", {}).get("text/plain", "")
    return output.get("output_type") in ("execute_result", "display_data") and text.startswith(SOLUTION_PREFIX)


def drop_solution_outputs(nb: nbformat.NotebookNode) -> None:
    """Remove shown solutions (in place) for the student edition."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if not is_solution_output(output)]


def solutions_markdown(number: str) -> str | None:
    """Chapter ``number``'s exercises and reference solutions as markdown, or None if it has none."""
    from nanogpt_lite.exercises.core import problems

    name = f"nanogpt_lite.exercises.ch{number}"
    if importlib.util.find_spec(name) is None:
        return None
    found = problems(importlib.import_module(name))
    if not found:
        return None
    parts = ["## 参考答案（教师版） Solutions (teacher edition)"]
    for key, problem in found.items():
        parts.append(f"**ch{number}.{key}** {problem.prompt}\n\n```python\n{problem.solution_text}\n```")
    return "\n\n".join(parts)


def nav_bar(chapters: list[Chapter], index: int) -> str:
    """Links to the index and the neighbouring chapters (hidden in print)."""
    links = ['<a href="index.html">目录 Contents</a>']
    if index > 0:
        links.append(f'<a href="{chapters[index - 1].page}">← {html.escape(chapters[index - 1].title)}</a>')
    if index + 1 < len(chapters):
        links.append(f'<a href="{chapters[index + 1].page}">{html.escape(chapters[index + 1].title)} →</a>')
    return f'<nav class="nl-handout-nav">{"".join(links)}</nav>'


def chapter_html(chapter: Chapter, teacher: bool, nav: str) -> str:
    """One chapter as a self-contained page that loads only ``assets/``."""
    nb = nbformat.read(chapter.notebook, as_version=4)
    if teacher:
        solutions = solutions_markdown(chapter.number)
        if solutions:
            nb.cells.append(nbformat.v4.new_markdown_cell(solutions))
    else:
        drop_solution_outputs(nb)
    exporter = HTMLExporter(
        template_name="lab",
        require_js_url=REQUIRE_JS,
        widget_renderer_url=WIDGET_RENDERER,
        mathjax_url=MATHJAX_URL,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": chapter.title}})
    require_tag = f'<script src="{REQUIRE_JS}"></script>'
    if require_tag not in body:
        raise HandoutError(f"nbconvert's page no longer loads require.js as {require_tag}: update tools/handout.py")
    body = body.replace(require_tag, require_tag + REQUIRE_CONFIG, 1).replace("</head>", PRINT_CSS + "</head>", 1)
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav, body, count=1)


def index_html(chapters: list[Chapter], teacher: bool) -> str:
    """The handout's front page: the chapters, the PDF and how to get the live notebooks."""
    edition = "教师版 Teacher edition（含参考答案）" if teacher else "学生版 Student edition"
    items = "\n".join(
        f'<li><a href="{c.page}">{html.escape(c.title)}</a></li>' for c in chapters
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>nanoGPT FAQ 讲义</title>
<style>
body {{ font-family: "Noto Sans CJK SC", sans-serif; max-width: 42em; margin: 3em auto; line-height: 1.6; }}
h1 {{ font-size: 2em; }} li {{ margin: 0.4em 0; font-size: 1.15em; }}
@page {{ size: A4; margin: 20mm; }}
</style></head>
<body>
<h1>nanoGPT FAQ 学习笔记 · 讲义</h1>
<p>{edition}</p>
<ol>
{items}
</ol>
<p>打印版 Printable: <a href="{PDF_NAME}">{PDF_NAME}</a></p>
<p>这份讲义是执行过的笔记本的静态版：交互控件显示的是保存时的第一帧，每个控件后面都有一张同样内容的静态图。
想拖动滑块、自己运行代码，请打开笔记本（JupyterLab、Binder 或 Colab）：<br>
This is a static copy of the executed notebooks: widgets show their saved first frame, each followed by a static
figure. To run the code and move the sliders, open the notebooks: {PROJECT_URL}</p>
</body></html>
"""


def browser_unavailable() -> str | None:
    """Why chromium cannot be driven from Python here, or None when it can."""
    if importlib.util.find_spec("playwright") is None:
        return "Python Playwright is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    return None


@contextmanager
def chromium() -> Iterator:
    """Debian's chromium, headless, through Playwright (which cannot download its own browser offline)."""
    reason = browser_unavailable()
    if reason is not None:
        raise HandoutError(f"cannot print the PDF: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


RENDERED_JS = """() => {
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  const rendered = [...views].every(s => s.parentElement.querySelector('.lm-Widget'));
  const maths = !window.MathJax || (MathJax.Hub && MathJax.Hub.queue.pending === 0 && MathJax.Hub.queue.running === 0);
  return rendered && maths && document.fonts.status === 'loaded';
}"""


def wait_until_rendered(page, timeout_ms: float = 60_000) -> None:
    """Wait for every saved widget view to be drawn, MathJax to finish and the fonts to load."""
    page.wait_for_function(RENDERED_JS, timeout=timeout_ms)


def print_pdf(out: Path, pages: list[tuple[str, str]], browser) -> Path:
    """Print ``pages`` ((file name, outline title), in order) to one A4 PDF with an outline entry each."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    page = browser.new_page()
    for name, title in pages:
        page.goto((out / name).as_uri())
        wait_until_rendered(page)
        page.emulate_media(media="print")
        start = len(writer.pages)
        writer.append(PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True, prefer_css_page_size=True))))
        writer.add_outline_item(title=title, page_number=start)
    page.close()
    target = out / PDF_NAME
    with open(target, "wb") as f:
        writer.write(f)
    return target


def build(out: Path, teacher: bool = False, notebooks: list[Path] | None = None, pdf: bool = True,
          browser=None) -> list[Chapter]:
    """Write the handout into ``out``: assets/, index.html, one page per chapter and (``pdf``) the PDF,
    printed with ``browser`` (a Playwright chromium; one is started when None)."""
    chapters = find_chapters(notebooks)
    out.mkdir(parents=True, exist_ok=True)
    vendor_assets(out / "assets")
    (out / "index.html").write_text(index_html(chapters, teacher), encoding="utf-8")
    for i, chapter in enumerate(chapters):
        page = chapter_html(chapter, teacher, nav_bar(chapters, i))
        (out / chapter.page).write_text(page, encoding="utf-8")
    if pdf:
        pages = [("index.html", "目录 Contents")] + [(c.page, c.title) for c in chapters]
        if browser is None:
            with chromium() as started:
                print_pdf(out, pages, started)
        else:
            print_pdf(out, pages, browser)
    return chapters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.handout", description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", action="store_true", help="append each chapter's exercise solutions")
    parser.add_argument("--out", type=Path, help="output folder (default handout/, or handout/teacher/ with --teacher)")
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML pages only")
    parser.add_argument("notebooks", nargs="*", type=Path, help="chapters to include (default notebooks/NN_*.ipynb)")
    args = parser.parse_args(argv)
    out = args.out or REPO / ("handout/teacher" if args.teacher else "handout")
    try:
        chapters = build(out, teacher=args.teacher, notebooks=args.notebooks or None, pdf=not args.no_pdf)
    except HandoutError as error:
        print(f"handout: {error}", file=sys.stderr)
        return 1
    print(f"handout: {len(chapters)} chapters in {out}/ (index.html{', ' + PDF_NAME if not args.no_pdf else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
