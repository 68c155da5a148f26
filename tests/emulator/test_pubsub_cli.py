"""``sfpy-emulator --pubsub-port``: the Pub/Sub API beside the REST server, announced in the banner."""

from __future__ import annotations

import json
import shlex
import time

import grpc
import pytest
import requests

from airflow_provider_sfpy.emulator.cli import build_parser, main
from airflow_provider_sfpy.emulator.process import EmulatorProcess
from airflow_provider_sfpy.pubsub_api import GET_TOPIC, METHODS
from airflow_provider_sfpy.pubsub_api import pubsub_api_pb2 as pb2


def banner_line(emulator: EmulatorProcess, prefix: str) -> str:
    """The banner's line starting with ``prefix`` (the banner follows the ready line by a moment)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [line for line in emulator.output if line.startswith(prefix)]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {prefix!r} line in: {''.join(emulator.output)}")


def test_the_command_serves_the_pubsub_api_and_prints_it_in_the_banner() -> None:
    with EmulatorProcess(["--change-events", "account,Opportunity", "--no-sample-data"], pubsub=True) as emulator:
        assert emulator.pubsub_url == f"grpc://{emulator.pubsub_target}"
        output = "".join(emulator.output)
        assert "change events of Account, Opportunity" in output
        connection_line = banner_line(emulator, "export AIRFLOW_CONN_SFPY_DEFAULT=")
        connection = json.loads(shlex.split(connection_line.split("=", 1)[1])[0])
        assert connection["extra"]["pubsub_url"] == emulator.pubsub_url

        token = requests.post(
            f"{emulator.base_url}/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": connection["extra"]["client_id"],
                "client_secret": connection["extra"]["client_secret"],
                "username": connection["login"],
                "password": connection["password"],
            },
            timeout=30,
        ).json()
        request_class, response_class = METHODS[GET_TOPIC]
        with grpc.insecure_channel(emulator.pubsub_target) as channel:
            get_topic = channel.unary_unary(
                GET_TOPIC,
                request_serializer=request_class.SerializeToString,
                response_deserializer=response_class.FromString,
            )
            metadata = (
                ("accesstoken", token["access_token"]),
                ("instanceurl", token["instance_url"]),
                ("tenantid", token["id"].split("/")[-2]),
            )
            info = get_topic(pb2.TopicRequest(topic_name="/data/OpportunityChangeEvent"), metadata=metadata, timeout=30)
            assert info.can_subscribe
            with pytest.raises(grpc.RpcError) as not_selected:
                get_topic(pb2.TopicRequest(topic_name="/data/ContactChangeEvent"), metadata=metadata, timeout=30)
            assert not_selected.value.code() == grpc.StatusCode.NOT_FOUND


def test_without_pubsub_port_there_is_no_pubsub_api_and_change_events_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser().parse_args([])
    assert args.pubsub_port is None
    with pytest.raises(SystemExit):
        main(["--change-events", "Account"])
    assert "--change-events needs --pubsub-port" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--pubsub-port", "0", "--change-events", "NoSuchObject"])
    assert "NoSuchObject" in capsys.readouterr().err
