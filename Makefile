# The two commands of the README:
#   make book   set up .venv, execute every notebook (full mode), build _build/html
#   make test   set up .venv, then everything CI checks (quick mode), with the network unplugged
# Both are idempotent: set-up reruns only when pyproject.toml changes.

PYTHON ?= python3
# A GPU user can change this, e.g. TORCH_SPEC="torch==2.13.0 --index-url <their CUDA index>".
# Here torch==2.13.0 is the local CPU wheel; an unpinned torch pulls a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
OFFLINE := scripts/offline
QUICK_HTML := _build/quick/_build/html

export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: book test install lint unit nbval build-quick clean help assignments grade

help:
	@echo "make book   execute every notebook (full mode) and build _build/html"
	@echo "make test   lint, unit tests, papermill + nbval over every notebook, -W book build"
	@echo "make assignments   student versions of every chapter with exercises, in course/release/"
	@echo "make grade         zip_collect, autograde, feedback and grades.csv for course/downloaded/*"

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[book,test,course]"
	@touch $@

book: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=0 $(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

lint: $(STAMP)
	$(OFFLINE) $(BIN)/ruff check .

build-quick: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=1 $(BIN)/jupyter-book build . --all -W -n --keep-going --path-output _build/quick

unit: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=1 RLVAE_BUILT_HTML=$(QUICK_HTML) $(BIN)/pytest

nbval: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=1 $(BIN)/pytest --nbval-lax --nbval-current-env -p no:cacheprovider book/

# Order: lint, build (so the built-site tests can read the pages), then pytest, then nbval.
test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory build-quick
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory nbval

# The course kit (book/instructor_guide.md): nbgrader, offline, in course/.
assignments: $(STAMP)
	$(OFFLINE) $(BIN)/python scripts/coursekit.py release

# Grades the assignments with zips in course/downloaded/<id>/archive/ (or only A="id ...").
grade: $(STAMP)
	$(OFFLINE) $(BIN)/python scripts/coursekit.py grade $(A)

clean:
	rm -rf _build .pytest_cache .ruff_cache
