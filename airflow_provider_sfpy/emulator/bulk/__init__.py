"""Bulk API 2.0 for the emulator: ingest and query jobs processed in the background.

``jobs`` (the job registry, state machine and worker threads), ``formats`` (CSV in the job's dialect),
``columns`` / ``operations`` / ``ingest`` / ``ingest_files`` (ingest processing), ``query`` (query
processing and result pages), ``info`` and ``errors`` (Salesforce's JSON and error shapes), ``api``
(helpers the two route modules share). Routes live in ``routes/bulk_ingest.py`` and
``routes/bulk_query.py``; ``EmulatorState.bulk`` holds the registry.

This package's ``__init__`` imports nothing on purpose: ``state.py`` imports ``bulk.jobs``, and the
route helpers import the routes' common module, which imports ``state.py``.
"""
