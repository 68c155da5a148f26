"""SOQL for the emulator: a real grammar (lark) compiled to SQLite SQL over the schema in ``schema.py``.

Public interface (used by the query route and the Bulk query engine):

- ``compile_soql(soql, *, include_deleted=False, now=None, current_user_id=None) -> CompiledQuery``
- ``CompiledQuery.sql`` / ``.params``: run as-is on the store's SQLite connection;
  the selected columns come back in the order ``to_record`` expects.
- ``CompiledQuery.count_only``: ``SELECT COUNT() FROM ...``; then ``sql`` yields one row with the count.
- ``CompiledQuery.to_record(row, api_version) -> dict``: one SQL row as Salesforce's JSON record, with
  ``attributes`` ({type, url}) and parent relationship fields nested (``{"Account": {"attributes": ...,
  "Name": ...}}``, or ``None`` when the parent is empty).
- ``CompiledQuery.field_paths``: the SELECT list as dotted paths in canonical case (``Account.Name``),
  in SELECT order (the Bulk query CSV header).
- ``SoqlError(error_code, message)``: MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE with Salesforce's
  message layout (the query echoed, a caret, ``ERROR at Row:R:Column:C``).
"""

from .compiler import CompiledQuery, compile_soql
from .errors import SoqlError

__all__ = ["CompiledQuery", "SoqlError", "compile_soql"]
