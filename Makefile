# Breach Desk: `make run` and `make test` are all the set-up a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install install-dev run test lint clean bench

# The app alone (make run); the test and lint tools come on top (make test, make lint).
$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Breach Desk needs Python 3.11+; run: make PYTHON=python3.11 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/.installed
install-dev: $(BIN)/.installed-dev

# Local development only: DJANGO_DEBUG=1 allows the built-in development secret key.
run: export DJANGO_DEBUG ?= 1
run: install
	@mkdir -p var
	$(BIN)/python manage.py compile_translations
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_jurisdiction_rules
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_oncall_demo
	$(BIN)/python -m core.run --host $(HOST) --port $(PORT)

# axe-core for the browser tests' accessibility checks (tests/e2e/test_browser_accessibility.py),
# from the npm registry at the version package-lock.json pins; skipped when npm is missing.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the accessibility browser tests will be skipped"; fi

test: install-dev node_modules/.installed
	@mkdir -p var
	DJANGO_DEBUG=1 $(BIN)/python manage.py compile_translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .

bench: install-dev
	$(BIN)/python bench/transitions.py
	$(BIN)/python bench/notifier_bench.py

clean:
	rm -rf $(VENV) var/*.sqlite3* var/static
