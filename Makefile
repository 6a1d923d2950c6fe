# Two commands for a fresh machine: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test run lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m sandbox.demo

test: $(STAMP)
	$(PY) -m pytest -q

run: $(STAMP)
	@test -f config.toml || { echo "config.toml is missing: cp config.example.toml config.toml and edit it"; exit 1; }
	$(PY) -m bot --config config.toml

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy bot handlers storage sandbox

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
