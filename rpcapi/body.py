"""Reading the body of a POST /rpc: its content type, its size, its deadline, its content coding.

    text = await read_body(request, max_bytes=1_048_576, timeout_s=5.0)   # or raises BodyError

The server reads bodies raw (aiohttp's auto_decompress is off) and decodes them here, so that
every way a body can be unreadable is a client error with a JSON-RPC answer: an unsupported
Content-Encoding or charset (415), a body or decoded body over the limit (413), one that does
not arrive within the deadline (408, the connection is then closed), a content coding that does
not decode, a malformed chunked transfer, or text that is not UTF-8 (400).
"""
from __future__ import annotations

import asyncio
import zlib

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

JSON_CONTENT_TYPES = {"application/json", "application/json-rpc", "application/jsonrequest"}
UTF8_CHARSETS = {"utf-8", "utf8"}
CODINGS = ("identity", "gzip", "x-gzip", "deflate")


class BodyError(Exception):
    """A body the server refuses: `status` is the HTTP status, `parse` says whether the body
    arrived but cannot be read (JSON-RPC Parse error) rather than being refused (Invalid
    Request), `close` whether the connection must be closed (the rest of the body may still come)."""

    def __init__(self, status: int, message: str, *, parse: bool = False, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.message, self.parse, self.close = status, message, parse, close


def content_codings(header: str) -> list[str]:
    """The codings of a Content-Encoding header in the order they were applied (identity dropped)."""
    codings = [item.strip().lower() for item in header.split(",") if item.strip()]
    unknown = [coding for coding in codings if coding not in CODINGS]
    if unknown:
        raise BodyError(415, f"unsupported Content-Encoding {unknown[0][:40]!r}: "
                             f"send identity, gzip or deflate")
    return [coding for coding in codings if coding != "identity"]


def decode(raw: bytes, codings: list[str], max_bytes: int) -> bytes:
    """`raw` with its content codings undone (last applied, first undone), at most `max_bytes`
    of output: a compressed body cannot expand past the limit a plain one has."""
    data = raw
    for coding in reversed(codings):
        data = _inflate(data, coding, max_bytes)
    return data


def _inflate(data: bytes, coding: str, max_bytes: int) -> bytes:
    if coding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif _zlib_header(data):
        wbits = zlib.MAX_WBITS
    else:
        wbits = -zlib.MAX_WBITS  # raw deflate, which some clients send as "deflate"
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise BodyError(400, f"the body is not valid {coding} ({exc})", parse=True) from None
    if len(out) > max_bytes:
        raise BodyError(413, f"the body decompresses to more than api.max_body_bytes ({max_bytes})")
    if not inflater.eof:
        raise BodyError(400, f"the {coding} body is truncated", parse=True)
    if inflater.unused_data:
        raise BodyError(400, f"the {coding} body has {len(inflater.unused_data)} bytes after its end", parse=True)
    return out


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def check_content_type(request: web.Request) -> None:
    if request.content_type not in JSON_CONTENT_TYPES:
        raise BodyError(415, "Content-Type must be application/json")
    charset = request.charset
    if charset is not None and charset.lower() not in UTF8_CHARSETS:
        raise BodyError(415, f"charset {charset[:40]!r} is not supported: JSON is UTF-8")


async def read_body(request: web.Request, *, max_bytes: int, timeout_s: float) -> str:
    """The decoded text of the request's body, or BodyError."""
    check_content_type(request)
    codings = content_codings(request.headers.get("Content-Encoding", ""))
    too_large = BodyError(413, f"request body larger than api.max_body_bytes ({max_bytes})")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    try:
        raw = await asyncio.wait_for(request.read(), timeout_s)
    except asyncio.TimeoutError:
        raise BodyError(408, f"the request body did not arrive within api.read_timeout_s ({timeout_s:g} s)",
                        close=True) from None
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    except RequestPayloadError as exc:  # a malformed chunked transfer, a body cut short, ...
        cause = exc.__cause__ or exc
        raise BodyError(400, f"malformed request body: {_one_line(cause)}", parse=True, close=True) from None
    data = decode(raw, codings, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, f"the body is not UTF-8 (byte {exc.start})", parse=True) from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
