"""/openapi.json documents both generations: real current-API responses validate against it,
under the ``current`` and the ``compat`` profile, and the 2025 answers still do."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest
from jsonschema.validators import Draft202012Validator

from tests.support.live import LiveServer

LEGACY = {"X-Lava-API-Version": "2025-04-28.v1"}


def validate(doc: dict[str, Any], schema: dict[str, Any], value: Any) -> None:
    full = {**schema, "components": doc["components"]}
    Draft202012Validator(full, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(value)


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def response_schema(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    responses = doc["paths"][path][method]["responses"]
    ok = next(v for k, v in responses.items() if k != "default")
    return dict(ok["content"]["application/json"]["schema"])


@pytest.mark.parametrize("profile", ["current", "compat"])
def test_current_generation_responses_match_the_document(lava_server: LiveServer, profile: str) -> None:
    doc = httpx.get(lava_server.url + "/openapi.json").json()
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name
    key = lava_server.merchant(f"openapi-{profile}")["secret_key"]
    if profile != "compat":
        lava_server.cli("merchants", "profile", "--secret-key", key, "--profile", profile)
    meter = lava_server.cli("meters", "create", "--secret-key", key, "--name", "Tokens", "--tier", "0:2")
    h = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=lava_server.url, headers=h) as c:
        customer = c.post("/v1/customers", json={"reference_id": "u1", "name": "Ada", "metadata": {"k": 1}})
        cid = customer.json()["customer_id"]
        c.post(
            "/v1/requests",
            json={
                "request_id": f"oa1{profile}",
                "customer_id": cid,
                "meter_slug": meter["meter_slug"],
                "input_tokens": 5,
            },
        )
        key_created = c.post("/v1/secret_keys", json={"name": "second"})
        cases = [
            ("/v1/customers", "post", customer),
            ("/v1/customers", "get", c.get("/v1/customers")),
            ("/v1/customers/{ref}", "get", c.get(f"/v1/customers/{cid}")),
            ("/v1/customers/{ref}", "patch", c.patch(f"/v1/customers/{cid}", json={"email": None})),
            ("/v1/customers/{ref}/subscription", "get", c.get(f"/v1/customers/{cid}/subscription")),
            ("/v1/meters", "get", c.get("/v1/meters")),
            ("/v1/meters/{meter_id}", "get", c.get(f"/v1/meters/{meter['meter_id']}")),
            ("/v1/secret_keys", "get", c.get("/v1/secret_keys")),
            ("/v1/secret_keys", "post", key_created),
            ("/v1/models", "get", c.get("/v1/models")),
            ("/v1/requests", "get", c.get("/v1/requests")),
            ("/v1/requests/{request_id}", "get", c.get(f"/v1/requests/oa1{profile}")),
            (
                "/v1/usage",
                "get",
                c.get("/v1/usage", params={"start": "2025-01-01T00:00:00Z", "end": "2025-01-02T00:00:00Z"}),
            ),
            ("/v1/meters/{meter_id}", "delete", c.delete(f"/v1/meters/{meter['meter_id']}")),
            ("/v1/customers/{ref}", "delete", c.delete(f"/v1/customers/{cid}")),
        ]
        legacy = c.get(f"/v1/requests/oa1{profile}", headers=LEGACY)
    for path, method, response in cases:
        assert response.status_code < 300, (path, method, response.text)
        validate(doc, response_schema(doc, path, method), response.json())
    # The 2025 answer to the same request still validates against the 2025 schema alone.
    validate(doc, ref("Request"), legacy.json())
    if profile == "current":  # the current shape alone, not the union
        validate(doc, ref("RequestCurrent"), cases[11][2].json())
        with pytest.raises(jsonschema.ValidationError):
            validate(doc, ref("RequestCurrent"), legacy.json())
