# Two commands do all the set-up: `make lab` (open the notebooks) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# A local copy or mirror of tiny Shakespeare, for offline rooms: make lab DATA_FROM=/media/usb/input.txt
DATA_FROM ?=

# Tiny models gain nothing from several BLAS threads, and on a busy 2-core machine extra threads
# spin against each other (one chapter's training went from seconds to minutes): tests use one.
test unit nbval execute bench handout: export OMP_NUM_THREADS = 1

.PHONY: setup data lab test unit nbval lock execute bench handout clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP) data

data: $(STAMP)
	$(BIN)/python -m nanogpt_lite.data fetch $(if $(DATA_FROM),--from "$(DATA_FROM)")

lab: setup
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

test: setup
	$(BIN)/python -m pytest tests notebooks --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg $(PYTEST_ARGS)

unit: setup
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

nbval: setup
	$(BIN)/python -m pytest notebooks --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg $(PYTEST_ARGS)

# Re-execute every notebook top to bottom in a fresh kernel and save the outputs (commit the result).
execute: setup
	$(BIN)/python -m tools.execute_notebooks $(or $(NB),notebooks/*.ipynb)

# Regenerate requirements.lock from the current environment (after changing pyproject ranges).
lock: $(STAMP)
	{ head -n 2 requirements.lock; $(BIN)/python -m pip freeze --all --exclude-editable | grep -vi '^\(nanogpt\|pip==\)' | sed 's/^torch==\(.*\)+cpu/torch==\1/'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf build handout

# Benchmark report (Markdown on stdout, JSON in build/bench.json).
bench: setup
	$(BIN)/python -m tools.bench

# Offline classroom handout: handout/*.html and handout/nanogpt-faq.pdf (runs npm ci once for its scripts). TEACHER=1: the same with solutions, in handout/teacher/.
handout: setup
	$(BIN)/python -m tools.handout $(if $(TEACHER),--teacher)
