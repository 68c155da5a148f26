"""example_sfpy_migrated, the "after" DAG of docs/migrating.md, and the guide itself.

The DAG itself runs with the other examples (``test_examples.py``: its own defaults, a fresh machine,
with and without a logical date; ``check_migrated`` there checks what it did). The guide must show
the DAG exactly as the file is, and name every parameter, method and connection field of the
official provider installed here.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re

from dag_runner import EXAMPLE_DAGS

GUIDE = EXAMPLE_DAGS.parent / "docs" / "migrating.md"
AFTER_DAG = EXAMPLE_DAGS / "example_sfpy_migrated.py"
AFTER_MARKER = "<!-- after-dag: example_dags/example_sfpy_migrated.py -->"
BEFORE_MARKER = "<!-- before-dag -->"


def _block_after(marker: str) -> str:
    """The fenced code block that follows ``marker`` in the guide."""
    text = GUIDE.read_text()
    assert marker in text, f"{GUIDE.name} has lost its {marker} marker"
    block = re.search(r"```python\n(.*?)```", text[text.index(marker) :], re.DOTALL)
    assert block, f"no ```python block after {marker}"
    return block.group(1)


def test_the_guide_shows_the_after_dag_exactly_as_the_file_is() -> None:
    assert _block_after(AFTER_MARKER) == AFTER_DAG.read_text()


def test_the_guides_before_dag_is_python_on_the_official_provider() -> None:
    tree = ast.parse(_block_after(BEFORE_MARKER))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "airflow.providers.salesforce.operators.bulk" in imported
    assert "airflow.providers.amazon.aws.transfers.salesforce_to_s3" in imported


#: The transfer operators' parameters, from the amazon and google providers' sources (not installed here).
TRANSFER_PARAMETERS = {
    "SalesforceToS3Operator": {
        "salesforce_query", "s3_bucket_name", "s3_key", "salesforce_conn_id", "export_format", "query_params",
        "include_deleted", "coerce_to_timestamp", "record_time_added", "aws_conn_id", "replace", "encrypt", "gzip",
        "acl_policy",
    },
    "SalesforceToGcsOperator": {
        "query", "bucket_name", "object_name", "salesforce_conn_id", "include_deleted", "query_params",
        "export_format", "coerce_to_timestamp", "record_time_added", "gzip", "gcp_conn_id", "unwrap_single",
    },
}  # fmt: skip


def _official_names() -> dict[str, set[str]]:
    """What a user of the installed official provider can write: parameters, methods, connection fields."""
    from airflow.providers.salesforce.get_provider_info import get_provider_info
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook
    from airflow.providers.salesforce.operators.bulk import SalesforceBulkOperator
    from airflow.providers.salesforce.operators.salesforce_apex_rest import SalesforceApexRestOperator

    def parameters(cls: type) -> set[str]:
        skip = {"self", "kwargs"}
        return {name for name in inspect.signature(cls.__init__).parameters if name not in skip}  # type: ignore[misc]

    members = (classmethod, staticmethod, property, functools.cached_property)
    methods = {name for name, value in vars(SalesforceHook).items() if callable(value) or isinstance(value, members)}
    (connection_type,) = get_provider_info()["connection-types"]
    return {
        "SalesforceHook": parameters(SalesforceHook) | {m for m in methods if not m.startswith("_")},
        "SalesforceBulkOperator": parameters(SalesforceBulkOperator),
        "SalesforceApexRestOperator": parameters(SalesforceApexRestOperator),
        "salesforce connection": set(connection_type["conn-fields"]),
        **TRANSFER_PARAMETERS,
    }


def test_the_guide_names_everything_the_official_provider_offers() -> None:
    guide = GUIDE.read_text()
    missing = {
        where: sorted(name for name in names if f"`{name}`" not in guide and f"`{name}(" not in guide)
        for where, names in _official_names().items()
    }
    assert not any(missing.values()), f"docs/migrating.md does not mention: {missing}"
