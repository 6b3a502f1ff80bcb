"""Dataset routes through the real app (SQLite + DuckDB in tmp_path), over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.in_process import app_client, signed_up

CSV = (
    "ts,provider,model,input_tokens,output_tokens,feature\r\n"
    "2026-11-01T10:00:00Z,openai,gpt-4o,1000,100,triage\r\n"
    "2026-11-01T10:05:00Z,openai,gpt-4o,oops,100,triage\r\n"
)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(tmp_path, max_upload_bytes=4096) as http:
        yield http


async def test_upload_list_get_summary_delete(client: httpx.AsyncClient, tmp_path: Path) -> None:
    ada = await signed_up(client)
    answer = await client.post(
        "/api/datasets", headers=ada, files={"file": ("calls.csv", CSV.encode(), "text/csv")},
        data={"name": "November"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["name"], body["format"], body["rows"], body["rejected_rows"]) == (
        "November", "records-csv", 1, 1,
    )  # fmt: skip
    assert body["rejects"][0]["line"] == 3
    assert body["first_ts"] == "2026-11-01T10:00:00.000Z" and body["created_at"].endswith("Z")
    assert list((tmp_path / "uploads").iterdir()) == []  # the temp file is gone
    listed = (await client.get("/api/datasets", headers=ada)).json()
    assert [d["id"] for d in listed] == [body["id"]]
    summary = (await client.get(f"/api/datasets/{body['id']}/summary", headers=ada)).json()
    assert summary["overview"]["requests"] == 1
    assert summary["by_feature"]["rows"][0]["key"] == "triage"
    assert (await client.delete(f"/api/datasets/{body['id']}", headers=ada)).status_code == 204
    answer = await client.get(f"/api/datasets/{body['id']}", headers=ada)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


async def test_upload_limits_and_bad_bodies(client: httpx.AsyncClient) -> None:
    ada = await signed_up(client)
    big = CSV + "2026-11-01T10:00:00Z,openai,gpt-4o,1,1,x\r\n" * 200
    answer = await client.post(
        "/api/datasets", headers=ada, files={"file": ("b.csv", big.encode())}
    )
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"
    answer = await client.post("/api/datasets", headers=ada, data={"name": "no file"})
    assert answer.status_code == 400
    answer = await client.post(
        "/api/datasets", headers=ada, files={"file": ("a.csv", CSV.encode())},
        data={"format": "parquet"},
    )  # fmt: skip
    assert answer.status_code == 422
    assert (await client.post("/api/datasets", files={"file": ("a.csv", b"x")})).status_code == 401


async def test_demo_ingest_and_isolation(client: httpx.AsyncClient) -> None:
    ada, bob = await signed_up(client), await signed_up(client, "bob@example.com")
    demo = await client.post("/api/datasets/demo", headers=ada, json={"rows": 500, "seed": 3})
    assert demo.status_code == 201 and demo.json()["rows"] == 500
    dataset_id = demo.json()["id"]
    good = {"ts": "2026-11-20T00:00:00Z", "provider": "openai", "model": "gpt-4o",
            "input_tokens": 10, "output_tokens": 1, "request_id": "x1"}  # fmt: skip
    records = [good, {"ts": "bad"}]
    for _ in range(2):
        answer = await client.post(f"/api/ingest/{dataset_id}/records", headers=ada, json=records)
        assert answer.status_code == 202
        assert answer.json()["accepted"] == 1 and answer.json()["rejected"] == 1
        assert answer.json()["rejects"][0]["line"] == 1
    assert (await client.get(f"/api/datasets/{dataset_id}", headers=ada)).json()["rows"] == 501
    for method, path in (("GET", f"/api/datasets/{dataset_id}"),
                         ("GET", f"/api/datasets/{dataset_id}/summary"),
                         ("DELETE", f"/api/datasets/{dataset_id}")):  # fmt: skip
        assert (await client.request(method, path, headers=bob)).status_code == 404
    answer = await client.post(f"/api/ingest/{dataset_id}/records", headers=bob, json=records)
    assert answer.status_code == 404
    assert (await client.get("/api/datasets", headers=bob)).json() == []
    created = await client.post("/api/ingest/datasets", headers=bob, json={"name": "live"})
    assert created.status_code == 201 and created.json()["rows"] == 0
