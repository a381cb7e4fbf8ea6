# item2vec — set-up, demo, tests and benchmarks. Only python3 is needed on a new machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DEMO := demo-models

.PHONY: install dev demo test lint check bench docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(PY) -m pip install -q torch==2.13.0  # pinned: the CPU build on this disk; never an unpinned torch
	$(PY) -m pip install -q -e '.[dev,docs,tune,plot,ann,serve,bench,spark]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev

demo: $(VENV)/.installed
	@echo "== Train on baskets from the Online Retail sample (one invoice = one basket)"
	$(BIN)/item2vec train sample_data/online_retail.csv.gz -o $(DEMO)/retail --force \
		--session-col InvoiceNo --item-col StockCode --context set \
		--items sample_data/products.csv --id-col StockCode --title-col Description
	@echo "== Items bought together with the white hanging heart T-light holder"
	$(BIN)/item2vec similar $(DEMO)/retail 85123A -k 5
	@echo "== Find an item by name"
	$(BIN)/item2vec similar $(DEMO)/retail --title "regency cakestand" -k 5
	@echo "== Train on public-domain English text (text preset)"
	$(BIN)/item2vec train sample_data/text.txt.gz -o $(DEMO)/text --force
	@echo "== king - man + woman"
	$(BIN)/item2vec analogy $(DEMO)/text "king - man + woman" -k 3

test: $(VENV)/.dev lint
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check item2vec tests bench docs
	$(BIN)/ruff format --check item2vec tests bench docs
	$(BIN)/mypy

check: test

# The documentation site, into build/site: warnings (a broken link or #anchor) are errors.
docs: $(VENV)/.dev
	$(PY) docs/cli_reference.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(VENV)/.dev
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(DEMO) *.egg-info .pytest_cache .mypy_cache .ruff_cache
