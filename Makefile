# The two commands a newcomer needs: `make run` and `make test`. Each sets itself up.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run up test bench stop clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Signoff needs Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the whole loop on embedded defaults, with a local Slack at http://127.0.0.1:8088 (PORT=8090 for another)
	$(BIN)/signoff sandbox $(if $(PORT),--port $(PORT))

up: $(STAMP)  ## Redis, workers, scheduler, and the bot when SLACK_BOT_TOKEN is set (a real Slack)
	$(BIN)/signoff up

test: $(STAMP)  ## lint, type-check, the docs and the whole test suite
	@bash scripts/ensure-chromium || true
	@bash scripts/ensure-redis7 || true
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/mkdocs build --strict --quiet
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/throughput.py

stop: $(STAMP)  ## stop the embedded Redis server
	$(BIN)/signoff redis stop

clean:
	rm -rf $(VENV) .signoff .pytest_cache .mypy_cache .ruff_cache
