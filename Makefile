# The two commands a newcomer needs: `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit services bench i18n

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# `make run PORT=8001` when 8000 is taken.
PORT ?= 8000

run: $(STAMP)
	$(BIN)/ledgerdesk demo --port $(PORT)

services:
	bash scripts/ensure-test-services.sh

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) services lint typecheck
	$(BIN)/python -m pytest -q

bench: $(STAMP) services
	$(BIN)/python bench/ingest.py

# Message catalogues of the web pages: extract the msgids, merge them into each
# language's .po (translate the new entries there), compile the .mo files.
LOCALES := channels/web/locale
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o $(LOCALES)/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(LOCALES) --statistics
