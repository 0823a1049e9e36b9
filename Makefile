# Two commands on a fresh machine: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV_STAMP := .venv/.installed

.PHONY: install run test lint typecheck unit integration e2e clean bench chaos

# uv itself comes from PyPI through pip; everything else from the committed uv.lock.
$(VENV_STAMP): pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen
	@touch $(VENV_STAMP)

install: $(VENV_STAMP)

run: install
	$(UV) run --frozen python -m shared.devstack

lint: install
	$(UV) run --frozen ruff check shared services cli tests bench chaos
	$(UV) run --frozen ruff format --check shared services cli tests bench chaos

typecheck: install
	$(UV) run --frozen mypy shared services cli bench chaos

test: lint typecheck
	$(UV) run --frozen pytest

unit: install
	$(UV) run --frozen pytest tests/unit

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache

bench: install
	$(UV) run --frozen python -m bench $(BENCH_ARGS)

# Faults while 1,000 trainees go through (a few minutes): CHAOS_ARGS="--trainees 200 --seed 7".
chaos: install
	$(UV) run --frozen python -m chaos $(CHAOS_ARGS)
