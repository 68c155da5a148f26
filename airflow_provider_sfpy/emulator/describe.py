"""describeGlobal, sObject basic info and describe JSON, built from ``schema.py``.

Clients use describe to learn field types (for CSV/JSON conversion), which fields are writable and
which are external ids, so every attribute a client may branch on is present with the value the real
API would give for a field of that kind. The results are static per version and cached.
"""

from __future__ import annotations

import functools
from typing import Any

from airflow_provider_sfpy.emulator.schema import NUMBER_TYPES, SCHEMA, FieldDef, SObjectDef

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "base64": "xsd:base64Binary",
}


def sobject_urls(obj: SObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "rowTemplate": f"{base}/{{ID}}",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "describe": f"{base}/describe",
        "sobject": base,
    }


def deletable(obj: SObjectDef) -> bool:
    """Whether the API deletes records of ``obj`` (users are deactivated instead; a file's versions go
    with its ContentDocument; the Organization and Profiles stay)."""
    return obj.deletable


def _object_flags(obj: SObjectDef, version: str) -> dict[str, Any]:
    """The describeGlobal entry of one object (also the head of its full describe)."""
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": obj.createable,
        "custom": obj.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": deletable(obj),
        "deprecatedAndHidden": False,
        "feedEnabled": obj.feed_enabled,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": True,
        "mergeable": obj.mergeable,
        "mruEnabled": True,
        "name": obj.name,
        "queryable": True,
        "replicateable": obj.replicateable,
        "retrieveable": True,
        "searchable": obj.searchable,
        "triggerable": True,
        "undeletable": deletable(obj),
        "updateable": obj.updateable,
        "urls": sobject_urls(obj, version),
    }


@functools.lru_cache(maxsize=64)
def describe_global(version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_object_flags(obj, version) for obj in SCHEMA.values()],
    }


def basic_info(obj: SObjectDef, version: str) -> dict[str, Any]:
    return {"objectDescribe": _object_flags(obj, version), "recentItems": []}


def _field(obj: SObjectDef, f: FieldDef) -> dict[str, Any]:
    text_like = f.type not in _LENGTHLESS_TYPES
    is_name = f.name == obj.name_field
    defaulted = f.default is not None or f.type == "boolean" or f.auto_number or f.name in _SYSTEM_DEFAULTED
    filterable = f.type not in ("base64", "textarea") or (f.type == "textarea" and f.length <= 255)
    return {
        "aggregatable": filterable and f.type != "boolean",
        "aiPredictionField": False,
        "autoNumber": f.auto_number,
        "byteLength": f.length * 3 if text_like else 0,
        "calculated": False,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": f.case_sensitive,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": f.createable,
        "custom": f.name.endswith("__c"),
        "defaultValue": bool(f.default) if f.type == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": defaulted,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": f.precision if f.type == "int" else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": "personname" if is_name and obj.name in ("Contact", "Lead", "User") else None,
        "filterable": filterable,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        # Salesforce groups by int fields (NumberOfEmployees) but not by double/currency/percent or datetime.
        "groupable": filterable and f.type not in ("double", "currency", "percent", "datetime"),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": f.lookup_key,
        "inlineHelpText": None,
        "label": f.label or f.name,
        "length": f.length if text_like else 0,
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": is_name,
        "namePointing": len(f.reference_to) > 1,
        "nillable": f.nillable,
        "permissionable": f.nillable and (f.createable or f.updateable) and f.name != "OwnerId",
        "picklistValues": [
            {"active": True, "defaultValue": value == f.default, "label": value, "validFor": None, "value": value}
            for value in f.picklist_values
        ],
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "precision": f.precision if f.type in ("double", "currency", "percent") else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": False,
        "scale": f.scale,
        "searchPrefilterable": f.type == "reference",
        "soapType": SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": filterable,
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


_SYSTEM_DEFAULTED = frozenset(
    {"Id", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp", "OwnerId"}
)

#: Types whose describe ``length``/``byteLength`` is 0.
_LENGTHLESS_TYPES = NUMBER_TYPES | {"boolean", "date", "datetime", "base64"}


def _child_relationships(parent: SObjectDef) -> list[dict[str, Any]]:
    children = []
    for child in SCHEMA.values():
        for f in child.fields:
            if parent.name not in f.reference_to:
                continue
            children.append(
                {
                    "cascadeDelete": f.cascade_delete,
                    "childSObject": child.name,
                    "deprecatedAndHidden": False,
                    "field": f.name,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": f.child_relationship,
                    "restrictedDelete": False,
                }
            )
    return children


@functools.lru_cache(maxsize=256)
def describe(object_name: str, version: str) -> dict[str, Any]:
    obj = SCHEMA[object_name]
    result = _object_flags(obj, version)
    urls = result.pop("urls")
    result.update(
        actionOverrides=[],
        childRelationships=_child_relationships(obj),
        compactLayoutable=True,
        fields=[_field(obj, f) for f in obj.fields],
        listviewable=None,
        lookupLayoutable=None,
        namedLayoutInfos=[],
        networkScopeFieldName=None,
        recordTypeInfos=[],
        searchLayoutable=True,
        urls={**urls, "compactLayouts": f"{urls['describe']}/compactLayouts", "layouts": f"{urls['describe']}/layouts"},
    )
    return dict(sorted(result.items()))
