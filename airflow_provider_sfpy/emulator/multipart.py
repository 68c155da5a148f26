"""Reading ``multipart/form-data`` request bodies as leniently as Salesforce: CRLF or bare-LF framing.

RFC 2046 frames parts with CRLF, and python-multipart (Starlette's parser) insists on it. Salesforce
accepts bare LF too, and clients rely on that: SalesforcePy's file insert writes its body from a
Python string template with ``\\n`` line breaks. We keep the real parser and normalise only the
*framing* of such bodies before it sees them; part contents are never touched.

Which framing a body uses is read from its first boundary line. A CRLF body goes to the parser
unchanged. In an LF body the delimiter is ``LF--boundary``, which by definition cannot occur inside a
part, so rewriting each delimiter's LF to CRLF and each header line's LF to CRLF changes framing
bytes only: a file full of LF, CRLF and lone CR bytes arrives byte-identical, however the body is
split into chunks on the wire (the rewriter holds back just enough bytes to see a delimiter that
straddles two chunks). A "delimiter" not followed by ``--`` or end of line is part content, as in
the RFC.

Any problem with the body is Salesforce's ``400 INVALID_MULTIPART_REQUEST`` (the code its REST API
answers for bad multipart bodies, e.g. "Multipart message must include a non-binary part",
forcedotcom/SalesforceMobileSDK-ReactNative#237; "Cannot include more than one binary part",
frankframework/frankframework#3917), never a 500 ``UNKNOWN_EXCEPTION``. Blob inserts:
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_insert_update_blob.htm
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from airflow_provider_sfpy.emulator.errors import ApiError

INVALID_MULTIPART = "INVALID_MULTIPART_REQUEST"
#: How far into a body its first boundary line must end for the framing to be detected.
DETECTION_LIMIT = 64 * 1024
#: Longest header line (or boundary padding) a part may have in an LF-framed body.
MAX_FRAMING_LINE = 16 * 1024

#: What follows ``--boundary`` on a boundary line: ``--`` (the closing one) or padding and a line end.
_BOUNDARY_LINE_END = re.compile(rb"(--)|[ \t]*(\r?\n)")
#: Bytes after ``--boundary`` that could still become a boundary line end once more bytes arrive.
_BOUNDARY_LINE_END_PREFIX = re.compile(rb"-?|[ \t]*\r?")


def invalid_multipart(message: str) -> ApiError:
    return ApiError(400, INVALID_MULTIPART, message)


class LfFramingToCrlf:
    """Rewrites the framing of an LF-framed multipart body to CRLF, chunk by chunk (see the module doc)."""

    def __init__(self, boundary: bytes) -> None:
        self._dash_boundary = b"--" + boundary
        self._delimiter = b"\n" + self._dash_boundary
        # The first boundary line has no line break before it: lend it one, so it is found like the
        # others (the parser skips the CRLF this puts before the body).
        self._pending = b"\n"
        self._in_headers = False
        self._closed = False

    def feed(self, data: bytes) -> bytes:
        """The CRLF-framed bytes that ``data`` completes; a possible delimiter's start is held back."""
        self._pending += data
        out = bytearray()
        while self._pending:
            if self._closed:  # the epilogue after the closing boundary: nothing to rewrite
                out += self._pending
                self._pending = b""
            elif self._in_headers:
                if not self._header_line(out):
                    break
            elif not self._content(out):
                break
        return bytes(out)

    def finish(self) -> bytes:
        """Whatever is held back at the end of the body (an incomplete body: the parser says so)."""
        rest, self._pending = self._pending, b""
        return rest

    def _header_line(self, out: bytearray) -> bool:
        end = self._pending.find(b"\n")
        if end < 0:
            if len(self._pending) > MAX_FRAMING_LINE:
                raise invalid_multipart(f"A part header line is longer than {MAX_FRAMING_LINE} bytes")
            return False
        line = self._pending[:end].removesuffix(b"\r")
        self._pending = self._pending[end + 1 :]
        out += line + b"\r\n"
        self._in_headers = bool(line)  # an empty line ends the headers; the content follows
        return True

    def _content(self, out: bytearray) -> bool:
        found = self._pending.find(self._delimiter)
        if found < 0:
            keep = len(self._delimiter) - 1  # may be the start of a delimiter the next chunk completes
            cut = max(0, len(self._pending) - keep)
            out += self._pending[:cut]
            self._pending = self._pending[cut:]
            return False
        after = found + len(self._delimiter)
        line_end = _BOUNDARY_LINE_END.match(self._pending, after)
        if line_end is None:
            rest = self._pending[after : after + MAX_FRAMING_LINE + 1]
            if len(rest) <= MAX_FRAMING_LINE and _BOUNDARY_LINE_END_PREFIX.fullmatch(rest):
                out += self._pending[:found]  # undecided until more bytes arrive
                self._pending = self._pending[found:]
                return False
            out += self._pending[: found + 1]  # "--boundary" followed by other bytes is content
            self._pending = self._pending[found + 1 :]
            return True
        out += self._pending[:found] + b"\r\n" + self._dash_boundary
        if line_end.group(1):
            out += b"--"
            self._closed = True
        else:
            out += b"\r\n"
            self._in_headers = True
        self._pending = self._pending[line_end.end() :]
        return True


def first_line_ending(head: bytes, boundary: bytes) -> bytes | None:
    """``b"\\r\\n"`` or ``b"\\n"``: how the first boundary line of a body starting with ``head`` ends;
    ``b""`` when that cannot tell (no boundary line, or a closing one); ``None`` while undecided."""
    start = head.find(b"--" + boundary)
    if start < 0:
        return None
    line_end = _BOUNDARY_LINE_END.match(head, start + len(boundary) + 2)
    if line_end is None:
        rest = head[start + len(boundary) + 2 :]
        return None if _BOUNDARY_LINE_END_PREFIX.fullmatch(rest) else b""
    return line_end.group(2) or b""


async def crlf_framed(chunks: AsyncIterator[bytes], boundary: bytes) -> AsyncGenerator[bytes, None]:
    """The body of ``chunks`` with CRLF framing: unchanged if it has it, rewritten if it uses bare LF."""
    head = b""
    ending: bytes | None = None
    async for chunk in chunks:
        head += chunk
        ending = first_line_ending(head, boundary)
        if ending is not None or len(head) > DETECTION_LIMIT:
            break
    if ending != b"\n":
        yield head
        async for chunk in chunks:
            yield chunk
        return
    rewriter = LfFramingToCrlf(boundary)
    yield rewriter.feed(head)
    async for chunk in chunks:
        yield rewriter.feed(chunk)
    yield rewriter.finish()


class _EndAwareParser(MultiPartParser):
    """Starlette's parser, noting whether the closing boundary was reached (python-multipart accepts a
    body cut short without a word, which would silently drop its last part)."""

    complete = False

    def on_end(self) -> None:
        self.complete = True


async def read_multipart_form(request: Request, *, max_part_size: int) -> FormData:
    """The parts of a ``multipart/form-data`` request, CRLF- or LF-framed; ``INVALID_MULTIPART_REQUEST`` if
    the body is not one. Text parts are capped at ``max_part_size`` bytes; file parts are spooled."""
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise invalid_multipart("Content-Type multipart/form-data must name the boundary (boundary=...)")
    shape = f"the body must start with --{boundary.decode('latin-1')} and end with --{boundary.decode('latin-1')}--"
    async with aclosing(request.stream()) as body, aclosing(crlf_framed(body, boundary)) as stream:
        parser = _EndAwareParser(request.headers, stream, max_part_size=max_part_size)
        try:
            form = await parser.parse()
        except (MultiPartException, FormParserError) as exc:
            raise invalid_multipart(f"Invalid multipart body: {_reason(exc)}; {shape}") from None
    if not parser.complete:
        await form.close()
        raise invalid_multipart(f"Multipart body ends before its closing boundary line; {shape}")
    return form


def _reason(exc: Exception) -> str:
    """What the parser found wrong (python-multipart's own words when Starlette wrapped them)."""
    source = exc.__cause__ if isinstance(exc.__cause__, FormParserError) else exc
    return str(getattr(source, "message", None) or source).rstrip(".")
