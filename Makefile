# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench install clean audit

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/netra demo
	$(BIN)/netra serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) lint
	$(BIN)/pytest -q

# Known vulnerabilities in the installed packages (pip-audit). No silent pass: an
# unreachable vulnerability database, or packages left unchecked, fail with that message.
audit: $(STAMP)
	$(BIN)/python scripts/audit.py $(AUDIT_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# Answer-quality evals on the demo dataset: the scripted model, then the built-in analyst.
# `$(BIN)/python -m evals --mode endpoint` grades a real model (NETRA_EVAL_LLM_* variables).
.PHONY: eval
eval: $(STAMP)
	$(BIN)/python -m evals --mode scripted
	$(BIN)/python -m evals --mode offline

clean:
	rm -rf $(VENV) var dist build .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
