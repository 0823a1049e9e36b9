# Two commands on a fresh machine: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV_STAMP := .venv/.installed

.PHONY: install run test lint typecheck browser promtool unit integration e2e clean bench bench-smoke chaos docs

# uv itself comes from PyPI through pip; everything else from the committed uv.lock.
$(VENV_STAMP): pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen
	@touch $(VENV_STAMP)

install: $(VENV_STAMP)

run: install
	$(UV) run --frozen python -m shared.devstack $(RUN_ARGS)

lint: install
	$(UV) run --frozen ruff check shared services cli tests bench chaos
	$(UV) run --frozen ruff format --check shared services cli tests bench chaos

typecheck: install
	$(UV) run --frozen mypy shared services cli bench chaos

test: lint typecheck browser promtool
	$(UV) run --frozen pytest

# The web monitor's test drives Debian's chromium headless (through playwright, never
# `playwright install`, which downloads a browser). Installed once; quiet when it is there.
CHROMIUM := /usr/bin/chromium
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

browser:
	@test -x $(CHROMIUM) || { \
		echo "installing chromium for the web monitor's browser test (apt-get)"; \
		$(APT_INSTALL) chromium >/dev/null 2>&1 \
		|| { apt-get update -qq && $(APT_INSTALL) chromium >/dev/null; }; \
	}

# The alert rules are checked and unit-tested by promtool (tests/test_monitoring.py): Debian's
# prometheus package carries it (its server is not started). Installed once; quiet when there.
PROMTOOL := /usr/bin/promtool

promtool:
	@test -x $(PROMTOOL) || { \
		echo "installing promtool for the alert rules' tests (apt-get, Debian's prometheus)"; \
		$(APT_INSTALL) prometheus >/dev/null 2>&1 \
		|| { apt-get update -qq && $(APT_INSTALL) prometheus >/dev/null; }; \
	}

unit: install
	$(UV) run --frozen pytest tests/unit

# docs/events.md from the event models and catalog (a unit test fails when it is stale).
docs: install
	$(UV) run --frozen python -m shared.event_docs --write

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache

bench: install
	$(UV) run --frozen python -m bench $(BENCH_ARGS)

# The whole flow once, tiny (under a minute): CI runs it so that the harness cannot rot.
bench-smoke: install
	$(UV) run --frozen python -m bench --smoke $(BENCH_ARGS)

# Faults while 1,000 trainees go through (a few minutes): CHAOS_ARGS="--trainees 200 --seed 7".
chaos: install
	$(UV) run --frozen python -m chaos $(CHAOS_ARGS)
