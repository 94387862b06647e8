# The whole set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hypercorn --worker-class trio --bind 127.0.0.1:8000 examples.app:app

lint: $(STAMP)
	$(BIN)/ruff check trioapi tests examples bench docs_src scripts
	$(BIN)/ruff format --check trioapi tests examples bench docs_src scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck unit

# The served tests against the newest hypercorn release, in a throwaway venv:
# hypercorn and the protocol libraries it brings unpinned, the rest as pinned.
# On a release the server layer's fixes were not checked against, each fix is
# skipped with its log line and the tests that need one skip, naming it.
LATEST_VENV := .venv-hypercorn-latest
UNPINNED := hypercorn|h11|h2|hpack|hyperframe|priority|wsproto
SERVED_TESTS := tests/test_served_*.py tests/test_server_*.py tests/test_hypercorn_crashes.py \
	tests/test_graceful_shutdown.py tests/test_shutdown_hypercorn_cli.py \
	tests/test_teardown_served.py tests/test_middleware_served.py tests/test_hostile_*.py \
	tests/test_chaos.py tests/test_sse_shutdown.py tests/test_cli_workers.py

.PHONY: test-hypercorn-latest
test-hypercorn-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	grep -Eiv '^($(UNPINNED))==' constraints.txt > $(LATEST_VENV)/constraints.txt
	$(LATEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-c $(LATEST_VENV)/constraints.txt -e '.[dev]'
	$(LATEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-c $(LATEST_VENV)/constraints.txt --upgrade hypercorn
	$(LATEST_VENV)/bin/python scripts/hypercorn_fixes.py
	$(LATEST_VENV)/bin/python -m pytest -q $(SERVED_TESTS)
	rm -rf $(LATEST_VENV)

# Benchmarks measure against FastAPI, which lives only in this separate venv.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-stamp

$(BENCH_STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]' 'fastapi==0.163.0' 'uvicorn==0.54.0' 'uvloop==0.23.0' 'httptools==0.9.0' 'psycopg[binary]==3.3.9'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/inprocess.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(LATEST_VENV) site

# The documentation site (mkdocs.yml, docs/, docs_src/). Strict: a broken link,
# a missing page or a missing included file fails the build.
.PHONY: docs docs-serve
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8001

# schemathesis fuzzes the served example app; it lives in its own venv.
ST_VENV := .venv-schemathesis
ST_STAMP := $(ST_VENV)/.installed-stamp

$(ST_STAMP):
	test -x $(ST_VENV)/bin/python || $(PYTHON) -m venv $(ST_VENV)
	$(ST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'schemathesis>=4,<5'
	touch $(ST_STAMP)

# examples/Dockerfile's steps replayed on the host (no container engine here).
docker-dry-run:
	$(PYTHON) scripts/dockerfile_dry_run.py

.PHONY: schemathesis openapi-fixtures screenshots docker-dry-run
schemathesis: $(STAMP) $(ST_STAMP)
	PYTHON=$(BIN)/python SCHEMATHESIS=$(ST_VENV)/bin/schemathesis scripts/schemathesis.sh

# The OpenAPI fixtures are FastAPI 0.163's documents, written in a throwaway venv.
FIXTURES_VENV := .venv-fixtures

openapi-fixtures:
	test -x $(FIXTURES_VENV)/bin/python || $(PYTHON) -m venv $(FIXTURES_VENV)
	$(FIXTURES_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e . 'fastapi==0.163.0' httpx
	$(FIXTURES_VENV)/bin/python tests/fixtures/generate_openapi_fixtures.py

# Headless Chromium screenshots of /docs, /redoc and two site pages (apt-get install chromium).
screenshots: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[docs-assets]'
	$(BIN)/python scripts/screenshot_docs.py
