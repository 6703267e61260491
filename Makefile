# Both targets create their own virtual environment (.venv) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean

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

clean:
	rm -rf $(VENV) runs .pytest_cache
