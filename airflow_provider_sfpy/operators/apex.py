"""``SalesforceApexOperator`` (anonymous Apex) and ``SalesforceApexRestOperator`` (custom Apex REST endpoints)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client import SalesforceError, raise_for_apex_result
from airflow_provider_sfpy.operators.base import SalesforceBaseOperator
from airflow_provider_sfpy.operators.task_state import send_once

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class SalesforceApexOperator(SalesforceBaseOperator):
    """Execute anonymous Apex; fail the task on a compile problem or a runtime exception.

    Example::

        with DAG(..., user_defined_filters=SOQL_FILTERS):  # from airflow_provider_sfpy.soql
            SalesforceApexOperator(
                task_id="recalculate",
                apex="String name = {{ params.name | apex_quote }};"
                     " Account a = [SELECT Id FROM Account WHERE Name = :name LIMIT 1];"
                     " a.Rating = 'Hot'; update a;",
            )

    Template every value into the Apex through the ``apex_quote`` filter, never between quotes of
    your own (``'{{ params.name }}'``): it renders one complete Apex string literal, so a value like
    ``x'); delete [SELECT Id FROM Contact]; //`` stays data instead of becoming code. In an inline
    ``[SELECT ...]``, bind a variable assigned that way (``:name``) rather than quoting in the query.

    :param apex: the Apex code, or a path to a ``.apex`` template file (templated).
    """

    template_fields: Sequence[str] = ("apex",)
    template_ext: Sequence[str] = (".apex",)
    template_fields_renderers = {"apex": "java"}
    ui_color = "#00a1e0"

    def __init__(self, *, apex: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not apex or not apex.strip():
            raise ValueError("apex is empty: give Apex code or a .apex template file")
        self.apex = apex

    def execute(self, context: Context) -> dict[str, Any]:
        self.log.info("Executing %d characters of anonymous Apex", len(self.apex))
        result: dict[str, Any] = send_once(
            context,
            what="the anonymous Apex",
            send=lambda: dict(self.client.execute_anonymous(self.apex).body),
            # Apex that did not compile or threw rolled back: nothing was applied, a retry may run it again.
            applied=lambda answer: bool(answer.get("success")),
            logger=self.log,
        )
        try:
            raise_for_apex_result(result)
        except SalesforceError as exc:
            raise AirflowException(str(exc)) from exc
        self.log.info("Apex compiled and ran successfully")
        return dict(result)


class SalesforceApexRestOperator(SalesforceBaseOperator):
    """Call a custom Apex REST endpoint (``/services/apexrest/<path>``) and return its response body.

    Example::

        SalesforceApexRestOperator(task_id="summary", path="AccountSummary", query_params={"industry": "Banking"})

    :param path: the endpoint path after ``/services/apexrest/`` (templated).
    :param method: GET, POST, PUT, PATCH or DELETE (default ``'GET'``).
    :param query_params: query parameters (templated); ``params`` is Airflow's own DAG-params argument
        (default ``None``).
    :param body: JSON body (templated) (default ``None``: no body).
    """

    template_fields: Sequence[str] = ("path", "query_params", "body")
    template_fields_renderers = {"body": "json", "query_params": "json"}
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        path: str,
        method: str = "GET",
        query_params: dict[str, Any] | None = None,
        body: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if method.upper() not in HTTP_METHODS:
            raise ValueError(f"method must be one of {', '.join(HTTP_METHODS)}, not {method!r}")
        if not path or not path.strip("/"):
            raise ValueError("path is empty: give the Apex REST endpoint, e.g. 'AccountSummary'")
        self.path = path
        self.method = method.upper()
        self.query_params = query_params
        self.body = body

    def execute(self, context: Context) -> Any:
        self.log.info("%s /services/apexrest/%s", self.method, self.path.strip("/"))
        if self.method.upper() in ("GET", "HEAD"):
            return self._call()
        return send_once(
            context, what=f"the Apex REST {self.method} /{self.path.strip('/')}", send=self._call, logger=self.log
        )

    def _call(self) -> Any:
        result, response = self.client.apexrest(self.path, self.method, params=self.query_params, body=self.body)
        self.log.info("Apex REST answered HTTP %d", response.status)
        return result
