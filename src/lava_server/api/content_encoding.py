"""Compressed request bodies (``Content-Encoding``), decoded once at the edge with a bound.

aiohttp's own request decompression is turned off (``auto_decompress=False`` in app.py): a
corrupt body surfaced from it as a 500 with tracebacks, and a body it decoded kept its
``Content-Encoding`` header on the way upstream. Here, before any handler or authentication:

* ``gzip`` / ``x-gzip`` / ``deflate`` (zlib or raw), ``br`` (the ``brotli`` package) and
  ``zstd`` (the ``zstandard`` package), in the order the header lists them, are decoded into
  at most the server's request body limit: larger → 413 ``payload_too_large``; a body that
  does not decode → 400 ``invalid_content_encoding``;
* any other coding → 415 ``unsupported_content_encoding``;
* handlers then see the decoded body and no ``Content-Encoding`` (nor a stale
  ``Content-Length``), so ``/v1/forward`` sends the provider exactly what it meters.
"""

from __future__ import annotations

import asyncio
import io
import zlib
from typing import Final

import brotli  # type: ignore[import-untyped]
import zstandard
from aiohttp import web
from aiohttp.streams import StreamReader
from multidict import CIMultiDict

from ..errors import ApiError

__all__ = ["SUPPORTED_CODINGS", "decode_body", "decoded_request", "parse_codings"]

SUPPORTED_CODINGS: Final = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd"})
_STEP = 64 * 1024  # compressed bytes fed per step, so output is checked against the bound as it grows


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the decoded request body is larger than {limit} bytes")


def _invalid(coding: str) -> ApiError:
    return ApiError(400, "invalid_content_encoding", f"the request body is not valid {coding} data")


def parse_codings(header: str) -> list[str]:
    """The codings of a ``Content-Encoding`` header, as applied (first listed = applied first)."""
    codings = [part.strip().lower() for part in header.split(",") if part.strip()]
    codings = [c for c in codings if c != "identity"]
    for coding in codings:
        if coding not in SUPPORTED_CODINGS:
            raise ApiError(
                415,
                "unsupported_content_encoding",
                f"Content-Encoding {coding!r} is not supported; use gzip, deflate, br or zstd",
            )
    return codings


def _zlib(data: bytes, coding: str, limit: int) -> bytes:
    out = bytearray()
    rest = data
    wbits = 47 if coding in ("gzip", "x-gzip") else 15  # 47: gzip with a header; 15: zlib
    if coding == "deflate" and data[:1] and data[0] & 0x0F != 8:
        wbits = -15  # "deflate" sent raw, without the zlib wrapper (as many clients do)
    while True:
        decomp = zlib.decompressobj(wbits)
        pending = rest
        while pending or not decomp.eof:
            try:
                out += decomp.decompress(pending, limit + 1 - len(out))
            except zlib.error as exc:
                raise _invalid(coding) from exc
            if len(out) > limit:
                raise _too_large(limit)
            pending = decomp.unconsumed_tail
            if decomp.eof:
                break
            if not pending:
                raise _invalid(coding)  # the data ended before the stream did
        rest = decomp.unused_data
        if not rest or wbits != 47:  # gzip may hold several members, one after another
            return bytes(out)


def _brotli(data: bytes, limit: int) -> bytes:
    decomp = brotli.Decompressor()
    out = bytearray()
    try:
        for start in range(0, len(data), _STEP):
            out += decomp.process(data[start : start + _STEP], output_buffer_limit=limit + 1 - len(out))
            while len(out) <= limit and not decomp.can_accept_more_data():
                out += decomp.process(b"", output_buffer_limit=limit + 1 - len(out))
            if len(out) > limit:
                raise _too_large(limit)
    except brotli.error as exc:
        raise _invalid("br") from exc
    if not decomp.is_finished():
        raise _invalid("br")
    return bytes(out)


def _zstd(data: bytes, limit: int) -> bytes:
    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True) as reader:
            out = reader.read(limit + 1)
    except zstandard.ZstdError as exc:
        raise _invalid("zstd") from exc
    if len(out) > limit:
        raise _too_large(limit)
    if not out and data:
        raise _invalid("zstd")
    return out


def decode_body(data: bytes, codings: list[str], limit: int) -> bytes:
    """Undo ``codings`` (as :func:`parse_codings` returns them), never producing more than ``limit``
    bytes. Raises ApiError 400 / 413 as the module docstring says."""
    for coding in reversed(codings):
        if not data:
            return data
        if coding == "br":
            data = _brotli(data, limit)
        elif coding == "zstd":
            data = _zstd(data, limit)
        else:
            data = _zlib(data, coding, limit)
    return data


async def decoded_request(request: web.Request, limit: int, timeout_s: float) -> web.Request:
    """``request`` itself when its body is not encoded; else a clone that carries the decoded body.

    The encoded body must arrive within ``timeout_s`` (408 ``request_timeout``)."""
    header = request.headers.get("Content-Encoding")
    if header is None:
        return request
    codings = parse_codings(header)
    raw = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.content.iter_chunked(_STEP):
                raw += chunk
                if len(raw) > limit:
                    raise ApiError(413, "payload_too_large", f"request body is larger than {limit} bytes")
    except TimeoutError:
        raise ApiError(408, "request_timeout", "the request body did not arrive in time") from None
    body = decode_body(bytes(raw), codings, limit) if codings else bytes(raw)
    headers = CIMultiDict(request.headers)
    headers.popall("Content-Encoding", None)
    headers.popall("Content-Length", None)
    headers.popall("Transfer-Encoding", None)
    headers["Content-Length"] = str(len(body))
    clone = request.clone(headers=headers)
    # A fresh in-memory payload holding the decoded bytes; its limit is above the body, so it
    # never pauses the connection (aiohttp has no public way to replace a request's body).
    payload = StreamReader(request.protocol, max(len(body), 2**16), loop=asyncio.get_running_loop())
    payload.feed_data(body)
    payload.feed_eof()
    clone._payload = payload
    return clone
