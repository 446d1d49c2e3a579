# Two commands a user needs: `make run` and `make test`; both build on `make install`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TRIAGE := $(VENV)/bin/triage
PYTHON ?= python3

.PHONY: install model run test bench lint demo clean-venv

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

test: install
	$(PY) -m pytest -q -p no:cacheprovider

bench: model
	$(PY) -m training.bench

lint: install
	$(VENV)/bin/ruff check service training tests
