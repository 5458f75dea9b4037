# Two commands: `make demo` (set up + run the embedded default) and `make test` (set up + run the suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint docs cli-docs wheel-check bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build on local disk (a bare `torch` would pull a multi-GB CUDA build)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,docs]'
	# NeuroBench, so its cross-check of the counts runs instead of skipping (tests/*/test_neurobench.py):
	# its code and snntorch's only (seconds); its declared torchaudio does not load against torch
	# 2.13 and its metrics never import it (`pip install 'evosnn[neurobench]'` installs everything)
	$(BIN)/pip install -q --no-deps neurobench==2.3.0 snntorch==1.0.0
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/evosnn demo --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# the documentation site: a dead link, a missing page or a broken API reference fails the build
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# rewrite docs/reference/cli.md after a command or flag changed (tests/cli/test_reference.py)
cli-docs: $(STAMP)
	$(BIN)/python -m evosnn.cli.reference docs/reference/cli.md

test: lint docs
	$(BIN)/pytest -q

# The release check (a make target, not a test: a fresh venv installs every dependency, minutes
# on a shared machine). Build the wheel, install it with the pinned CPU torch in a fresh venv, and
# from a folder outside the checkout run `evosnn space list` and a two-generation search on the
# embedded default (a 1-epoch supernet, in-process evaluation), the spaces found by name.
WHEEL_TMP ?= /tmp/evosnn-wheel-check
wheel-check: $(STAMP)
	rm -rf $(WHEEL_TMP) && mkdir -p $(WHEEL_TMP)/dist
	$(BIN)/pip wheel --no-deps -q -w $(WHEEL_TMP)/dist .
	$(PYTHON) -m venv $(WHEEL_TMP)/venv
	$(WHEEL_TMP)/venv/bin/pip install -q torch==2.13.0
	$(WHEEL_TMP)/venv/bin/pip install -q $(WHEEL_TMP)/dist/evosnn-*.whl
	cd $(WHEEL_TMP) && venv/bin/evosnn space list
	cd $(WHEEL_TMP) && venv/bin/evosnn supernet train --space digits-tiny --out run --epochs 1
	cd $(WHEEL_TMP) && venv/bin/evosnn search --space digits-tiny --supernet run/supernet.pt \
		--population 4 --generations 2 --workers 0

# Benchmarks need a trained digits-tiny supernet: `make demo` first (or set SUPERNET=...).
SUPERNET ?= runs/demo/supernet.pt
bench: $(STAMP)
	$(BIN)/python -m benchmarks.speed.bench_lif
	$(BIN)/python -m benchmarks.speed.bench_evaluate --supernet $(SUPERNET)
	$(BIN)/python -m benchmarks.speed.bench_search --supernet $(SUPERNET)
	$(BIN)/python -m benchmarks.speed.bench_train speed

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache site dist
