"""Salesforce's Pub/Sub API from asyncio: change events and platform events (gRPC + Avro).

```python
from airflow_provider_sfpy.client.pubsub import PubSubClient, PubSubCredentials, decode_change_event

async def credentials(refresh: bool) -> PubSubCredentials:
    ...  # log in (again, when refresh is True) and return token, instance URL and org id

async with PubSubClient("api.pubsub.salesforce.com:7443", credentials=credentials) as pubsub:
    subscription = pubsub.subscribe("/data/AccountChangeEvent", replay_preset="EARLIEST", batch=10)
    async for event in subscription:
        change = decode_change_event(event.record, await pubsub.get_schema(event.schema_id))
        print(change.change_type, change.record_ids, change.changed_fields)
        subscription.request(1)  # one more for each one handled: the server never sends more than asked
```

Importing this package loads grpc and fastavro; nothing else in the provider imports it at module level.
"""

from airflow_provider_sfpy.client.pubsub.change_events import ChangeEvent, decode_change_event, expand_bitmap_fields
from airflow_provider_sfpy.client.pubsub.client import DEFAULT_TARGET, PubSubClient
from airflow_provider_sfpy.client.pubsub.credentials import PubSubCredentials
from airflow_provider_sfpy.client.pubsub.errors import (
    PubSubAuthError,
    PubSubError,
    PubSubPublishError,
    PubSubReplayIdError,
    PubSubTopicNotFoundError,
    PubSubUnavailableError,
)
from airflow_provider_sfpy.client.pubsub.models import PublishOutcome, ReceivedEvent, TopicInfo
from airflow_provider_sfpy.client.pubsub.schema import Schema
from airflow_provider_sfpy.client.pubsub.subscription import Subscription

__all__ = [
    "DEFAULT_TARGET",
    "ChangeEvent",
    "PubSubAuthError",
    "PubSubClient",
    "PubSubCredentials",
    "PubSubError",
    "PubSubPublishError",
    "PubSubReplayIdError",
    "PubSubTopicNotFoundError",
    "PubSubUnavailableError",
    "PublishOutcome",
    "ReceivedEvent",
    "Schema",
    "Subscription",
    "TopicInfo",
    "decode_change_event",
    "expand_bitmap_fields",
]
