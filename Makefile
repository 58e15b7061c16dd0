# The course's two commands: `make lab` starts it, `make test` checks all of it.
# Both create .venv with Python 3.11 (or python3) and install the course into it.
# `make test` sets CAM_EDU_OFFLINE=1: the lessons then use the offline MNIST subset and
# never download, so every checked notebook output is the same with or without a network.
# It also points KERAS_HOME at an empty folder, so ResNet50 weights that `make prefetch`
# cached for class do not change lesson 5's checked (random-weight) outputs.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# TensorFlow's settings for every command here (cam_edu itself sets no variable): its
# info and warning lines hidden (errors kept), oneDNN off so numbers match across machines.
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0
# Everything: the CPU TensorFlow wheel and every extra (dev includes instructor, course,
# explorer and lime). `pip install cam_edu` alone is the light core; see the README.
EXTRAS := cpu,dev

.PHONY: lab test setup lint benchmark exercises checkpoints clean slides site prefetch diagrams lessons

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cam_edu)" --env TF_CPP_MIN_LOG_LEVEL 3 --env TF_ENABLE_ONEDNN_OPTS 0
	touch $(STAMP)

setup: $(STAMP)

# The Debian packages some tests need (skipped without them): Chromium for the browser tests
# (Playwright's own download is not used; CAM_EDU_CHROMIUM may name another Chromium) and
# bubblewrap, the grader's sandbox (cam_edu/exercises/sandbox.py).
CHROMIUM := sh scripts/apt_install.sh chromium chromium "the browser tests (tests/test_browser.py, tests/test_site_browser.py)" CAM_EDU_CHROMIUM
BUBBLEWRAP := sh scripts/apt_install.sh bubblewrap bwrap "the grader's sandbox tests (tests/test_grade.py)"

# Jupyter refuses to start as root (containers, cloud machines) without --allow-root.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)

# RISE (jupyterlab-rise, in the extra "course") is in it: Alt+R presents a notebook as slides.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_FLAGS)

test: $(STAMP) $(NODE_STAMP)
	$(CHROMIUM)
	$(BUBBLEWRAP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	CAM_EDU_OFFLINE=1 KERAS_HOME=$$(mktemp -d) $(BIN)/python -m pytest -q --durations=10 --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Run the lessons as `make test` checks them (offline, seeded) and store their outputs.
lessons: $(STAMP)
	$(BIN)/python -m cam_edu.teaching execute $(LESSONS)

exercises: $(STAMP)
	$(BIN)/python -m cam_edu.exercises build --execute

benchmark: $(STAMP)
	$(CHROMIUM)
	$(BIN)/python benchmarks/run_benchmarks.py

checkpoints: $(STAMP)
	$(BIN)/python scripts/train_checkpoints.py

# Slides and website: reveal.js, MathJax, require.js, jQuery from npm (package-lock.json),
# served from the output folders; no network is used while building or viewing.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

slides: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m cam_edu.teaching slides

site: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m cam_edu.teaching site

diagrams: $(STAMP)
	$(BIN)/python -m cam_edu.teaching diagrams

prefetch: $(STAMP)
	$(BIN)/python -m cam_edu.teaching prefetch

clean:
	rm -rf $(VENV)
