"""incremental_key needs Airflow 3.3's asset_state_store: refused when the DAG is parsed on 3.1 and 3.2.

Runs on both test environments: on the floor (3.1.8) the refusal and the example DAG's fallback are
checked, on 3.3 that the same arguments build the operators.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator
from airflow_provider_sfpy.operators.watermark import AssetStateStoreUnavailableError, asset_state_store_available

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_sfpy_incremental_sync.py"
OPERATORS = [
    (SalesforceQueryToFileOperator, {"destination": "/tmp/accounts.csv"}),
    (SalesforceBulkQueryOperator, {"destination": "/tmp/accounts/"}),
]


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location(EXAMPLE.stem, EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(asset_state_store_available(), reason="this Airflow has an asset state store")
@pytest.mark.parametrize(("operator", "kwargs"), OPERATORS, ids=lambda o: getattr(o, "__name__", ""))
def test_before_airflow_3_3_incremental_key_is_refused_when_the_dag_is_parsed(operator: Any, kwargs: Any) -> None:
    with pytest.raises(
        AssetStateStoreUnavailableError, match=r"incremental_key needs Airflow 3\.3's asset_state_store"
    ):
        operator(task_id="sync", soql="SELECT Id FROM Account", incremental_key=True, **kwargs)
    operator(task_id="plain", soql="SELECT Id FROM Account", **kwargs)  # without it, nothing changes


@pytest.mark.skipif(asset_state_store_available(), reason="this Airflow has an asset state store")
def test_before_airflow_3_3_the_example_loads_and_its_task_says_why_it_cannot_run() -> None:
    module = load_example()
    assert module.REQUIRES_AIRFLOW == "3.3"
    (task,) = module.dag.tasks
    with pytest.raises(AssetStateStoreUnavailableError, match=r"needs Airflow 3\.3"):
        task.python_callable()


@pytest.mark.skipif(not asset_state_store_available(), reason="needs Airflow 3.3's asset_state_store")
@pytest.mark.parametrize(("operator", "kwargs"), OPERATORS, ids=lambda o: getattr(o, "__name__", ""))
def test_on_airflow_3_3_incremental_key_builds_the_operator(operator: Any, kwargs: Any) -> None:
    built = operator(task_id="sync", soql="SELECT Id FROM Account", incremental_key=True, **kwargs)
    assert [asset.uri for asset in built.outlets] == ["salesforce://sfpy_default/Account"]
    assert {task.task_id for task in load_example().dag.tasks} == {"sync_accounts", "sync_contacts"}
