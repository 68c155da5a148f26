"""What every sfpy operator shares: the connection id and a hook created on first use."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook


class SalesforceBaseOperator(BaseOperator):
    """Base of the sfpy operators.

    :param sfpy_conn_id: the ``sfpy`` Airflow connection to use (default ``sfpy_default``).
    """

    def __init__(self, *, sfpy_conn_id: str = SalesforcePyHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sfpy_conn_id = sfpy_conn_id

    @cached_property
    def hook(self) -> SalesforcePyHook:
        return SalesforcePyHook(sfpy_conn_id=self.sfpy_conn_id)

    @property
    def client(self) -> Client:
        """The logged-in client (the hook logs in once per task)."""
        return self.hook.get_conn()


def is_templated(value: object) -> bool:
    """Whether a value still holds Jinja, so validation must wait until it is rendered."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, the Airflow-wide default for deferrable operators."""
    import importlib

    try:
        conf: Any = importlib.import_module("airflow.sdk").conf
    except AttributeError:  # Airflow 3.1 has no airflow.sdk.conf
        conf = importlib.import_module("airflow.configuration").conf
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))
