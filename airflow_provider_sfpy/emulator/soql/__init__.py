"""SOQL for the emulator: a real grammar (lark) compiled to SQLite SQL over the schema in ``schema.py``.

One compiler serves the REST query route, the Bulk query engine and Apex's inline SOQL.

Public interface:

- ``compile_soql(soql, *, include_deleted=False, now=None, current_user_id=None, api_version=None)
  -> CompiledQuery``
- ``CompiledQuery.sql`` / ``.params``: run as-is on the store's SQLite connection.
- ``CompiledQuery.kind``: ``"records"``, ``"count"`` (``SELECT COUNT() FROM ...``: one row, the count)
  or ``"aggregate"`` (GROUP BY / aggregate functions: ``AggregateResult`` rows, never more than
  ``MAX_AGGREGATE_ROWS``, else ``too_many_aggregate_rows()`` is Salesforce's answer).
- ``CompiledQuery.to_record(row, api_version) -> dict``: one SQL row as Salesforce's JSON record, with
  ``attributes`` ({type, url}), parent relationship fields nested (``{"Account": {"attributes": ...,
  "Name": ...}}``, or ``None`` when the parent is empty) and child subqueries as nested query results.
- ``CompiledQuery.field_paths`` / ``.selected_fields``: a record query's field columns as dotted paths
  in canonical case (``Account.Name``) and their ``FieldDef``s, in SELECT order (the Bulk CSV header).
- ``SoqlError(error_code, message)``: MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE with Salesforce's
  message layout (the query echoed, a caret, ``ERROR at Row:R:Column:C``).

Reference: Salesforce SOQL and SOSL Reference,
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql.htm
"""

from .compiled import MAX_AGGREGATE_ROWS, CompiledQuery, too_many_aggregate_rows
from .compiler import compile_soql
from .errors import SoqlError

__all__ = ["MAX_AGGREGATE_ROWS", "CompiledQuery", "SoqlError", "compile_soql", "too_many_aggregate_rows"]
