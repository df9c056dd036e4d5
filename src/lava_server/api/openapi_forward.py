"""The OpenAPI description of ``/v1/forward`` (served with the rest in ``/openapi.json``).

The gateway route takes any provider request and returns the provider's response unchanged, so
its bodies are described as opaque; what is ours is the target (``u``), the forward token's
carriers, the metadata parameters, the ``x-lava-request-id`` header and our error shape.
"""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _q(name: str, schema: dict[str, Any], required: bool = False, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


FORWARD_ERRORS = (
    "our error shape for a refusal before the provider was called (400 invalid_forward_target, "
    "unmetered_endpoint, unknown_model_price, invalid_metadata; 401 token errors; 402 insufficient_balance; "
    "403 upstream_not_allowed, provider_not_configured, connection_inactive; 413; 502/504 upstream failures). "
    "Provider errors pass through unchanged."
)


def _forward_op(method: str) -> dict[str, Any]:
    """One method of ``/v1/forward``: the provider's request in, the provider's response out."""
    op: dict[str, Any] = {
        "summary": f"Forward a {method} to a provider and bill it (docs/gateway.md)",
        "description": "The gateway sends the call to the provider URL in `u` with the provider key (managed, "
        "or the token's provider_key), meters the response and settles the charge. The body, query parameters "
        "(other than u, metadata and key) and headers (other than credentials and X-Lava-*) go to the provider "
        "as sent; the response (JSON, SSE stream or binary) comes back unchanged. Idempotency-Key is not "
        "interpreted here: it is passed to the provider.",
        "security": [{"forwardToken": []}],
        "parameters": [
            _q("u", {"type": "string", "format": "uri"}, True, "the provider URL (https, allow-listed host)"),
            _q("metadata", {"type": "string"}, description="JSON object of string pairs recorded on the request"),
            _q("key", {"type": "string"}, description="the forward token, for clients that can only send ?key="),
            {
                "name": "X-Lava-Metadata",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "JSON object of string pairs recorded on the request (or X-Lava-Metadata-<Key>)",
            },
        ],
        "responses": {
            "200": {
                "description": "the provider's response, unchanged; x-lava-request-id names the billing record",
                "headers": {"x-lava-request-id": {"schema": {"type": "string"}}},
                "content": {"*/*": {"schema": {}}},
            },
            "default": {"description": FORWARD_ERRORS, "content": {"application/json": {"schema": _ref("Error")}}},
        },
    }
    if method in ("POST", "PUT", "PATCH"):
        op["requestBody"] = {
            "required": False,
            "description": "the provider's own request body (JSON, or multipart for audio uploads)",
            "content": {"*/*": {"schema": {}}},
        }
    return op


SUFFIX = {
    "name": "suffix",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "ignored: SDKs that append their own path reach the same endpoint",
}


def forward_path_item(suffix: bool) -> dict[str, Any]:
    """The path item of ``/v1/forward`` (or ``/v1/forward/{suffix}``): every method it accepts."""
    item: dict[str, Any] = {}
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        op = _forward_op(method)
        if suffix:
            op["parameters"].append(SUFFIX)
        item[method.lower()] = op
    return item
