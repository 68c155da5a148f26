"""``CompiledQuery``: what ``compile_soql`` hands the APIs, and the one error only running it can raise.

Reference: Considerations for GROUP BY ("In REST API, queries that include a GROUP BY clause can't use
the query locator"),
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_group_by_considerations.htm
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..schema import FieldDef, SObjectDef
from .errors import SoqlError

#: Aggregate results cannot be paged: more groups than this is an error, as in Salesforce's REST API.
MAX_AGGREGATE_ROWS = 2000
AGGREGATE_PAGING_ERROR = "EXCEEDED_ID_LIMIT"
AGGREGATE_PAGING_MESSAGE = (
    "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch"
)

QueryKind = Literal["records", "count", "aggregate"]
Renderer = Callable[[Sequence[Any], str], "dict[str, Any] | None"]


@dataclass(frozen=True)
class CompiledQuery:
    """A query ready to run: ``conn.execute(sql, params)``, then ``to_record`` on each row.

    ``field_paths`` / ``selected_fields`` describe a record query's field columns in SELECT order
    (Bulk's CSV header and cell types); ``child_relationships`` names its child subqueries;
    ``uses_offset`` and ``unbounded_fields`` (``FIELDS(ALL|CUSTOM)`` anywhere) are for the APIs that
    refuse them (Bulk, Apex).
    """

    sobject: SObjectDef
    sql: str
    params: tuple[object, ...]
    kind: QueryKind
    field_paths: list[str]
    selected_fields: tuple[FieldDef, ...] = ()
    child_relationships: tuple[str, ...] = ()
    uses_offset: bool = False
    unbounded_fields: bool = False
    renderer: Renderer | None = field(default=None, repr=False, compare=False)

    @property
    def count_only(self) -> bool:
        return self.kind == "count"

    @property
    def aggregate(self) -> bool:
        return self.kind == "aggregate"

    def to_record(self, row: Sequence[Any], api_version: str) -> dict[str, Any]:
        """One row as Salesforce's JSON record (``attributes`` first, parents nested or ``None``)."""
        if self.renderer is None:
            raise ValueError("SELECT COUNT() returns a count, not records: read row[0]")
        record = self.renderer(row, api_version)
        if record is None:
            raise ValueError("row has no Id: it was not produced by this query's SQL")
        return record


def too_many_aggregate_rows() -> SoqlError:
    return SoqlError(AGGREGATE_PAGING_ERROR, AGGREGATE_PAGING_MESSAGE)
