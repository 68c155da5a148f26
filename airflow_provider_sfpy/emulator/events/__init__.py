"""The org's events: Change Data Capture and platform events, as the Pub/Sub API serves them.

- ``schemas``: Avro schemas of change events, built from the object definitions; ``records``: one
  committed record change as an event; ``bitmaps``: the ``changedFields``/``nulledFields`` encoding;
  ``capture``: SQLite triggers that turn the store's committed writes into events; ``origin``:
  ``changeOrigin`` of the API call making the change;
- ``platform_events``: platform event definitions (``Order_Placed__e``) and publishing them;
- ``topics``: topic names -> schemas, and validation of payloads published to a topic;
- ``bus``: the org's event stream (replay positions, retention, waiting subscribers).
"""
