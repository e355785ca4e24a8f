# Pipeline Patterns — every target works on a fresh machine and is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KIT := $(PY) -m pipeline_patterns
PYTEST := $(PY) -m pytest

.PHONY: setup up down status run test test-unit test-integration test-notebooks test-reliability test-reliability-full lab clean-data

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

setup: $(VENV)/.installed ## venv, Python deps, jars, PostgreSQL, .env, Jupyter kernel
	$(KIT) setup

up: setup ## start the native stack (Kafka, Connect/Debezium, PostgreSQL)
	$(KIT) stack up $(if $(BROKERS),--brokers $(BROKERS)) $(if $(SPARK_CLUSTER),--spark-cluster)

down: ## stop every process the kit started
	@test -x $(PY) && $(KIT) stack down || echo "nothing to stop (no .venv yet)"

status:
	$(KIT) stack status

run: up ## setup + up + every notebook through papermill + report
	$(KIT) run $(NOTEBOOKS)

NBVAL := --nbval-lax --nbval-current-env

test: setup ## the whole suite: unit, integration, notebooks (starts the stack if down)
	$(PYTEST) tests/unit tests/integration tests/notebooks tests/reliability $(NBVAL) notebooks/

test-unit: setup
	$(PYTEST) tests/unit

test-integration: setup
	$(PYTEST) tests/integration

test-notebooks: setup
	$(PYTEST) tests/notebooks $(NBVAL) notebooks/

test-reliability: setup
	$(PYTEST) tests/reliability

test-reliability-full: setup ## the reliability suite at full size (100,000 events, 10 kills)
	$(PYTEST) tests/reliability --full -s

lab: setup ## JupyterLab with the project's kernel
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 --port 8888 --notebook-dir notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

clean-data: down ## forget the stack's data and the lake (keeps jars and .venv)
	rm -rf var data/lake runs
