# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/taxopt optimize examples/couple-near-retirement.toml --rules us-federal-2026 \
		--json out/couple-plan.json -o out/couple-plan.xlsx

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/python -m ruff check taxopt tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_optimize.py

clean:
	rm -rf $(VENV) out .pytest_cache
