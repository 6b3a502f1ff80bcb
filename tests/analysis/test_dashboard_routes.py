"""The dashboard and request-page routes through the real app (SQLite + DuckDB in
tmp_path) over ASGI: the owner's answers, the errors in words, another user's 404."""

from __future__ import annotations

import httpx
import pytest

from tests.in_process import signed_up


async def test_the_owner_reads_the_dashboard_and_pages_others_get_404(
    client: httpx.AsyncClient,
) -> None:
    ada, bob = await signed_up(client), await signed_up(client, "bob@example.com")
    made = await client.post("/api/datasets/demo", headers=ada, json={"rows": 600, "seed": 3})
    assert made.status_code == 201, made.text
    dataset = made.json()
    base = f"/api/datasets/{dataset['id']}"

    board = (await client.get(f"{base}/dashboard", headers=ada)).json()
    assert board["totals"]["requests"] == 600
    assert board["totals"]["spend_usd"] == pytest.approx(dataset["total_cost_usd"], abs=1e-6)
    assert board["range"] == {"from": dataset["first_ts"], "to": dataset["last_ts"]}
    model = board["breakdowns"]["model"]["rows"][0]["key"]
    one = await client.get(f"{base}/dashboard", headers=ada,
                           params=[("model", model), ("status", "ok"), ("top", "2")])  # fmt: skip
    assert one.status_code == 200, one.text
    narrowed = one.json()
    assert narrowed["filters"]["model"] == [model] and narrowed["filters"]["status"] == ["ok"]
    assert narrowed["totals"]["requests"] == sum(
        r["requests"] for r in narrowed["breakdowns"]["model"]["rows"])
    assert narrowed["totals"]["errors"] == 0
    assert len(narrowed["breakdowns"]["feature"]["rows"]) <= 2

    first = (await client.get(f"{base}/requests", headers=ada, params={"limit": 250 // 5})).json()
    assert (first["total"], len(first["rows"]), first["sort"]) == (600, 50, "time")
    second = (await client.get(f"{base}/requests", headers=ada,
                               params={"cursor": first["next_cursor"]})).json()  # fmt: skip
    assert second["rows"][0]["ts"] <= first["rows"][-1]["ts"]
    seen = {r["request_id"] for r in first["rows"]}
    assert seen.isdisjoint(r["request_id"] for r in second["rows"])

    for path in (f"{base}/dashboard", f"{base}/requests", f"{base}/dashboard?bucket=month"):
        answer = await client.get(path, headers=bob)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert (await client.get("/api/datasets/nope/dashboard", headers=ada)).status_code == 404


BAD = {  # query -> what the 422 says
    "bucket=month": "bucket: must be auto, hour, day, week (got 'month')",
    "top=0": "top: must be between 1 and 50 (got 0)",
    "from=soon": "from: not an ISO 8601 time (got 'soon')",
    "colour=red": "colour: unknown query parameter",
    "from=2026-11-02&to=2026-11-01": "from: must be before to",
    "limit=1000": "limit: must be between 1 and 200 (got 1000)",
    "sort=size": "sort: must be time or cost (got 'size')",
    "cursor=abc": "cursor: not a cursor this endpoint gave; start again without it",
}


async def test_a_bad_query_is_a_422_in_words(client: httpx.AsyncClient) -> None:
    ada = await signed_up(client)
    made = await client.post("/api/datasets/demo", headers=ada, json={"rows": 100})
    base = f"/api/datasets/{made.json()['id']}"
    for query, message in BAD.items():
        name = query.split("=")[0]
        route = "requests" if name in ("limit", "sort", "cursor") else "dashboard"
        answer = await client.get(f"{base}/{route}?{query}", headers=ada)
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "validation_error" and error["message"].startswith(message)
        assert error["details"][0]["loc"] == ["query", name]
