"""Cells whose digits depend on the CPU's kernels (tools/kernels.py and the root conftest.py).

A notebook saved on one machine and tested on another: a cell tagged ``cpu-dependent`` still has to
match in its words, layout and True/False, but not in its numbers or quoted text; an untagged cell,
or any cell on the machine that saved the outputs, is compared exactly.
"""
import os
import re
import platform
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tools.kernels import METADATA_KEY, TAG, fingerprint, mask_cpu_dependent, recorded

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("printed", "masked"), [
    ("GPT 第 2400 步：训练集约 1.5939，验证集约 1.7817", "GPT 第 # 步：训练集约 #，验证集约 #"),
    ("平均对数似然 −1.641 → −1.503 nats/字符", "平均对数似然 # → # nats/字符"),
    ("GPT 在验证集 2,147 处的平均 49.4%；达到了吗？ True", "GPT 在验证集 # 处的平均 #；达到了吗？ True"),
    ("'Within your house' 第 0 层： ['0.02', '0.97']", "'…' 第 # 层： ['…', '…']"),
    ("'it\\'s' and \"a \\\"b\\\"\" False", "'…' and '…' False"),
])
def test_masking_keeps_words_and_booleans_and_hides_numbers_and_quotes(printed, masked):
    assert mask_cpu_dependent(printed) == masked


def test_the_fingerprint_is_the_same_twice_in_one_process():
    assert fingerprint() == fingerprint()


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name[:2])
def test_a_notebook_with_cpu_dependent_cells_records_its_kernels(path):
    nb = nbformat.read(path, as_version=4)
    tagged = any(TAG in cell.metadata.get("tags", []) for cell in nb.cells)
    saved_with = recorded(nb.metadata)
    assert (saved_with is not None) == tagged, f"{path.name}: re-execute it with `make execute NB={path.relative_to(ROOT)}`"
    if tagged:
        assert len(saved_with) == 16 and int(saved_with, 16) >= 0


def test_execute_records_the_kernels_only_where_a_cell_needs_them():
    from tools.execute_notebooks import record_kernels

    nb = new_notebook(cells=[new_code_cell("1")])
    nb.metadata[METADATA_KEY] = {"kernels": "stale"}
    record_kernels(nb)
    assert METADATA_KEY not in nb.metadata
    nb.cells[0].metadata["tags"] = [TAG]
    record_kernels(nb)
    assert nb.metadata[METADATA_KEY] == {"kernels": fingerprint()}


def _fingerprint_with(**env: str) -> str:
    code = "from tools.kernels import fingerprint; print(fingerprint())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=300, check=True)
    return result.stdout.strip()


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="AVX2 is an x86-64 kernel set")
def test_the_fingerprint_changes_when_the_kernels_change():
    assert _fingerprint_with(ATEN_CPU_CAPABILITY="default") != _fingerprint_with(ATEN_CPU_CAPABILITY="avx2")


def _cell(source: str, saved: str, tagged: bool):
    cell = new_code_cell(source, execution_count=1, outputs=[new_output("stream", name="stdout", text=saved)])
    if tagged:
        cell.metadata["tags"] = [TAG]
    return cell


def _run(tmp_path: Path, saved_with: str) -> tuple[list[str], str]:
    """Strict nbval with the repository's conftest on a notebook saved 'on' ``saved_with``: each cell's outcome, the log."""
    x = "x = 1.5"
    cells = [
        _cell(f"{x}\nprint(f'loss {{x:.4f}}; below 2? {{x < 2}}')", "loss 1.2345; below 2? True\n", tagged=True),
        _cell(f"{x}\nprint(f'loss {{x:.4f}}; below 2? {{x < 2}}')", "loss 1.2345; below 2? False\n", tagged=True),
        _cell(f"{x}\nprint(f'loss {{x:.4f}}')", "loss 1.2345\n", tagged=False),
        _cell("print(repr('CORIOLANUS:'))", "'KING HENRY VI:'\n", tagged=True),
        _cell(f"{x}\nprint(f'loss {{x:.4f}}')", "loss 1.2345\nanother line\n", tagged=True),
    ]
    notebook = tmp_path / "saved.ipynb"
    nb = new_notebook(cells=cells)
    nb.metadata[METADATA_KEY] = {"kernels": saved_with}
    nbformat.write(nb, notebook)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "conftest", "-rA",
               "--rootdir", str(tmp_path), "--nbval", "--nbval-current-env", str(notebook)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    outcomes = {int(line.split("::Cell ")[1].split()[0]): line.split()[0] for line in result.stdout.splitlines()
                if line.startswith(("PASSED ", "FAILED ")) and "::Cell " in line}
    return [outcomes.get(i, "missing") for i in range(len(cells))], result.stdout


def test_on_another_cpu_only_the_numbers_and_quotes_of_tagged_cells_may_differ(tmp_path):
    outcomes, log = _run(tmp_path, saved_with="another-cpu")
    # numbers differ: pass; a True became False: fail; untagged: fail; quoted text differs: pass; a line more: fail
    assert outcomes == ["PASSED", "FAILED", "FAILED", "PASSED", "FAILED"], log[-3000:]
    assert "Cell 1: Cell outputs differ" in log and "Unrun reference cell" not in log
    assert f"4 {TAG} cells were saved with other CPU kernels" in log


def test_on_the_cpu_that_saved_the_outputs_tagged_cells_are_compared_exactly(tmp_path):
    outcomes, log = _run(tmp_path, saved_with=fingerprint())
    assert outcomes == ["FAILED"] * 5, log[-3000:]
    assert "Cell 0: Cell outputs differ" in log and "Cell 3: Cell outputs differ" in log
    assert "cells were saved with other CPU kernels" not in log


SIGNED_FORMAT = re.compile(r"\{[^{}]*:[^{}:]*\+(?!z)[^{}]*f\}")  # a format spec with a + sign and no z after it


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name[:2])
def test_a_signed_number_never_prints_minus_zero(path):
    """``f"{x:+.3f}"`` prints -0.000 for a tiny negative x and +0.000 for a tiny positive one: a difference that is
    zero up to rounding (two equal probabilities, the mean of normalised numbers) then flips sign from one CPU to the
    next, and an exactly compared cell fails (it did, for chapter 6). ``+z`` prints both as +0.000."""
    nb = nbformat.read(path, as_version=4)
    found = [(index, match.group(0)) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
             for match in SIGNED_FORMAT.finditer(cell.source)]
    assert not found, f"{path.name}: use '+z' (e.g. {{x:+z.3f}}) in " + ", ".join(f"cell {i} {m}" for i, m in found)


def test_the_signed_format_rule_finds_a_plus_without_z():
    assert SIGNED_FORMAT.search('print(f"差 {th - sh:+.3f}")') and SIGNED_FORMAT.search("{x:+8.2f}")
    assert not SIGNED_FORMAT.search('print(f"差 {th - sh:+z.3f}")') and not SIGNED_FORMAT.search("{p:6.1%}")
    assert f"{-1e-9:+z.3f}" == f"{1e-9:+z.3f}" == "+0.000"
