# The two commands: `make run` (set up and serve the demo) and `make test` (set up and run the suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
INSTALLED := $(VENV)/.installed
# Extra Debian packages the test suite needs beside WeasyPrint's (see scripts/system-deps.sh).
TEST_SYSTEM_PACKAGES ?=

.PHONY: run test lint setup sysdeps demo clean fuzz bench bench-api

$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(INSTALLED)

sysdeps:
	@scripts/system-deps.sh $(TEST_SYSTEM_PACKAGES)

setup: sysdeps $(INSTALLED)

demo: setup
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py load_demo

run: demo
	@echo ""
	@echo "  Tumor Board is running at http://127.0.0.1:$(PORT)/"
	@echo "  Sign in as coordinator, chair, radiologist, pathologist, orthopaedic, radonc or outsider"
	@echo "  with the password tumorboard-demo."
	@echo ""
	DJANGO_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: setup
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-test-only-not-secret} $(PY) -m pytest $(PYTEST_ARGS)

# Benchmarks (PostgreSQL; each adds its figures): bench-api compares the API with bare Django views.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tumorboard_bench

bench: bench-api

bench-api: setup
	@scripts/system-deps.sh wrk
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/api.py

# schemathesis against the live OpenAPI schema: no 5xx, no response that breaks the schema.
fuzz: setup
	scripts/fuzz-api.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
