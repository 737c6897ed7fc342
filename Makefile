# Set up a virtual environment on first use, then serve a pod or run the tests.
VENV ?= .venv
PYTHON ?= python3
POD ?= pod

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

.PHONY: install serve test lint bench
install: $(VENV)/.installed

serve: $(VENV)/.installed
	test -f $(POD)/config.toml || $(VENV)/bin/hearth init $(POD)
	$(VENV)/bin/hearth serve --config $(POD)/config.toml

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
