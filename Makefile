# Live Callback Dashboard — the two commands: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Django 6.1 needs Python 3.12+. The machine's default python3 may be older: look in pyenv too.
PYTHON ?= $(shell for c in python3.13 python3.12 \
	$$(ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) \
	/usr/bin/python3.13 /usr/bin/python3.12 python3; do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    command -v $$c; break; fi; done)
VENV := .venv
PY := $(VENV)/bin/python
ADDR ?= 127.0.0.1:8000

.PHONY: help run test lint screenshots bench loadtest sandbox clean check-python

help:
	@echo "make run    - set up and serve the dashboard on http://$(ADDR)/ (sandbox upstream)"
	@echo "make test   - lint, then the test suite on SQLite, PostgreSQL and in headless Chromium"
	@echo "make sandbox      - serve the Live API sandbox alone on 127.0.0.1:9100"
	@echo "make bench        - run the benchmarks in benchmarks/"
	@echo "make screenshots  - capture docs/screenshots/ with headless Chromium"
	@echo "make loadtest     - gunicorn + PostgreSQL, archive filled: 50 users, then 50 + 4 exporters"

check-python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "ERROR: Python 3.12 or newer is required (Django 6.1). Install it (e.g. pyenv install 3.13) or run make PYTHON=/path/to/python3.13." >&2; \
	  exit 1; fi

$(VENV)/.installed: pyproject.toml | check-python
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,tracing]"
	@touch $@

run: $(VENV)/.installed
	DEBUG=$${DEBUG:-true} ADDR=$(ADDR) $(PY) -m dashboard.devserver

sandbox: $(VENV)/.installed
	DEBUG=$${DEBUG:-true} $(PY) manage.py runsandbox 127.0.0.1:9100

test: $(VENV)/.installed
	PY=$(PY) bash scripts/test.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

screenshots: $(VENV)/.installed
	$(PY) scripts/screenshots.py

loadtest: $(VENV)/.installed
	PY=$(PY) bash scripts/loadtest.sh

bench: $(VENV)/.installed
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) var staticfiles
