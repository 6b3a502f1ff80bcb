"""The upload's preview (`POST /api/datasets/preview`) through the real app, over ASGI:
the format, each column's field, the first rows as they would be stored, and nothing
kept; and the refusal of a file with no usable row, with what to do."""

from __future__ import annotations

from pathlib import Path

import httpx

from netra.telemetry.import_report import UNLOCKS
from netra.telemetry.importers._columns import UNKNOWN
from netra.telemetry.preview import PREVIEW_BYTES, SAMPLE_ROWS
from tests.in_process import signed_up

# A CSV as people export it: usual names, no provider column, two vendors, a column of
# their own (team).
NATURAL = (
    "timestamp,model,prompt_tokens,completion_tokens,latency_s,feature,team\n"
    "2026-11-01T10:00:00Z,gpt-4o,1000,100,1.5,support,red\n"
    "2026-11-01T10:01:00Z,claude-sonnet-4-5,2000,200,2.25,search,blue\n"
)
FIXTURES = Path(__file__).resolve().parent / "fixtures"


async def _preview(client: httpx.AsyncClient, headers: dict[str, str], content: bytes,
                   name: str = "usage.csv", **form: str) -> httpx.Response:
    return await client.post("/api/datasets/preview", headers=headers,
                             files={"file": (name, content)}, data=form)


async def test_the_preview_maps_each_column_and_prices_the_first_rows(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    ada = await signed_up(client)
    answer = await _preview(client, ada, NATURAL.encode())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["format"], body["rows"], body["rejected"], body["truncated"]) == (
        "records-csv", 2, 0, False)
    columns = {c["name"]: (c["field"], c["note"], c["scale"]) for c in body["columns"]}
    assert columns == {
        "timestamp": ("ts", None, 1.0), "model": ("model", None, 1.0),
        "prompt_tokens": ("input_tokens", None, 1.0),
        "completion_tokens": ("output_tokens", None, 1.0),
        "latency_s": ("latency_ms", None, 1000.0), "feature": ("feature", None, 1.0),
        "team": (None, UNKNOWN, 1.0),
    }
    first, second = body["sample"]
    assert (first["provider"], first["model"], first["input_tokens"]) == ("openai", "gpt-4o", 1000)
    assert (second["provider"], second["latency_ms"]) == ("anthropic", 2250.0)
    assert first["ts"] == "2026-11-01T10:00:00.000Z" and first["metadata"] == {"team": "red"}
    assert first["cost_usd"] > 0 and second["cost_usd"] > 0  # both vendors priced
    assert any("inferred from the model" in note and "claude-sonnet-4-5 → anthropic" in note
               for note in body["notes"])
    assert any("'team'" in note for note in body["notes"])
    fields = {f["field"]: f for f in body["fields"]}
    assert fields["feature"]["present_pct"] == 100.0
    assert (fields["prompt_hash"]["present_pct"], fields["prompt_hash"]["unlocks"]) == (
        0.0, UNLOCKS["prompt_hash"])
    # nothing stored: no dataset, and the head's temp file is gone
    assert (await client.get("/api/datasets", headers=ada)).json() == []
    assert list((tmp_path / "uploads").iterdir()) == []


async def test_the_preview_of_a_head_reads_whole_lines_only(client: httpx.AsyncClient) -> None:
    ada = await signed_up(client)
    rows = "".join(f"2026-11-01T10:00:00Z,{('openai', 'anthropic')[n % 2]},"
                   f"{('gpt-4o', 'claude-sonnet-4-5')[n % 2]},{1000 + n},100,support\n"
                   for n in range(2000))
    whole = ("ts,provider,model,input_tokens,output_tokens,feature\n" + rows).encode()
    answer = await _preview(client, ada, whole[:PREVIEW_BYTES])  # as the page sends it
    body = answer.json()
    assert answer.status_code == 200, answer.text
    lines = whole[:PREVIEW_BYTES].count(b"\n") - 1  # the header, and no partial last line
    assert (body["truncated"], body["rows"], body["rejected"]) == (True, lines, 0)
    assert [row["input_tokens"] for row in body["sample"]] == [1000 + n for n in range(SAMPLE_ROWS)]
    # the whole file may be sent too: only its head is read
    answer = await _preview(client, ada, whole)
    assert (answer.json()["rows"], answer.json()["truncated"]) == (lines, True)


async def test_a_cut_json_document_previews_its_whole_items(client: httpx.AsyncClient) -> None:
    ada = await signed_up(client)
    document = (FIXTURES / "langfuse" / "observations-v1.json").read_bytes()
    assert len(document) > PREVIEW_BYTES
    body = (await _preview(client, ada, document[:PREVIEW_BYTES], "obs.json")).json()
    assert body["format"] == "langfuse-observations" and body["columns"] is None
    assert body["rows"] > 0 and body["rejects"] == []  # the item the cut broke is no reject
    assert body["sample"][0]["model"]


async def test_json_lines_keys_are_mapped_like_csv_columns(client: httpx.AsyncClient) -> None:
    ada = await signed_up(client)
    line = ('{"timestamp": "2026-11-01T10:00:00Z", "model": "gpt-4o", "input_tokens": 10, '
            '"output_tokens": 5, "user_id": "u1", "colour": "red"}\n')
    body = (await _preview(client, ada, line.encode() * 3, "calls.jsonl")).json()
    assert body["format"] == "records-jsonl"
    fields = {c["name"]: c["field"] for c in body["columns"]}
    assert fields == {"timestamp": "ts", "model": "model", "input_tokens": "input_tokens",
                      "output_tokens": "output_tokens", "user_id": "end_user", "colour": None}
    assert body["rows"] == 3 and body["sample"][0]["end_user"] == "u1"


async def test_rows_the_upload_would_reject_are_shown_with_their_reasons(
    client: httpx.AsyncClient,
) -> None:
    ada = await signed_up(client)
    text = ("timestamp,model,input_tokens,output_tokens\n"
            "2026-11-01T10:00:00Z,house-model-7,10,5\n"
            "yesterday,gpt-4o,10,5\n")
    body = (await _preview(client, ada, text.encode())).json()
    assert (body["rows"], body["rejected"], body["sample"]) == (0, 2, [])
    assert [r["line"] for r in body["rejects"]] == [2, 3]
    assert "add a provider column or choose a default provider" in body["rejects"][0]["reason"]
    assert body["rejects"][1]["reason"].startswith("ts: not an ISO-8601 timestamp")
    # a default provider makes the first row usable, as it would the upload's
    body = (await _preview(client, ada, text.encode(), default_provider="openai")).json()
    assert (body["rows"], body["sample"][0]["provider"]) == (1, "openai")


async def test_a_broken_file_is_a_clear_422(client: httpx.AsyncClient) -> None:
    ada = await signed_up(client)
    for content, said in ((b"", "the file is empty"),
                          (b"\x00\x01\x02 not telemetry", "could not recognise the file's format"),
                          (b"hello,world\n1,2\n", "could not recognise the file's format")):
        answer = await _preview(client, ada, content)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "validation_error"
        assert said in answer.json()["error"]["message"]
    answer = await _preview(client, ada, NATURAL.encode(), format="parquet")
    assert answer.status_code == 422 and "unknown format" in answer.json()["error"]["message"]
    answer = await client.post("/api/datasets/preview", headers=ada, data={"format": "auto"})
    assert answer.status_code == 400  # no file part


async def test_the_preview_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    answer = await _preview(client, {}, NATURAL.encode())
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await _preview(client, bad, NATURAL.encode())).status_code == 401


async def test_an_upload_with_no_usable_row_says_what_to_do(client: httpx.AsyncClient) -> None:
    ada = await signed_up(client)
    text = "timestamp,model,input_tokens,output_tokens\n" + "".join(
        f"2026-11-0{day}T10:00:00Z,house-model-{day},10,5\n" for day in range(1, 4))
    answer = await client.post("/api/datasets", headers=ada,
                               files={"file": ("house.csv", text.encode())})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["message"] == (
        "no valid rows in 'house.csv' (3 rejected): add a provider column, or choose a "
        "default provider for the upload")
    assert error["details"]["rejected_rows"] == 3
    assert [r["line"] for r in error["details"]["rejects"]] == [2, 3, 4]
    assert "house-model-1" in error["details"]["rejects"][0]["reason"]


def test_every_column_name_read_is_documented() -> None:
    """docs/telemetry.md lists, for each field, every other name a column may go by."""
    from netra.telemetry.importers._columns import _NAMES

    text = (Path(__file__).resolve().parents[2] / "docs" / "telemetry.md").read_text()
    for field, names in _NAMES.items():
        row = f"| `{field}` | " + ", ".join(f"`{name}`" for name in names) + " |"
        assert row in text, f"docs/telemetry.md does not list the names of {field}: {row}"
