# The two commands: `make run` (set up and serve the demo) and `make test` (set up and run the suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
INSTALLED := $(VENV)/.installed
# Extra Debian packages the test suite needs beside WeasyPrint's (see scripts/system-deps.sh):
# poppler-utils reads PDFs back; Chromium drives the portal's browser tests; Node.js runs the identity
# tests' OpenID provider. `make run` needs none of them.
TEST_SYSTEM_PACKAGES ?= poppler-utils chromium nodejs npm
SYSTEM_PACKAGES ?=

.PHONY: run worker scale-check test lint audit setup sysdeps demo clean backup restore fuzz bench bench-paper bench-api bench-analytics bench-audit bench-scale

# Each step says what it does (`==> …`), and pip shows what it downloads and installs: the first run
# takes a few minutes, and a silent terminal looks like a hang.
$(PY):
	@echo "==> Creating the Python virtualenv in $(VENV)/"
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): requirements.txt requirements-dev.txt | $(PY)
	@echo "==> Installing the Python packages of requirements-dev.txt (a few minutes the first time)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -r requirements-dev.txt
	touch $(INSTALLED)
	@echo "==> Python packages installed"

sysdeps:
	@echo "==> Checking the system packages (PDF rendering$(if $(strip $(SYSTEM_PACKAGES)), $(strip $(SYSTEM_PACKAGES))))"
	@scripts/system-deps.sh $(SYSTEM_PACKAGES)

setup: sysdeps $(INSTALLED)

demo: setup
	@mkdir -p "$${TUMORBOARD_VAR_DIR:-var}"  # the SQLite file (in db/), key images and audit checkpoints live here
	@var="$${TUMORBOARD_VAR_DIR:-var}"; \
	if [ -z "$${DATABASE_URL:-}" ] && [ -f "$$var/tumorboard.sqlite3" ] && [ ! -e "$$var/db/tumorboard.sqlite3" ]; then \
		echo "==> Moving the database of an earlier version from $$var/ into $$var/db/ (its own folder)"; \
		mkdir -p -m 700 "$$var/db" && mv "$$var"/tumorboard.sqlite3* "$$var/db/"; \
	fi
	@echo "==> Creating or updating the database"
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	@echo "==> Loading the demo boards, people and cases"
	DJANGO_DEBUG=1 $(PY) manage.py load_demo

run: demo
	@echo "==> Starting the web server"
	@echo ""
	@echo "  Tumor Board is running at http://127.0.0.1:$(PORT)/"
	@echo "  Sign in as coordinator, chair, radiologist, pathologist, orthopaedic, radonc or outsider"
	@echo "  with the password tumorboard-demo."
	@echo ""
	@echo "  A job worker (packets, e-mails, the daily reminders) runs beside the server; both stop with Ctrl-C."
	export TUMORBOARD_PORTAL_URL="$${TUMORBOARD_PORTAL_URL:-http://127.0.0.1:$(PORT)}"; \
		DJANGO_DEBUG=1 $(PY) manage.py jobs_worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		DJANGO_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

# Background jobs in the foreground, with the environment as it is (DATABASE_URL, TUMORBOARD_JOBS_BROKER, …).
worker: setup
	$(PY) manage.py jobs_worker

# Tests run with production settings (debug off) over plain HTTP: a throwaway key, no HTTPS redirect.
# One process per core (pytest-xdist), each test file kept to one process; PYTEST_ARGS="-n 0" runs in one.
test: SYSTEM_PACKAGES += $(TEST_SYSTEM_PACKAGES)
test: setup
	scripts/install-test-provider.sh  # the identity tests' OpenID provider (Node.js)
	@echo "==> Running the test suite (pytest; a few minutes)"
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-test-only-not-secret} TUMORBOARD_AUDIT_KEY=$${TUMORBOARD_AUDIT_KEY:-test-only-audit-key} \
		DJANGO_SECURE_SSL_REDIRECT=0 \
		$(PY) -m pytest -n auto --dist loadfile $(PYTEST_ARGS)

# Benchmarks print figures; they are not tests. `bench` runs every bench-* target.
# bench-api compares the API with bare Django views on PostgreSQL.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tumorboard_bench

bench: bench-api bench-paper bench-analytics bench-audit bench-scale

bench-api: setup
	@scripts/system-deps.sh wrk
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/api.py

# Board analytics (the page and the metrics API) with 100,000 cases in PostgreSQL; target 1 s or less.
BENCH_ANALYTICS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tumorboard_bench_analytics

bench-analytics: setup
	BENCH_ANALYTICS_DATABASE_URL=$(BENCH_ANALYTICS_DATABASE_URL) $(PY) bench/analytics.py

# Two gunicorn instances behind HAProxy, sharing PostgreSQL (DATABASE_URL), Redis and storage, plus a job worker:
# lockouts, throttles, jobs and the print cache hold across instances, and killing one loses no request.
scale-check: setup
	@scripts/system-deps.sh haproxy
	$(PY) scripts/scale_check.py

# The same stack, for its figure: the case list's throughput with two instances against one (target 1.7x).
bench-scale: setup
	@scripts/system-deps.sh haproxy wrk
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) scripts/scale_check.py

# schemathesis against the live OpenAPI schema: no 5xx, no response that breaks the schema.
fuzz: setup
	scripts/fuzz-api.sh

# mypy type-checks the services, selectors and permissions (the files and settings are in pyproject.toml).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

# Known vulnerabilities in the pinned runtime requirements (pip-audit).
audit: setup
	$(PY) scripts/audit-dependencies.py

# Backups of the database and stored files (docs/operations.md). Uses the same environment as the app.
backup: setup
	$(PY) manage.py backup $(if $(OUT),--out $(OUT))

restore: setup
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/tumorboard-….tar (into an empty database)"; exit 2; }
	$(PY) manage.py restore $(FILE)
	$(PY) manage.py verify_audit

bench-paper: setup
	$(PY) bench/paper.py --runs $${RUNS:-3}

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache

# The keyed audit trail on PostgreSQL: parallel audited case details against the old global lock, the read-audit
# overhead, and verify_audit over BENCH_AUDIT_EVENTS (1,000,000) events with events/s and peak memory.
bench-audit: setup
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/audit.py
