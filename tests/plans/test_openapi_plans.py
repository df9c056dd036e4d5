"""/openapi.json documents plans, bundles, subscriptions and test clocks: real responses validate
against it under the ``current`` and ``compat`` profiles."""

from __future__ import annotations

import uuid

import httpx
import pytest
from jsonschema.validators import Draft202012Validator

from tests.server.test_openapi_current import response_schema, validate
from tests.support.live import LiveServer


@pytest.mark.parametrize("profile", ["current", "compat"])
def test_plan_responses_match_the_document(lava_server: LiveServer, profile: str) -> None:
    doc = httpx.get(lava_server.url + "/openapi.json").json()
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    key = lava_server.merchant(f"openapi-plans-{uuid.uuid4().hex[:6]}")["secret_key"]
    if profile != "compat":
        lava_server.cli("merchants", "profile", "--secret-key", key, "--profile", profile)
    with httpx.Client(base_url=lava_server.url, headers={"Authorization": f"Bearer {key}"}) as c:
        plan = c.post(
            "/v1/plans",
            json={
                "name": "P",
                "period_amount": "0",
                "billing_interval": "week",
                "included_credit": "3",
                "credit_bundles": [{"name": "B", "cost": "1", "credit_amount": "2"}],
            },
        )
        pid = plan.json()["plan_id"]
        bid = plan.json()["credit_bundles"][0]["credit_bundle_id"]
        cid = c.post("/v1/customers", json={"reference_id": "u", "phone": "+14155550123"}).json()["customer_id"]
        created = c.post("/v1/subscriptions", json={"customer_id": cid, "plan_id": pid})
        sid = created.json()["subscription"]["subscription_id"]
        clock = c.post("/v1/test_clocks", json={"frozen_time": "2026-01-01T00:00:00Z"})
        cases = [
            ("/v1/plans", "post", plan),
            ("/v1/plans", "get", c.get("/v1/plans")),
            ("/v1/plans/{plan_id}", "get", c.get(f"/v1/plans/{pid}")),
            ("/v1/plans/{plan_id}", "patch", c.patch(f"/v1/plans/{pid}", json={"name": "Q"})),
            ("/v1/credit_bundles", "get", c.get("/v1/credit_bundles")),
            ("/v1/credit_bundles/{bundle_id}", "get", c.get(f"/v1/credit_bundles/{bid}")),
            ("/v1/subscriptions", "post", created),
            ("/v1/subscriptions", "get", c.get("/v1/subscriptions")),
            ("/v1/subscriptions/{sub_id}", "get", c.get(f"/v1/subscriptions/{sid}")),
            (
                "/v1/subscriptions/{sub_id}",
                "patch",
                c.patch(f"/v1/subscriptions/{sid}", json={"auto_top_up_bundle_id": bid}),
            ),
            ("/v1/subscriptions/{sub_id}", "delete", c.delete(f"/v1/subscriptions/{sid}")),
            ("/v1/customers/{ref}/subscription", "get", c.get(f"/v1/customers/{cid}/subscription")),
            ("/v1/test_clocks", "post", clock),
            ("/v1/test_clocks/{clock_id}", "get", c.get(f"/v1/test_clocks/{clock.json()['test_clock_id']}")),
        ]
        for path, method, resp in cases:
            assert resp.status_code in (200, 201), (path, method, resp.text)
            validate(doc, response_schema(doc, path, method), resp.json())
