# The two commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON := $(shell tools/find-python)
ifeq ($(PYTHON),)
$(error No Python >= 3.12 found: install Python 3.12+ or run make PYTHON=/path/to/python3.12)
endif
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/volano
export VOLANO_DATA_DIR ?= $(CURDIR)/volano-data
# Python keeps what it compiles (__pycache__) unless PYTHONDONTWRITEBYTECODE is set, as it is on
# some machines (this project's CI among them): every process then compiled each module it
# imported again, 4 s of CPU for each `volano` command, server worker and test subprocess.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test check lint lint-quick types format test-sqlite test-postgres test-postgres-first test-postgres-second test-sqlite-pages test-sqlite-rest install dev bench clean messages

# A step line per phase, and tools/pip-install's one updating line while pip works (pip --quiet
# was silent for two minutes; pip without it prints hundreds of lines).
$(BIN)/python:
	@echo "==> Creating the virtual environment .venv with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@echo "==> Updating pip in .venv"
	@$(BIN)/python tools/pip-install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "==> Installing Volano and its dependencies into .venv (first time only, about 2 minutes)…"
	@$(BIN)/python tools/pip-install -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	@echo "==> Installing Volano with its development tools into .venv (first time only, about 3 minutes)…"
	@$(BIN)/python tools/pip-install -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

# `volano serve` says "running" once the port answers, and refuses a port already taken.
demo: install
	@echo "==> Preparing the database in $(VOLANO_DATA_DIR)"
	@$(BIN)/volano init
	@echo "==> Loading the demo workspace officina-rossi (first time only, about 30 seconds)…"
	@$(BIN)/volano demo --size small
	@$(BIN)/volano serve --host 127.0.0.1 --port 8000

lint: lint-quick types

# The checks that take seconds: ruff, the layer contract, models against migrations.
lint-quick: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/volano makemigrations --check --dry-run >/dev/null || (echo "models and migrations differ: run volano makemigrations" && false)

# mypy: minutes of one core in a fresh clone (no .mypy_cache yet), seconds after.
types: dev
	$(BIN)/mypy volano

check: lint

format: dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-sqlite: dev
	$(BIN)/python tools/services.py chromium; rc=$$?; [ $$rc -ne 1 ]
	VOLANO_DATA_DIR=$(VOLANO_DATA_DIR)/test-sqlite $(BIN)/pytest

test-postgres: dev
	@$(BIN)/python tools/services.py postgres; rc=$$?; \
	if [ $$rc -eq 0 ]; then VOLANO_DATA_DIR=$(VOLANO_DATA_DIR)/test-postgres \
	  DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -m "not browser" $(PG_ARGS); \
	elif [ $$rc -eq 3 ]; then true; else exit 1; fi

# `make test` runs each suite in two halves side by side, four test processes for two cores: the
# machine is busy to the end, where one suite alone (one process, one core) was its last minutes.
# SQLite: the browser tests (Chromium and a live server), then the files of SQLITE_SECOND; and the
# rest.
SQLITE_SECOND := volano/core/tests/test_api_fuzz.py volano/core/tests/test_cli.py \
  volano/imports/tests/test_cli.py volano/emails/tests/test_transactional_queue.py

test-sqlite-pages: dev
	$(BIN)/python tools/services.py chromium; rc=$$?; [ $$rc -ne 1 ]
	VOLANO_DATA_DIR=$(VOLANO_DATA_DIR)/test-sqlite-pages $(BIN)/pytest -m browser --no-migrations
	VOLANO_DATA_DIR=$(VOLANO_DATA_DIR)/test-sqlite-second $(BIN)/pytest -m "not browser" \
	  $(SQLITE_SECOND)

test-sqlite-rest: dev
	VOLANO_DATA_DIR=$(VOLANO_DATA_DIR)/test-sqlite $(BIN)/pytest -m "not browser" \
	  $(addprefix --ignore=,$(SQLITE_SECOND))

# PostgreSQL, each half on its own database: these files (real workers killed mid-send, Celery,
# `volano` processes, the API fuzz, the migration's sweeper cursor, and a few long ones so that
# both halves end together) and the rest.
PG_SECOND := volano/jobs/tests/test_celery.py volano/emails/tests/test_crash.py \
  volano/emails/tests/test_transactional_queue.py volano/imports/tests/test_jobs.py \
  volano/workflows/tests/test_crash.py volano/core/tests/test_cli.py \
  volano/imports/tests/test_cli.py volano/core/tests/test_api_fuzz.py \
  volano/jobs/tests/test_event_cursor.py volano/core/tests/test_permissions.py \
  volano/core/tests/test_api_isolation.py volano/workflows/tests/test_templates.py \
  volano/demo/tests

# --no-migrations: the test database of the browser tests and of the first PostgreSQL half is made
# from the models (1 s instead of 13-30 s of migrating). The other SQLite half and the second
# PostgreSQL half migrate theirs from the first migration, and their processes (`volano worker`,
# `volano init`) need a migrated database, so every run still applies each migration on both
# databases; `makemigrations --check` (lint) holds the models and the migrations the same.
test-postgres-first:
	@$(MAKE) --no-print-directory test-postgres \
	  PG_ARGS="--no-migrations $(addprefix --ignore=,$(PG_SECOND))"

test-postgres-second:
	@$(MAKE) --no-print-directory test-postgres PG_TEST_URL=$(PG_TEST_URL)_second \
	  VOLANO_DATA_DIR=$(VOLANO_DATA_DIR)/second PG_ARGS="$(PG_SECOND)"

# The quick checks first (a ruff error stops everything within seconds); then mypy and the four
# halves side by side (each keeps its own data folder and database; a cold mypy fits beside them
# instead of before them), each one's output printed whole when it ends.
test: lint-quick
	@$(MAKE) --no-print-directory -j5 --output-sync=target types test-sqlite-rest \
	  test-sqlite-pages test-postgres-first test-postgres-second

bench: dev
	$(BIN)/python -m bench --quick

messages: dev
	cd volano && ../$(BIN)/volano makemessages -l it -l en --no-obsolete && ../$(BIN)/volano compilemessages

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
