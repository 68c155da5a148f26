"""pysfpubsub, a third-party Pub/Sub API client from PyPI, runs unchanged against the emulator.

It logs in with SOAP ``login()`` (reading LoginResult's children by position), opens a TLS gRPC
channel with the credentials it builds from certifi at import, calls GetTopic and GetSchema, decodes
events with the ``avro`` library, and publishes. Pointed at the emulator the way a user with a private
CA points it at an org behind a TLS-inspecting proxy: ``REQUESTS_CA_BUNDLE`` for its SOAP login and its
module-level channel credentials replaced by ones trusting that CA. Nothing of its code is changed.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests

from airflow_provider_sfpy.pubsub_api import decode_replay_id, encode_replay_id

pysfpubsub = pytest.importorskip("pysfpubsub.pubsub")

WAIT = 30.0


@pytest.fixture
def client(emulator_pubsub_tls: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    ca = Path(emulator_pubsub_tls.ca_bundle_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    monkeypatch.setattr(pysfpubsub, "secure_channel_credentials", grpc.ssl_channel_credentials(ca.read_bytes()))
    host, port = emulator_pubsub_tls.pubsub_target.rsplit(":", 1)
    sf = pysfpubsub.Client(
        emulator_pubsub_tls.base_url,
        emulator_pubsub_tls.username,
        emulator_pubsub_tls.password + emulator_pubsub_tls.security_token,
        host,
        int(port),
    )
    sf.auth()
    return sf


def subscribe_in_background(sf: Any, topic: str, after: int, wanted: int) -> tuple[list[Any], threading.Event]:
    """pysfpubsub's blocking ``subscribe`` on a thread, collecting events until ``wanted`` arrived."""
    received: list[Any] = []
    done = threading.Event()

    class Enough(Exception):
        pass

    def callback(response: Any, client: Any) -> None:
        received.extend(response.events)
        if len(received) >= wanted:
            done.set()
            raise Enough
        client.release_subscription_semaphore()

    def run() -> None:
        try:
            sf.subscribe(topic, "CUSTOM", encode_replay_id(after), wanted, callback)
        except Enough:
            pass
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    return received, done


def test_soap_login_gives_pysfpubsub_the_session_instance_and_org(client: Any, emulator_pubsub_tls: Any) -> None:
    assert client.tenant_id == emulator_pubsub_tls.store.org_id
    assert client.url == emulator_pubsub_tls.base_url
    token = dict(client.metadata)["accesstoken"]
    assert emulator_pubsub_tls.state.sessions.resolve(token) is not None


def test_pysfpubsub_receives_and_decodes_a_change_event_caused_by_a_rest_update(
    client: Any, emulator_pubsub_tls: Any
) -> None:
    topic = client.get_topic("/data/AccountChangeEvent")
    assert (topic.can_publish, topic.can_subscribe) == (False, True)
    headers = emulator_pubsub_tls.auth_headers()
    created = requests.post(
        emulator_pubsub_tls.data_url("/sobjects/Account"),
        json={"Name": "Pub/Sub conformance"},
        headers=headers,
        verify=emulator_pubsub_tls.verify,
        timeout=WAIT,
    ).json()
    start = emulator_pubsub_tls.event_bus.latest_position()
    received, done = subscribe_in_background(client, "/data/AccountChangeEvent", start, 1)
    requests.patch(
        emulator_pubsub_tls.data_url(f"/sobjects/Account/{created['id']}"),
        json={"Rating": "Hot"},
        headers=headers,
        verify=emulator_pubsub_tls.verify,
        timeout=WAIT,
    ).raise_for_status()
    assert done.wait(WAIT) and received, "no change event arrived"

    event = received[0]
    assert decode_replay_id(event.replay_id) > start
    decoded = client.decode(client.get_schema_json(event.event.schema_id), event.event.payload)
    header = decoded["ChangeEventHeader"]
    assert header["entityName"] == "Account"
    assert header["changeType"] == "UPDATE"
    assert header["recordIds"] == [created["id"]]
    assert decoded["Rating"] == "Hot"


def test_pysfpubsub_publishes_a_platform_event_and_receives_it(client: Any, emulator_pubsub_tls: Any) -> None:
    topic = client.get_topic("/event/Order_Placed__e")
    assert topic.can_publish
    schema = client.get_schema_json(topic.schema_id)
    start = emulator_pubsub_tls.event_bus.latest_position()
    received, done = subscribe_in_background(client, "/event/Order_Placed__e", start, 1)
    payload = {
        "CreatedDate": 1_700_000_000_000,
        "CreatedById": emulator_pubsub_tls.state.admin_user_id,
        "EventUuid": str(uuid.uuid4()),
        "Order_Number__c": "ORD-42",
        "Amount__c": 99.5,
        "Status__c": "Placed",
    }
    event = {"id": str(uuid.uuid4()), **client.format_payload(schema, topic.schema_id, payload)}
    response = client.publish("/event/Order_Placed__e", [event])
    (result,) = response.results
    assert not result.HasField("error"), result.error.msg
    assert result.correlation_key == event["id"]

    assert done.wait(WAIT) and received, "the published event did not arrive"
    assert received[0].replay_id == result.replay_id
    decoded = client.decode(client.get_schema_json(received[0].event.schema_id), received[0].event.payload)
    assert decoded["Order_Number__c"] == "ORD-42"
    assert decoded["Amount__c"] == 99.5
