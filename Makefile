# The two commands of the contract: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
AIRFLOW_VERSION ?= 3.3.2

.PHONY: venv test lint typecheck pytest demo clean

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv
	$(UV) pip install --python $(PY) --quiet -e ".[dev]" "apache-airflow==$(AIRFLOW_VERSION)"
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check airflow_provider_sfpy tests example_dags bench
	$(VENV)/bin/ruff format --check airflow_provider_sfpy tests example_dags bench

typecheck: venv
	$(VENV)/bin/mypy

pytest: venv
	$(VENV)/bin/pytest -q

test: lint typecheck pytest

demo: venv
	$(PY) demo/run_demo.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
