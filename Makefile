# The two commands a new machine needs: `make demo` and `make test` (see README).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export ORDER_PLATFORM_HOME ?= $(CURDIR)/.order_platform
export DAGSTER_HOME ?= $(ORDER_PLATFORM_HOME)/dagster
# Install .pyc files with the packages: with PYTHONDONTWRITEBYTECODE set (common on servers and
# in CI) every process would otherwise recompile pandas, SQLAlchemy and Dagster from source,
# adding seconds to each run and to each worker process a refresh starts. The project's own modules
# are not in site-packages (an editable install): `install` compiles them too (~0.1 s of every process
# that loads the code location, the CLI's, each run's and the code server's).
export UV_COMPILE_BYTECODE ?= 1

.PHONY: install demo ui test lint bench monday-bench ddl

install:  ## Python deps from the lock file (installs uv first when missing)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --all-extras
	@$(UV) run --no-sync python -m compileall -q order_platform stand_ins

demo: install  ## sample workbooks (if the source folder is empty), full refresh through Dagster, summary
	$(UV) run order-platform sample-data
	$(UV) run order-platform refresh

ui: install  ## the Dagster UI (and daemon: sensor, schedules) on the demo's instance
	@$(UV) run python -m order_platform.defs.instance >/dev/null  # DAGSTER_HOME and its dagster.yaml
	$(UV) run dagster dev -w workspace.yaml

lint: install  ## ruff, and mypy on the package (configured in pyproject.toml)
	$(UV) run ruff check .
	$(UV) run mypy

test: install lint  ## the whole test suite
	$(UV) run pytest

bench: install  ## full refresh vs the calamine read floor, one changed workbook, peak memory
	$(UV) run order-platform bench

monday-bench: install  ## monday.com sync against the local stand-in
	$(UV) run order-platform monday-bench

ddl: install  ## regenerate sql/ from the schema
	$(UV) run order-platform ddl
