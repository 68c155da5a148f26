"""What an incremental export checks and declares when the DAG is parsed.

``incremental_key`` is refused on Airflow before 3.3 (no asset state store), and with arguments
that cannot work together; a query already known is checked to be one an incremental export can
narrow (``SELECT ... FROM Object [WHERE ...]``); and the outlet asset that will hold the watermark
is declared now, because Airflow registers assets when it parses the DAG: the user's first
``Asset`` outlet, or ``salesforce://<sfpy_conn_id>/<Object>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_sfpy.formats.soql_fields import SoqlFieldListError, from_object
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
from airflow_provider_sfpy.operators.base import is_templated
from airflow_provider_sfpy.operators.incremental_soql import check_key, split_query
from airflow_provider_sfpy.operators.watermark import default_outlet, require_asset_state_store, watermark_asset

#: ``incremental_key=True`` means this field: set by Salesforce on every change, indexed, never null.
DEFAULT_KEY = "SystemModstamp"
_LITERAL_FROM = re.compile(r"\bfrom\s+[A-Za-z][A-Za-z0-9_]*(?=\s|$)", re.IGNORECASE)


@dataclass(frozen=True)
class IncrementalSettings:
    """What an operator was told when the DAG was parsed."""

    key: str
    include_deleted: bool
    deleted_separately: bool

    @property
    def deletes_in_main_file(self) -> bool:
        """Whether the main query runs as ``queryAll`` and its file holds deleted rows too."""
        return self.include_deleted and not self.deleted_separately


def incremental_settings(
    incremental_key: str | bool | None, *, include_deleted: bool, deleted_destination: object | None
) -> IncrementalSettings | None:
    """The parse-time settings of an incremental export, or ``None`` for a plain one; refuses bad combinations
    (and, on Airflow before 3.3, ``incremental_key`` itself)."""
    if incremental_key is None or incremental_key is False:
        if deleted_destination is not None:
            raise ValueError("deleted_destination needs incremental_key (and include_deleted=True)")
        return None
    require_asset_state_store()
    key = DEFAULT_KEY if incremental_key is True else check_key(incremental_key)
    if deleted_destination is not None and not include_deleted:
        raise ValueError("deleted_destination needs include_deleted=True: it receives the deleted rows")
    return IncrementalSettings(key, include_deleted, deleted_destination is not None)


def incremental_setup(
    incremental_key: str | bool | None,
    *,
    soql: object,
    include_deleted: bool,
    deleted_destination: object | None,
    operator_kwargs: dict[str, Any],
) -> IncrementalSettings | None:
    """What an operator's ``__init__`` does for ``incremental_key``, before ``BaseOperator.__init__``:
    the settings checked, a query known now checked, and the watermark's outlet added to
    ``operator_kwargs["outlets"]`` unless the user gave an ``Asset``."""
    settings = incremental_settings(
        incremental_key, include_deleted=include_deleted, deleted_destination=deleted_destination
    )
    if settings is not None:
        check_query_now(soql)
        # Airflow hands a subclass only the default_args its own signature names; these two belong to
        # the base classes, so a DAG's default_args are read here as the base classes will read them.
        defaults = operator_kwargs.get("default_args") or {}
        conn_id = operator_kwargs.get("sfpy_conn_id", defaults.get("sfpy_conn_id", SalesforcePyHook.default_conn_name))
        operator_kwargs["outlets"] = outlets_with_watermark_asset(
            operator_kwargs.get("outlets", defaults.get("outlets")), soql=soql, sfpy_conn_id=conn_id
        )
    return settings


def outlets_with_watermark_asset(outlets: Any, *, soql: object, sfpy_conn_id: str) -> list[Any]:
    """The outlets to declare: the user's when one is an ``Asset``, else theirs plus the default asset,
    ``salesforce://<conn id>/<Object>``, which needs the object's name now (when the DAG is parsed)."""
    given = [] if outlets is None else list(outlets) if isinstance(outlets, (list, tuple)) else [outlets]
    if watermark_asset(given) is not None:
        return given
    object_name = _object_at_parse_time(soql)
    if object_name is None:
        raise ValueError(
            "incremental_key keeps its watermark in the state store of the task's outlet asset, and the object "
            "of this soql is not known until the task runs (a .soql file or a templated FROM). Pass "
            "outlets=[Asset('salesforce://<connection id>/<Object>')]."
        )
    return [*given, default_outlet(sfpy_conn_id, object_name)]


def _object_at_parse_time(soql: object) -> str | None:
    if not isinstance(soql, str) or soql.strip().endswith(".soql"):
        return None
    if not is_templated(soql):
        return split_query(soql).object_name
    if not _LITERAL_FROM.search(soql):
        return None
    try:
        return from_object(soql)
    except SoqlFieldListError:
        return None


def check_query_now(soql: object) -> None:
    """Refuse, when the DAG is parsed, a query that is already known and cannot be exported incrementally."""
    if isinstance(soql, str) and not is_templated(soql) and not soql.strip().endswith(".soql"):
        split_query(soql)
