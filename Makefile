# specgen: build the book and run the tests from a clean clone.
#
#   make book                 install, run every book/NN_*.ipynb with papermill, build the HTML
#   make book PROFILE=ci      the same with the small CI profile (others: demo, paper)
#   make test                 unit tests + `make book PROFILE=ci` + headless-browser check
#   make / make install       only the environment (.venv, Jupyter kernel, MathJax)
#   make help                 every target
#
# The tracked notebooks are never written: papermill runs book/NN_x.ipynb (repository root as
# working directory, one parameter: profile=$(PROFILE)) into _build/executed/book/NN_x.ipynb, and
# `make html` builds the book from _build/src/, a copy of the book's sources (_config.yml,
# _toc.yml, _ext/, _vendor/, book/ without notebooks) holding those executed copies instead.
# The HTML lands in _build/html/, as if the book were built from the repository root.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DELETE_ON_ERROR:
.DEFAULT_GOAL := install
MAKEFLAGS += --no-builtin-rules --no-print-directory

PROFILE ?= demo
PYTHON ?= python3.11
VENV ?= .venv
KERNEL ?= specgen
CHROMIUM ?= chromium

# The repository the book's button links to: on GitHub Actions the one being built, else this clone's origin
# (git@host:owner/name.git as https://host/owner/name; a local path is none); none, no buttons. Set it to override: make book REPOSITORY_URL=...
REPOSITORY_URL ?= $(if $(GITHUB_REPOSITORY),$(GITHUB_SERVER_URL)/$(GITHUB_REPOSITORY),$(shell git remote get-url origin 2>/dev/null | sed -nE 's#^git@([^:]+):#https://\1/#; s#\.git$$##; \#^https?://#p'))

BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NOTEBOOKS = $(sort $(wildcard book/[0-9][0-9]_*.ipynb))
# MathJax 3 from npm, copied where html_extra_path (_config.yml) picks it up:
# _vendor/_static/mathjax/ -> _build/html/_static/mathjax/
MATHJAX_DIR := _vendor/_static/mathjax
MATHJAX := $(MATHJAX_DIR)/tex-mml-chtml.js
# papermill's output (same layout as the repository) and the source tree jupyter-book reads
EXECUTED := _build/executed
BOOK_SRC := _build/src
TIMINGS := $(EXECUTED)/timings.tsv
NOTEBOOK_TIMINGS := $(EXECUTED)/notebook_timings.tsv

# Tools run from the venv; quiet Jupyter's platformdirs notice.
export PATH := $(abspath $(BIN)):$(PATH)
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help install book notebooks html test unit browser check-book sweep pretrained clean distclean

help:
	@echo "specgen make targets (PROFILE=$(PROFILE), PYTHON=$(PYTHON)):"
	@echo "  make install     create $(VENV) ($(PYTHON) -m venv), pip install -e '.[test]',"
	@echo "                   register the '$(KERNEL)' Jupyter kernel, npm-install MathJax 3"
	@echo "  make book        install + run the notebooks (papermill, -p profile PROFILE) into $(EXECUTED)/book/"
	@echo "                   + build _build/html from them (book/*.ipynb stay as they are, without outputs)"
	@echo "  make notebooks   only run the notebooks;  make html: only build the HTML"
	@echo "  make test        pytest + 'make book PROFILE=ci' + headless Chromium check of the HTML"
	@echo "  make sweep       specgen sweep SWEEP=$(SWEEP) (papermill parameter sweep on dask, resumable)"
	@echo "  make pretrained  retrain specgen/data/pretrained/ (the shipped generator) and measure its model card"
	@echo "  make browser     install Debian's chromium with apt-get if it is missing"
	@echo "  make clean       remove _build (executed notebooks, HTML; keeps data/ and models/);  make distclean: also $(VENV), node_modules, _vendor"
	@echo "Profiles: ci (minutes), demo (default, an hour on 2 cores), paper (GPU or cluster)."

# ---------------------------------------------------------------- install
install: $(INSTALLED) $(MATHJAX)
	@echo "==> installed: $(VENV) (Python 3.11, specgen editable, kernel '$(KERNEL)') and MathJax 3; next: make book, make test (make help lists all)"

$(INSTALLED): pyproject.toml
	@echo "==> Python environment in $(VENV)"
	if [ ! -x "$(BIN)/python" ]; then
	  command -v "$(PYTHON)" >/dev/null || { echo "error: $(PYTHON) not found; run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	  echo "    creating it with $$(command -v $(PYTHON))"
	  "$(PYTHON)" -m venv "$(VENV)"
	fi
	"$(BIN)/python" -c 'import sys; v = sys.version_info[:2]; assert v == (3, 11), f"$(VENV) has Python {v}, specgen needs 3.11: make distclean"'
	"$(BIN)/python" -m pip install --quiet --upgrade pip
	echo "==> pip install -e '.[test]' (first time: several minutes)"
	"$(BIN)/python" -m pip install --quiet --progress-bar off -e '.[test]'
	echo "==> Jupyter kernel '$(KERNEL)' -> $(VENV)/share/jupyter/kernels/$(KERNEL)"
	"$(BIN)/python" -m ipykernel install --sys-prefix --name "$(KERNEL)" --display-name "Python 3 (specgen)" >/dev/null
	touch "$@"

$(MATHJAX): package.json package-lock.json
	@echo "==> MathJax 3 from npm (package-lock.json) -> $(MATHJAX_DIR)"
	command -v npm >/dev/null || { echo "error: npm not found (install Node.js 20)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf "$(MATHJAX_DIR)"
	mkdir -p "$(dir $(MATHJAX_DIR))"
	cp -R node_modules/mathjax/es5 "$(MATHJAX_DIR)"
	test -f "$@"
	touch "$@"

# ---------------------------------------------------------------- book
# Each step's wall time (s) goes to $(TIMINGS), each notebook's via $(NOTEBOOK_TIMINGS); the table of minutes
# is printed at the end: the README's timing table.
book:
	@rm -f "$(TIMINGS)"
	start=$$SECONDS
	$(MAKE) install
	mkdir -p "$(EXECUTED)" && printf 'install\t%d\n' $$((SECONDS - start)) >> "$(TIMINGS)"
	$(MAKE) notebooks PROFILE=$(PROFILE)
	start=$$SECONDS
	$(MAKE) html
	cat "$(NOTEBOOK_TIMINGS)" >> "$(TIMINGS)"
	printf 'jupyter-book build\t%d\n' $$((SECONDS - start)) >> "$(TIMINGS)"
	echo "==> minutes per step, make book PROFILE=$(PROFILE), $$(date -u +%Y-%m-%d), $$(nproc) cores"
	awk -F'\t' '{ printf "| %-28s | %6.1f |\n", $$1, $$2 / 60; total += $$2 } END { printf "| %-28s | %6.1f |\n", "total", total / 60 }' "$(TIMINGS)"

notebooks: $(INSTALLED)
	@test -n "$(NOTEBOOKS)" || { echo "error: no book/[0-9][0-9]_*.ipynb" >&2; exit 1; }
	mkdir -p "$(EXECUTED)/book"
	rm -f "$(NOTEBOOK_TIMINGS)"
	digest=
	for nb in $(NOTEBOOKS); do
	  start=$$SECONDS
	  out="$(EXECUTED)/$$nb"
	  digest=$$("$(BIN)/python" -m specgen.runtime.executed "$$nb" --profile "$(PROFILE)" --previous "$$digest")
	  if [ -f "$$out" ] && [ "$$(cat "$$out.digest" 2>/dev/null)" = "$$digest" ]; then
	    echo "==> $$nb: reusing $$out (the notebook, specgen, the sweeps and the profile's files are as when it ran)"
	  else
	    echo "==> papermill $$nb -> $$out (profile=$(PROFILE), kernel $(KERNEL), cwd: repository root)"
	    rm -f "$$out.digest"
	    "$(BIN)/papermill" "$$nb" "$$out" --kernel "$(KERNEL)" --cwd "$(CURDIR)" \
	      -p profile "$(PROFILE)" --no-progress-bar --log-level WARNING
	    echo "    done in $$((SECONDS - start)) s"
	  fi
	  printf '%s\t%d\n' "$$(basename "$$nb" .ipynb)" $$((SECONDS - start)) >> "$(NOTEBOOK_TIMINGS)"
	done
	# every chapter ran: record each one's digest of the files as they are now, which a rebuild compares with
	digest=
	for nb in $(NOTEBOOKS); do
	  digest=$$("$(BIN)/python" -m specgen.runtime.executed "$$nb" --profile "$(PROFILE)" --previous "$$digest")
	  echo "$$digest" > "$(EXECUTED)/$$nb.digest"
	done
	"$(BIN)/python" -m specgen.provenance --profile "$(PROFILE)"

# The book's sources as they are in the repository, except that each book/NN_x.ipynb is its executed
# copy; made afresh every time. --path-output puts the HTML in _build/html (not _build/src/_build/html).
html: $(INSTALLED) $(MATHJAX)
	@test -f book/_build_info/block.md || "$(BIN)/python" -m specgen.provenance --profile "$(PROFILE)"
	for nb in $(NOTEBOOKS); do
	  test -f "$(EXECUTED)/$$nb" || { echo "error: no $(EXECUTED)/$$nb: run make notebooks (or make book) first" >&2; exit 1; }
	done
	echo "==> the book's sources with the executed notebooks -> $(BOOK_SRC)/"
	rm -rf "$(BOOK_SRC)"
	mkdir -p "$(BOOK_SRC)"
	cp _toc.yml "$(BOOK_SRC)/"
	if [ -n "$(REPOSITORY_URL)" ]; then
	  echo "    linking the repository $(REPOSITORY_URL)"
	  sed -e 's#^  url: ""#  url: "$(REPOSITORY_URL)"#' -e 's#^  use_repository_button: false#  use_repository_button: true#' \
	    -e 's#^  binderhub_url: "".*#  binderhub_url: "https://mybinder.org"#' _config.yml > "$(BOOK_SRC)/_config.yml"
	else
	  cp _config.yml "$(BOOK_SRC)/"
	fi
	cp -R _ext _vendor "$(BOOK_SRC)/"
	tar -cf - --exclude='*.ipynb' --exclude=.ipynb_checkpoints --exclude=__pycache__ book | tar -xf - -C "$(BOOK_SRC)"
	for nb in $(NOTEBOOKS); do cp "$(EXECUTED)/$$nb" "$(BOOK_SRC)/$$nb"; done
	echo "==> jupyter-book build $(BOOK_SRC) -W (warnings are errors)"
	"$(BIN)/jupyter-book" build "$(BOOK_SRC)" --path-output "$(CURDIR)" -W --keep-going --all
	echo "==> the book is at _build/html/index.html (executed notebooks: $(EXECUTED)/book/)"

# ---------------------------------------------------------------- sweeps
SWEEP ?= book/sweeps/ci_latent.yaml
sweep: install
	@"$(BIN)/specgen" sweep "$(SWEEP)"

# ---------------------------------------------------------------- the shipped generator
# specgen/data/pretrained/: the factorised kind trained on 240 stars x 10 variants (seed 2024, the demo profile's
# seed; tested on 48 more, seed 2025), carded on 200 further stars (one spectrum each, their own seed). Hours of
# radiative transfer on 2 cores; the grids are resumable and reused.
PRETRAINED_GRIDS := data/pretrained
CARD_TEST := data/card/test.h5
pretrained: install
	"$(BIN)/specgen" synth --n-stars 240 --variants 10 --seed 2024 --out "$(PRETRAINED_GRIDS)/train.h5"
	"$(BIN)/specgen" synth --n-stars 48 --variants 10 --seed 2025 --out "$(PRETRAINED_GRIDS)/test.h5"
	"$(BIN)/specgen" synth --n-stars 200 --variants 1 --seed 7 --out "$(CARD_TEST)"
	"$(BIN)/specgen" train --grid "$(PRETRAINED_GRIDS)/train.h5" --test "$(PRETRAINED_GRIDS)/test.h5" --kind factorised \
	  --profile demo --out specgen/data/pretrained
	"$(BIN)/specgen" card --model specgen/data/pretrained --train "$(PRETRAINED_GRIDS)/train.h5" --test "$(CARD_TEST)"

# ---------------------------------------------------------------- tests
test: install
	@$(MAKE) unit
	$(MAKE) book PROFILE=ci
	$(MAKE) check-book

unit: $(INSTALLED)
	@echo "==> pytest"
	"$(BIN)/python" -m pytest

check-book: browser $(INSTALLED)
	@echo "==> headless Chromium check of _build/html (screenshots in _build/screenshots)"
	CHROMIUM="$$(command -v $(CHROMIUM))" "$(BIN)/python" tests/check_built_book.py

browser:
	@if ! command -v "$(CHROMIUM)" >/dev/null; then
	  echo "==> installing Debian's chromium with apt-get"
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
	fi
	"$$(command -v $(CHROMIUM))" --version 2>/dev/null

# ---------------------------------------------------------------- cleaning
clean:
	@rm -rf _build
	@echo "removed _build (data/ and models/ are kept)"

distclean: clean
	@rm -rf "$(VENV)" node_modules _vendor
	echo "removed $(VENV), node_modules and _vendor"
