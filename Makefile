# TridentStack Control SCIM provisioning — developer and operator entry points.
# `make run` and `make test` work on a fresh machine with python3 (>= 3.11) and make.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
CONFIG ?= $(if $(wildcard config.toml),config.toml,)
CONFIG_FLAG := $(if $(CONFIG),--config $(CONFIG),)
PYTEST_ARGS ?=

.PHONY: install run test check fmt lint types imports bench bench-full clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the service with test and dev tools

run: $(STAMP) ## install, create the SQLite database, start the service (API + worker)
	$(BIN)/trident-scim $(CONFIG_FLAG) db init
	$(BIN)/trident-scim $(CONFIG_FLAG) serve

test: $(STAMP) ## install and run the whole test suite (SQLite and PostgreSQL)
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

fmt: $(STAMP)
	$(BIN)/ruff format api store worker tui cli tests
	$(BIN)/ruff check --fix api store worker tui cli tests

lint: $(STAMP)
	$(BIN)/ruff format --check api store worker tui cli tests
	$(BIN)/ruff check api store worker tui cli tests

types: $(STAMP) ## mypy everywhere (no stale ignores); --strict on the store and the SCIM core
	$(BIN)/mypy api store worker tui cli
	$(BIN)/mypy --strict store api/scim

imports: $(STAMP)
	$(BIN)/lint-imports

check: lint types imports test ## format, lint, type checks, import contracts and tests

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## the server beside the reference (scim2-server), same client, one run
	$(BIN)/python -m tests.bench.compare

bench-full: $(STAMP) ## every benchmark row of the real server (large dataset, abuse, role changes)
	$(BIN)/python -m tests.bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
