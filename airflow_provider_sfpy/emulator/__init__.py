"""A local Salesforce: a real HTTP server over SQLite speaking the documented REST wire protocol.

Any Salesforce client works against it unchanged (OAuth token endpoint, ``/services/data``
resources, SOQL queries with paging, sObject CRUD, upsert, blobs). Start it with the
``sfpy-emulator`` command, ``python -m airflow_provider_sfpy.emulator``, or in tests with
``airflow_provider_sfpy.emulator.testing.start_emulator``. Fault injection and a request log are
available under ``/__emulator__/`` (see ``faults.py``).
"""
