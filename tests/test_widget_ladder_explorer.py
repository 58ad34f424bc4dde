import html
import itertools
import math
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from nanogpt_lite.ladder import BASELINE, RUNGS, RungResult, save_results
from nanogpt_lite.plotting import setup_matplotlib
from nanogpt_lite.widgets.ladder_explorer import (
    BOTTOM,
    COLORS,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    LadderExplorer,
    Row,
    curves_svg,
    ladder_figure,
    ladder_html,
    ladder_rows,
    nice_ticks,
    rows_html,
)

SVG = "{http://www.w3.org/2000/svg}"
SECONDS = 60.0


@pytest.fixture(autouse=True)
def chinese_labels():
    setup_matplotlib()


def fake(rung: str, val: float, *, end: float = SECONDS, n: int = 5, start: float = 4.2, params: int = 200_000,
         ms: float = 50.0) -> RungResult:
    """A rung whose curve falls in a straight line from ``start`` at 0 s to ``val`` at ``end`` s."""
    seconds = [end * k / (n - 1) for k in range(n)]
    losses = [start + (val - start) * k / (n - 1) for k in range(n)]
    return RungResult(rung=rung, params=params, ms_per_step=ms, steps=round(1000 * SECONDS / ms), cpu_seconds=end,
                      curve_seconds=seconds, curve_val=losses, val=val)


@pytest.fixture
def results() -> dict[str, RungResult]:
    rungs = [fake("all", 2.5, end=61.0, ms=80.0), fake(BASELINE, 3.0), fake("rotary", 2.8, ms=55.5, params=198_000),
             fake("muon", 3.1, end=59.0, n=7)]  # not in the ladder's order
    return {r.rung: r for r in rungs}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # the SVG is well-formed XML


def curves(svg: str) -> dict[str, list[tuple[float, float]]]:
    """{rung: [(x, y), …]} of each polyline of class nl-ladder-curve, in drawing order."""
    found = {}
    for line in parse(svg).iter(f"{SVG}polyline"):
        if line.get("class") == "nl-ladder-curve":
            found[line.get("data-rung")] = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    return found


def equal_time_x(svg: str) -> float:
    (line,) = [e for e in parse(svg).iter(f"{SVG}line") if e.get("class") == "nl-ladder-equal-time"]
    assert line.get("x1") == line.get("x2")
    return float(line.get("x1"))


# --- the table ----------------------------------------------------------------------------------------------------

def test_rows_follow_the_ladder_and_measure_delta_against_the_baseline(results):
    rows = ladder_rows(results)
    assert [row.rung for row in rows] == [BASELINE, "rotary", "muon", "all"]  # RUNGS' order, whatever was given
    assert [row.rung for row in rows] == [name for name in RUNGS if name in results]
    assert rows[0] == Row(BASELINE, 200_000, 50.0, 1200, 3.0, 0.0) and rows[0].baseline
    by = {row.rung: row for row in rows}
    assert by["all"].delta == pytest.approx(-0.5) and by["muon"].delta == pytest.approx(0.1)  # negative = better
    assert by["rotary"].params == 198_000 and by["rotary"].ms_per_step == 55.5 and not by["rotary"].baseline
    assert ladder_rows(list(results.values())) == rows  # a list of results works too
    extra = ladder_rows([*results.values(), fake("no_bias", 2.9), fake("mine", 2.7)])
    assert [row.rung for row in extra][-2:] == ["no_bias", "mine"]  # off the ladder: after it, as given


@pytest.mark.parametrize("bad, message", [
    (lambda r: {k: v for k, v in r.items() if k != BASELINE}, "no 'nanoGPT' rung"),
    (lambda r: [*r.values(), fake("rotary", 2.0)], "appears twice"),
    (lambda r: {**r, "rmsnorm": r["rotary"]}, "holds the result of rung 'rotary'"),
    (lambda r: {**r, "rotary": RungResult(**{**vars(r["rotary"]), "curve_val": [3.0]})}, "5 curve_seconds but 1"),
])
def test_rows_refuse_inconsistent_results_chinese_first(results, bad, message):
    with pytest.raises(ValueError, match=message) as error:
        ladder_rows(bad(results))
    zh, en = str(error.value).split(" / ", 1)
    assert zh and any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en.isascii()


def test_table_shows_the_baseline_and_the_chosen_rungs_with_signed_deltas(results):
    table = rows_html(ladder_rows(results), ["all"])
    assert table.count('class="nl-ladder-row"') == 2
    assert 'data-rung="nanoGPT"' in table and 'data-rung="all"' in table and 'data-rung="rotary"' not in table
    assert "基准" in table and "−0.5000" in table and "200,000" in table and "1,200" in table
    full = rows_html(ladder_rows(results))
    assert full.count('class="nl-ladder-row"') == 4
    assert "+0.1000" in full and "−0.2000" in full and "55.5" in full  # muon worse, rotary better
    assert full.index('data-rung="nanoGPT"') < full.index('data-rung="rotary"') < full.index('data-rung="all"')
    assert f"background:{COLORS['rotary']}" in full


# --- the curves ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("low, high", [(0, 60), (0, 61.2), (0, 2.1), (2.57, 4.24), (3.1, 3.15), (-1, 0.001),
                                       (0, 1e-4), (1234, 98765), (0.9, 1.1)])
def test_nice_ticks_are_round_evenly_spaced_and_inside_the_range(low, high):
    ticks = nice_ticks(low, high)
    assert 3 <= len(ticks) <= 9
    assert low - 1e-9 <= ticks[0] and ticks[-1] <= high + 1e-9
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(steps) == pytest.approx(min(steps))
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5, 10)) < 1e-6  # 10: a step of 0.01 computed as 0.00999…


def test_nice_ticks_refuse_an_empty_or_infinite_range():
    for low, high in [(1, 1), (2, 1), (0, math.inf), (math.nan, 1)]:
        with pytest.raises(ValueError, match="tick range"):
            nice_ticks(low, high)


def test_svg_draws_one_polyline_per_shown_rung_inside_the_plot(results):
    svg = curves_svg(results, ["all", "rotary"], SECONDS)
    root = parse(svg)
    assert root.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    drawn = curves(svg)
    assert list(drawn) == [BASELINE, "rotary", "all"]  # the baseline always, first (under the others), then RUNGS' order
    for name, points in drawn.items():
        assert len(points) == len(results[name].curve_val)
        for x, y in points:
            assert LEFT <= x <= WIDTH - RIGHT and TOP <= y <= HEIGHT - BOTTOM
    circles = [c for g in root.iter(f"{SVG}g") if g.get("data-rung") == "all" for c in g.iter(f"{SVG}circle")]
    assert len(circles) == 5  # a dot per estimate
    (x0, y_start), *_, (x_end, y_final) = drawn[BASELINE]
    assert x0 == LEFT  # 0 s: the left axis
    assert y_final > y_start  # the loss falls: lower on screen
    assert drawn["all"][-1][1] > drawn["rotary"][-1][1] > y_final  # 2.5 < 2.8 < 3.0: the best is lowest
    assert drawn["all"][-1][0] > x_end  # 61 s is right of 60 s
    assert curves(curves_svg(results, ["nanoGPT", "all", "all"], SECONDS)).keys() == {BASELINE, "all"}
    assert list(curves(curves_svg(results, [], SECONDS))) == [BASELINE]
    legend = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "nl-ladder-legend" for t in g.iter(f"{SVG}text")]
    assert legend == ["nanoGPT（基准）", "rotary", "all"]


def test_svg_marks_the_equal_time_where_the_curves_reach_it(results):
    for seconds in (SECONDS, 30.0, 15.0):
        svg = curves_svg(results, ["all"], seconds)
        at_seconds = curves(svg)[BASELINE][round(seconds / 15)]
        assert equal_time_x(svg) == pytest.approx(at_seconds[0])  # baseline points at 0, 15, 30, 45, 60 s
        assert f"相同时间 {seconds:g} 秒" in svg
    short = {name: fake(name, 3.0 if name == BASELINE else 2.9, end=10.0) for name in (BASELINE, "rotary")}
    svg = curves_svg(short, ["rotary"], 20.0)  # the equal time beyond the data: the axis reaches it
    assert LEFT < curves(svg)["rotary"][-1][0] < equal_time_x(svg) <= WIDTH - RIGHT
    assert equal_time_x(svg) - LEFT == pytest.approx(2 * (curves(svg)["rotary"][-1][0] - LEFT), abs=0.11)


def test_svg_escapes_rung_names_and_skips_diverged_points(results):
    name = '<b>"big" & bold</b>'
    odd = fake(name, 2.0)
    odd.curve_val[2] = math.nan
    svg = curves_svg({**results, name: odd}, [name], SECONDS)
    assert "<b>" not in svg and "&lt;b&gt;&quot;big&quot; &amp; bold&lt;/b&gt;" in svg
    drawn = curves(svg)
    assert name in drawn and len(drawn[name]) == 4  # the NaN estimate left out
    assert name in html.unescape(ladder_html({**results, name: odd}, [name], SECONDS))


@pytest.mark.parametrize("chosen, seconds, message", [
    (["rotery"], SECONDS, r"no results for \['rotery'\]"),
    (["rmsnorm"], SECONDS, "the results have: nanoGPT, rotary, muon, all"),
    (["all"], 0, "seconds must be a finite number > 0"),
    (["all"], -5.0, "seconds must be"),
    (["all"], math.inf, "seconds must be"),
    (["all"], True, "seconds must be"),
])
def test_svg_refuses_unknown_rungs_and_bad_seconds(results, chosen, seconds, message):
    with pytest.raises(ValueError, match=message):
        curves_svg(results, chosen, seconds)


def test_svg_refuses_a_size_too_small_for_its_margins(results):
    assert parse(curves_svg(results, [], SECONDS, width=400, height=200)).get("viewBox") == "0 0 400 200"
    with pytest.raises(ValueError, match="at least"):
        curves_svg(results, [], SECONDS, width=200)


def test_view_is_the_svg_and_the_table(results):
    view = ladder_html(results, ["muon"], SECONDS)
    assert curves_svg(results, ["muon"], SECONDS) in view
    assert rows_html(ladder_rows(results), ["muon"]) in view
    assert "每个台阶都训练了大约 60 秒 CPU 时间" in view


# --- the static twin ----------------------------------------------------------------------------------------------

def test_static_twin_draws_the_curves_the_equal_time_and_the_deltas(results):
    fig = ladder_figure(results, ["all", "rotary"], SECONDS)
    curves_ax, bars_ax = fig.axes
    lines = {line.get_label(): line for line in curves_ax.get_lines() if not line.get_label().startswith("_")}
    assert list(lines) == [BASELINE, "rotary", "all"]
    for name, line in lines.items():
        assert list(line.get_xdata()) == results[name].curve_seconds
        assert list(line.get_ydata()) == results[name].curve_val
    assert lines[BASELINE].get_linewidth() > lines["all"].get_linewidth()
    vertical = [line for line in curves_ax.get_lines() if line.get_label().startswith("_")]
    assert [list(line.get_xdata()) for line in vertical] == [[SECONDS, SECONDS]]
    assert [t.get_text() for t in bars_ax.get_yticklabels()] == ["rotary", "all"]
    assert [p.get_width() for p in bars_ax.patches] == pytest.approx([-0.2, -0.5])
    everything = ladder_figure(results, None, SECONDS)
    assert [t.get_text() for t in everything.axes[1].get_yticklabels()] == ["rotary", "muon", "all"]
    with pytest.raises(ValueError, match="no results"):
        ladder_figure(results, ["qk_norm"], SECONDS)


def test_the_module_does_not_import_matplotlib_until_a_figure_is_drawn():
    code = ("import sys; from nanogpt_lite.ladder import RungResult as R; import nanogpt_lite.widgets.ladder_explorer as m; "
            "r = {'nanoGPT': R('nanoGPT', 1, 1.0, 1, 1.0, [0.0, 1.0], [4.0, 3.0], 3.0)}; m.LadderExplorer(r, 1.0); "
            "a = 'matplotlib' in sys.modules; m.ladder_figure(r, None, 1.0); print('imported:', a, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, encoding="utf-8")
    assert "imported: False True" in out.stdout, out.stdout + out.stderr


# --- the widget ---------------------------------------------------------------------------------------------------

def shown(w: LadderExplorer) -> list[str]:
    return list(curves(w.view.value[w.view.value.index("<svg"): w.view.value.index("</svg>") + 6]))


def test_widget_redraws_on_every_tick_from_the_given_results(results):
    w = LadderExplorer(results, SECONDS)
    assert "nl-ladder-explorer" in w._dom_classes
    assert list(w.boxes) == ["rotary", "muon", "all"] and w.chosen() == ["all"]  # "all" ticked at first
    assert w.reference.value and w.reference.disabled
    assert w.view.value == ladder_html(results, ["all"], SECONDS)
    assert shown(w) == [BASELINE, "all"]
    w.boxes["rotary"].value = True
    assert w.chosen() == ["rotary", "all"] and shown(w) == [BASELINE, "rotary", "all"]
    assert w.view.value == ladder_html(results, ["rotary", "all"], SECONDS)
    assert w.view.value.count('class="nl-ladder-row"') == 3
    w.boxes["all"].value = False
    assert shown(w) == [BASELINE, "rotary"] and 'data-rung="all"' not in w.view.value
    w.none_button.click()
    assert w.chosen() == [] and shown(w) == [BASELINE]
    assert w.view.value.count('class="nl-ladder-row"') == 1
    w.all_button.click()
    assert w.chosen() == ["rotary", "muon", "all"] and shown(w) == [BASELINE, "rotary", "muon", "all"]
    w.select(["muon"])
    assert w.view.value == ladder_html(results, ["muon"], SECONDS)
    assert w.out.outputs == ()


def test_widget_redraws_once_per_select(results, monkeypatch):
    w = LadderExplorer(results, SECONDS, chosen=[])
    drawn = []
    monkeypatch.setattr(w, "_show", lambda: drawn.append(w.chosen()))
    w.select(["rotary", "muon", "all"])
    assert drawn == [["rotary", "muon", "all"]]


def test_widget_refuses_bad_arguments_and_shows_callback_errors(results):
    with pytest.raises(ValueError, match="no results for"):
        LadderExplorer(results, SECONDS, chosen=["relu2"])
    with pytest.raises(ValueError, match="seconds must be"):
        LadderExplorer(results, -1)
    with pytest.raises(ValueError, match="no 'nanoGPT' rung"):
        LadderExplorer({"all": results["all"]}, SECONDS)
    w = LadderExplorer(results, SECONDS, chosen=["rotary"])
    assert w.chosen() == ["rotary"]
    with pytest.raises(ValueError, match="no results for"):
        w.select(["relu2"])
    assert w.chosen() == ["rotary"]
    before = w.view.value
    w.seconds = math.nan  # something broke: outside a kernel the guard re-raises, in one it shows in w.out
    with pytest.raises(ValueError, match="seconds must be"):
        w.boxes["muon"].value = True
    assert w.view.value == before
    w.seconds = SECONDS
    w.boxes["all"].value = True
    assert w.view.value == ladder_html(results, ["rotary", "muon", "all"], SECONDS) and w.out.outputs == ()


def test_widget_reads_a_saved_ladder(tmp_path, results):
    path = save_results(tmp_path / "ladder.json", list(results.values()), 12.5)
    w = LadderExplorer.from_file(path, chosen=["rotary"])
    assert w.seconds == 12.5 and w.results == results and w.chosen() == ["rotary"]
    assert "相同时间 12.5 秒" in w.view.value
    with pytest.raises(FileNotFoundError, match="make ladder"):
        LadderExplorer.from_file(tmp_path / "missing.json")
