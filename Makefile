# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
AFTERCARE_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: install run test lint-imports test-sqlite test-postgres worker bench clean run-prod bench-dispatch bench-ingest bench-pending

install: $(STAMP)
	@# Browser tests drive Debian's chromium (never a browser downloaded by a test tool).
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi serve --host 127.0.0.1 --port 5000

worker: install
	$(BIN)/flask --app wsgi worker

test: install lint-imports test-sqlite test-postgres

# The package arrows (SPEC §2) as import-linter contracts, from .importlinter.
lint-imports: install
	$(BIN)/lint-imports

test-sqlite: install
	@echo "== tests on SQLite =="
	env -u AFTERCARE_TEST_DATABASE_URL $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install
	@echo "== tests on PostgreSQL ($(AFTERCARE_TEST_POSTGRES_URL)) =="
	AFTERCARE_TEST_DATABASE_URL='$(AFTERCARE_TEST_POSTGRES_URL)' $(BIN)/python -m pytest $(PYTEST_ARGS)

# Production shape: gunicorn web workers + WORKERS dispatcher processes against PostgreSQL
# (AFTERCARE_DATABASE__URL=postgresql+psycopg://…); SIGTERM/Ctrl-C stops them all gracefully.
WORKERS ?= 2
run-prod: install
	$(BIN)/python -m aftercare.supervisor --workers $(WORKERS)

# Benchmarks against the obvious designs (they print tables; they need PostgreSQL at 127.0.0.1:5432).
bench-dispatch: install
	$(BIN)/python bench/dispatch.py

bench-ingest: install
	$(BIN)/python bench/ingest.py

bench-pending: install
	$(BIN)/python bench/pending.py

bench: install
	$(BIN)/python bench/classify.py

clean:
	rm -rf $(VENV) *.egg-info
