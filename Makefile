# The two commands of the README:
#   make book   set up .venv, execute every notebook (quick, then full mode), build _build/html
#   make test   set up .venv (and Chromium), then everything CI checks (quick mode), offline
# Both are idempotent: set-up reruns only when pyproject.toml changes, and Chromium is installed
# only where it is missing.

PYTHON ?= python3
# A GPU user can change this, e.g. TORCH_SPEC="torch==2.13.0 --index-url <their CUDA index>".
# Here torch==2.13.0 is the local CPU wheel; an unpinned torch pulls a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
OFFLINE := scripts/offline
QUICK_HTML := _build/quick/_build/html
# The browser test drives this Chromium (Debian's package; `make test` installs it when missing).
CHROMIUM ?= /usr/bin/chromium
# Results that tests and nbval record go here, apart from the book build's _build/results.
TEST_RESULTS := $(CURDIR)/_build/results-tests
# make test runs this many notebooks / test processes side by side (each on one torch thread).
JOBS ?= 2

export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: book test install browser lint unit nbval build-quick build-full clean help assignments grade course-check
.PHONY: mutation

help:
	@echo "make book   execute every notebook (quick, then full mode) and build _build/html"
	@echo "make test   lint, -W book build, unit tests, browser test, papermill + nbval over every notebook"
	@echo "make assignments   student versions of every chapter with exercises, in course/release/"
	@echo "make grade         zip_collect, autograde, feedback and grades.csv for course/downloaded/*"
	@echo "make course-check  the course kit's end-to-end check on every assignment (slow)"

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[book,test,course]"
	@touch $@

# Chromium for the browser test (tests/test_browser.py): Debian's package, installed once, as
# root, with the network (the tests themselves run without it).  Elsewhere, point CHROMIUM at one.
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser test"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
	  echo "make test needs Chromium at $(CHROMIUM): install it (Debian: apt-get install chromium)" \
	       "or run make test CHROMIUM=/path/to/chromium" >&2; exit 1; \
	fi

# The quick build first: it fails fast, and it measures the quick-mode run times that the
# run-time appendix of the full build shows next to the full-mode ones.
book: $(STAMP)
	$(MAKE) --no-print-directory build-quick
	$(MAKE) --no-print-directory build-full
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

build-full: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=0 $(BIN)/jupyter-book build . --all -W -n --keep-going

lint: $(STAMP)
	$(OFFLINE) $(BIN)/ruff check .

build-quick: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=1 $(BIN)/jupyter-book build . --all -W -n --keep-going --path-output _build/quick

# The unit tests and the papermill runs, spread over $(JOBS) processes (test_course.py stays on one).
unit: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=1 RLVAE_BUILT_HTML=$(QUICK_HTML) RLVAE_CHROMIUM=$(CHROMIUM) \
	  RLVAE_RESULTS_DIR=$(TEST_RESULTS) $(BIN)/pytest -n $(JOBS) --dist loadgroup

nbval: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=1 RLVAE_RESULTS_DIR=$(TEST_RESULTS) \
	  $(BIN)/pytest --nbval-lax --nbval-current-env -p no:cacheprovider book/

# Order: lint; the quick build and nbval side by side (each executes every notebook once, on one
# core); then pytest, whose built-site and browser tests read the pages the build made.
test: $(STAMP) browser
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory -j $(JOBS) --output-sync=target build-quick nbval
	$(MAKE) --no-print-directory unit

# The course kit (book/instructor_guide.md): nbgrader, offline, in course/.
assignments: $(STAMP)
	$(OFFLINE) $(BIN)/python scripts/coursekit.py release

# The course kit's end-to-end check on every assignment (make test runs it on getting_started).
course-check: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=1 RLVAE_COURSE_ALL=1 $(BIN)/pytest -n $(JOBS) --dist loadgroup tests/test_course.py

# Grades the assignments with zips in course/downloaded/<id>/archive/ (or only A="id ...").
grade: $(STAMP)
	$(OFFLINE) $(BIN)/python scripts/coursekit.py grade $(A)

clean:
	rm -rf _build .pytest_cache .ruff_cache

# Mutation testing (CONTRIBUTING.md, "Mutation testing"); not part of make test.  mutmut mutates
# the modules in MUTATE one after the other ([tool.mutmut] in pyproject.toml names the fast tests),
# on one core, niced; results accumulate in mutants/ (a rerun checks only what changed).
MUTATE ?= rl.returns rl.bandit rl.dqn rl.reinforce rl.actor_critic vae.losses estimators train device
mutation: $(STAMP)
	@$(BIN)/python -c "import mutmut" 2>/dev/null || $(BIN)/python -m pip install -q -e ".[dev]"
	@for m in $(MUTATE); do \
	  echo "== mutmut: rlvae_tutorial.$$m"; \
	  $(OFFLINE) env -u PYTHONPATH OMP_NUM_THREADS=1 nice -n 10 \
	    $(BIN)/mutmut run --max-children 1 "rlvae_tutorial.$$m.*" >/dev/null || exit 1; \
	done
	$(BIN)/python scripts/mutation_score.py
	@$(BIN)/mutmut results | grep -v ": not checked" || true
