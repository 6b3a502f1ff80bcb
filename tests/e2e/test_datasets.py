"""Datasets through the real server: upload, ingestion API with API keys (idempotent by
request_id), the summary, and one user's data closed to another."""

from __future__ import annotations

import httpx

from tests.e2e.client import User, signup
from tests.e2e.server import Server

CSV = (
    "ts,provider,model,input_tokens,output_tokens,cost_usd,feature,latency_ms,status\r\n"
    "2026-11-01T10:00:00Z,openai,gpt-4o,1000,100,0.004,triage,800,ok\r\n"
    "2026-11-02T10:00:00Z,anthropic,claude-sonnet-4-5,2000,100,,chat,1200,error\r\n"
    "2026-11-02T11:00:00Z,openai,gpt-4o,x,100,,triage,,ok\r\n"
)


def _record(request_id: str, tokens: int = 1000) -> dict[str, object]:
    return {"ts": "2026-11-03T10:00:00Z", "provider": "openai", "model": "gpt-4o",
            "input_tokens": tokens, "output_tokens": 100, "request_id": request_id}  # fmt: skip


async def _api_key(user: User) -> dict[str, str]:
    response = await user.post("/api/api-keys", {"name": "collector"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


async def test_upload_ingest_summary_and_isolation(server: Server, http: httpx.AsyncClient) -> None:
    ann, bob = await signup(http, server.ws_url, "ann"), await signup(http, server.ws_url, "bob")
    upload = await http.post(
        "/api/datasets", headers=ann.auth, files={"file": ("calls.csv", CSV.encode())}
    )
    assert upload.status_code == 201, upload.text
    dataset = upload.json()
    assert (dataset["rows"], dataset["rejected_rows"]) == (2, 1)
    assert dataset["rejects"] == [
        {"line": 4, "reason": "input_tokens: must be a whole number ≥ 0 (got 'x')"}
    ]
    dataset_id = dataset["id"]

    # The ingestion API with an API key: a re-sent batch is accepted and never re-counted.
    key = await _api_key(ann)
    batch = [_record("q1"), _record("q2"), {"ts": "later"}]
    for _ in range(2):
        answer = await http.post(f"/api/ingest/{dataset_id}/records", headers=key, json=batch)
        assert answer.status_code == 202, answer.text
        assert (answer.json()["accepted"], answer.json()["rejected"]) == (2, 1)
    again = await http.post(
        f"/api/ingest/{dataset_id}/records", headers=key, json=[_record("q2"), _record("q3")]
    )
    assert again.json()["accepted"] == 2
    assert (await ann.get(f"/api/datasets/{dataset_id}")).json()["rows"] == 5

    summary = (await ann.get(f"/api/datasets/{dataset_id}/summary")).json()
    overview = summary["overview"]
    assert overview["requests"] == 5
    assert overview["input_tokens"] == 1000 + 2000 + 3 * 1000
    assert overview["error_rate"] == 0.2
    assert [row["key"] for row in summary["by_day"]["rows"]] == [
        "2026-11-01", "2026-11-02", "2026-11-03"]  # fmt: skip
    assert {row["key"] for row in summary["by_provider"]["rows"]} == {"openai", "anthropic"}
    assert {row["key"] for row in summary["by_model"]["rows"]} == {"gpt-4o", "claude-sonnet-4-5"}
    reported = summary["reported_cost"]
    assert (reported["requests"], reported["reported_usd"]) == (1, 0.004)
    assert reported["difference_usd"] == round(reported["computed_usd"] - 0.004, 6)

    # Bob, with his own API key, can neither read, summarise, ingest into nor delete it.
    bob_key = await _api_key(bob)
    for path in (f"/api/datasets/{dataset_id}", f"/api/datasets/{dataset_id}/summary"):
        response = await bob.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    for headers in (bob.auth, bob_key):
        answer = await http.post(
            f"/api/ingest/{dataset_id}/records", headers=headers, json=[_record("b1")]
        )
        assert answer.status_code == 404, answer.text
    assert (await http.delete(f"/api/datasets/{dataset_id}", headers=bob.auth)).status_code == 404
    assert (await bob.get("/api/datasets")).json() == []
    assert (await ann.get(f"/api/datasets/{dataset_id}")).json()["rows"] == 5
