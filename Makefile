# mineral-analysis: the front door. `make report` and `make test` are all a new machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

# uv must never download a Python of its own; bytecode is compiled at install time because this
# environment sets PYTHONDONTWRITEBYTECODE (otherwise every kernel start recompiles the stack).
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
export MPLBACKEND := Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help env data validate report briefs test test-fast bench lab clean distclean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements/constraints.txt
	@if ! $(PYTHON) -m uv --version >/dev/null 2>&1; then \
	  echo "installing uv into $(PYTHON)"; $(PYTHON) -m pip install --quiet uv || true; fi
	@if $(PYTHON) -m uv --version >/dev/null 2>&1; then \
	  $(PYTHON) -m uv venv --quiet --allow-existing --python $(PYTHON) $(VENV) && \
	  $(PYTHON) -m uv pip install --quiet --python $(BIN)/python -c requirements/constraints.txt -e '.[test]'; \
	else \
	  echo "uv unavailable: falling back to venv + pip"; \
	  $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[test]'; \
	fi
	@touch $(STAMP)

env: $(STAMP) ## Create .venv and install the pinned stack (done automatically by the targets below)

data: $(STAMP) ## Rebuild data/processed/ from data/raw/
	$(BIN)/mineral-analysis data $(ARGS)

validate: $(STAMP) ## Check data/raw/ and write nothing
	$(BIN)/mineral-analysis validate $(ARGS)

report: data ## Build the processed data and every brief (HTML + PDF) into reports/
	$(BIN)/mineral-analysis build $(ARGS)

test: $(STAMP) ## Run the whole test suite (unit, notebooks, rendered HTML/PDF, browser)
	$(BIN)/python -m pytest $(ARGS)

test-fast: $(STAMP) ## Unit tests only (no notebook execution)
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

bench: $(STAMP) ## Measure build speed, rebuilds, cleaning at scale; writes benchmarks/latest.json
	$(BIN)/python benchmarks/run.py $(ARGS)

lab: $(STAMP) ## Open JupyterLab on notebooks/ with the project's environment
	$(BIN)/jupyter lab notebooks/

clean: ## Remove generated reports and processed data (raw data is never touched)
	rm -rf reports/* data/processed/*.csv data/processed/*.parquet data/processed/*.json data/processed/*.md
	touch reports/.gitkeep

distclean: clean ## Also remove the environment
	rm -rf $(VENV)
