# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run worker test install python-deps assets translations browser lint format db demo serve-prod bench clean

# The job worker (compilations, archives, emails) runs in the background beside the dev server
# and is stopped with it (Ctrl-C, or the server exiting for any reason). Two at a time, so an
# email never waits behind a compilation.
run: install
	$(FLASK) init
	$(FLASK) demo --scale tiny --if-empty
	$(FLASK) jobs worker --workers 2 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# The job worker alone (production: run it under your process supervisor, as many as needed).
worker: install
	$(FLASK) jobs worker --workers $(or $(JOBS_WORKERS),2)

test: install browser
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

install: python-deps assets translations

python-deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

assets: static/dsfr/.built

node_modules/.installed: package.json package-lock.json .npmrc
	npm ci
	touch $@

# The DSFR bundle holds the components the templates use: rebuilt when they change.
static/dsfr/.built: node_modules/.installed scripts/build-assets.mjs $(wildcard templates/*.html templates/*/*.html templates/*/*/*.html static/css/*.css static/js/*.js static/synthesis/*)
	node scripts/build-assets.mjs
	touch $@

translations: python-deps
	$(BIN)/pybabel compile -d translations

# Debian's Chromium for the Playwright tests (only when running as root with apt available).
browser:
	sh scripts/install-browser.sh

# The whole benchmark of issue 11 (bench/suite.py): fills gd into PostgreSQL when absent, then
# compile + DuckDB, CSV export, page weight, pages, search and votes (2 gunicorn workers, wrk),
# one budget table. BENCH_DATABASE_URL / BENCH_REDIS_URL choose the servers; BENCH_ARGS passes
# options (e.g. BENCH_ARGS="--fraction 0.02" for a quick look, "--only pages,search").
bench: install
	sh scripts/install-bench.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: python-deps
	$(BIN)/ruff check .

format: python-deps
	$(BIN)/ruff format consult tests bench migrations app.py

# Refresh the message catalogs after changing UI strings.
messages: python-deps
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations

db: install
	$(FLASK) init

demo: install
	$(FLASK) demo --scale $(or $(SCALE),tiny)

# Production-like serving: gunicorn with several workers (set SECRET_KEY, DATABASE_URL, REDIS_URL).
serve-prod: install
	$(FLASK) init
	$(BIN)/gunicorn --workers $(or $(WORKERS),2) --bind $(HOST):$(PORT) --access-logfile - app:app

clean:
	rm -rf $(VENV) node_modules static/dsfr static/vendor .pytest_cache .ruff_cache
