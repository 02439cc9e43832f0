# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test lint bench lock clean

install: $(STAMP)

# Reinstalls only when the lock file changes.
$(STAMP): requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $(STAMP)

run: install
	$(BIN)/python -m config.launcher

# Brings up what the tests need first (scripts/test-prerequisites: PostgreSQL, Redis, Chromium).
# PYTEST_ARGS are passed on, e.g. make test PYTEST_ARGS="tests/e2e -x".
test: install
	@scripts/test-prerequisites
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports  # the dependency arrows of docs/architecture.md
	DJANGO_SECRET_KEY=lint-only $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

# Benchmark (not part of `make test`): BENCH_QUICK=1 for the 5-minute run. See README.
bench: install
	$(BIN)/python -m bench

# Regenerate the pinned lock files from pyproject.toml's direct dependencies.
lock:
	rm -rf /tmp/clinic-lock && $(PYTHON) -m venv /tmp/clinic-lock
	/tmp/clinic-lock/bin/pip install --quiet .
	/tmp/clinic-lock/bin/pip freeze --exclude infusion-clinic > requirements.lock
	/tmp/clinic-lock/bin/pip install --quiet ".[dev]"
	/tmp/clinic-lock/bin/pip freeze --exclude infusion-clinic > requirements-dev.lock
	rm -rf /tmp/clinic-lock build *.egg-info

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
