# Two commands a user needs: `make run` and `make test`; both build on `make install`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TRIAGE := $(VENV)/bin/triage
PYTHON ?= python3

.PHONY: install browser model run test bench bench-load bench-store bench-dup bench-langid lint demo

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[dev]"
	touch $@

model: install
	$(TRIAGE) ensure-model

run: model
	$(TRIAGE) serve

demo: model
	printf '%s\n' '{"id":"1","text":"My card was charged twice and the app keeps crashing!!!"}' '{"id":"2","text":"Bonjour, comment changer mon mot de passe ?"}' | $(TRIAGE) classify

browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null 2>&1)); } || \
	  echo "chromium not installed: the report rendering test will be skipped"

test: install browser
	$(PY) -m pytest -q -p no:cacheprovider

bench: model
	$(PY) -m training.bench

bench-langid: install
	$(PY) -m training.langid_bench

bench-dup: install
	$(PY) -m training.dup_bench

bench-store: install
	$(PY) -m training.store_bench

bench-load: model
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) || (echo "install wrk (Debian package)"; exit 1)
	$(PY) -m training.load_bench

lint: install
	$(VENV)/bin/ruff check service training tests
