# The two set-up commands of the README: `make app` and `make test`.
# Both create (or reuse) the virtual environment .venv in the checkout.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: app test venv bench-quick

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

app: $(STAMP)
	$(VENV)/bin/lanhar data sample
	$(VENV)/bin/streamlit run app/main.py

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest -q

bench-quick: $(STAMP)
	$(VENV)/bin/lanhar bench cross --quick
