# The two commands that matter: `make run` and `make test`. Everything else serves them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PICCOLO_CONF := app.piccolo_conf

# The real services the integration suite talks to (the second pass of `make test`).
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# The integration passes in two pytest-xdist workers each (whole modules per worker, so a
# module's fixtures start once), and the slowest tests named at the end of every pass.
PARALLEL ?= -n 2 --dist loadfile --durations=15

.PHONY: install run test test-env test-unit test-sqlite test-postgres test-drills test-e2e lint format i18n i18n-compile bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/.installed i18n-compile

i18n-compile: $(BIN)/.installed
	$(BIN)/pybabel compile -d app/locale -D messages

## Extract every marked text into the catalogs (Japanese is the source language).
i18n: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -o app/locale/messages.pot .
	$(BIN)/pybabel update -i app/locale/messages.pot -d app/locale -D messages --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python -m app.i18n fill-source app/locale/ja/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile -d app/locale -D messages

run: install
	$(BIN)/jcan migrate
	$(BIN)/jcan ca init --if-missing
	$(BIN)/jcan demo --count 3
	@echo "Serving at http://127.0.0.1:8000 (mail is written to var/mail/)"
	$(BIN)/jcan serve

## The two integration passes run side by side (each its own database, VAR_DIR, ports and
## run id), then the drills beside the browser suite (the drills mostly wait on processes).
test: install test-env test-unit
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres
	$(MAKE) --no-print-directory -j2 --output-sync=target test-drills test-e2e

## What the suite needs from the machine: Chromium, CJK fonts, PostgreSQL, Redis
## (installed or started when missing, as root; otherwise a message says what to install).
test-env:
	bash .ci/prepare

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

## Integration on the embedded default: SQLite, in-process jobs (the service URLs emptied, so
## that an exported TEST_DATABASE_URL, as in .ci/run, does not turn this pass into a second
## PostgreSQL one).
test-sqlite: install
	TEST_DATABASE_URL= TEST_REDIS_URL= $(BIN)/python -m pytest -q $(PARALLEL) tests/integration tests/tasks

## Integration on the real services: PostgreSQL and arq on Redis.
test-postgres: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/python -m pytest -q $(PARALLEL) tests/integration tests/tasks

## Failure drills: Redis, the worker and the SMTP server fail (real services, own processes).
test-drills: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/python -m pytest -q tests/drills

## pa11y (HTML_CodeSniffer) for the browser suite: npm, with Debian's Chromium (no download).
PA11Y_INSTALLED := e2e/pa11y/node_modules/.package-lock.json
$(PA11Y_INSTALLED): e2e/pa11y/package-lock.json | test-env
	cd e2e/pa11y && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Browser suite in its own pytest run (sync Playwright and pytest-asyncio do not mix).
test-e2e: install test-env $(PA11Y_INSTALLED)
	$(BIN)/python -m pytest -q -p no:asyncio -W ignore::pytest.PytestConfigWarning --durations=15 e2e

lint: $(BIN)/.installed
	$(BIN)/ruff format --check app tasks tests e2e
	$(BIN)/ruff check app tasks tests e2e
	$(BIN)/mypy
	$(BIN)/hadolint Containerfile

format: $(BIN)/.installed
	$(BIN)/ruff format app tasks tests e2e
	$(BIN)/ruff check --fix app tasks tests e2e

$(BIN)/.bench-installed: pyproject.toml $(BIN)/.installed
	$(BIN)/pip install -q -e ".[dev,bench]"
	touch $@

## Performance against the stack's own ceiling (never part of `make test`): starts its own
## granian/arq/SMTP-sink processes on a scratch database, appends to docs/benchmarks.md.
bench: install $(BIN)/.bench-installed
	$(BIN)/python -m tests.benchmarks.middleware_cost
	$(BIN)/python -m tests.benchmarks.run

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache e2e/output e2e/pa11y/node_modules
