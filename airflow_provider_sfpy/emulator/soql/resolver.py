"""Field paths (``Account.Owner.Email``) -> SQL columns, planning one LEFT JOIN per parent relationship.

The root object is aliased ``<prefix>0`` (``t0`` for the outermost query); each distinct relationship
path gets the next alias (``t1``, ...) and is joined once, however many selected fields, filters or
sort keys go through it. Subqueries get their own prefix, so a child query can refer to its parent's
root alias without the two colliding. Parent joins do not filter soft-deleted rows: only the root's
``IsDeleted`` decides whether a row is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ..schema import SCHEMA, FieldDef, SObjectDef
from .ast import FieldPath
from .errors import QueryErrors
from .sql import column, quote

ROOT_PREFIX = "t"
ROOT_ALIAS = f"{ROOT_PREFIX}0"

_NO_SUCH_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, be sure to "
    "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)
_BAD_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a custom "
    "relationship, be sure to append the '__r' after the custom relationship name. Please reference your "
    "WSDL or the describe call for the appropriate names."
)


@dataclass(frozen=True)
class Join:
    """One parent hop. ``polymorphic`` parents have no fixed type: it comes from each row's Id prefix."""

    alias: str
    relationship: str
    sobject: SObjectDef
    polymorphic: bool
    sql: str


@dataclass(frozen=True)
class ResolvedField:
    """A field and the record it lives on: the root (no joins) or the last of ``joins``."""

    field: FieldDef
    alias: str
    joins: tuple[Join, ...]

    @property
    def column(self) -> str:
        return column(self.alias, self.field.name)

    @property
    def path(self) -> str:
        """Canonical dotted path (``Account.Owner.Email``), whatever case the query used."""
        return ".".join([*(join.relationship for join in self.joins), self.field.name])


class Resolver:
    """Resolves the field paths of one query against its FROM object and accumulates the joins."""

    def __init__(self, root: SObjectDef, errors: QueryErrors, prefix: str = ROOT_PREFIX) -> None:
        self.root = root
        self.prefix = prefix
        self.root_alias = f"{prefix}0"
        self._errors = errors
        self._joins: dict[tuple[str, ...], Join] = {}

    @property
    def joins(self) -> list[Join]:
        """Joins in creation order, so each one only refers to aliases joined before it."""
        return list(self._joins.values())

    def resolve(self, path: FieldPath) -> ResolvedField:
        """The column behind ``path``; INVALID_FIELD (pointing at the path) when a name does not exist."""
        parts = self._without_object_prefix(path.parts)
        sobject, alias = self.root, self.root_alias
        key: tuple[str, ...] = ()
        hops: list[Join] = []
        for name in parts[:-1]:
            reference = sobject.relationship(name)
            if reference is None or not reference.relationship_name:
                raise self._errors.at(path.pos, "INVALID_FIELD", _BAD_RELATIONSHIP.format(name=name))
            key = (*key, reference.relationship_name.lower())
            join = self._joins.get(key) or self._add_join(key, reference, alias)
            hops.append(join)
            sobject, alias = join.sobject, join.alias
        field = sobject.field(parts[-1])
        if field is None:
            reason = _NO_SUCH_COLUMN.format(name=parts[-1], entity=sobject.name)
            raise self._errors.at(path.pos, "INVALID_FIELD", reason)
        return ResolvedField(field, alias, tuple(hops))

    def _without_object_prefix(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        """SOQL allows qualifying a field with the FROM object's name (``Contact.Name`` on Contact)."""
        first = parts[0]
        if len(parts) > 1 and first.lower() == self.root.name.lower() and self.root.relationship(first) is None:
            return parts[1:]
        return parts

    def _add_join(self, key: tuple[str, ...], reference: FieldDef, child_alias: str) -> Join:
        alias = f"{self.prefix}{len(self._joins) + 1}"
        targets = tuple(name for name in reference.reference_to if name in SCHEMA)
        if len(targets) == 1:
            parent, source = SCHEMA[targets[0]], quote(targets[0])
        else:
            parent, source = _name_entity(targets), _union_source(targets)
        on = f"{column(alias, 'Id')} = {column(child_alias, reference.name)}"
        join = Join(
            alias=alias,
            relationship=reference.relationship_name or reference.name,
            sobject=parent,
            polymorphic=len(targets) > 1,
            sql=f"LEFT JOIN {source} {alias} ON {on}",
        )
        self._joins[key] = join
        return join


@cache
def _name_entity(targets: tuple[str, ...]) -> SObjectDef:
    """Salesforce exposes a polymorphic parent as the ``Name`` entity: only the fields all targets share."""
    first, *others = (SCHEMA[name] for name in targets)
    shared = tuple(f for f in first.fields if all(other.field(f.name) for other in others))
    return SObjectDef(name="Name", label="Name", label_plural="Names", key_prefix="", fields=shared)


def _union_source(targets: tuple[str, ...]) -> str:
    """All target tables stacked on their shared columns, so one join finds the parent whatever its type."""
    shared = _name_entity(targets).fields
    selects = []
    for name in targets:
        sobject = SCHEMA[name]
        columns = ", ".join(quote(_canonical(sobject, f.name)) for f in shared)
        selects.append(f"SELECT {columns} FROM {quote(name)}")
    return "(" + " UNION ALL ".join(selects) + ")"


def _canonical(sobject: SObjectDef, name: str) -> str:
    found = sobject.field(name)
    return found.name if found else name
