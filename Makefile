# civicml — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/benefits

# Two cores oversubscribe fast: one BLAS/OpenMP thread per process.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint typecheck clean help

help:
	@echo "make run   - bootstrap .venv and run civicml on examples/benefits"
	@echo "make test  - bootstrap .venv and run the whole test suite"
	@echo "make lint  - ruff over src and tests"

# Installs exactly requirements/dev.lock (every package pinned and hash-checked: tools/lock.sh
# writes it from pyproject.toml; torch is its CPU wheel, 2.13.0+cpu), then civicml itself.
$(STAMP): pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/civicml run examples/benefits/civicml.yaml --out $(OUT)
	@echo ""
	@echo "Dashboard (the run registered a version under examples/benefits/.civicml/):"
	@echo "  $(BIN)/civicml tokens create --name YOUR-NAME --scope approver --project-dir examples/benefits"
	@echo "  $(BIN)/civicml ui --project-dir examples/benefits   # then open http://127.0.0.1:8000 and sign in with the token"

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=15

lint: $(STAMP)
	$(BIN)/ruff check src tests

typecheck: $(STAMP)
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) out .pytest_cache
