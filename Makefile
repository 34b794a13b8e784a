# specgen: build the book and run the tests from a clean clone.
#
#   make book                 install, run every book/NN_*.ipynb with papermill, build the HTML
#   make book PROFILE=ci      the same with the small CI profile (others: demo, paper)
#   make test                 unit tests + `make book PROFILE=ci` + headless-browser check
#   make / make install       only the environment (.venv, Jupyter kernel, MathJax)
#   make help                 every target
#
# Notebooks run in place (book/NN_x.ipynb is overwritten with its outputs), with the
# repository root as working directory and one papermill parameter: profile=$(PROFILE).

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

BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NOTEBOOKS = $(sort $(wildcard book/[0-9][0-9]_*.ipynb))
# MathJax 3 from npm, copied where html_extra_path (_config.yml) picks it up:
# _vendor/_static/mathjax/ -> _build/html/_static/mathjax/
MATHJAX_DIR := _vendor/_static/mathjax
MATHJAX := $(MATHJAX_DIR)/tex-mml-chtml.js

# Tools run from the venv; quiet Jupyter's platformdirs notice.
export PATH := $(abspath $(BIN)):$(PATH)
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help install book notebooks html test unit browser check-book sweep clean distclean

help:
	@echo "specgen make targets (PROFILE=$(PROFILE), PYTHON=$(PYTHON)):"
	@echo "  make install     create $(VENV) ($(PYTHON) -m venv), pip install -e '.[test]',"
	@echo "                   register the '$(KERNEL)' Jupyter kernel, npm-install MathJax 3"
	@echo "  make book        install + run the notebooks (papermill, -p profile PROFILE) + build _build/html"
	@echo "  make notebooks   only run the notebooks;  make html: only build the HTML"
	@echo "  make test        pytest + 'make book PROFILE=ci' + headless Chromium check of the HTML"
	@echo "  make sweep       specgen sweep SWEEP=$(SWEEP) (papermill parameter sweep on dask, resumable)"
	@echo "  make browser     install Debian's chromium with apt-get if it is missing"
	@echo "  make clean       remove _build (keeps data/ and models/);  make distclean: also $(VENV), node_modules, _vendor"
	@echo "Profiles: ci (minutes), demo (default, a few hours on 2 cores), paper (GPU or cluster)."

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
book: install
	@$(MAKE) notebooks PROFILE=$(PROFILE)
	$(MAKE) html

notebooks: $(INSTALLED)
	@test -n "$(NOTEBOOKS)" || { echo "error: no book/[0-9][0-9]_*.ipynb" >&2; exit 1; }
	for nb in $(NOTEBOOKS); do
	  echo "==> papermill $$nb (profile=$(PROFILE), kernel $(KERNEL), cwd: repository root)"
	  start=$$SECONDS
	  "$(BIN)/papermill" "$$nb" "$$nb" --kernel "$(KERNEL)" --cwd "$(CURDIR)" \
	    -p profile "$(PROFILE)" --no-progress-bar --log-level WARNING
	  echo "    done in $$((SECONDS - start)) s"
	done
	"$(BIN)/python" -m specgen.provenance --profile "$(PROFILE)"

html: $(INSTALLED) $(MATHJAX)
	@test -f book/_build_info/block.md || "$(BIN)/python" -m specgen.provenance --profile "$(PROFILE)"
	echo "==> jupyter-book build . -W (warnings are errors)"
	"$(BIN)/jupyter-book" build . -W --keep-going --all
	echo "==> the book is at _build/html/index.html"

# ---------------------------------------------------------------- sweeps
SWEEP ?= book/sweeps/ci_latent.yaml
sweep: install
	@"$(BIN)/specgen" sweep "$(SWEEP)"

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
