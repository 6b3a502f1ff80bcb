"""The upload report: what an import kept and what its source lacked, per field, as data;
the notes importers add to it; and where it is answered (upload, ingestion API)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest

from netra.telemetry.import_report import ABSENT, PRESENT, UNLOCKS, Note, notes_of
from netra.telemetry.importers import IMPORTERS, Importer, Parsed
from netra.telemetry.importers._base import rows_of, with_notes
from netra.telemetry.importers._json import items
from netra.telemetry.schema import Defaults
from tests.telemetry.helpers import open_store, record, write

CSV = (
    "ts,provider,model,input_tokens,output_tokens,feature,latency_ms,status\n"
    "2026-11-01T10:00:00Z,openai,gpt-4o,1000,100,triage,850,ok\n"
    "2026-11-01T10:01:00Z,openai,gpt-4o,1000,100,,900,ok\n"
    "2026-11-01T10:02:00Z,openai,gpt-4o,,,triage,,error\n"
    "2026-11-01T10:03:00Z,openai,gpt-4o,,,triage,1200,ok\n"
)


async def test_fields_say_how_much_of_the_file_carries_them(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", write(tmp_path, "calls.csv", CSV))
    report = result.report
    fields = {f.field: f for f in report.fields}
    assert list(fields) == list(PRESENT)
    assert (fields["feature"].present_pct, fields["feature"].note) == (75.0, None)
    assert fields["latency_ms"].present_pct == 75.0
    assert (fields["end_user"].present_pct, fields["end_user"].note) == (0.0, ABSENT["end_user"])
    assert fields["error_type"].note == (
        "no failed call (1) names its error type: failures cannot be told apart by cause"
    )
    assert fields["cached_input_tokens"].note is None  # no cached tokens is no lack
    assert report.kept == {"failed_calls_without_usage": 1, "usage_unknown": 1}
    assert notes_of(report)[:2] == report.notes[:2]
    assert f"end_user: {ABSENT['end_user']}" in notes_of(report)


async def test_an_added_file_is_reported_alone(tmp_path: Path) -> None:
    first = write(tmp_path, "first.csv", CSV)
    second = write(tmp_path, "second.csv", CSV.replace(",triage,", ",,").replace("850", ""))
    async with open_store(tmp_path) as store:
        await store.import_file("d", first)
        again = await store.import_file("d", second)
    fields = {f.field: f for f in again.report.fields}
    assert again.dataset_rows == 8 and again.report.kept["usage_unknown"] == 1
    assert (fields["feature"].present_pct, fields["feature"].note) == (0.0, ABSENT["feature"])
    assert fields["latency_ms"].present_pct == 50.0


def _read(file: BinaryIO, defaults: Defaults) -> Iterator[Parsed]:
    yield 1, Note(None, "exported by an old version of the tool")

    def mapper(item: dict[str, Any]) -> dict[str, Any]:
        note = Note("end_user", "not in this export: use the v2 API export")
        return with_notes(item, note) if "user" not in item else item

    yield from rows_of(items(file), mapper, defaults)


TEST_FORMAT = Importer(
    name="test-export", sniff=lambda head: False, read=_read,
    field_notes={"conversation_id": "this tool exports no sessions"},
)  # fmt: skip


async def test_importers_add_notes_per_field_and_for_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(IMPORTERS, TEST_FORMAT.name, TEST_FORMAT)
    lines = "".join(f'{{"ts": "2026-11-01T10:0{n}:00Z", "provider": "openai", "model": '
                    f'"gpt-4o", "input_tokens": 10, "output_tokens": 1}}\n' for n in range(3))
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", write(tmp_path, "x.jsonl", lines), "test-export")
    fields = {f.field: f.note for f in result.report.fields}
    assert result.rows == 3
    assert result.report.notes == ["exported by an old version of the tool"]  # once
    assert fields["end_user"] == "not in this export: use the v2 API export"
    assert fields["conversation_id"] == "this tool exports no sessions"
    assert fields["feature"] == ABSENT["feature"]


async def test_an_unpriced_model_is_named_with_the_reason(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        result = await store.insert_records("d", [
            record(model="acme-llm-9000"), record(provider="groq", model="whisper-large-v3"),
            record(model="gpt-4o", input_tokens=None, output_tokens=None),
        ])  # fmt: skip
    assert result.unpriced_models == ["acme-llm-9000", "whisper-large-v3"]
    assert result.report.notes[1:] == [
        "cost unknown for acme-llm-9000 (openai): not in the price catalogue",
        "cost unknown for whisper-large-v3 (groq): priced per audio hour, not per token",
    ]


async def test_the_upload_and_the_ingestion_api_answer_with_the_report(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/api/auth/signup", json={"email": "ada@example.com", "password": "pw-123456789"}
    )
    ada = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    upload = await client.post(
        "/api/datasets", headers=ada, files={"file": ("calls.csv", CSV.encode(), "text/csv")}
    )
    assert upload.status_code == 201, upload.text
    body = upload.json()
    assert body["rows"] == 4 and body["rejects"] == []
    assert body["kept"] == {"failed_calls_without_usage": 1, "usage_unknown": 1}
    assert {"field": "end_user", "present_pct": 0.0, "note": ABSENT["end_user"],
            "unlocks": UNLOCKS["end_user"]} in body["fields"]
    assert body["notes"][0].startswith("1 failed call without token usage")
    summary = (await client.get(f"/api/datasets/{body['id']}/summary", headers=ada)).json()
    assert summary["overview"]["usage_unknown_requests"] == 1
    records = [record(request_id="a", status="error", input_tokens=None, output_tokens=None),
               record(request_id="b", input_tokens=None, output_tokens=None)]  # fmt: skip
    ingested = await client.post(f"/api/ingest/{body['id']}/records", headers=ada, json=records)
    assert ingested.status_code == 202, ingested.text
    accepted = ingested.json()
    assert (accepted["accepted"], accepted["rejected"]) == (2, 0)
    assert accepted["kept"] == {"failed_calls_without_usage": 1, "usage_unknown": 1}
    fields = {f["field"]: f["present_pct"] for f in accepted["fields"]}
    assert (fields["request_id"], fields["latency_ms"]) == (100.0, 0.0)
