# Two commands do all the set-up: `make lab` (open the notebooks) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Three locks, each installed once (a stamp file): a learner's lab (requirements.lock: no nbgrader, no
# JupyterHub), what the tests add (requirements-test.lock), a teacher's hub and grading (requirements-classroom.lock).
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
CLASSROOM_STAMP := $(VENV)/.installed-classroom
TORCH_VERSION := $(shell sed -n 's/^torch==//p' requirements.lock)

# PyPI's Linux torch is the CUDA build (19 more packages, a ~5 GB venv). On Linux without an NVIDIA
# GPU take the CPU build (~1.6 GB) from PyTorch's CPU index instead. Override: TORCH_INDEX= (empty)
# uses whatever pip finds (CI's local wheels; a GPU machine), or TORCH_INDEX=<a mirror of that index>.
ifeq ($(shell uname -s),Linux)
TORCH_INDEX ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,https://download.pytorch.org/whl/cpu)
endif
TORCH_INDEX ?=

# Tiny models gain nothing from several BLAS threads, and on a busy 2-core machine extra threads
# spin against each other (one chapter's training went from seconds to minutes). The package itself
# also picks one thread unless OMP_NUM_THREADS or NANOGPT_LITE_THREADS says otherwise.
test unit nbval execute bench handout compat reference ladder: export OMP_NUM_THREADS = 1
# Under tests a chapter's live training runs 200 steps (nanogpt_lite.gpt_training.live_recipe; conftest.py sets it too).
test nbval compat: export NANOGPT_LITE_QUICK = 1

# JupyterLab settings for `make lab`: no news toast, no update check, and widget state saved into the
# notebook on save (else a saved chapter reopens with "Error displaying widget: model not found").
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
# Every kernel of the venv loads nanogpt_lite.ipython: a NameError also says "run the cells above".
KERNEL_CONFIG := $(VENV)/etc/ipython/ipython_kernel_config.json
# The server sends widget updates without Nagle's 40 ms wait (nanogpt_lite/websocket.py).
SERVER_CONFIG := $(VENV)/etc/jupyter/jupyter_server_config.json

.PHONY: setup lab test unit nbval lock execute bench handout compat clean nbgrader hub soak reference ladder classroom

# The torch index is checked first (tools/torch_index.py, 10 s at most): unreachable, make stops with the fix.
# A venv made before the locks were split loses nbgrader & co. here, unless `make classroom` put them there.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(BIN)/python -m tools.torch_index $(TORCH_INDEX) --torch $(TORCH_VERSION) --goal "$(or $(MAKECMDGOALS),setup)")
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet --no-deps --index-url $(TORCH_INDEX) torch==$(TORCH_VERSION))
	$(BIN)/python -m pip install --quiet -r requirements.lock
	test -e $(CLASSROOM_STAMP) || $(BIN)/python -m tools.lock --prune requirements-classroom.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	mkdir -p $(dir $(LAB_OVERRIDES))
	printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}, "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": true}}' > $(LAB_OVERRIDES)
	mkdir -p $(dir $(KERNEL_CONFIG))
	printf '%s\n' '{"InteractiveShellApp": {"extensions": ["nanogpt_lite.ipython"]}}' > $(KERNEL_CONFIG)
	mkdir -p $(dir $(SERVER_CONFIG))
	printf '%s\n' '{"ServerApp": {"kernel_websocket_connection_class": "nanogpt_lite.websocket.NoDelayConnection"}}' > $(SERVER_CONFIG)
	touch $@

setup: $(STAMP)

$(TEST_STAMP): requirements-test.lock $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements.lock -r requirements-test.lock
	touch $@

$(CLASSROOM_STAMP): requirements-classroom.lock $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements.lock -r requirements-classroom.lock
	touch $@

# A teacher's tools on top of the learner's lab: JupyterHub, nbgitpuller, nbgrader (classroom/README.md).
classroom: $(CLASSROOM_STAMP)

# Trust the notebooks (widgets then render from their saved state) and open the start page.
lab: setup
	$(BIN)/jupyter trust notebooks/*.ipynb
	$(BIN)/jupyter lab notebooks/00_start.ipynb $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# The suite runs on every core (pytest-xdist): one test module or notebook per worker at a time, the slowest ones
# first (conftest.py orders them). PYTEST_ARGS="-n 0" runs it in one process.
PARALLEL := -n auto --dist loadscope --no-loadscope-reorder

test: setup $(TEST_STAMP) $(CLASSROOM_STAMP)
	$(BIN)/python -m pytest tests notebooks --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg $(PARALLEL) $(PYTEST_ARGS)

unit: setup $(TEST_STAMP) $(CLASSROOM_STAMP)
	$(BIN)/python -m pytest tests $(PARALLEL) $(PYTEST_ARGS)

nbval: setup $(TEST_STAMP)
	$(BIN)/python -m pytest notebooks --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg $(PARALLEL) $(PYTEST_ARGS)

# A second venv with the newest versions pyproject's ranges allow (not the lock): unit tests, then
# every notebook executed without comparing outputs. PYTHON=python3.12 make compat tries another Python.
COMPAT := build/compat-venv
compat:
	rm -rf $(COMPAT) && $(PYTHON) -m venv $(COMPAT)
	$(if $(TORCH_INDEX),$(COMPAT)/bin/python -m tools.torch_index $(TORCH_INDEX) --goal compat)
	$(if $(TORCH_INDEX),$(COMPAT)/bin/python -m pip install --quiet --no-deps --index-url $(TORCH_INDEX) torch)
	$(COMPAT)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager ".[lab,test,classroom]"
	$(COMPAT)/bin/python -m pip list --format=freeze > build/compat-versions.txt
	$(COMPAT)/bin/python -m pytest tests --ignore=tests/browser --ignore=tests/test_lock.py \
		--ignore=tests/test_handout.py --ignore=tests/test_hub.py -p no:cacheprovider $(PARALLEL) $(PYTEST_ARGS)
	$(COMPAT)/bin/python -m tools.execute_notebooks --check notebooks/*.ipynb

# `make test` RUNS times in a row (default 20) on a clean clone of HEAD with CI unset: a test that fails
# only sometimes shows itself. Each run takes 7-15 min on 2 cores; logs and a table in build/soak/ (tools/soak.py).
soak: setup
	$(BIN)/python -m tools.soak --runs $(or $(RUNS),20) --command "make test PYTHON=$(PYTHON) TORCH_INDEX=$(TORCH_INDEX)"

# Re-execute every notebook top to bottom in a fresh kernel and save the outputs (commit the result).
execute: setup
	$(BIN)/python -m tools.execute_notebooks $(or $(NB),notebooks/*.ipynb)

# Rebuild chapter 6's reference GPT (nanogpt_lite/data/shakespeare_char_ckpt.pt): CPU_RECIPE from seed 1337 on
# one thread, about two minutes; commit the file (tests/test_reference.py checks it against this command's code path).
reference: setup
	$(BIN)/python -m nanogpt_lite.reference

# Rebuild chapter 7's ladder (nanogpt_lite/data/ladder.json): each rung 60 s of one CPU thread, about 15 minutes on
# an idle machine; commit the file and re-execute chapter 7 (its prose quotes these numbers).
ladder: setup
	$(BIN)/python -m nanogpt_lite.ladder

# Regenerate the three locks from what the venv has installed (after changing pyproject ranges and upgrading
# in .venv; CONTRIBUTING.md): each lock is the dependency closure of its part of pyproject (tools/lock.py).
lock: $(TEST_STAMP) $(CLASSROOM_STAMP)
	$(BIN)/python -m tools.lock

clean:
	rm -rf build handout

# Benchmark report (Markdown on stdout, JSON in build/bench.json).
bench: setup $(TEST_STAMP)
	$(BIN)/python -m tools.bench

# Offline classroom handout: handout/*.html and handout/nanogpt-faq.pdf (runs npm ci once for its scripts). TEACHER=1: the same with solutions, in handout/teacher/.
handout: setup $(TEST_STAMP)
	$(BIN)/python -m tools.handout $(if $(TEACHER),--teacher)

# nbgrader course from the chapters' exercises (build/nbgrader-course; see classroom/nbgrader/).
nbgrader: setup $(CLASSROOM_STAMP)
	$(BIN)/python -m tools.nbgrader $(NBGRADER_ARGS)

# The JupyterHub end-to-end test alone (make test runs it too; see classroom/README.md).
hub: setup $(TEST_STAMP) $(CLASSROOM_STAMP)
	$(BIN)/python -m pytest tests/test_hub.py $(PYTEST_ARGS)
