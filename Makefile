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

.PHONY: venv test lint unit course lab exercises browser-deps browser-test bench clean

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

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
