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

.PHONY: demo test check lint lint-quick types format test-sqlite test-postgres test-postgres-first test-postgres-second install dev bench clean messages

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

# `make test` runs the PostgreSQL suite in two halves side by side, each on its own database:
# these files (real workers killed mid-send, Celery, `volano` processes, the API fuzz) spend
# most of their time waiting on other processes; alone they were the last ~4 minutes of the run.
PG_SECOND := volano/jobs/tests/test_celery.py volano/emails/tests/test_crash.py \
  volano/emails/tests/test_transactional_queue.py volano/imports/tests/test_jobs.py \
  volano/workflows/tests/test_crash.py volano/core/tests/test_cli.py \
  volano/imports/tests/test_cli.py volano/core/tests/test_api_fuzz.py

test-postgres-first:
	@$(MAKE) --no-print-directory test-postgres PG_ARGS="$(addprefix --ignore=,$(PG_SECOND))"

test-postgres-second:
	@$(MAKE) --no-print-directory test-postgres PG_TEST_URL=$(PG_TEST_URL)_second \
	  VOLANO_DATA_DIR=$(VOLANO_DATA_DIR)/second PG_ARGS="$(PG_SECOND)"

# The quick checks first (a ruff error stops everything within seconds); then mypy and the
# suites side by side (each keeps its own data folder and database; they spend much of their
# time waiting on live servers, subprocesses and SMTP, so a cold mypy fits beside them instead
# of before them), each one's output printed whole when it ends.
test: lint-quick
	@$(MAKE) --no-print-directory -j4 --output-sync=target types test-sqlite \
	  test-postgres-first test-postgres-second

bench: dev
	$(BIN)/python -m bench --quick

messages: dev
	cd volano && ../$(BIN)/volano makemessages -l it -l en --no-obsolete && ../$(BIN)/volano compilemessages

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
