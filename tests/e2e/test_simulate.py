"""What-if replay through the real server: POST /api/datasets/{id}/simulate."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.client import signup
from tests.e2e.server import Server

RESULT_KEYS = {"description", "affected_requests", "current_cost_usd", "simulated_cost_usd",
               "savings_usd", "savings_usd_month", "savings_pct", "by_feature", "unpriced",
               "assumptions"}  # fmt: skip


async def test_simulate_replays_the_owners_dataset_only(
    http: httpx.AsyncClient, server: Server
) -> None:
    owner = await signup(http, server.ws_url, "owner")
    other = await signup(http, server.ws_url, "other")
    dataset_id = await owner.demo_dataset(rows=2000)
    summary = (await owner.get(f"/api/datasets/{dataset_id}/summary")).json()
    gpt_4o = next(r for r in summary["by_model"]["rows"] if r["key"] == "gpt-4o")
    scenario = {"model_map": {"gpt-4o": "gpt-4o-mini"}}

    response = await owner.post(f"/api/datasets/{dataset_id}/simulate", scenario)
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result) >= RESULT_KEYS
    # All of gpt-4o's traffic moves: what it cost is the summary's figure for gpt-4o.
    assert result["affected_requests"] == gpt_4o["requests"]
    assert result["current_cost_usd"] == pytest.approx(gpt_4o["spend_usd"], abs=1e-5)
    assert 0 < result["simulated_cost_usd"] < result["current_cost_usd"]
    assert sum(f["requests"] for f in result["by_feature"]) == gpt_4o["requests"]

    half = await owner.post(f"/api/datasets/{dataset_id}/simulate", {**scenario, "share_pct": 50})
    assert half.status_code == 200, half.text
    assert half.json()["affected_requests"] < result["affected_requests"]

    stolen = await other.post(f"/api/datasets/{dataset_id}/simulate", scenario)
    assert stolen.status_code == 404 and stolen.json()["error"]["code"] == "not_found"
    missing = await owner.post("/api/datasets/nope/simulate", scenario)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    anonymous = await http.post(f"/api/datasets/{dataset_id}/simulate", json=scenario)
    assert anonymous.status_code == 401


async def test_simulate_rejects_bad_scenarios_in_the_error_envelope(
    http: httpx.AsyncClient, server: Server
) -> None:
    owner = await signup(http, server.ws_url, "scenarios")
    dataset_id = await owner.demo_dataset(rows=500)
    path = f"/api/datasets/{dataset_id}/simulate"
    cases = [
        ({"model_map": {"gpt-4o": "gpt-4o-mini"}, "colour": "red"}, "colour"),
        ({"share_pct": 0}, "share_pct"),
        ({"batch": "sometimes"}, "batch"),
        ({"model_map": {"gpt-4o": "gpt-17-ultra"}}, "gpt-17-ultra"),
        ({"model_map": {"no-such-model": "gpt-4o-mini"}}, "no-such-model"),
    ]
    for body, named in cases:
        response = await owner.post(path, body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error" and named in error["message"], error
