"""Bulk API 1.0 clients, unchanged, against the emulator: simple-salesforce 1.12's ``sf.bulk.<Object>``
calls and the official Airflow provider's ``SalesforceBulkOperator`` (which runs them after a SOAP login).

Both run against an org of their own with ``bulk_queue_delay=0``: simple-salesforce sleeps a fixed
5 seconds between two polls of a batch, and with no queue delay the emulator has processed a batch by
the time the call that added it returns, so the first poll finds it done and each test takes well
under a second.

The operator builds its own ``SalesforceHook`` without a ``session=``, so its SOAP login goes to
``https://login.salesforce.com`` with a plain ``requests`` session. It gets there the way a proxied
corporate network would: the connection's documented ``proxies`` extra names ``InterceptingProxy``,
an HTTPS proxy that answers each ``CONNECT`` tunnel itself, with a certificate for the Salesforce
hosts and 127.0.0.1 that the test trusts through ``REQUESTS_CA_BUNDLE``, and relays the decrypted
bytes to the emulator. Neither the provider nor simple-salesforce is patched.
"""

from __future__ import annotations

import gc
import json
import re
import select
import socket
import socketserver
import ssl
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import requests
from airflow.providers.salesforce.operators.bulk import SalesforceBulkOperator
from simple_salesforce import Salesforce

from airflow_provider_sfpy.emulator.certs import tls_key_pair
from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator
from conformance.conftest import RoutingSession

SECURITY_TOKEN = "sfpyBulkToken1"
CONN_ID = "salesforce_bulk1"
API_VERSION = "59.0"  # simple-salesforce's default, and so the provider's
PROXIED_HOSTS = ("login.salesforce.com", "test.salesforce.com", "127.0.0.1", "localhost")
RELAY_BLOCK = 64 * 1024
RELAY_IDLE_SECONDS = 30.0


# ------------------------------------------------------------------------------------- the proxy


class InterceptingProxy:
    """An HTTPS proxy for tests: each ``CONNECT`` tunnel is answered here with a certificate for
    ``PROXIED_HOSTS`` (``ca_bundle``), and what the client sends through it is relayed to one TLS
    upstream (the emulator), whatever host the client asked for."""

    def __init__(self, upstream: RunningEmulator, directory: Path) -> None:
        pair = tls_key_pair(PROXIED_HOSTS)
        self.ca_bundle = directory / "proxy-cert.pem"
        key = directory / "proxy-key.pem"
        self.ca_bundle.write_text(pair.cert_pem)
        key.write_text(pair.private_key_pem)
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_context.load_cert_chain(self.ca_bundle, key)
        self.client_context = ssl.create_default_context(cafile=upstream.ca_bundle_path)
        self.upstream = (upstream.host, upstream.port)
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server = _ProxyServer(("127.0.0.1", 0), _Tunnel, self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="bulk1-proxy", daemon=True)

    def __enter__(self) -> InterceptingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for sock in self._sockets:
                sock.close()  # ends the relays still waiting on kept-alive connections

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[socketserver.BaseRequestHandler], proxy: InterceptingProxy
    ) -> None:
        self.proxy = proxy
        super().__init__(address, handler)


class _Tunnel(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        proxy = cast(_ProxyServer, self.server).proxy
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        if not head.startswith(b"CONNECT "):
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        client = proxy.server_context.wrap_socket(self.request, server_side=True)
        upstream = proxy.client_context.wrap_socket(
            socket.create_connection(proxy.upstream), server_hostname=proxy.upstream[0]
        )
        proxy.track(client)
        proxy.track(upstream)
        with client, upstream:
            _relay(client, upstream)


def _relay(a: ssl.SSLSocket, b: ssl.SSLSocket) -> None:
    """Copy bytes both ways until either side closes or stays silent for ``RELAY_IDLE_SECONDS``."""
    peers = {a: b, b: a}
    ready: list[ssl.SSLSocket] = [a, b]  # the handshakes may have read application data already
    try:
        while ready:
            for source in ready:
                data, closed = _drain(source)
                if data:
                    peers[source].sendall(data)
                if closed:
                    return
            ready = select.select(list(peers), [], [], RELAY_IDLE_SECONDS)[0]
    except (OSError, ValueError):
        return


def _drain(sock: ssl.SSLSocket) -> tuple[bytes, bool]:
    """Everything ``sock`` has received so far (OpenSSL may hold several records that ``select`` no
    longer sees), and whether the peer closed."""
    chunks: list[bytes] = []
    sock.setblocking(False)
    try:
        while True:
            try:
                data = sock.recv(RELAY_BLOCK)
            except (ssl.SSLWantReadError, BlockingIOError):
                return b"".join(chunks), False
            if not data:
                return b"".join(chunks), True
            chunks.append(data)
    finally:
        sock.setblocking(True)


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bulk_org() -> Iterator[RunningEmulator]:
    """A TLS org with sample data, a security token, and Bulk batches processed as they are added."""
    with start_emulator(tls=True, security_token=SECURITY_TOKEN, bulk_queue_delay=0, bulk_chunk_delay=0) as org:
        yield org
        # A client exception's traceback keeps its response, and so its TLS socket, alive in a
        # reference cycle; collect it, or the server's graceful shutdown waits 5 s for that socket.
        gc.collect()


@pytest.fixture(scope="module")
def proxy(bulk_org: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InterceptingProxy]:
    with InterceptingProxy(bulk_org, tmp_path_factory.mktemp("bulk1-proxy")) as running:
        yield running


@pytest.fixture
def sf(bulk_org: RunningEmulator) -> Iterator[Salesforce]:
    """simple-salesforce with a session id from the org's OAuth password flow, routed as in conftest."""
    bulk_org.clear_requests_log()
    token = bulk_org.login()
    with RoutingSession(bulk_org.base_url, bulk_org.ca_bundle_path) as session:
        yield Salesforce(
            instance_url=token["instance_url"], session_id=token["access_token"], session=session, version=API_VERSION
        )


@pytest.fixture
def salesforce_conn(
    monkeypatch: pytest.MonkeyPatch, bulk_org: RunningEmulator, proxy: InterceptingProxy
) -> Iterator[str]:
    """An Airflow ``salesforce`` connection as the provider documents it (username, password, security
    token) plus its ``proxies`` extra; the proxy's certificate trusted through ``REQUESTS_CA_BUNDLE``."""
    connection = {
        "conn_type": "salesforce",
        "login": bulk_org.username,
        "password": bulk_org.password,
        "extra": {"security_token": SECURITY_TOKEN, "proxies": {"https": proxy.url}},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(proxy.ca_bundle))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    bulk_org.clear_requests_log()
    yield CONN_ID


# ------------------------------------------------------------------------------------- helpers


def bulk_calls(org: RunningEmulator) -> list[tuple[str, str, int]]:
    """(method, path, status) of every Bulk API 1.0 call the org received, its version prefix cut and
    its job and batch ids replaced by ``{job}`` and ``{batch}``."""
    prefix = f"/services/async/{API_VERSION}"
    calls = []
    for r in org.requests_log():
        if r["path"].startswith(prefix):
            path = re.sub(r"/751\w{15}", "/{batch}", re.sub(r"/750\w{15}", "/{job}", r["path"].removeprefix(prefix)))
            calls.append((r["method"], path, r["status"]))
    return calls


def a_name() -> str:
    return f"Bulk1-{uuid.uuid4().hex[:10]}"


def accounts(org: RunningEmulator, name: str) -> list[dict[str, Any]]:
    """Accounts called ``name``, deleted ones too, read back through the REST API (the data itself,
    not what the client reported)."""
    soql = f"SELECT Id, NumberOfEmployees, IsDeleted FROM Account WHERE Name = '{name}' ORDER BY Id"
    response = requests.get(
        org.data_url("/queryAll"), params={"q": soql}, headers=org.auth_headers(), verify=org.verify, timeout=30
    )
    response.raise_for_status()
    records: list[dict[str, Any]] = response.json()["records"]
    return records


def created_ids(results: list[dict[str, Any]]) -> list[str]:
    assert all(r["success"] and r["created"] and not r["errors"] for r in results), results
    return [r["id"] for r in results]


# ------------------------------------------------------------------------------------- simple-salesforce


def test_simple_salesforce_bulk_insert(sf: Salesforce, bulk_org: RunningEmulator) -> None:
    name = a_name()
    results = sf.bulk.Account.insert([{"Name": name, "NumberOfEmployees": 5}, {"Name": name}, {"Industry": "Energy"}])
    ok, also_ok, failed = results
    assert ok["success"] and ok["created"] and also_ok["success"]
    assert failed == {
        "success": False,
        "created": False,
        "id": None,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }
    stored = {r["Id"]: r["NumberOfEmployees"] for r in accounts(bulk_org, name)}
    assert stored == {ok["id"]: 5, also_ok["id"]: None}
    assert bulk_calls(bulk_org) == [
        ("POST", "/job", 200),
        ("POST", "/job/{job}/batch", 200),
        ("GET", "/job/{job}/batch/{batch}", 200),
        ("GET", "/job/{job}/batch/{batch}/result", 200),
        ("POST", "/job/{job}", 200),
    ]


def test_simple_salesforce_bulk_insert_in_several_batches(sf: Salesforce, bulk_org: RunningEmulator) -> None:
    name = a_name()
    results = sf.bulk.Account.insert([{"Name": name, "NumberOfEmployees": n} for n in range(5)], batch_size=2)
    assert len(created_ids(results)) == 5
    assert sorted(r["NumberOfEmployees"] for r in accounts(bulk_org, name)) == [0, 1, 2, 3, 4]
    batch_posts = [path for method, path, _ in bulk_calls(bulk_org) if method == "POST" and path.endswith("/batch")]
    assert len(batch_posts) == 3


def test_simple_salesforce_bulk_update(sf: Salesforce, bulk_org: RunningEmulator) -> None:
    name = a_name()
    ids = created_ids(sf.bulk.Account.insert([{"Name": name}, {"Name": name}]))
    results = sf.bulk.Account.update([{"Id": ids[0], "NumberOfEmployees": 42}, {"Id": "001000000000000AAA"}])
    assert results[0] == {"success": True, "created": False, "id": ids[0], "errors": []}
    assert results[1]["success"] is False and results[1]["errors"][0]["statusCode"] in (
        "INVALID_CROSS_REFERENCE_KEY",
        "MALFORMED_ID",
    )
    assert {r["Id"]: r["NumberOfEmployees"] for r in accounts(bulk_org, name)} == {ids[0]: 42, ids[1]: None}


def test_simple_salesforce_bulk_upsert(sf: Salesforce, bulk_org: RunningEmulator) -> None:
    name, key = a_name(), f"EXT-{uuid.uuid4().hex[:10]}"
    first = sf.bulk.Account.upsert([{"External_Id__c": key, "Name": name}], "External_Id__c")
    (created,) = created_ids(first)
    again = sf.bulk.Account.upsert([{"External_Id__c": key, "NumberOfEmployees": 7}], "External_Id__c")
    assert again == [{"success": True, "created": False, "id": created, "errors": []}]
    assert [(r["Id"], r["NumberOfEmployees"]) for r in accounts(bulk_org, name)] == [(created, 7)]


def test_simple_salesforce_bulk_delete(sf: Salesforce, bulk_org: RunningEmulator) -> None:
    name = a_name()
    ids = created_ids(sf.bulk.Account.insert([{"Name": name}, {"Name": name}]))
    results = sf.bulk.Account.delete([{"Id": ids[0]}])
    assert results == [{"success": True, "created": False, "id": ids[0], "errors": []}]
    assert {r["Id"]: r["IsDeleted"] for r in accounts(bulk_org, name)} == {ids[0]: True, ids[1]: False}


def test_simple_salesforce_bulk_hard_delete(sf: Salesforce, bulk_org: RunningEmulator) -> None:
    name = a_name()
    ids = created_ids(sf.bulk.Account.insert([{"Name": name}, {"Name": name}]))
    assert sf.bulk.Account.hard_delete([{"Id": ids[1]}])[0]["success"] is True
    assert [r["Id"] for r in accounts(bulk_org, name)] == [ids[0]]


def test_simple_salesforce_bulk_query(sf: Salesforce, bulk_org: RunningEmulator) -> None:
    name = a_name()
    ids = created_ids(sf.bulk.Account.insert([{"Name": name, "NumberOfEmployees": n} for n in (1, 2)]))
    records = sf.bulk.Account.query(
        f"SELECT Id, Name, NumberOfEmployees, CreatedDate, Owner.Name FROM Account WHERE Name = '{name}' "
        "ORDER BY NumberOfEmployees"
    )
    assert [r["Id"] for r in records] == ids
    first = records[0]
    assert first["attributes"] == {"type": "Account", "url": f"/services/data/v{API_VERSION}/sobjects/Account/{ids[0]}"}
    assert first["Name"] == name and first["NumberOfEmployees"] == 1
    assert isinstance(first["CreatedDate"], int)  # Bulk API 1.0 JSON: epoch milliseconds
    assert first["Owner"]["Name"] and first["Owner"]["attributes"]["type"] == "User"


def test_simple_salesforce_bulk_query_all(sf: Salesforce, bulk_org: RunningEmulator) -> None:
    name = a_name()
    ids = created_ids(sf.bulk.Account.insert([{"Name": name}, {"Name": name}]))
    sf.bulk.Account.delete([{"Id": ids[0]}])
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Name = '{name}' ORDER BY Id"
    assert [r["Id"] for r in sf.bulk.Account.query(soql)] == [ids[1]]
    everything = sf.bulk.Account.query_all(soql)
    assert [(r["Id"], r["IsDeleted"]) for r in everything] == [(ids[0], True), (ids[1], False)]


# ------------------------------------------------------------------------------------- the operator


def run_operator(conn_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    operator = SalesforceBulkOperator(task_id=f"bulk_{kwargs['operation']}", salesforce_conn_id=conn_id, **kwargs)
    result: list[dict[str, Any]] = operator.execute(context={})
    return result


def insert_with_operator(conn_id: str, name: str) -> list[str]:
    return created_ids(run_operator(conn_id, operation="insert", object_name="Account", payload=[{"Name": name}]))


def soap_login_then_bulk(org: RunningEmulator) -> bool:
    paths = [r["path"] for r in org.requests_log()]
    return paths[0] == f"/services/Soap/u/{API_VERSION}" and paths[1] == f"/services/async/{API_VERSION}/job"


def test_salesforce_bulk_operator_insert(salesforce_conn: str, bulk_org: RunningEmulator) -> None:
    name = a_name()
    result = run_operator(salesforce_conn, operation="insert", object_name="Account", payload=[{"Name": name}] * 2)
    ids = created_ids(result)
    assert soap_login_then_bulk(bulk_org)
    assert sorted(r["Id"] for r in accounts(bulk_org, name)) == sorted(ids)


def test_salesforce_bulk_operator_update(salesforce_conn: str, bulk_org: RunningEmulator) -> None:
    name = a_name()
    ids = insert_with_operator(salesforce_conn, name)
    result = run_operator(
        salesforce_conn, operation="update", object_name="Account", payload=[{"Id": ids[0], "NumberOfEmployees": 9}]
    )
    assert result == [{"success": True, "created": False, "id": ids[0], "errors": []}]
    assert [r["NumberOfEmployees"] for r in accounts(bulk_org, name)] == [9]


def test_salesforce_bulk_operator_upsert(salesforce_conn: str, bulk_org: RunningEmulator) -> None:
    name, key = a_name(), f"EXT-{uuid.uuid4().hex[:10]}"
    payload = [{"External_Id__c": key, "Name": name}]
    kwargs = {"operation": "upsert", "object_name": "Account", "external_id_field": "External_Id__c"}
    (created,) = created_ids(run_operator(salesforce_conn, payload=payload, **kwargs))
    again = run_operator(salesforce_conn, payload=[{"External_Id__c": key, "NumberOfEmployees": 3}], **kwargs)
    assert again == [{"success": True, "created": False, "id": created, "errors": []}]
    assert [(r["Id"], r["NumberOfEmployees"]) for r in accounts(bulk_org, name)] == [(created, 3)]


def test_salesforce_bulk_operator_delete(salesforce_conn: str, bulk_org: RunningEmulator) -> None:
    name = a_name()
    ids = insert_with_operator(salesforce_conn, name)
    result = run_operator(salesforce_conn, operation="delete", object_name="Account", payload=[{"Id": ids[0]}])
    assert result[0]["success"] is True
    assert [r["IsDeleted"] for r in accounts(bulk_org, name)] == [True]


def test_salesforce_bulk_operator_hard_delete(salesforce_conn: str, bulk_org: RunningEmulator) -> None:
    name = a_name()
    ids = insert_with_operator(salesforce_conn, name)
    result = run_operator(salesforce_conn, operation="hard_delete", object_name="Account", payload=[{"Id": ids[0]}])
    assert result[0]["success"] is True
    assert accounts(bulk_org, name) == []
