# Two commands matter: `make book` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going --builder html

.PHONY: help venv book i18n-update check test lint notebooks lab bench clean
# Python caches compiled modules (and pytest its rewritten test modules) in __pycache__, as on a
# reader's machine. Some CI machines set PYTHONDONTWRITEBYTECODE, which made every pytest worker,
# kernel and book build compile the checkout's modules again (about 6 s of CPU per pytest process).
unexport PYTHONDONTWRITEBYTECODE
FAST := -m "not slow and not grid and not notebooks and not book and not browser and not pdf and not bundle"

help:
	@echo "make book       build the HTML book, both editions, into _build/html (clean build)"
	@echo "make i18n-update  refresh the Japanese catalogues (book/locale/ja) after English edits"
	@echo "make figures-ja  the Japanese twins of the notebooks' figures (book/locale/ja/figures)"
	@echo "make pdf        build each edition's PDF into _build/pdf/ (needs TeX, see .ci/run)"
	@echo "make check      lint and the fast unit tests (the inner loop, about 35 s)"
	@echo "make test       lint, all tests, nbval natively and under generic kernels, book, browser"
	@echo "make notebooks  re-execute every notebook in place in a fresh kernel, then make figures-ja"
	@echo "make lab        open JupyterLab on notebooks/"
	@echo "make bench      run the benchmark (python -m dropmini.lab.bench)"
	@echo "make clean      remove _build and caches (keeps .venv)"

# (Re)install when requirements.txt or pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

# Two editions from the same pages: English at _build/html, Japanese (the catalogues in
# book/locale/ja) at _build/html/ja, built with _config.yml plus book/locale/ja/config.yml.
book: $(STAMP)
	rm -rf _build/html _build/.doctrees _build/jupyter_execute _build/ja
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	$(BIN)/python book/_ext/editions.py config ja _build/ja/_config.yml
	$(BIN)/jupyter-book build . --config _build/ja/_config.yml --path-output _build/ja $(JB_FLAGS)
	mv _build/ja/_build/html _build/html/ja
	@echo "Book: file://$(CURDIR)/_build/html/index.html (Japanese: _build/html/ja/index.html)"

# After editing English prose: extract the messages (never code or outputs) and merge
# them into the Japanese catalogues. Changed paragraphs become fuzzy, removed ones
# obsolete; tests/test_translations.py lists what is left to do. The API page stays English.
# The extraction gets its own output folder: Sphinx refuses to reuse the HTML build's doctrees.
i18n-update: $(STAMP)
	rm -rf _build/i18n
	$(BIN)/jupyter-book build . --path-output _build/i18n --builder custom --custom-builder gettext
	rm _build/i18n/_build/gettext/book/api.pot
	# The page chrome's own strings (templates) live in book/_ext/locale, not in a page catalogue.
	rm -f _build/i18n/_build/gettext/sphinx.pot
	$(BIN)/sphinx-intl update --pot-dir _build/i18n/_build/gettext --language ja --locale-dir book/locale --line-width 0
	$(BIN)/python tests/test_translations.py || true

# The Japanese edition's figures: executes a copy of each notebook that stores a figure and
# has changed since (the notebooks are only read), translates each figure it draws
# (dropmini/lab/figlang.py) and writes its twin and book/locale/ja/figures/manifest.json;
# the Japanese build shows the twins. Run it after re-executing a notebook with figures;
# tests/test_figures_ja.py fails until then. After a translation change it only renders.
.PHONY: figures-ja
figures-ja: export OMP_WAIT_POLICY := PASSIVE
figures-ja: $(STAMP)
	$(BIN)/python book/_ext/figures_ja.py

# Whole-book PDF of each edition with JB1's LaTeX builder and XeLaTeX: _build/pdf/book.pdf
# and book-ja.pdf. Needs Debian's latexmk texlive-xetex texlive-latex-extra
# texlive-fonts-recommended texlive-lang-japanese fonts-freefont-otf fonts-noto-cjk
# (.ci/run installs them). latexmk keeps a failed run's state, so start clean. An HTML
# build made after this one offers each edition's PDF on its ".pdf" button.
.PHONY: pdf
pdf: $(STAMP)
	rm -rf _build/latex _build/pdf _build/ja-pdf
	$(BIN)/jupyter-book build . -W -n --keep-going --builder pdflatex
	mkdir -p _build/pdf && cp _build/latex/book.pdf _build/pdf/book.pdf
	$(BIN)/python book/_ext/editions.py config ja _build/ja-pdf/_config.yml
	$(BIN)/jupyter-book build . --config _build/ja-pdf/_config.yml --path-output _build/ja-pdf -W -n --keep-going --builder pdflatex
	cp _build/ja-pdf/_build/latex/book.pdf _build/pdf/book-ja.pdf
	@if [ -d _build/html ]; then cp _build/pdf/book.pdf _build/html/book.pdf; fi
	@if [ -d _build/html/ja ]; then cp _build/pdf/book-ja.pdf _build/html/ja/book.pdf; fi
	@echo "PDF: $(CURDIR)/_build/pdf/book.pdf (Japanese: $(CURDIR)/_build/pdf/book-ja.pdf)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: $(STAMP) lint
	$(BIN)/python -m pytest -q $(FAST) tests dropmini

# nbval runs twice: natively, in a fresh virtual environment made from the download
# bundle exactly as a reader makes it (tests/test_bundle.py: the zip's notebooks, its
# dropmini wheel, its pinned requirements), and over notebooks/ in .venv with ATen's
# generic (non-vectorised) kernels, the path of CPUs without AVX2, MKL's compatible
# (SSE2) code path for matrix products and oneDNN capped at SSE4.1 (ch19's float32 LSTMs
# run through oneDNN), so stored outputs cannot depend on the vector kernels of the
# reader's CPU. The PDF tests run before the book tests: they leave _build/pdf/book.pdf,
# which the HTML build of the book tests then offers on its ".pdf" button. Unit tests and
# notebooks run on two workers (pytest-xdist; --dist loadfile keeps a notebook's cells,
# which share a kernel, on one worker); the book is built once for the build and browser
# tests, which then run on two workers (tests/conftest.py: built_book).
# Every stage leaves a core idle part of the time (XeLaTeX and pip use one core, a pytest
# run's last worker waits for the slowest file, the browser waits for pages), so all of
# them run at once in three lanes (timed.py --together), each lane's stages in turn: the
# PDF, then the book; the unit tests, then the generic nbval; the bundle. Two groups, one
# after the other, had used 76% of two cores' time (1911 CPU-s in 1264 s). (Running the lanes that
# do not lead to the book at a lower priority changed nothing: 1092 s against 1088 s.)
# What they check does not depend on the thread count or the load; what the load can
# reach is the browser tests' waits (15-30 s for a page's scripts) and test_timed.py's
# bounds on its own small stages, which passed with all the lanes running.
# tests/timed.py times each stage and prints the table at the end.
TIMED := $(BIN)/python tests/timed.py
# With several pytest workers on two cores, OpenMP's default spin-waiting between parallel regions
# costs more than the work (a cell of ch18 took 30x longer under load). PASSIVE makes idle
# threads sleep; it changes no result, only when idle threads give their core back.
test check notebooks: export OMP_WAIT_POLICY := PASSIVE
test: $(STAMP) lint
	@$(TIMED) --reset
	$(TIMED) --together \
	  "PDF, both editions" $(BIN)/python -m pytest -q -m pdf tests ::then \
	  "book build and browser, both editions" $(BIN)/python -m pytest -q -n 2 -m "book or browser" tests :: \
	  "unit and property tests" $(BIN)/python -m pytest -q -n 2 -m "not pdf and not book and not browser and not bundle and not notebooks" ::then \
	  "nbval, generic kernels" ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE ONEDNN_MAX_CPU_ISA=SSE41 $(BIN)/python -m pytest -q -n 2 --dist loadfile --junitxml=_build/test-times/nbval-generic.xml notebooks :: \
	  "bundle in a fresh venv, nbval natively" $(BIN)/python -m pytest -q -s -m bundle tests
	@$(TIMED) --report

# The Japanese edition's figures are twins of the stored ones (make figures-ja), so they are
# made again after the notebooks run.
notebooks: $(STAMP)
	cd notebooks && ../$(BIN)/jupyter execute --inplace --kernel_name=python3 *.ipynb
	$(MAKE) --no-print-directory figures-ja

# As root (Docker containers, many cloud notebooks) Jupyter refuses to start unless given
# --allow-root, so make lab passes it then. The server listens on 127.0.0.1 only.
LAB_FLAGS := --ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP)
	@echo "JupyterLab on notebooks/: open the http://127.0.0.1:... address it prints below (Ctrl-C stops it)"
	$(BIN)/jupyter lab notebooks $(LAB_FLAGS)

bench: $(STAMP)
	$(BIN)/python -m dropmini.lab.bench

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +

# Compatibility runs (issue 23), not part of `make test`: for each torch release in
# tests/compat/versions.txt, a virtual environment under _build/compat (a CUDA build from the
# registry, about 5 GB, deleted afterwards), nbval over every notebook, dropmini's equality
# tests and the seeded canaries; each run writes its row into book/compat/results.csv, which
# the verification page renders. About half an hour per release on two cores. One release:
# `make compat VERSIONS=2.15.0`. tests/compat/run.py --help has the rest.
.PHONY: compat
compat:
	$(PYTHON) tests/compat/run.py $(if $(VERSIONS),$(VERSIONS),--all)

# The pinned torch on aarch64 Linux, under emulation: the checks of `make compat` (nbval over
# every notebook, the equality tests, the canaries) in a Debian bookworm arm64 root run by
# qemu-user-static, with the registry's aarch64 wheels (2.9 GB in _build/arm64/wheels), each
# notebook with a timeout; its row goes into book/compat/results.csv. Needs root (apt-get,
# mount, chroot). Set-up took 11 minutes on 2026-12-02 (the root, then the wheels); the run then took 80 minutes on two lanes: the 25 notebooks 0.9-45 minutes each
# (chapter 10 45, chapter 11 22, chapter 18 21), the equality tests 9 and the canaries 1.
# Chapters 10 and 11 have longer timeouts (tests/compat/arm64.py, LONG). DEADLINE=HH:MM
# (UTC) stops it then and records what ran. Two items run at once (LANES=2, one per core), and
# items whose saved result (tests/compat/arm64-items.json) is for the same inputs are reused.
.PHONY: compat-arm64
compat-arm64:
	$(PYTHON) tests/compat/arm64.py all --lanes $(or $(LANES),2) $(if $(DEADLINE),--deadline $(DEADLINE))
