# mineral-analysis: the front door. `make report` and `make test` are all a new machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# The optional dependencies `make env` installs with the project.
EXTRAS ?= all,test,dev
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL_NAME := mineral-analysis
KERNEL_DISPLAY := Python (mineral-analysis)
# Options for the one command a target runs: `make report ARGS="--no-progress"` reaches `mineral-analysis build`.
ARGS ?=

# uv must never download a Python of its own; bytecode is compiled at install time because this
# environment sets PYTHONDONTWRITEBYTECODE (otherwise every kernel start recompiles the stack).
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help env check-env system data validate report test test-fast lint format bench lab kernel wheel clean distclean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# scripts/environment.sh makes and updates .venv: an existing .venv is updated with its own interpreter and never
# re-created (PYTHON=... naming another interpreter is refused); `make check-env` only checks it.
$(STAMP): $(shell scripts/environment.sh inputs)
	@VENV=$(VENV) PYTHON=$(PYTHON) EXTRAS=$(EXTRAS) PYTHON_GIVEN="$(filter command line environment,$(origin PYTHON))" \
	  scripts/environment.sh install
	@$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL_NAME) --display-name "$(KERNEL_DISPLAY)" >/dev/null

env: $(STAMP) ## Create .venv, install the pinned stack and its Jupyter kernel (done automatically by the targets below)

check-env: ## Check .venv is installed, current and runs the interpreter that made it; change nothing (exit 2 if not)
	@VENV=$(VENV) scripts/environment.sh check

system: ## Install the Debian packages the tests need (chromium, poppler, pango), or say how
	@scripts/system-deps.sh test

data: $(STAMP) ## Rebuild data/processed/ from data/raw/
	@$(BIN)/mineral-analysis data $(ARGS)

validate: $(STAMP) ## Check data/raw/ and write nothing
	@$(BIN)/mineral-analysis validate $(ARGS)

report: $(STAMP) ## Build the processed data and every brief (HTML + PDF) into reports/; ARGS go to the build
	@scripts/system-deps.sh build
	@$(BIN)/mineral-analysis data
	@$(BIN)/mineral-analysis build $(ARGS)

# Two test processes: most of the slow layer waits on kernels, browsers and builds, so two share the cores well.
# --dist loadfile keeps each test file (and its module fixtures) in one process.
# Three pytest workers on two cores: much of the slow layer waits (workers starting, stall timers, servers), and a
# third worker finished it 73 s sooner here (9 min 25 s -> 8 min 12 s).
test: system $(STAMP) lint ## Run the whole test suite (unit, notebooks, rendered HTML/PDF, browser), about 9 min
	$(BIN)/python -m pytest -n 3 --dist loadfile $(ARGS)

test-fast: $(STAMP) ## Unit tests only: no kernel, no browser, no subprocess build (under a minute)
	$(BIN)/python -m pytest -m "not slow" -n 2 $(ARGS)

lint: $(STAMP) ## ruff lint and format check (the committed configuration in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## Measure build speed, rebuilds, cleaning at scale (20-30 min; ARGS=--quick about 5); writes benchmarks/scratch/latest.json
	@scripts/system-deps.sh build
	$(BIN)/python benchmarks/run.py $(ARGS)

lab: $(STAMP) ## JupyterLab on notebooks/ with the project's kernel; ARGS go to jupyter lab (--port 8890 --no-browser)
	$(BIN)/jupyter lab notebooks/ $(ARGS)

kernel: $(STAMP) ## Register the project's kernel, "Python (mineral-analysis)", for your own Jupyter (user-wide)
	$(BIN)/python -m ipykernel install --user --name $(KERNEL_NAME) --display-name "$(KERNEL_DISPLAY)"

wheel: data ## Build the wheel (with the processed tables and boundaries inside) into dist/
	$(BIN)/python -m uv build --wheel --out-dir dist --quiet

clean: ## Remove generated reports and processed data (raw data is never touched)
	rm -rf reports/* data/processed/*.csv data/processed/*.parquet data/processed/*.json data/processed/*.md
	touch reports/.gitkeep

distclean: clean ## Also remove the environment and built wheels
	rm -rf $(VENV) dist build
