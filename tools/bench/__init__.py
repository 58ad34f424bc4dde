"""Benchmark report for the series: ``python -m tools.bench`` (``make bench``); one module per figure.

Markdown on stdout, JSON in ``build/bench.json``. Nothing here passes or fails: the report says which goals are met
and, where one is missed, by how much. The machine may be shared: every time is a median over repeats.
"""
