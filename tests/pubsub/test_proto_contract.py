"""The committed Pub/Sub API contract: generated from the ``.proto``, and wire-identical to Salesforce's."""

from __future__ import annotations

import importlib
import sys

import pytest
from google.protobuf import descriptor_pb2

from airflow_provider_sfpy.pubsub_api import GENERATED_MODULE_PATH, pb2, regenerate


def test_the_committed_module_is_what_the_proto_generates() -> None:
    pytest.importorskip("grpc_tools")
    assert GENERATED_MODULE_PATH.read_text() == regenerate.generate(), (
        "pubsub_api_pb2.py is stale: run `python -m airflow_provider_sfpy.pubsub_api.regenerate`"
    )
    assert GENERATED_MODULE_PATH.with_suffix(".pyi").read_text() == regenerate.generate_stub()


def test_the_contract_is_the_one_a_published_client_ships() -> None:
    """pysfpubsub bundles Salesforce's own generated pubsub_api_pb2: same messages, enums, numbers, methods."""
    theirs = importlib.import_module("pysfpubsub.pubsub_api_pb2")
    ours_proto, their_proto = descriptor_pb2.FileDescriptorProto(), descriptor_pb2.FileDescriptorProto()
    pb2.DESCRIPTOR.CopyToProto(ours_proto)
    theirs.DESCRIPTOR.CopyToProto(their_proto)
    assert ours_proto == their_proto
    # Both load in one process: ours lives in a descriptor pool of its own.
    assert "pysfpubsub.pubsub_api_pb2" in sys.modules
    request = pb2.FetchRequest(topic_name="/data/AccountChangeEvent", replay_preset=pb2.CUSTOM, num_requested=7)
    decoded = theirs.FetchRequest.FromString(request.SerializeToString())
    assert (decoded.topic_name, decoded.replay_preset, decoded.num_requested) == (
        "/data/AccountChangeEvent",
        theirs.CUSTOM,
        7,
    )
