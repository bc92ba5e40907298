# Two commands matter: `make book` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going --builder html

.PHONY: help venv book check test lint notebooks lab bench clean
FAST := -m "not slow and not notebooks and not book and not browser and not pdf"

help:
	@echo "make book       build the HTML book into _build/html (clean build)"
	@echo "make check      lint and the fast unit tests (the inner loop, about 30 s)"
	@echo "make test       lint, all tests, nbval natively and under generic kernels, book, browser"
	@echo "make notebooks  re-execute every notebook in place in a fresh kernel"
	@echo "make lab        open JupyterLab on notebooks/"
	@echo "make bench      run the benchmark (python -m dropmini.lab.bench)"
	@echo "make clean      remove _build and caches (keeps .venv)"

# (Re)install when requirements.txt or pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "Book: file://$(CURDIR)/_build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: $(STAMP) lint
	$(BIN)/python -m pytest -q $(FAST) tests dropmini

# nbval runs twice: natively, then with ATen's generic (non-vectorised) kernels, the
# path of CPUs without AVX2, so stored outputs cannot depend on the reader's CPU.
test: $(STAMP) lint
	$(BIN)/python -m pytest
	ATEN_CPU_CAPABILITY=default $(BIN)/python -m pytest -q notebooks

notebooks: $(STAMP)
	cd notebooks && ../$(BIN)/jupyter execute --inplace --kernel_name=python3 *.ipynb

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

bench: $(STAMP)
	$(BIN)/python -m dropmini.lab.bench

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
