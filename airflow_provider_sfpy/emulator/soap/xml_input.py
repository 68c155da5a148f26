"""Parse an untrusted XML request body with no DTD, hence no entity expansion and no external fetch.

``defusedxml`` is not installed (in neither venv, and not a dependency), so this drives expat, the
parser behind the stdlib's ElementTree, with the guard defusedxml would add: a document type
declaration is refused as soon as it starts. Without a DTD there is no internal entity to expand
(no "billion laughs") and no external entity to resolve (no XXE); parameter entities are off as well.
SOAP 1.1 (section 3) forbids a DTD in a message anyway, so no legitimate request is refused.
Elements go into ElementTree's ``TreeBuilder``: callers get plain ``Element`` objects whose tags are
``{namespace}local``, as ``ElementTree.fromstring`` would give them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat

NAMESPACE_SEPARATOR = "}"
DOCTYPE_REFUSED = "DOCTYPE is not allowed: a SOAP message must not contain a document type declaration"


class XmlRejected(ValueError):
    """The body is not well-formed XML, or carries a document type declaration."""


class _DoctypeRefused(Exception):
    pass


def _qualified(name: str) -> str:
    """expat's ``namespace}local`` as ElementTree's ``{namespace}local`` (no namespace: unchanged)."""
    return "{" + name if NAMESPACE_SEPARATOR in name else name


def _refuse_doctype(*_: object) -> None:
    raise _DoctypeRefused


def parse_xml(data: bytes) -> ET.Element:
    """The document element of ``data``; ``XmlRejected`` says what is wrong with it otherwise."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=NAMESPACE_SEPARATOR)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.StartElementHandler = lambda name, attrs: builder.start(
        _qualified(name), {_qualified(key): value for key, value in attrs.items()}
    )
    parser.EndElementHandler = lambda name: builder.end(_qualified(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except _DoctypeRefused:
        raise XmlRejected(DOCTYPE_REFUSED) from None
    except expat.ExpatError as exc:
        raise XmlRejected(f"{expat.ErrorString(exc.code)} (line {exc.lineno}, column {exc.offset})") from None
    return builder.close()
