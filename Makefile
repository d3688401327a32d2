# Everything a user types. Needs only Python 3.11+ and make; `make install` bootstraps uv into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
UV_VERSION := 0.13.9
export PYTHONPATH := $(CURDIR)/include$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: help install lock dashboard test sample run demo report airflow bench migrate warehouse-stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --python $(BIN)/python --quiet --compile-bytecode -r requirements.txt
	$(UV) pip install --python $(BIN)/python --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed ## create .venv with every pinned dependency

lock: ## recompile requirements.txt from requirements.in (the one source of truth)
	test -x $(UV) || $(MAKE) install
	$(UV) pip compile requirements.in -o requirements.txt --python-version 3.11 --quiet

DASHBOARD := plugins/marketing_dashboard
$(DASHBOARD)/static/vendor/chart.umd.min.js: $(DASHBOARD)/package-lock.json
	$(BIN)/python $(DASHBOARD)/build.py

dashboard: install ## build the dashboard's chart library from npm (needs Node.js; once per lock change)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(DASHBOARD)/static/vendor/chart.umd.min.js; \
	else echo "npm not found: the dashboard's charts are not built (the page says how to build them)"; fi

test: install dashboard ## run the whole test suite (embedded Postgres unless TEST_WAREHOUSE_URL is set)
	$(BIN)/python -m pytest

# Sample volume, the same for `make sample` and `make demo` (override: make sample DAYS=7).
DAYS                ?= 60
TOUCHPOINTS_PER_DAY ?= 10000
SAMPLE_ARGS = --days $(DAYS) --touchpoints-per-day $(TOUCHPOINTS_PER_DAY)$(if $(END_DATE), --end-date $(END_DATE))
# `make report START=2026-01-01 END=2026-01-31 MODEL=linear`: each optional.
REPORT_ARGS = $(if $(START), --start $(START))$(if $(END), --end $(END))$(if $(MODEL), --model $(MODEL))

sample: install ## write sample landing files to LANDING_URL (DAYS=60, TOUCHPOINTS_PER_DAY=10000, END_DATE=yesterday)
	$(BIN)/python -m marketing sample $(SAMPLE_ARGS)

# `make run SOURCE=ga4`, `make report SOURCE=ga4`: the landing zone and warehouse database of `make demo SOURCE=ga4`.
SOURCE_ENV = $(if $(SOURCE),exports="$$($(BIN)/python -m marketing demo-env $(SOURCE))"; eval "$$exports"; )

run: install ## run the pipeline once, in-process: ingest, attribution, customers (SOURCE=: a source demo's)
	@set -e; $(SOURCE_ENV)$(BIN)/python -m marketing run

report: install ## print ROAS by channel per model (START=, END=, MODEL= narrow it; SOURCE=: a source demo's)
	@set -e; $(SOURCE_ENV)$(BIN)/python -m marketing report$(REPORT_ARGS)

demo: install ## first run: sample data, the pipeline, then ROAS by channel per model (SOURCE=ga4|segment|orders: through that source)
	@set -e; eval "$$($(BIN)/python -m marketing demo-env $(or $(SOURCE),native))"; \
	$(BIN)/python -m marketing sample $(SAMPLE_ARGS) --source $(or $(SOURCE),native); \
	$(BIN)/python -m marketing run; \
	$(BIN)/python -m marketing report$(REPORT_ARGS)

airflow: install dashboard ## start Airflow locally (airflow standalone) with the project's DAGs; Ctrl-C stops it
	$(BIN)/python -m marketing airflow

bench: install ## measure ingest and attribution speed (ratios side by side, one run)
	$(BIN)/python -m marketing.dev.bench

migrate: install ## apply warehouse schema migrations
	$(BIN)/python -m marketing migrate

warehouse-stop: install ## stop the embedded warehouse
	$(BIN)/python -m marketing warehouse-stop

clean: ## remove the virtualenv, Airflow's local state and the landing files (not the warehouse)
	rm -rf $(VENV) .airflow data/landing/touchpoints data/landing/conversions data/landing/ad_spend data/landing/fx_rates data/landing/ga4 data/landing/segment data/landing-ga4 data/landing-segment data/landing-orders
