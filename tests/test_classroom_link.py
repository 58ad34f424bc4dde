"""nanogpt_lite.classroom: nbgitpuller links that parse back to what was asked, chapters from file names, the CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanogpt_lite import classroom
from nanogpt_lite.__main__ import main as cli_main
from nanogpt_lite.classroom import chapter_notebook, clone_dir, find_chapters, pull_link

ROOT = Path(__file__).resolve().parents[1]
# Anything a URL, a branch or a path may hold, including the characters a query string treats specially.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
REPO_NAME = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), min_size=1,
                    max_size=20).filter(lambda s: s.strip())


def query(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query, keep_blank_values=True, strict_parsing=True)


def test_chapter_1_on_github():
    link = pull_link("https://hub.example.org/", "01_tokenization.ipynb")
    assert link == ("https://hub.example.org/hub/user-redirect/git-pull"
                    "?repo=https%3A%2F%2Fgithub.com%2Fnanogpt-faq%2Fnanogpt-faq-notebooks"
                    "&urlpath=lab%2Ftree%2Fnanogpt-faq-notebooks%2Fnotebooks%2F01_tokenization.ipynb&branch=main")


@given(repo_base=TEXT, name=REPO_NAME, branch=TEXT, notebook=TEXT, app=st.sampled_from(sorted(classroom.APPS)))
def test_every_value_parses_back_exactly(repo_base, name, branch, notebook, app):
    repo = f"{repo_base}/{name}"
    link = pull_link("https://hub.example.org/base", notebook, repo=repo, branch=branch, app=app)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "hub.example.org", "/base/hub/user-redirect/git-pull")
    assert parts.fragment == ""  # a '#' in a value was encoded, not taken as the fragment
    assert query(link) == {"repo": [repo], "branch": [branch],
                           "urlpath": [f"{classroom.APPS[app]}{clone_dir(repo)}/notebooks/{notebook}"]}


@given(value=TEXT)
def test_values_are_fully_percent_encoded(value):
    """Only unreserved characters and %XX escapes inside a value: no '&', '=', '+', '#', '/' or space leaks."""
    link = pull_link("https://h.example", "01_x.ipynb", repo=f"https://git.example/{value}/r", branch=value)
    for pair in urlsplit(link).query.split("&"):
        key, encoded = pair.split("=")
        assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"), encoded
        assert unquote(encoded) == query(link)[key][0]


@pytest.mark.parametrize(("repo", "folder"), [
    ("https://github.com/nanogpt-faq/nanogpt-faq-notebooks", "nanogpt-faq-notebooks"),
    ("https://github.com/nanogpt-faq/nanogpt-faq-notebooks/", "nanogpt-faq-notebooks"),
    ("file:///srv/class/nanogpt-faq-notebooks.git", "nanogpt-faq-notebooks.git"),
])
def test_clone_dir_is_the_last_part_of_the_url(repo, folder):
    """nbgitpuller's default target folder (tests/test_hub.py finds the clone there, for a ``.git`` URL)."""
    assert clone_dir(repo) == folder


def test_chapters_come_from_the_notebook_file_names(tmp_path):
    for name in ("00_start.ipynb", "01_tokenization.ipynb", "02_enumerate.ipynb", "notes.ipynb", "03_x.md"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    assert find_chapters(tmp_path) == {0: "00_start.ipynb", 1: "01_tokenization.ipynb", 2: "02_enumerate.ipynb"}
    assert find_chapters()[2] == "02_enumerate.ipynb"  # this repository's notebooks/
    assert set(find_chapters()) == {int(p.name[:2]) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}


def test_an_unknown_chapter_names_the_chapters_there(tmp_path):
    (tmp_path / "01_tokenization.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "02_enumerate.ipynb").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"没有第 7 章：notebooks/ 里的章节是 1, 2.* / no chapter 7: .*are 1, 2;"):
        chapter_notebook(7, find_chapters(tmp_path))


@pytest.mark.parametrize(("kwargs", "culprit"), [
    ({"hub": "hub.example.org"}, "--hub"),
    ({"hub": "ftp://hub.example.org"}, "--hub"),
    ({"hub": "https://hub.example.org/?x=1"}, "--hub"),
    ({"app": "classic"}, "--app"),
    ({"branch": ""}, "--branch"),
    ({"repo": "///"}, "仓库地址"),
])
def test_bad_arguments_say_which_one_in_chinese_then_english(kwargs, culprit):
    arguments = {"hub": "https://hub.example.org", "notebook": "01_x.ipynb", **kwargs}
    with pytest.raises(ValueError) as error:
        pull_link(**arguments)
    message = str(error.value)
    assert culprit in message.split(" / ")[0] and " / " in message


def test_missing_notebooks_folder_says_to_pass_notebooks(tmp_path):
    with pytest.raises(ValueError, match="--notebooks"):
        find_chapters(tmp_path / "nowhere")


def test_cli_prints_the_link_both_ways(capsys):
    expected = pull_link("https://hub.example.org", "02_enumerate.ipynb", repo="https://git.example/a b/r", branch="dev")
    argv = ["link", "--hub", "https://hub.example.org", "--chapter", "2", "--repo", "https://git.example/a b/r",
            "--branch", "dev"]
    assert classroom.main(argv) == 0
    assert capsys.readouterr().out == expected + "\n"
    assert cli_main(["classroom", *argv]) == 0  # python -m nanogpt_lite classroom link ...
    assert capsys.readouterr().out == expected + "\n"


def test_cli_unknown_chapter_exits_2_with_the_message_on_stderr(capsys):
    assert classroom.main(["link", "--hub", "https://hub.example.org", "--chapter", "99"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "没有第 99 章" in captured.err and "no chapter 99" in captured.err


def test_module_runs_as_a_script():
    result = subprocess.run([sys.executable, "-m", "nanogpt_lite.classroom", "link", "--hub", "http://127.0.0.1:8000",
                             "--chapter", "1", "--app", "notebook"], capture_output=True, text=True, encoding="utf-8",
                            check=True, cwd=ROOT)
    assert query(result.stdout.strip())["urlpath"] == ["notebooks/nanogpt-faq-notebooks/notebooks/01_tokenization.ipynb"]
