# The course's commands. Each creates .venv on first use and reuses it afterwards.
#   make test       lint + exercise drift check + unit tests + notebook tests (what CI runs)
#   make course     run every lesson headless on the offline data; results in runs/
#   make lab        JupyterLab on the course
#   make exercises  regenerate notebooks/ from solutions/

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k data"`.
PYTEST_ARGS ?=

.PHONY: venv test lint unit course lab exercises browser-deps browser-test bench test-colab clean

# The environment is rebuilt only when pyproject.toml or the lock file changes.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,offline]'
	@touch $@
	@echo "Environment ready in $(VENV)."

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python tools/make_exercises.py --check
	TQDM_DISABLE=1 MPLBACKEND=Agg $(BIN)/python -m pytest $(PYTEST_ARGS)

unit: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -m "not notebook and not browser" $(PYTEST_ARGS)

course: $(STAMP)
	TQDM_DISABLE=1 MPLBACKEND=Agg $(BIN)/python tools/run_course.py $(COURSE_ARGS)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=.

exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

browser-deps:
	bash tools/install_browser_deps.sh

browser-test: $(STAMP) browser-deps
	TQDM_DISABLE=1 $(BIN)/python -m pytest -m browser -rs $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/data_throughput.py
	$(BIN)/python benchmarks/data_memory.py
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/lesson_step_times.py

# Colab's stack (Python 3.13, torch 2.11, torchvision 0.26, ipywidgets 7.7, matplotlib 3.10):
# the course must install on it without replacing those, and its tests and quick lessons pass.
# The first run downloads about 3 GB (torch with its CUDA libraries); later runs reuse .venv-colab.
COLAB_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
COLAB_VENV   := .venv-colab
$(COLAB_VENV)/.installed: pyproject.toml constraints-colab.txt
	@test -x $(COLAB_VENV)/bin/python || $(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet -c constraints-colab.txt \
		torch torchvision ipywidgets matplotlib
	$(COLAB_VENV)/bin/python -m pip install --quiet -c constraints-colab.txt -e '.[dev,offline]'
	$(COLAB_VENV)/bin/python tools/check_stack.py constraints-colab.txt
	@touch $@

test-colab: $(COLAB_VENV)/.installed
	TQDM_DISABLE=1 MPLBACKEND=Agg $(COLAB_VENV)/bin/python -m pytest -m "not browser" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(COLAB_VENV) runs .pytest_cache .ruff_cache
