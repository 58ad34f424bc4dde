"""nbgrader settings for the nanoGPT FAQ course. `python -m tools.nbgrader` copies this file into the
course folder (default build/nbgrader); run every nbgrader command from that folder."""
c = get_config()  # noqa: F821  (nbgrader provides get_config)

c.CourseDirectory.course_id = "nanogpt-lite"

# What the student version puts where a reference answer was. The exercise cells keep the learner's
# scaffold (`answer = ____`, `def prepare(text): ...`) above the solution region, so the stub is only a
# comment: an untouched cell still runs ("not attempted" from the checker, 0 points) and Run All goes on
# to the widgets below instead of stopping at a NotImplementedError.
c.ClearSolutions.code_stub = {"python": "# 在上面把 ____ 换成你的答案（需要的话也可以在这里接着写代码）。"}
c.ClearSolutions.text_stub = "请在这里写下你的回答。"

# A Chinese note at the top of every student version (header.ipynb is written by tools.nbgrader).
c.IncludeHeaderFooter.header = "header.ipynb"

# Autograding runs the whole chapter (training, counting, widgets): nbgrader's default of 30 s a cell
# is too short. Chapter 6's training cell alone takes 107 s on an idle 2-core AMD EPYC and about three
# times that while the machine is busy, so a cell may run 600 s.
c.Execute.timeout = 600
c.Execute.error_on_timeout = {
    "ename": "CellTimeoutError",
    "evalue": "",
    "traceback": ["CellTimeoutError: 这一格运行超过 600 秒，自动评分把它停下了。/ this cell ran over 600 s and was stopped."],
}
c.OverwriteCells.missing_cell_notification = (
    "这一格（id:{cell_id}）在提交的笔记本里被删掉了，nbgrader 把它加了回来。"
    " / This cell (id:{cell_id}) was missing from the submission; nbgrader added it back.\n\n"
)
