"""SAQL for the emulator's CRM Analytics (Wave) API: a lark grammar, an in-memory engine, and the
datasets it queries.

Public interface (used by ``routes/wave.py``):

- ``execute(saql, store) -> QueryResult``: parse and run a query; ``records`` and ``lineage``.
- ``SaqlError`` (HTTP 400, error code ``SAQL_ERROR_CODE``) and its subclass ``DatasetNotFound``.
- ``DATASETS``, ``find_dataset(idOrApiName)``: the datasets and their metadata.

Supported: ``load`` (``"datasetId/versionId"``, a dataset Id or API name), ``filter`` (``== != < <=
> >=``, ``in [...]``, ``not in [...]``, ``in [low..high]``, ``matches``, ``is [not] null``, ``&&``
``||`` ``!`` and ``and`` ``or`` ``not``), ``group by 'F'`` / ``('F', 'G')`` / ``all``, ``foreach
generate`` (fields, literals, ``+ - * / %``, ``count() sum avg min max unique``), ``order by`` (one
key or a list, ``asc``/``desc``), ``limit`` and ``offset``; ``--`` and ``/* */`` comments.
"""

from __future__ import annotations

from airflow_provider_sfpy.emulator.store import Store

from .datasets import DATASETS, Dataset, find_dataset, resolve_load
from .engine import QueryResult, Table, run
from .errors import SAQL_ERROR_CODE, DatasetNotFound, SaqlError
from .parser import parse

__all__ = [
    "DATASETS",
    "SAQL_ERROR_CODE",
    "Dataset",
    "DatasetNotFound",
    "QueryResult",
    "SaqlError",
    "execute",
    "find_dataset",
    "parse",
]


def execute(saql: str, store: Store) -> QueryResult:
    """Parse and run ``saql`` against the org's current records."""
    query = parse(saql)

    def load(reference: str) -> Table:
        dataset = resolve_load(reference)
        if dataset is None:
            raise DatasetNotFound(reference)
        return dataset.table(store)

    return run(query, load)
