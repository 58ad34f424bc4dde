import subprocess
import sys

from nanogpt_lite.ipython import name_error_hint

KERNEL_SCRIPT = r"""
from IPython.testing.globalipapp import start_ipython
shell = start_ipython()
shell.run_cell("import nanogpt_lite")
result = shell.run_cell("ch01.q1.check(42)")
print("ERROR:", type(result.error_in_exec).__name__)
result = shell.run_cell("1 / 0")
print("ERROR:", type(result.error_in_exec).__name__)
"""


def test_hint_names_the_missing_name_and_the_fix_in_both_languages():
    hint = name_error_hint("ch01")
    assert hint.index("提示：'ch01' 还没有定义") < hint.index("Hint: ch01 is not defined yet")
    assert "运行上方所有单元格" in hint and "Run All Above Selected Cell" in hint
    assert "这个名字" in name_error_hint(None)


def test_in_ipython_a_name_error_keeps_its_traceback_and_gains_the_hint():
    run = subprocess.run([sys.executable, "-c", KERNEL_SCRIPT], capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert "NameError" in out and "name 'ch01' is not defined" in out  # the usual traceback stays
    assert out.count("提示：'ch01' 还没有定义") == 1
    assert "ERROR: NameError" in out and "ERROR: ZeroDivisionError" in out
    assert out.count("提示：") == 1  # other errors are left alone
