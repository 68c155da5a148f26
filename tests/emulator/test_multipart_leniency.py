"""Multipart file inserts framed with CRLF or bare LF, file bytes untouched; bad bodies are 400
``INVALID_MULTIPART_REQUEST``.

SalesforcePy builds its file-insert body from a string template with ``\\n`` line breaks, which
Salesforce accepts and Starlette's parser alone refuses. The property tests drive the framing
rewriter and the real parser in-process over every way the body can be cut into chunks; the HTTP
tests send bodies to the emulator.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping

import pytest
from emulator_api import Api, unique
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartParser

from airflow_provider_sfpy.emulator.multipart import LfFramingToCrlf, crlf_framed

BOUNDARY = "boundary_string"
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: File bytes that stress the framing: line breaks of both kinds, lone CRs, near-miss delimiters.
TRICKY_BYTES = (
    b"\x00\xffPNG\r\n\x1a\n"
    + b"line one\r\nline two\nline three\r"
    + b"\n\n\r\n\r\n"
    + b"\n--boundary_strin"
    + b"\n--boundary_stringX not a delimiter\n"
    + b"--boundary_string at a line start, no line break before it\n"
    + b"\r\n-- boundary_string\r\n"
    + b"\r"
)
#: Pieces the property tests build file contents from (the boundary included, to make near misses).
PIECES = [b"\n", b"\r", b"\r\n", b"-", b"--", b"x", b"\x00", b"\xff", BOUNDARY.encode(), BOUNDARY[:5].encode()]


def framed_body(entity: Mapping[str, object], data: bytes, newline: str = "\n") -> bytes:
    """A Document insert whose framing uses ``newline``, the file part (``data``) last."""
    head = newline.join(
        [
            f"--{BOUNDARY}",
            'Content-Disposition: form-data; name="entity_document";',
            "Content-Type: application/json",
            "",
            json.dumps(entity),
            f"--{BOUNDARY}",
            "Content-Type: application/octet-stream",
            'Content-Disposition: form-data; name="Body"; filename="data.bin"',
            "",
            "",
        ]
    )
    return head.encode() + data + f"{newline}--{BOUNDARY}--{newline}".encode()


def salesforcepy_body(entity: Mapping[str, object], name: str, text: str) -> bytes:
    """The body SalesforcePy 2.2's ``insert(..., binary=...)`` sends: its template, verbatim in shape."""
    return (
        f"--{BOUNDARY}\n"
        f'Content-Disposition: form-data; name="entity_attachment";\n'
        "Content-Type: application/json\n"
        "\n"
        f"{json.dumps(entity)}\n"
        "\n"
        f"--{BOUNDARY}\n"
        "Content-Type: text/plain\n"
        f'Content-Disposition: form-data; name="Body"; filename="{name}"\n'
        "\n"
        f"{text}\n"
        "\n"
        f"--{BOUNDARY}--"
    ).encode()


def multipart_headers(boundary: str = BOUNDARY) -> dict[str, str]:
    return {"Content-Type": f'multipart/form-data; boundary="{boundary}"'}


def holds_a_delimiter(data: bytes, newline: str) -> bool:
    """Whether ``data`` would end its part early: a boundary line, by definition never part content
    (``newline--boundary`` then ``--`` or a line end, here or where the closing boundary follows)."""
    boundary_line = re.escape(f"{newline}--{BOUNDARY}".encode()) + rb"(?:--|-?\Z|\r?(?:\n|\Z))"
    return re.search(boundary_line, data) is not None


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(max(cut, 0), len(data)) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


async def _chunks(pieces: list[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def parse(pieces: list[bytes]) -> dict[str, bytes]:
    """The body (in ``pieces``) through the emulator's framing and Starlette's parser: part name -> bytes."""

    async def run() -> dict[str, bytes]:
        headers = Headers(multipart_headers())
        form = await MultiPartParser(headers, crlf_framed(_chunks(pieces), BOUNDARY.encode())).parse()
        parts = {}
        for name, part in form.multi_items():
            parts[name] = await part.read() if isinstance(part, UploadFile) else part.encode()
        await form.close()
        return parts

    return asyncio.run(run())


file_contents = st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join)
cut_points = st.lists(st.integers(min_value=0, max_value=600), max_size=12)


# ------------------------------------------------------------------------------------------ framing


@PROPERTY_SETTINGS
@given(data=file_contents, cuts=cut_points)
def test_lf_framed_file_arrives_identical_however_chunked(data: bytes, cuts: list[int]) -> None:
    assume(not holds_a_delimiter(data, "\n"))
    body = framed_body({"Name": "n"}, data)
    parts = parse(split(body, cuts))
    assert parts["Body"] == data
    assert json.loads(parts["entity_document"]) == {"Name": "n"}


@PROPERTY_SETTINGS
@given(data=file_contents, cuts=cut_points)
def test_crlf_framed_body_is_passed_through_byte_for_byte(data: bytes, cuts: list[int]) -> None:
    assume(not holds_a_delimiter(data, "\r\n"))
    body = framed_body({"Name": "n"}, data, newline="\r\n")

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in crlf_framed(_chunks(split(body, cuts)), BOUNDARY.encode())])

    assert asyncio.run(collect()) == body
    assert parse(split(body, cuts))["Body"] == data


def test_rewriter_output_does_not_depend_on_chunking() -> None:
    body = framed_body({"Name": "n"}, TRICKY_BYTES)
    whole = LfFramingToCrlf(BOUNDARY.encode())
    expected = whole.feed(body) + whole.finish()
    assert b"\r\n--boundary_string\r\n" in expected and expected.endswith(b"\r\n--boundary_string--\n")
    rewriter = LfFramingToCrlf(BOUNDARY.encode())
    one_byte_at_a_time = b"".join(rewriter.feed(body[i : i + 1]) for i in range(len(body))) + rewriter.finish()
    assert one_byte_at_a_time == expected


# ------------------------------------------------------------------------------------------ over HTTP


def _document(api: Api) -> dict[str, object]:
    return {"FolderId": api.emulator.state.admin_user_id, "Name": unique("framing"), "ContentType": "application/pdf"}


def test_lf_framed_document_insert_keeps_every_byte(api: Api) -> None:
    response = api.post(
        "/sobjects/Document", data=framed_body(_document(api), TRICKY_BYTES), headers=multipart_headers()
    )
    assert response.status_code == 201, response.text
    assert api.get(f"/sobjects/Document/{response.json()['id']}/Body").content == TRICKY_BYTES


def test_lf_framed_body_streamed_in_small_chunks_keeps_every_byte(api: Api) -> None:
    body = framed_body(_document(api), TRICKY_BYTES * 50)

    def pieces() -> Iterator[bytes]:  # chunked transfer encoding: the server gets the body in bits
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    response = api.post("/sobjects/Document", data=pieces(), headers=multipart_headers())
    assert response.status_code == 201, response.text
    assert api.get(f"/sobjects/Document/{response.json()['id']}/Body").content == TRICKY_BYTES * 50


def test_crlf_framed_document_insert_keeps_every_byte(api: Api) -> None:
    files = {
        "entity_document": (None, json.dumps(_document(api)), "application/json"),
        "Body": ("framing.bin", TRICKY_BYTES, "application/octet-stream"),
    }
    response = api.post("/sobjects/Document", files=files)
    assert response.status_code == 201, response.text
    assert api.get(f"/sobjects/Document/{response.json()['id']}/Body").content == TRICKY_BYTES


def test_salesforcepy_file_insert_is_accepted(api: Api) -> None:
    parent = api.emulator.store.live_ids("Account")[0]
    entity = {"Name": "notes.txt", "ParentId": parent, "ContentType": "text/plain"}
    body = salesforcepy_body(entity, "notes.txt", "first line\nsecond line")
    response = api.post("/sobjects/Attachment", data=body, headers=multipart_headers())
    assert response.status_code == 201, response.text
    record_id = response.json()["id"]
    assert api.get(f"/sobjects/Attachment/{record_id}").json()["Name"] == "notes.txt"
    # The template's blank line before the closing boundary belongs to the file, as its framing says.
    assert api.get(f"/sobjects/Attachment/{record_id}/Body").content == b"first line\nsecond line\n"


# ------------------------------------------------------------------------------------------ bad bodies


def _broken_bodies(entity: Mapping[str, object]) -> dict[str, tuple[bytes, dict[str, str]]]:
    """Bad bodies around a valid Document entity, so only the multipart framing is wrong."""
    good = framed_body(entity, b"data", newline="\r\n")
    return {
        "without_its_closing_boundary": (good[: good.rindex(b"\r\n--boundary_string--")], multipart_headers()),
        "cut_short_inside_the_file": (good[: good.index(b"data") + 2], multipart_headers()),
        "junk_after_the_boundary": (
            good.replace(b"--boundary_string\r\n", b"--boundary_string\rX", 1),
            multipart_headers(),
        ),
        "no_boundary_in_content_type": (good, {"Content-Type": "multipart/form-data"}),
        "part_without_a_name": (
            good.replace(b'form-data; name="entity_document";', b"form-data;"),
            multipart_headers(),
        ),
        "other_boundary_than_announced": (good, multipart_headers("not_the_one")),
    }


@pytest.mark.parametrize("case", sorted(_broken_bodies({})))
def test_malformed_multipart_is_400_invalid_multipart_request(api: Api, case: str) -> None:
    entity = _document(api)
    body, headers = _broken_bodies(entity)[case]
    response = api.post("/sobjects/Document", data=body, headers=headers)
    assert response.status_code == 400, response.text
    error = api.error(response)
    assert error["errorCode"] == "INVALID_MULTIPART_REQUEST"
    assert error["message"]
    assert api.query(f"SELECT Id FROM Document WHERE Name = '{entity['Name']}'")["totalSize"] == 0
