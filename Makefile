# Two commands: `make run` (all services, one process, SQLite) and `make test` (both backends).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
export TEST_POSTGRES_URL

.PHONY: install run test lint test-sqlite test-postgresql postgres bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/inbox serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Starts the machine's PostgreSQL when it is installed and not answering.
postgres:
	@if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "starting PostgreSQL"; \
	  if command -v pg_ctlcluster >/dev/null 2>&1; then \
	    for v in $$(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect $$v main start || true; done; \
	  fi; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

test-sqlite: install
	TEST_DATABASE=sqlite $(BIN)/pytest

test-postgresql: install postgres
	TEST_DATABASE=postgresql $(BIN)/pytest

# pytest exits non-zero when a test fails and 5 when it collects nothing: both fail the target.
test: lint test-sqlite test-postgresql

bench: install postgres
	$(BIN)/python bench/langid.py --quick
	$(BIN)/python bench/ingest.py --quick
	$(BIN)/python bench/routing.py --quick

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache .hypothesis
