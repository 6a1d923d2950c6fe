# Two commands for a fresh machine: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install browser demo test run lint bench drills mutate clean check-proxies

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,cjk-font]'
	touch $(STAMP)

install: $(STAMP) browser

# The results page's browser test (tests/test_results_browser_e2e.py) drives a real headless
# browser: Debian's chromium, installed here when it is missing and apt-get is there (as root,
# or through sudo without a password). Elsewhere install chromium yourself; the test says so.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "chromium is missing and there is no apt-get: install chromium for the browser test"; \
	  elif [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  elif sudo -n true 2>/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "chromium is missing: run 'sudo apt-get install chromium' for the browser test"; \
	  fi; }

demo: $(STAMP)
	$(PY) -m sandbox.demo

# Two workers (pytest-xdist): the suite's end-to-end stories wait on the sandbox and child
# processes more than they compute, so two halves take half the time (10 minutes to 5 on the
# 2-core CI machine). Every test keeps its own sandbox, clock, database and ports.
test: $(STAMP) browser
	$(PY) -m pytest -q -n 4

run: $(STAMP)
	@test -f config.toml || { echo "config.toml is missing: cp config.example.toml config.toml and edit it"; exit 1; }
	$(PY) -m bot --config config.toml

# Benchmarks at a size that finishes in a few minutes; each takes a size argument for full runs.
bench: $(STAMP)
	$(PY) -m bench.loop --citizens 20
	$(PY) -m bench.delivery --private 600 --group 25
	$(PY) -m bench.storm --requests 200 --groups 4
	$(PY) -m bench.footprint --requests 10000
	$(PY) -m bench.storage --requests 50000
	$(PY) -m bench.duplicates --requests 50000
	$(PY) -m bench.seed_year --requests 1000
	$(PY) -m bench.activities_year --activities 200
	$(PY) -m bench.supervision_year --weeks 8
	$(PY) -m bench.results_page --requests 100000

# The drills of issue 17 (docs/decisions.md, "Drills"): the bot as a real process through a
# 5-minute network outage, kill -9 during a backup, a full disk (a tmpfs: root only, else
# skipped) and 20 kill -9 during a 1,000-request replay. Most of an hour; not part of `make
# test` (tests/test_drills_e2e.py runs them small). `make drills ARGS="--only kills --seed 3"`.
ARGS ?=
drills: $(STAMP)
	nice -n 10 $(PY) -m bench.drills $(ARGS)

# Mutation testing of the core modules (issue 19; docs/decisions.md, "Mutation testing"). Slow,
# so not part of `make test` or CI. Killed mutants are not run again until their code changes;
# `make mutate AREAS=periods` runs one area; `$(PY) tools/mutate.py --all` runs everything again.
AREAS ?=
$(VENV)/.mutmut: $(STAMP)
	$(PY) -m pip install --quiet 'mutmut>=3.8,<4'
	touch $@

mutate: $(VENV)/.mutmut
	nice -n 10 $(PY) tools/mutate.py $(AREAS)

# nginx -t and caddy adapt on deploy/'s examples, where they are installed.
check-proxies: $(STAMP)
	$(PY) tools/check_proxies.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy bot handlers storage sandbox bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
