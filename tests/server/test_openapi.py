"""/openapi.json matches the implementation: real responses validate against its schemas."""

from __future__ import annotations

import re

import httpx
import jsonschema
from jsonschema.validators import Draft202012Validator

from tests.support.live import LiveServer


def validator(doc: dict, name: str) -> Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_openapi_document_is_valid_and_matches_responses(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    doc = httpx.get(lava_server.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name
    key = merchant["secret_key"]
    con = lava_server.cli("connections", "create", "--secret-key", key, "--credit", "3")
    h = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=lava_server.url, headers=h) as c:
        cs = c.post("/v1/checkout_sessions", json={"checkout_mode": "onboarding", "origin_url": "https://a.example"})
        cases = [
            ("CheckoutSession", cs),
            ("CheckoutSession", c.get(f"/v1/checkout_sessions/{cs.json()['checkout_session_id']}")),
            ("CheckoutSessionList", c.get("/v1/checkout_sessions")),
            ("Connection", c.get(f"/v1/connections/{con['connection_id']}")),
            ("ConnectionList", c.get("/v1/connections")),
            ("RequestList", c.get("/v1/requests")),
            ("Usage", c.get("/v1/usage", params={"start": "2025-01-01T00:00:00Z", "end": "2025-01-02T00:00:00Z"})),
            ("Error", c.get("/v1/connections/con_test_01ARZ3NDEKTSV4RRFFQ69G5FAV")),
            ("Error", c.get("/v1/connections", params={"limit": "0"})),
            ("DeleteResult", c.delete(f"/v1/connections/{con['connection_id']}")),
        ]
    for name, response in cases:
        validator(doc, name).validate(response.json())
    # Every path the document lists is served (no 404 from the router).
    for path, ops in doc["paths"].items():
        concrete = (
            path.replace("{checkout_session_id}", cs.json()["checkout_session_id"])
            .replace("{connection_id}", con["connection_id"])
            .replace("{request_id}", "req_test_01ARZ3NDEKTSV4RRFFQ69G5FAV")
        )
        concrete = re.sub(r"\{[a-z_]+\}", "unknown_id", concrete)  # any other path parameter
        for method in ops:
            r = httpx.request(
                method.upper(), lava_server.url + concrete, headers=h, json={} if method == "post" else None
            )
            assert r.json().get("error", {}).get("code") != "method_not_allowed", (method, path)
            assert not (r.status_code == 404 and "no route" in r.text), (method, path)
    # a schema violation would be caught: prove the validator is not vacuous
    bad = cs.json() | {"checkout_mode": "bogus"}
    try:
        validator(doc, "CheckoutSession").validate(bad)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("schema accepted an invalid checkout_mode")
