# Both targets create their own virtual environment (.venv) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean gpu-wheels gpu-check

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev,ray]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/sketchlab demo --out runs/demo

# Lint first (fast), then the whole suite; pytest's exit 5 (no tests collected) fails make.
test: lint
	$(BIN)/python -m pytest -ra

lint: $(VENV)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# On a machine with network (this one's Python environment decides the versions): the
# wheels the GPU machine lacks, for its CPython 3.12, into .whl/ (ignored; carried, never
# committed). See docs/generation.md, "Running on a GPU".
gpu-wheels:
	$(PYTHON) -m sketchlab.bench.gpu_check --download-wheels .whl

# On the GPU machine (no network; its own python3 with torch): install .whl/, run the cuda
# tests and the GPU benches; one JSON and a log into $OUT (else runs/gpu-check). ~5 minutes.
gpu-check:
	python3 -m sketchlab.bench.gpu_check $(GPU_CHECK_FLAGS)

clean:
	rm -rf $(VENV) runs .pytest_cache
