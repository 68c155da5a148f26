"""The emulator's Salesforce Pub/Sub API: a gRPC server (``eventbus.v1.PubSub``) beside the REST server.

Change events of the org's records and platform events are kept on the org's event bus
(``emulator/events/bus.py``) and served here with Salesforce's flow control, replay and errors, so any
Pub/Sub API client (this project's ``client.pubsub``, pysfpubsub, Salesforce's examples) works against it.
Start it with ``sfpy-emulator --pubsub-port N`` or ``start_emulator(pubsub=True)``.
"""
