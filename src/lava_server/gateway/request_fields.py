"""What the gateway reads from a request body, whatever its encoding.

Dialects read the model, the streaming flag and output caps from a mapping of request
fields. :func:`request_fields` builds it from every encoding a provider accepts:

* ``application/json`` (or a body that starts with ``{``): the JSON object itself;
* ``multipart/form-data`` (``/audio/transcriptions``, ``/audio/translations``): the text form
  fields, as strings (``{"model": "whisper-1", "stream": "true"}``) in a :class:`FormFields`;
  file parts are skipped, never copied;
* no body, or a form, with ``?model=`` in the query string: that model.

Multipart parsing uses the maintained ``multipart`` package's incremental parser with bounds
(:data:`MAX_FORM_FIELDS` parts, :data:`MAX_FIELD_BYTES` per text field kept, 8 KiB of part
headers); a malformed form yields None (the request is forwarded, and priced only if the
model is known some other way).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import multipart  # type: ignore[import-untyped]
import orjson

__all__ = ["MAX_FIELD_BYTES", "MAX_FORM_FIELDS", "FormFields", "json_object", "request_fields"]

JSON_TYPES = ("application/json", "text/json")
MAX_FORM_FIELDS = 256
MAX_FIELD_BYTES = 64 * 1024
_MAX_PART_HEADER_BYTES = 8 * 1024


class FormFields(dict[str, Any]):
    """Text fields of a ``multipart/form-data`` body: read-only input to dialects. The body sent
    upstream is always the client's own bytes (dialects never rewrite a form)."""


def json_object(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The body as a JSON object, or None if it is not one."""
    if not body or not (content_type.startswith(JSON_TYPES) or body[:1] == b"{"):
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def request_fields(body: bytes, content_type: str, query: str = "") -> dict[str, Any] | None:
    """The request's fields for metering (see the module docstring); None if it has none.

    ``content_type`` is the full header value (a multipart boundary is read from it);
    ``query`` the upstream URL's query string without ``?``.
    """
    mime, options = multipart.parse_options_header(content_type or "")
    if mime == "multipart/form-data":
        fields: dict[str, Any] | None = _form_fields(body, options.get("boundary", ""))
    else:
        fields = json_object(body, mime)
    if fields is None and body:
        return None
    if not isinstance(fields, FormFields) and fields is not None:
        return fields  # JSON is forwarded as sent: a query-string model is not merged into it
    model = _query_model(query)
    if model is not None:
        fields = fields if fields is not None else FormFields()
        fields.setdefault("model", model)
    return fields


def _query_model(query: str) -> str | None:
    for key, value in parse_qsl(query, keep_blank_values=False):
        if key == "model" and value:
            return value
    return None


def _form_fields(body: bytes, boundary: str) -> FormFields | None:
    if not boundary:
        return None
    fields = FormFields()
    parser = multipart.PushMultipartParser(
        boundary,
        content_length=len(body),
        max_header_size=_MAX_PART_HEADER_BYTES,
        max_segment_count=MAX_FORM_FIELDS,
    )
    name: str | None = None
    value = bytearray()
    keep = False
    try:
        with parser:  # closing checks that the form was complete
            for event in parser.parse(body):
                if isinstance(event, multipart.MultipartSegment):
                    name, keep = event.name, event.filename is None
                    value.clear()
                elif event is None:
                    if keep and name and len(value) <= MAX_FIELD_BYTES and name not in fields:
                        fields[name] = value.decode("utf-8", "replace")
                    name, keep = None, False
                elif keep:
                    if len(value) + len(event) > MAX_FIELD_BYTES:
                        keep = False  # an oversized text field is forwarded, not read
                    else:
                        value += event
    except multipart.MultipartError:
        return None
    return fields
