"""Files: Attachment, Document, ContentVersion, ContentDocument and ContentDocumentLink.

Fields follow the Object Reference and the Field Reference:
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contentversion.htm
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contentdocument.htm
- https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-contentdocumentlink.html

How Salesforce Files hang together, and how the emulator keeps it: inserting a ContentVersion
without a ``ContentDocumentId`` creates its ContentDocument (the file) and links it to the owner and,
when given, to ``FirstPublishLocationId``; inserting one with a ``ContentDocumentId`` adds a new
version to that file. ContentDocument cannot be created directly; deleting it deletes its versions and
links. Representative subsets: ContentDocument has Title, Description, FileExtension, FileType,
ContentSize, LatestPublishedVersionId, PublishStatus and OwnerId; ContentDocumentLink has
ContentDocumentId, LinkedEntityId, ShareType and Visibility (plus the audit fields every emulated
object has, which the real link object lacks apart from SystemModstamp).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_sfpy.emulator.objects.model import FieldDef, computed, picklist, ref, sobject

#: Records a file can be published to or shared with (all have a ``Name``; see activities.py on Case).
FILE_LOCATIONS = ("Account", "Contact", "Opportunity", "Lead", "Campaign", "User")
#: ShareType values: Viewer, Collaborator, Inferred (the owner's link).
VIEWER, INFERRED = "V", "I"
VISIBILITIES = ("AllUsers", "InternalUsers", "SharedUsers")

ATTACHMENT = sobject(
    "Attachment",
    "00P",
    [
        ref(
            "ParentId",
            ("Account", "Contact", "Opportunity", "Lead", "Campaign"),
            "Parent",
            label="Parent ID",
            nillable=False,
            updateable=False,
            child="Attachments",
            cascade=True,
        ),
        FieldDef("Name", "string", "File Name", 255, nillable=False),
        FieldDef("ContentType", "string", "Content Type", 120),
        computed("BodyLength", "int", "Body Length"),
        FieldDef("Body", "base64", "Body", nillable=False),
        FieldDef("Description", "textarea", "Description", 500),
        FieldDef("IsPrivate", "boolean", "Private", default=False),
    ],
    blob_field="Body",
    searchable=False,
)

DOCUMENT = sobject(
    "Document",
    "015",
    [
        ref("FolderId", "User", "Folder", label="Folder ID", nillable=False),
        FieldDef("Name", "string", "Document Name", 255, nillable=False),
        FieldDef("DeveloperName", "string", "Document Unique Name", 80),
        FieldDef("ContentType", "string", "MIME Type", 120),
        FieldDef("Type", "string", "File Extension", 40),
        computed("BodyLength", "int", "Body Length"),
        FieldDef("Body", "base64", "Body"),
        FieldDef("Description", "textarea", "Description", 255),
        FieldDef("Keywords", "string", "Keywords", 255),
    ],
    blob_field="Body",
)

CONTENT_VERSION = sobject(
    "ContentVersion",
    "068",
    [
        FieldDef("Title", "string", "Title", 255, nillable=False),
        FieldDef("PathOnClient", "string", "Path On Client", 500, nillable=False),
        FieldDef("Description", "textarea", "Description", 1000),
        ref(
            "ContentDocumentId",
            "ContentDocument",
            "ContentDocument",
            label="ContentDocument ID",
            updateable=False,
            child="ContentVersions",
            cascade=True,
        ),
        computed("ContentSize", "int", "Size"),
        computed("FileExtension", "string", "File Extension", 40),
        computed("FileType", "string", "File Type", 20),
        computed("VersionNumber", "string", "Version Number", 20),
        computed("IsLatest", "boolean", "Is Latest", default=True),
        FieldDef("VersionData", "base64", "Version Data"),
        ref(
            "FirstPublishLocationId",
            FILE_LOCATIONS,
            "FirstPublishLocation",
            label="First Publish Location ID",
            updateable=False,
        ),
    ],
    plural="Content Versions",
    blob_field="VersionData",
    name_field="Title",
    deletable=False,
)

CONTENT_DOCUMENT = sobject(
    "ContentDocument",
    "069",
    [
        FieldDef("Title", "string", "Title", 255, nillable=False),
        FieldDef("Description", "textarea", "Description", 1000),
        computed("FileExtension", "string", "File Extension", 40),
        computed("FileType", "string", "File Type", 20),
        computed("ContentSize", "int", "Size"),
        ref(
            "LatestPublishedVersionId",
            "ContentVersion",
            "LatestPublishedVersion",
            label="Latest Published Version ID",
            createable=False,
            updateable=False,
        ),
        picklist("PublishStatus", "Publish Status", ("U", "P", "R"), createable=False, updateable=False),
    ],
    label="Content Document",
    name_field="Title",
    createable=False,
)

CONTENT_DOCUMENT_LINK = sobject(
    "ContentDocumentLink",
    "06A",
    [
        ref(
            "ContentDocumentId",
            "ContentDocument",
            "ContentDocument",
            label="Content Document ID",
            nillable=False,
            updateable=False,
            child="ContentDocumentLinks",
            cascade=True,
        ),
        ref(
            "LinkedEntityId",
            FILE_LOCATIONS,
            "LinkedEntity",
            label="Linked Entity ID",
            nillable=False,
            updateable=False,
            child="ContentDocumentLinks",
            cascade=True,
        ),
        picklist("ShareType", "Share Type", (VIEWER, "C", INFERRED), nillable=False),
        picklist("Visibility", "Visibility", VISIBILITIES, default="AllUsers"),
    ],
    label="Content Document Link",
    with_owner=False,
    name_field=None,
    searchable=False,
    replicateable=False,
)

FILE_OBJECTS = (ATTACHMENT, DOCUMENT, CONTENT_VERSION, CONTENT_DOCUMENT, CONTENT_DOCUMENT_LINK)

# The document a version belongs to, and the version's own place in it. Pure functions over rows: the
# store does the reads and writes.


def document_for_version(version: Mapping[str, Any]) -> dict[str, Any]:
    """The ContentDocument fields that mirror its latest version ``version`` (a stored row)."""
    extension = version.get("FileExtension")
    return {
        "Title": version.get("Title"),
        "Description": version.get("Description"),
        "FileExtension": extension,
        "FileType": file_type(extension),
        "ContentSize": version.get("ContentSize"),
        "LatestPublishedVersionId": version["Id"],
        "PublishStatus": "P" if version.get("FirstPublishLocationId") else "R",
        "OwnerId": version.get("OwnerId"),
    }


def links_for_new_document(document_id: str, version: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The links a new file gets: its owner's (inferred) and its first publish location's."""
    links = [{"ContentDocumentId": document_id, "LinkedEntityId": version["OwnerId"], "ShareType": INFERRED}]
    location = version.get("FirstPublishLocationId")
    if location and location != version["OwnerId"]:
        links.append({"ContentDocumentId": document_id, "LinkedEntityId": location, "ShareType": VIEWER})
    return links


def file_type(extension: object) -> str | None:
    """ContentVersion/ContentDocument ``FileType``: the upper-cased extension (``PDF``; ``TEXT`` for txt)."""
    if not extension:
        return None
    text = str(extension).lower()
    return _FILE_TYPES.get(text, text.upper())


_FILE_TYPES = {
    "txt": "TEXT",
    "jpg": "JPEG",
    "htm": "HTML",
    "xls": "EXCEL",
    "xlsx": "EXCEL_X",
    "doc": "WORD",
    "docx": "WORD_X",
    "ppt": "POWER_POINT",
    "pptx": "POWER_POINT_X",
}
