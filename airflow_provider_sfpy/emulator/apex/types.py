"""Apex's static types, as far as the emulator's subset goes: primitives, sObjects, ``List<T>`` and
the System exceptions.

The checker needs them for the compile errors Salesforce reports (``Invalid type: Acount``,
``Illegal assignment from String to Integer``) and the interpreter needs them for semantics that
depend on the declared type: integer division and overflow, the Integer-to-Decimal widening on
assignment, a query assigned to a single sObject. Names print as Salesforce prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from airflow_provider_sfpy.emulator.schema import FieldDef, SObjectDef, lookup_sobject

from .errors import CompileError
from .syntax import TypeRef

Kind = Literal["primitive", "sobject", "list", "exception", "object", "null", "void"]


@dataclass(frozen=True)
class ApexType:
    name: str
    kind: Kind
    element: ApexType | None = None
    sobject: SObjectDef | None = field(default=None, compare=False, hash=False, repr=False)

    def __str__(self) -> str:
        return self.name

    @property
    def is_numeric(self) -> bool:
        return self in NUMERIC_RANK

    @property
    def is_sobject_or_list(self) -> bool:
        element = self.element
        return self.kind == "sobject" or (self.kind == "list" and element is not None and element.kind == "sobject")


def _primitive(name: str) -> ApexType:
    return ApexType(name, "primitive")


INTEGER = _primitive("Integer")
LONG = _primitive("Long")
DECIMAL = _primitive("Decimal")
DOUBLE = _primitive("Double")
STRING = _primitive("String")
BOOLEAN = _primitive("Boolean")
ID = _primitive("Id")
DATE = _primitive("Date")
DATETIME = _primitive("Datetime")
BLOB = _primitive("Blob")
OBJECT = ApexType("Object", "object")
NULL = ApexType("null", "null")
VOID = ApexType("void", "void")
#: The base of every exception; it cannot be constructed itself.
EXCEPTION = ApexType("Exception", "exception")

PRIMITIVES = {t.name.lower(): t for t in (INTEGER, LONG, DECIMAL, DOUBLE, STRING, BOOLEAN, ID, DATE, DATETIME, BLOB)}
#: Widening order of numbers: Integer -> Long -> Decimal/Double (a Decimal wins over a Double).
NUMERIC_RANK = {INTEGER: 0, LONG: 1, DOUBLE: 2, DECIMAL: 3}
SYSTEM_EXCEPTIONS = (
    "AssertException",
    "DmlException",
    "IllegalArgumentException",
    "JSONException",
    "LimitException",
    "ListException",
    "MathException",
    "NullPointerException",
    "QueryException",
    "SObjectException",
    "StringException",
    "TypeException",
)
EXCEPTIONS = {name.lower(): ApexType(name, "exception") for name in SYSTEM_EXCEPTIONS}
#: Exceptions user code may not construct (the platform raises them).
NOT_CONSTRUCTABLE = frozenset({"Exception", "LimitException", "AssertException"})
#: Reserved words of the generic collection syntax; only List is implemented.
COLLECTIONS = frozenset({"list", "set", "map"})


def list_of(element: ApexType) -> ApexType:
    return ApexType(f"List<{element.name}>", "list", element=element)


def sobject_type(obj: SObjectDef) -> ApexType:
    return ApexType(obj.name, "sobject", sobject=obj)


def lookup(name: str) -> ApexType | None:
    """A non-generic type by (case-insensitive) name, with ``System.`` allowed on exceptions."""
    lowered = name.lower()
    if lowered.startswith("system.") and lowered[7:] in EXCEPTIONS:
        lowered = lowered[7:]
    if lowered in PRIMITIVES:
        return PRIMITIVES[lowered]
    if lowered == "object":
        return OBJECT
    if lowered == "exception":
        return EXCEPTION
    if lowered in EXCEPTIONS:
        return EXCEPTIONS[lowered]
    obj = lookup_sobject(name)
    return sobject_type(obj) if obj is not None else None


def resolve(ref: TypeRef) -> ApexType:
    """The type ``ref`` names, or the compile error Salesforce gives for it."""
    if ref.name.lower() in COLLECTIONS:
        if ref.name.lower() != "list" or len(ref.args) != 1:
            raise CompileError(f"Invalid type: {ref.text}", ref.pos)
        return list_of(resolve(ref.args[0]))
    found = lookup(ref.name)
    if found is None:
        raise CompileError(f"Invalid type: {ref.name}", ref.pos)
    return found


def field_type(f: FieldDef) -> ApexType:
    """How Apex sees an sObject field: every non-integer number is a Decimal, lookups are Ids."""
    if f.type in ("id", "reference"):
        return ID
    if f.type == "boolean":
        return BOOLEAN
    if f.type == "int":
        return INTEGER
    if f.type in ("double", "currency", "percent"):
        return DECIMAL
    if f.type == "date":
        return DATE
    if f.type == "datetime":
        return DATETIME
    if f.type == "base64":
        return BLOB
    return STRING


def relationship_type(f: FieldDef) -> ApexType | None:
    """The parent sObject type behind a reference field's relationship (``Contact.Account``)."""
    target = lookup_sobject(f.reference_to[0]) if f.reference_to else None
    return sobject_type(target) if target is not None else None


def widen(a: ApexType, b: ApexType) -> ApexType:
    """The type two numbers are computed in."""
    return a if NUMERIC_RANK[a] >= NUMERIC_RANK[b] else b


def assignable(target: ApexType, source: ApexType) -> bool:
    """Whether a ``source`` value may be stored where a ``target`` is declared (implicit conversions)."""
    if source == VOID or target == VOID:
        return False
    if source == NULL or target in (source, OBJECT):
        return True
    if target.is_numeric and source.is_numeric:
        # Narrowing (Decimal to Integer, Long to Integer) needs an explicit conversion in Apex.
        widening = source in (INTEGER, LONG) and NUMERIC_RANK[target] >= NUMERIC_RANK[source]
        return widening or {target, source} <= {DECIMAL, DOUBLE}
    if {target, source} <= {STRING, ID}:
        return True
    if target == EXCEPTION:
        return source.kind == "exception"
    return False


def equality_comparable(a: ApexType, b: ApexType) -> bool:
    """Whether ``a == b`` compiles."""
    if NULL in (a, b) or OBJECT in (a, b) or a == b:
        return VOID not in (a, b)
    if a.is_numeric and b.is_numeric:
        return True
    if {a, b} <= {STRING, ID}:
        return True
    return a.kind == b.kind == "exception"


def orderable(t: ApexType) -> bool:
    """Whether ``<`` and friends apply to values of ``t``."""
    return t.is_numeric or t in (STRING, ID, DATE, DATETIME)
