"""Bulk API 1.0 for the emulator: jobs of batches in CSV, JSON or XML, processed in the background.

``jobs`` (jobs, batches, their states and the registry), ``job_request`` (the ``jobInfo`` a client
sends), ``wire`` (XML or JSON, and how a call picks one), ``info`` (``jobInfo``/``batchInfo`` as
Salesforce writes them), ``errors`` (``exceptionCode``/``exceptionMessage``), ``records`` (a batch's
data as the Bulk API 2.0 engine's rows), ``processing`` / ``ingest`` / ``query`` (the batch workers),
``results`` (a DML batch's per-record results) and ``query_results`` (a query batch's result files).
The DML, the CSV reader and writer and the Bulk query rules are the Bulk API 2.0 engine's
(``emulator/bulk``); routes live in ``routes/bulk1.py``.

Reference: Bulk API 2.0 and Bulk API Developer Guide, "Bulk API" part,
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_intro.htm
"""
