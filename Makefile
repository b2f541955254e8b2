# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
MO := portal/translations/fr/LC_MESSAGES/messages.mo

.PHONY: install run test test-postgres lint format bench screenshots db-upgrade db-revision translations-extract translations-update clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(MO): portal/translations/fr/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -d portal/translations

install: $(STAMP) $(MO)

# Every process of the Procfile (web on PORT, default 5000, and the worker); Ctrl-C stops all.
# Their metrics are added up in one directory (prometheus-client's multiprocess mode).
METRICS_DIR = $${INSTANCE_PATH:-instance}/metrics
run: install
	$(FLASK) db upgrade
	$(FLASK) demo seed
	rm -rf "$(METRICS_DIR)" && mkdir -p "$(METRICS_DIR)"
	PROMETHEUS_MULTIPROC_DIR="$(METRICS_DIR)" PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

# The suite runs on every core (pytest-xdist; PYTEST_WORKERS=0 runs it in one process).
PYTEST_WORKERS ?= auto

test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The suite again on PostgreSQL (defaults to the local server; set TEST_DATABASE_URL to change).
test-postgres: install
	DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m benchmarks

# The main employee pages on a phone (and a laptop), in English and French, for reviewers:
# PNG files in screenshots/ (ignored by git). Needs Chromium and tests/support/axe (npm ci).
SCREENSHOTS_DIR ?= screenshots
screenshots: install
	test -d tests/support/axe/node_modules || (cd tests/support/axe && npm ci --silent --no-audit --no-fund)
	mkdir -p $(SCREENSHOTS_DIR)
	SCREENSHOTS_DIR=$(abspath $(SCREENSHOTS_DIR)) $(BIN)/python -m pytest -p no:xdist -q \
		-p no:randomly tests/browser/test_employee_pages.py
	@echo "Screenshots in $(SCREENSHOTS_DIR)/"

db-upgrade: install
	$(FLASK) db upgrade

db-revision: install
	$(FLASK) db revision --autogenerate -m "$(m)"

translations-extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs=".* __pycache__" -o portal/translations/messages.pot .

translations-update: translations-extract
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations

clean:
	rm -rf $(VENV) .pytest_cache
