# The two commands of the README:
#   make book   set up .venv, execute every notebook (quick, then full mode), build _build/html
#   make test   set up .venv (and Chromium), then everything CI checks (quick mode), offline
# Both are idempotent: set-up reruns only when pyproject.toml changes, and Chromium is installed
# only where it is missing.

PYTHON ?= python3
# A GPU user can change this, e.g. TORCH_SPEC="torch==2.13.0 --index-url <their CUDA index>".
# Here torch==2.13.0 is the local CPU wheel; an unpinned torch pulls a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
# The lock: every transitive version pinned, used as pip constraints by the install below, so a
# fresh clone gets what CI passed with (pyproject.toml keeps ranges for library users).
# `make lock` re-resolves it with uv, against the CPU build of torch (no CUDA packages).
LOCK := requirements-lock.txt
UV_SPEC ?= uv==0.13.9
# TORCH_FIND_LINKS: where uv finds the CPU torch wheel (a page or a local folder of wheels).
TORCH_FIND_LINKS ?= https://download.pytorch.org/whl/cpu/torch/
TORCH_VERSION = $(subst torch==,,$(firstword $(TORCH_SPEC)))
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

.PHONY: sandbox book test install lock browser lint unit nbval build-quick build-full clean help assignments grade course-check pdf sweep mutation

help:
	@echo "make book   execute every notebook (quick, then full mode) and build _build/html"
	@echo "make test   lint, -W book build, unit tests, browser test, papermill + nbval over every notebook"
	@echo "make assignments   student versions of every chapter with exercises, in course/release/"
	@echo "make grade         zip_collect, autograde (JOBS=N side by side, sandboxed), feedback and grades.csv for course/downloaded/*"
	@echo "make lock   re-resolve requirements-lock.txt (the pinned versions make book/test install)"
	@echo "make course-check  the course kit's end-to-end check on every assignment (slow)"
	@echo "make pdf    the PDF edition, _build/pdf/rlvae-tutorial.pdf, printed from the full build"
	@echo 'make sweep NOTEBOOKS="book/a.ipynb ..." SEEDS=0-29 MODE=quick|full JOBS=2 [OUT=...]  seed sweep'

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -c $(LOCK) -e ".[book,test,course]"
	@touch $@

# Re-resolve the lock: newest versions within pyproject.toml's ranges, every extra, torch's CPU
# build (its version from TORCH_SPEC, written without +cpu so that any build of it satisfies it).
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(UV_SPEC)"
	echo "torch==$(TORCH_VERSION)+cpu" > $(VENV)/torch-cpu.txt
	$(BIN)/python -m uv pip compile pyproject.toml --all-extras --upgrade --python $(BIN)/python \
	  --find-links $(TORCH_FIND_LINKS) --override $(VENV)/torch-cpu.txt \
	  --custom-compile-command "make lock" -o $(LOCK)
	sed -i.bak 's/^torch==\(.*\)+cpu$$/torch==\1/' $(LOCK) && rm $(LOCK).bak

# bubblewrap, the sandbox `make grade` runs each submission's kernel in (scripts/coursegrade.py):
# Debian's package, installed once, as root, with the network, like Chromium below.
sandbox:
	@if command -v bwrap >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's bubblewrap for the grading sandbox"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap; \
	else \
	  echo "make test and make grade need bubblewrap (bwrap): install it (Debian: apt-get install bubblewrap)" >&2; exit 1; \
	fi

# Chromium for the browser and PDF tests (tests/test_browser.py, tests/test_pdf.py) and a Chinese
# font for the original post's title in the PDF: Debian's packages, installed once, as root, with
# the network (the tests themselves run without it).  Elsewhere, point CHROMIUM at one.
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser test"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
	  echo "make test needs Chromium at $(CHROMIUM): install it (Debian: apt-get install chromium)" \
	       "or run make test CHROMIUM=/path/to/chromium" >&2; exit 1; \
	fi
	@if fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's fonts-wqy-microhei: Chinese glyphs for the original post's title"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-microhei; \
	else \
	  echo "the PDF edition (make pdf, and its test in make test) needs a Chinese font (fc-list :lang=zh is empty): install one, e.g." \
	       "Debian's fonts-wqy-microhei" >&2; exit 1; \
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
	$(OFFLINE) env RLVAE_QUICK=1 RLVAE_SEED=$(BUILD_SEED) $(BIN)/jupyter-book build . --all -W -n --keep-going --path-output _build/quick

# The unit tests and the papermill runs, spread over $(JOBS) processes (test_course.py stays on one).
unit: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=1 RLVAE_BUILT_HTML=$(QUICK_HTML) RLVAE_CHROMIUM=$(CHROMIUM) \
	  RLVAE_RESULTS_DIR=$(TEST_RESULTS) $(BIN)/pytest -n $(JOBS) --dist loadgroup

# nbval and the quick build run every notebook with a seed other than the default 0 (and other
# than papermill's 1 in `make unit`): injected after each parameters cell, as papermill does.
NBVAL_SEED ?= 2
BUILD_SEED ?= 3

nbval: $(STAMP)
	rm -rf _build/nbval
	$(BIN)/python scripts/sweep.py with-seed $(NBVAL_SEED) _build/nbval book/*.ipynb
	$(OFFLINE) env RLVAE_QUICK=1 RLVAE_RESULTS_DIR=$(TEST_RESULTS) \
	  $(BIN)/pytest --nbval-lax --nbval-current-env -p no:cacheprovider _build/nbval/

# Order: lint; the quick build and nbval side by side (each executes every notebook once, on one
# core); then pytest, whose built-site and browser tests read the pages the build made.
test: $(STAMP) browser sandbox
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory -j $(JOBS) --output-sync=target build-quick nbval
	$(MAKE) --no-print-directory unit

# The course kit (book/instructor_guide.md): nbgrader, offline, in course/.
assignments: $(STAMP)
	$(OFFLINE) $(BIN)/python scripts/coursekit.py release

# The course kit's end-to-end check on every assignment (make test runs it on getting_started).
course-check: $(STAMP)
	$(OFFLINE) env RLVAE_QUICK=1 RLVAE_COURSE_ALL=1 $(BIN)/pytest -n $(JOBS) --dist loadgroup tests/test_course.py

# Grades the assignments with zips in course/downloaded/<id>/archive/ (or only A="id ..."),
# JOBS submissions side by side, each in its own bubblewrap sandbox (NO_SANDBOX=1 trusts them all).
grade: $(STAMP) sandbox
	$(OFFLINE) $(BIN)/python scripts/coursekit.py grade --jobs $(JOBS) $(if $(NO_SANDBOX),--no-sandbox) $(A)

# The PDF edition (scripts/pdf.py): every page of the full build, in _toc.yml order, printed by
# Chromium after MathJax has typeset it, merged by pypdf with bookmarks and page numbers; then
# copied into _build/html and linked from every page.  Builds the book first if it is not built.
pdf: $(STAMP) browser
	@test -f _build/html/index.html || $(MAKE) --no-print-directory book
	$(OFFLINE) env RLVAE_CHROMIUM=$(CHROMIUM) $(BIN)/python scripts/pdf.py _build/html _build/pdf/rlvae-tutorial.pdf --link

# Seed sweep (scripts/sweep.py): run NOTEBOOKS for every seed of SEEDS in MODE, JOBS seeds side by
# side, offline; one JSON file per run set (OUT, default sweeps/<mode>-<time>.json) and a summary.
SEEDS ?= 0-29
MODE ?= quick
sweep: $(STAMP)
	@test -n "$(NOTEBOOKS)" || { echo 'make sweep needs NOTEBOOKS="book/a.ipynb ...", e.g.' \
	  'make sweep NOTEBOOKS="book/vae_elbo.ipynb" SEEDS=0-29 MODE=quick JOBS=2 [OUT=sweeps/x.json]' >&2; exit 1; }
	$(OFFLINE) $(BIN)/python scripts/sweep.py run $(NOTEBOOKS) --seeds "$(SEEDS)" --mode $(MODE) \
	  --jobs $(JOBS) $(if $(OUT),--out $(OUT))

clean:
	rm -rf _build .pytest_cache .ruff_cache

# Mutation testing (CONTRIBUTING.md, "Mutation testing"); not part of make test.  mutmut mutates
# the modules in MUTATE one after the other ([tool.mutmut] in pyproject.toml names the fast tests),
# on one core, niced; results accumulate in mutants/ (a rerun checks only what changed).
MUTATE ?= rl.returns rl.bandit rl.dqn rl.reinforce rl.actor_critic rl.ppo vae.losses estimators train device
mutation: $(STAMP)
	@$(BIN)/python -c "import mutmut" 2>/dev/null || $(BIN)/python -m pip install -q -e ".[dev]"
	@for m in $(MUTATE); do \
	  echo "== mutmut: rlvae_tutorial.$$m"; \
	  $(OFFLINE) env -u PYTHONPATH OMP_NUM_THREADS=1 HYPOTHESIS_PROFILE=mutation nice -n 10 \
	    $(BIN)/mutmut run --max-children 1 "rlvae_tutorial.$$m.*" >/dev/null || exit 1; \
	done
	$(BIN)/python scripts/mutation_score.py
	@$(BIN)/mutmut results | grep -v ": not checked" || true
