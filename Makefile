# utfall: the two commands of the README, and a few helpers.
#   make demo   create .venv, install, load the reference contracts, show them
#   make test   install everything the tests need and run them
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON ?= 3.11
# uv links packages from its cache (hard links; a copy where the cache is on another disk):
# a fresh .venv in 2 s, not 11 s.
# These machines set PYTHONDONTWRITEBYTECODE=1: compile at install, or every `utfall` call
# and test worker recompiles its imports.
export UV_COMPILE_BYTECODE := 1
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Use a uv on PATH if there is one; otherwise install it from the registry into .tools/.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTEST_WORKERS ?= 3

.PHONY: help install demo test lint check bench clean

help:
	@echo "make demo   - install and run the demo"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff, import-linter and mypy only"
	@echo "make bench  - run the benchmarks in benchmarks/"

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

$(BIN)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	@touch $@

# uv compiles the installed packages, not the project's own source (an editable install).
$(BIN)/.compiled: $(BIN)/.synced $(shell find src -name '*.py' 2>/dev/null)
	$(BIN)/python -m compileall -q -j 0 src
	@touch $@

install: $(BIN)/.compiled

# Prints the reference contracts settled on their example facts; then migrates the embedded
# SQLite database, loads the reference contracts and synthetic data, prints the demo logins
# and serves the platform at http://127.0.0.1:8000.
demo: install
	$(BIN)/utfall demo
	$(BIN)/python -m utfall.platform.manage demo

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

# Chromium (browser tests) and a local PostgreSQL (postgres tests) are installed and started
# by these scripts; each skips with a clear message where it cannot run.
test: install lint
	bash scripts/install-chromium.sh
	bash scripts/start-postgres.sh
	$(BIN)/python -m utfall.platform.manage compile_translations
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache var/
