# Viewer: `make run` serves the API on http://127.0.0.1:8000, `make test` runs every check.
# Both set everything up themselves on a fresh machine with Python 3.11.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found; set PYTHON=...)" >&2; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	@echo "Ready-to-paste tokens (24 h; more with: .venv/bin/python manage.py issue_token --user U):"
	@echo "  learner demo-learner: $$($(BIN)/python manage.py issue_token --user demo-learner --ttl 86400)"
	@echo "  admin   demo-admin:   $$($(BIN)/python manage.py issue_token --user demo-admin --role admin --ttl 86400)"
	$(BIN)/python manage.py runserver --insecure 127.0.0.1:8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

pytest: install
	# With the Cassandra tables installed too: they must never get a Django migration.
	for store in sql cassandra; do \
	  VIEWER_STORE=$$store DJANGO_SETTINGS_MODULE=config.settings.test \
	    $(BIN)/python manage.py makemigrations --check --dry-run || exit 1; \
	done
	scripts/test.sh

test: lint typecheck pytest

bench: install
	bench/run.sh

# Fault soak (about 5 minutes of load; SOAK_DURATION=90 for a shorter run): bench/soak/run.sh.
.PHONY: soak
soak: install
	bench/soak/run.sh

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache staticfiles
