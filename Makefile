# Two commands: `make demo` (set up + run the embedded default) and `make test` (set up + run the suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build on local disk (a bare `torch` would pull a multi-GB CUDA build)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/evosnn demo --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

# Benchmarks need a trained digits-tiny supernet: `make demo` first (or set SUPERNET=...).
SUPERNET ?= runs/demo/supernet.pt
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_lif
	$(BIN)/python -m benchmarks.bench_evaluate --supernet $(SUPERNET)
	$(BIN)/python -m benchmarks.bench_search --supernet $(SUPERNET)
	$(BIN)/python -m benchmarks.bench_train speed

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
