"""Record-level REST calls, SalesforcePy-shaped: ``client.sobjects(object_type=..., id=...).update(...)``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from requests_toolbelt.multipart.encoder import MultipartEncoder

from airflow_provider_sfpy.client.errors import SalesforceConfigError
from airflow_provider_sfpy.client.result import Result

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client

# (filename, content, content_type): content may be bytes, str or a binary file object.
BinaryFile = tuple[str, "bytes | str | IO[bytes]", str]

# Objects whose files go in a multipart request, and the name of their file field.
BLOB_FIELDS = {"attachment": "Body", "document": "Body", "contentversion": "VersionData"}


def entity_part_name(object_type: str) -> str:
    """The multipart JSON part's name: ``entity_<object>``, but ``entity_content`` for ContentVersion."""
    lowered = object_type.lower()
    return "entity_content" if lowered == "contentversion" else f"entity_{lowered}"


class SObjects:
    """Calls on one sObject type, one record (``id``) or one external id value."""

    def __init__(
        self,
        client: Client,
        *,
        object_type: str | None,
        record_id: str | None,
        external_id: str | None,
        binary_field: str | None,
    ) -> None:
        self._client = client
        self.object_type = object_type
        self.record_id = record_id
        self.external_id = external_id
        self.binary_field = binary_field

    def _type(self, action: str) -> str:
        if not self.object_type:
            raise SalesforceConfigError(f"{action} needs object_type, e.g. client.sobjects(object_type='Account')")
        return quote(self.object_type, safe="")

    def _record_path(self, action: str) -> str:
        obj = self._type(action)
        if not self.record_id:
            raise SalesforceConfigError(
                f"{action} of {self.object_type} needs the record id: client.sobjects(object_type="
                f"'{self.object_type}', id='<18-character id>').{action}(...)"
            )
        if self.external_id:
            return self._client.data_path(
                f"sobjects/{obj}/{quote(self.external_id, safe='')}/{quote(self.record_id, safe='')}"
            )
        return self._client.data_path(f"sobjects/{obj}/{quote(self.record_id, safe='')}")

    def insert(self, body: Mapping[str, Any], binary: BinaryFile | None = None) -> Result:
        """Create a record (``POST``); with ``binary``, a multipart file insert (Attachment, Document, ...)."""
        path = self._client.data_path(f"sobjects/{self._type('insert')}")
        if binary is None:
            return self._client.request("POST", path, json=dict(body))
        filename, content, content_type = binary
        field = self.binary_field or BLOB_FIELDS.get((self.object_type or "").lower())
        if not field:
            raise SalesforceConfigError(
                f"a file insert into {self.object_type} needs binary_field (the base64 field that holds the file)"
            )
        # MultipartEncoder reads a file object as it sends, so a 2 GB ContentVersion is never in memory.
        # A retry or a re-login needs the body again: the factory rewinds the file and builds a new
        # encoder with the same boundary, so the Content-Type header stays right.
        start = content.tell() if hasattr(content, "seek") and hasattr(content, "tell") else None
        entity = (entity_part_name(self.object_type or ""), (None, json.dumps(dict(body)), "application/json"))
        boundary = uuid.uuid4().hex

        def encoder() -> MultipartEncoder:
            if start is not None:
                content.seek(start)  # type: ignore[union-attr]
            return MultipartEncoder(fields=[entity, (field, (filename, content, content_type))], boundary=boundary)

        content_header = encoder().content_type
        return self._client.request("POST", path, data=encoder, headers={"Content-Type": content_header})

    def update(self, body: Mapping[str, Any]) -> Result:
        """Update fields of the record (``PATCH``); Salesforce answers 204 with no body."""
        return self._client.request("PATCH", self._record_path("update"), json=dict(body))

    def upsert(self, body: Mapping[str, Any]) -> Result:
        """Insert or update by external id: ``sobjects(object_type=..., external_id='Ext__c', id='value')``.

        201 means created, 200/204 updated; several matches raise SalesforceMultipleChoicesError.
        """
        if not self.external_id:
            raise SalesforceConfigError(
                "upsert needs external_id (the external id field's name) and id (its value): "
                "client.sobjects(object_type='Account', external_id='External_Id__c', id='EXT-1').upsert({...})"
            )
        return self._client.request("PATCH", self._record_path("upsert"), json=dict(body))

    def delete(self) -> Result:
        """Delete the record (``DELETE``), 204 on success."""
        return self._client.request("DELETE", self._record_path("delete"))

    def query(self, fields: list[str] | None = None) -> Result:
        """The record's fields (``GET /sobjects/Type/Id``), all of them unless ``fields`` is given."""
        params = {"fields": ",".join(fields)} if fields else None
        return self._client.request("GET", self._record_path("query"), params=params)

    def blob(self, field: str | None = None, *, stream: bool = False) -> Result:
        """A file field's bytes (``GET /sobjects/Attachment/Id/Body``), streamed on request."""
        name = field or self.binary_field or BLOB_FIELDS.get((self.object_type or "").lower())
        if not name:
            raise SalesforceConfigError("blob() needs the field name, e.g. blob('Body')")
        path = f"{self._record_path('blob')}/{quote(name, safe='')}"
        if stream:
            return self._client.request("GET", path, stream=True)
        response, info = self._client.request("GET", path, raw=True)
        return Result(response.content, info)

    def describe(self) -> Result:
        """Full metadata of the object type (``GET /sobjects/Type/describe``)."""
        return self._client.request("GET", self._client.data_path(f"sobjects/{self._type('describe')}/describe"))

    def describe_global(self) -> Result:
        """Every object in the org (``GET /sobjects``) with encoding and maxBatchSize."""
        return self._client.request("GET", self._client.data_path("sobjects"))
