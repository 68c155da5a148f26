"""Change Data Capture's change types (``ChangeEventHeader.changeType``), shared by the emulator and the client side.

In the Pub/Sub API's Avro schemas ``changeType`` is an enum with these symbols, in this order:
``CREATE``, ``UPDATE``, ``DELETE``, ``UNDELETE``; the gap events Salesforce sends when it could not build a
full event (``GAP_CREATE`` ... ``GAP_UNDELETE``, and ``GAP_OVERFLOW`` when too many records changed in one
transaction: "Gap Events and Overflow Events",
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_other_events_gap.htm);
and ``SNAPSHOT``, which the enum carries too though the header's documentation does not list it. The emulator
writes the enum from this tuple (its order is part of the schema, and so of the schema id); a trigger's
``change_types`` filter accepts exactly these names.

A module of its own that imports nothing: the emulator and ``triggers.change_event_filter`` read it without
loading the client package (httpx) or ``client.pubsub`` (gRPC).
"""

from __future__ import annotations

CHANGE_TYPES: tuple[str, ...] = (
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
    "SNAPSHOT",
)
