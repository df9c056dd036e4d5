# Two commands a newcomer needs (see README):
#   make demo   installs what it needs and starts the server with a demo merchant
#   make test   installs what it needs and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8080

.PHONY: demo test test-soak install install-dev lint typecheck check clean

$(BIN)/python:
	@# Debian's python3 needs python3-venv for `-m venv`; install it when missing.
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e '.[server]'

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[server,dev]'

demo: install
	$(BIN)/lava serve --demo --port $(PORT)

test: install-dev
	scripts/test-deps.sh
	. ./.test-env && $(BIN)/pytest -q

# The fault suite's soak (tests/faults/test_soak.py): LAVA_SOAK_SECONDS of mixed load, default 600.
test-soak: install-dev
	scripts/test-deps.sh
	. ./.test-env && $(BIN)/pytest -q -m soak tests/faults

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-dev
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .lava .test-env tests/compat/node/node_modules tests/e2e/web/node_modules tests/e2e/js/node_modules
