# The two commands of the contract: `make demo` and `make test`. Both build their environments from nothing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
AIRFLOW_VERSION ?= 3.3.2
# The oldest Airflow we support (pyproject's floor); `make test` runs the suite on it too.
FLOOR_VENV := .venv-floor
FLOOR_AIRFLOW_VERSION ?= 3.1.8

.PHONY: venv test lint typecheck pytest test-floor demo bench dist clean

# $(call make_venv,dir,airflow-version): the package editable with its dev extra, which pulls in the
# `emulator` and `parquet` extras (the demo and the tests run the emulator).
define make_venv
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip uv
	$(1)/bin/uv pip install --python $(1)/bin/python --quiet -e ".[dev]" "apache-airflow==$(2)"
	touch $(1)/.installed
endef

$(VENV)/.installed: pyproject.toml
	$(call make_venv,$(VENV),$(AIRFLOW_VERSION))

$(FLOOR_VENV)/.installed: pyproject.toml
	$(call make_venv,$(FLOOR_VENV),$(FLOOR_AIRFLOW_VERSION))

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

pytest: venv
	$(VENV)/bin/pytest -q

# The wheel-install test (tests/packaging/) is skipped here: what it checks (the wheel's files, a fresh
# install, the emulator command) does not depend on Airflow's version, and the main run covers it.
test-floor: $(FLOOR_VENV)/.installed
	SFPY_SKIP_WHEEL_INSTALL_TEST="covered by the Airflow $(AIRFLOW_VERSION) run" \
		$(FLOOR_VENV)/bin/pytest -q -p no:cacheprovider

test: lint typecheck pytest test-floor

demo: venv
	$(PY) demo/run_demo.py

# Side-by-side benchmarks (not part of `make test`; see bench/README.md).
bench: venv
	$(PY) bench/run.py

# sdist and wheel in dist/ (the sdist is built first and the wheel from it, so the sdist is proven complete),
# then checked as the package index would check them.
dist: venv
	rm -rf dist
	$(VENV)/bin/uv build --python $(PY) --out-dir dist .
	$(VENV)/bin/twine check --strict dist/*

clean:
	rm -rf $(VENV) $(FLOOR_VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache demo-output
