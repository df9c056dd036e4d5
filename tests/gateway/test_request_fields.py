"""Request fields from every encoding: JSON, multipart/form-data (bounded), and ``?model=``."""

from __future__ import annotations

import httpx

from lava_server.gateway.request_fields import MAX_FIELD_BYTES, MAX_FORM_FIELDS, FormFields, request_fields


def form(data: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None) -> tuple[bytes, str]:
    req = httpx.Request(
        "POST", "http://x", data=data, files=files or {"file": ("a.wav", b"RIFF" + b"\0" * 64, "audio/wav")}
    )
    return req.read(), req.headers["content-type"]


def test_multipart_text_fields_are_read_and_files_skipped() -> None:
    body, ctype = form({"model": "whisper-1", "stream": "true", "response_format": "json"})
    fields = request_fields(body, ctype)
    assert isinstance(fields, FormFields)
    assert fields == {"model": "whisper-1", "stream": "true", "response_format": "json"}


def test_query_model_fills_a_form_but_never_a_json_body() -> None:
    body, ctype = form({})
    assert request_fields(body, ctype, "model=whisper-1&x=1") == {"model": "whisper-1"}
    assert request_fields(b"", "", "model=m") == {"model": "m"}
    json_fields = request_fields(b'{"messages": []}', "application/json", "model=m")
    assert json_fields == {"messages": []}  # the JSON is forwarded as sent


def test_oversized_text_field_is_skipped_not_read() -> None:
    body, ctype = form({"model": "whisper-1", "prompt": "x" * (MAX_FIELD_BYTES + 1)})
    assert request_fields(body, ctype) == {"model": "whisper-1"}


def test_too_many_parts_or_a_broken_form_yield_nothing() -> None:
    body, ctype = form({f"f{i}": "v" for i in range(MAX_FORM_FIELDS + 1)})
    assert request_fields(body, ctype) is None
    assert (
        request_fields(
            b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nw', "multipart/form-data; boundary=b"
        )
        is None
    )
    assert request_fields(b"junk", "multipart/form-data") is None  # no boundary


def test_json_body() -> None:
    assert request_fields(b'{"model": "gpt-4o"}', "application/json; charset=utf-8") == {"model": "gpt-4o"}
    assert request_fields(b"[1]", "application/json") is None
