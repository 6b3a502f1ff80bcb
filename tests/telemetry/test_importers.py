"""Importers: every rejection reason, the odd-but-valid cases, and the row accounting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from netra.errors import ValidationFailed
from netra.telemetry.importers import detect_format
from tests.telemetry.helpers import open_store, write

HEADER = "ts,provider,model,input_tokens,output_tokens,cached_input_tokens,feature,region\r\n"


async def test_csv_keeps_valid_rows_and_rejects_each_bad_one_with_its_line(tmp_path: Path) -> None:
    content = (
        "\ufeff" + HEADER
        + "2026-11-01T10:00:00Z,openai,gpt-4o,1000,100,200,triage,eu\r\n"  # line 2 ok
        + "2026-11-01T10:00:01.1234567+02:00,OpenAI,gpt-4o,\"1,5\",10,,x,eu\r\n"  # 3 bad int
        + "yesterday,openai,gpt-4o,10,10,,x,eu\r\n"  # 4 bad ts
        + "2026-11-01 10:00:02,openai,,10,10,,x,eu\r\n"  # 5 no model
        + "2026-11-01T10:00:03Z,openai,gpt-4o,10,-1,,x,eu\r\n"  # 6 negative
        + "2026-11-01T10:00:04Z,openai,gpt-4o,10,10,50,x,eu\r\n"  # 7 cached > input
        + "2026-11-01T10:00:05Z,openai,gpt-4o,10\r\n"  # 8 short row
        + "\r\n"  # blank: not a data row
        + '"2026-11-01T10:00:06Z","openai","gpt-4o"," 30 ","5.0","0","a, quoted\r\nfield",eu\r\n'
    )  # fmt: skip
    path = write(tmp_path, "records.csv", content)
    async with open_store(tmp_path) as store:
        result = await store.import_file("d1", path)
        rows = await store.fetch(
            "SELECT input_tokens, output_tokens, feature, metadata, ts FROM requests "
            "WHERE dataset_id = 'd1' ORDER BY ts"
        )
    assert result.format == "records-csv"
    assert (result.rows, result.rejected_rows) == (2, 6)
    reasons = {r.line: r.reason for r in result.rejects}
    assert set(reasons) == {3, 4, 5, 6, 7, 8}
    assert reasons[3].startswith("input_tokens: must be a whole number")
    assert reasons[4].startswith("ts: not an ISO-8601 timestamp")
    assert reasons[5].startswith("model: missing, and no default_model")
    assert reasons[6].startswith("output_tokens: must be a whole number ≥ 0")
    assert "exceed input_tokens" in reasons[7]
    assert reasons[8] == "expected 8 fields as in the header, got 4"
    assert [(r["input_tokens"], r["output_tokens"]) for r in rows] == [(1000, 100), (30, 5)]
    assert rows[1]["feature"] == "a, quoted\r\nfield"
    assert json.loads(rows[0]["metadata"]) == {"region": "eu"}
    assert result.first_ts == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


async def test_offsets_and_seven_fraction_digits_are_normalised_to_utc(tmp_path: Path) -> None:
    line = '{"ts": "2026-11-01T12:00:00.1234567+02:00", "provider": "openai", "model": "gpt-4o", "input_tokens": "10", "output_tokens": 1}\n'  # noqa: E501
    path = write(tmp_path, "one.jsonl", line)
    async with open_store(tmp_path) as store:
        result = await store.import_file("d1", path)
    assert result.rows == 1
    assert result.first_ts == datetime(2026, 11, 1, 10, 0, 0, 123456, tzinfo=UTC)


async def test_jsonl_rejects_bad_lines_and_uses_upload_defaults(tmp_path: Path) -> None:
    lines = [
        json.dumps({"ts": "2026-11-01T10:00:00Z", "input_tokens": 5, "output_tokens": 1}),
        "{not json",
        "[1, 2]",
        "",
        json.dumps({"ts": "2026-11-01T10:00:00Z", "input_tokens": True, "output_tokens": 1}),
        json.dumps({"ts": "2026-11-01T10:00:00Z", "input_tokens": 5, "output_tokens": 1,
                    "status": "failed"}),
        json.dumps({"ts": "2026-11-01T10:00:00Z", "input_tokens": 5, "output_tokens": 1,
                    "latency_ms": "NaN"}),
    ]  # fmt: skip
    path = write(tmp_path, "r.jsonl", "\r\n".join(lines).encode() + b"\n\xff\xfe\n")
    async with open_store(tmp_path) as store:
        result = await store.import_file(
            "d1", path, "records-jsonl", default_provider="OpenAI", default_model="gpt-4o-mini"
        )
        [row] = await store.fetch("SELECT provider, model FROM requests")
    assert row == {"provider": "openai", "model": "gpt-4o-mini"}
    assert (result.rows, result.rejected_rows) == (1, 6)
    reasons = {r.line: r.reason for r in result.rejects}
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3] == "expected a JSON object, got list"
    assert reasons[5].startswith("input_tokens: must be a whole number")
    assert reasons[6].startswith("status: must be 'ok', 'error' or an HTTP status code")
    assert reasons[7].startswith("latency_ms: must be a number")
    assert reasons[8] == "not valid UTF-8"


async def test_rows_without_provider_take_it_from_the_model(tmp_path: Path) -> None:
    content = (
        "ts,model,input_tokens,output_tokens\n2026-11-01,gpt-4o,1,1\n"
        "2026-11-01,claude-sonnet-4-5,1,1\n2026-11-01,in-house-llm,1,1\n"
    )
    path = write(tmp_path, "r.csv", content)
    async with open_store(tmp_path) as store:
        result = await store.import_file("d1", path)
        rows = await store.fetch("SELECT model, provider FROM requests ORDER BY model")
    assert [(r["model"], r["provider"]) for r in rows] == [
        ("claude-sonnet-4-5", "anthropic"), ("gpt-4o", "openai")
    ]
    [reject] = result.rejects  # nothing names the in-house model's provider
    assert (reject.line, reject.reason) == (
        4, "provider: missing and not recognisable from model 'in-house-llm'; add a provider "
        "column or choose a default provider"
    )


def test_unknown_and_empty_files_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="could not recognise"):
        detect_format(write(tmp_path, "c", "when,how much\n2026-01-01,3\n"))
    with pytest.raises(ValidationFailed, match="empty"):
        detect_format(write(tmp_path, "d", ""))


async def test_csv_structural_and_value_rejects(tmp_path: Path) -> None:
    content = (
        b"ts,provider,model,input_tokens,output_tokens,status,batch,latency_ms\n"
        b"2026-11-01T10:00:00Z,openai,gpt-4o,\"1000\",\"100\",OK,yes,\"12.5\"\n"  # 2 ok
        b"2026-11-01T10:00:00Z,openai,gpt-\xff,10,10,ok,no,1\n"  # 3 bad byte
        b"2026-11-01T10:00:00Z,openai,gpt-4o,10,10,ok,no,1,extra\n"  # 4 too many
        b"2026-11-01T10:00:00Z,openai,gpt-4o,10,10,failed,no,1\n"  # 5 status
        b"2026-11-01T10:00:00Z,openai,gpt-4o,10,10,ok,maybe,1\n"  # 6 batch
        b"2026-11-01T10:00:00Z,openai,gpt-4o,10,10,ok,no,-3\n"  # 7 latency
        b"2026-11-01T10:00:00Z,openai,gpt-4o,1e3,2.0,error,1,\n"  # 8 ok
        b"2026-11-01T10:00:00Z,openai,gpt-4o,,10,ok,no,1\n"  # 9 missing input
    )
    path = write(tmp_path, "r.csv", content)
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
        rows = await store.fetch(
            "SELECT input_tokens, output_tokens, status, batch, latency_ms FROM requests "
            "ORDER BY input_tokens"
        )
    assert (result.rows, result.rejected_rows) == (2, 6)
    assert [(r.line, r.reason) for r in result.rejects] == [
        (3, "not valid UTF-8"),
        (4, "expected 8 fields as in the header, got 9"),
        (5, "status: must be 'ok', 'error' or an HTTP status code (got 'failed')"),
        (6, "batch: must be true or false (got 'maybe')"),
        (7, "latency_ms: must be a number ≥ 0 (got '-3')"),
        (9, "input_tokens: missing, but output_tokens is given (a call whose usage was not "
         "recorded leaves out both)"),
    ]
    assert rows == [
        {"input_tokens": 1000, "output_tokens": 100, "status": "ok", "batch": True,
         "latency_ms": 12.5},
        {"input_tokens": 1000, "output_tokens": 2, "status": "error", "batch": True,
         "latency_ms": None},
    ]  # fmt: skip


async def test_csv_whose_only_rejects_are_unreadable_lines_is_accounted_exactly(
    tmp_path: Path,
) -> None:
    # Bad bytes in a field that no price needs, which a read of the price fields alone
    # does not see; and a quoted line break, so records and physical lines differ.
    content = (
        b"ts,provider,model,input_tokens,output_tokens,feature\n"
        b"2026-11-01T10:00:00Z,openai,gpt-4o,10,1,chat\n"  # 2 ok
        b"2026-11-01T10:00:01Z,openai,gpt-4o,10,1,ch\xffat\n"  # 3 bad byte
        b"2026-11-01T10:00:02Z,openai,gpt-4o\n"  # 4 short
        b"2026-11-01T10:00:03Z,openai,gpt-4o,10,1,\"two\nlines\"\n"  # 5-6 ok
        b"2026-11-01T10:00:04Z,openai,gpt-4o,10,1,\xfe\n"  # 7 bad byte
        b"2026-11-01T10:00:05Z,openai,gpt-4o,10,1,chat\n"  # 8 ok
    )
    path = write(tmp_path, "r.csv", content)
    async with open_store(tmp_path) as store:
        result = await store.import_file("d", path)
        kept = await store.fetch("SELECT feature FROM requests ORDER BY ts")
    assert (result.rows, result.rejected_rows) == (3, 3)
    assert result.dataset_rows == result.inserted_rows == 3
    assert [(r.line, r.reason) for r in result.rejects] == [
        (3, "not valid UTF-8"),
        (4, "expected 6 fields as in the header, got 3"),
        (7, "not valid UTF-8"),
    ]
    assert [r["feature"] for r in kept] == ["chat", "two\nlines", "chat"]


async def test_large_file_is_imported_in_batches_with_exact_accounting(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w") as file:
        file.write("ts,provider,model,input_tokens,output_tokens\n")
        for n in range(120_001):
            tokens = "x" if n % 1000 == 0 else str(n % 500)
            file.write(f"2026-11-0{1 + n % 9}T00:00:00Z,openai,gpt-4o-mini,{tokens},3\n")
    progress: list[float] = []  # from DuckDB's progress, polled on a thread of its own
    async with open_store(tmp_path) as store:
        result = await store.import_file("d1", path, progress=progress.append)
    # The first read, the insert and the settling each own a span: the bar never goes back.
    assert progress == sorted(progress) and progress[-1] == 1.0 and progress[0] >= 0
    assert result.rows + result.rejected_rows == 120_001
    assert result.rejected_rows == 121
    assert result.dataset_rows == result.rows == result.inserted_rows
    assert len(result.rejects) == 100
    # The first hundred in file order, at their lines.
    assert [r.line for r in result.rejects] == [n + 2 for n in range(0, 100_000, 1000)]


async def test_csv_larger_than_a_read_buffer_reports_late_rejects_at_their_lines(
    tmp_path: Path,
) -> None:
    # Over DuckDB's 32 MB read buffer: the file is scanned in pieces that its threads may
    # take at once, and the rows that break a rule must still come back at their lines.
    bad = {7, 400_000, 699_990}
    path = tmp_path / "wide.csv"
    with path.open("w") as file:
        file.write("ts,provider,model,input_tokens,output_tokens,feature\n")
        for n in range(700_000):
            tokens = "-5" if n in bad else str(n % 900)
            file.write(f"2026-11-0{1 + n % 9}T00:00:{n % 60:02d}Z,openai,gpt-4o-mini,"
                       f"{tokens},3,feature-{n % 37:02d}-of-a-long-name\n")
    assert path.stat().st_size > 40 * 2**20
    async with open_store(tmp_path) as store:
        result = await store.import_file("d1", path)
    assert (result.rows, result.rejected_rows) == (700_000 - len(bad), len(bad))
    assert [r.line for r in result.rejects] == [n + 2 for n in sorted(bad)]
    assert all(r.reason.startswith("input_tokens: must be a whole number") for r in result.rejects)


async def test_csv_larger_than_a_read_buffer_with_multi_line_records_reports_rejects_at_their_lines(
    tmp_path: Path,
) -> None:
    # As above, but every thousandth record holds a quoted line break, so a record's line
    # is no longer its ordinal plus one: the lines of the rejects take the slower path
    # that reads the file's physical lines.
    bad = {7, 400_000, 699_990}
    expected_lines = []
    path = tmp_path / "wide-multiline.csv"
    with path.open("w") as file:
        file.write("ts,provider,model,input_tokens,output_tokens,feature\n")
        line = 2
        for n in range(700_000):
            tokens = "-5" if n in bad else str(n % 900)
            spans = n % 1000 == 500
            feature = '"first line\nsecond line"' if spans else f"feature-{n % 37:02d}-of-a-name"
            if n in bad:
                expected_lines.append(line)
            file.write(f"2026-11-0{1 + n % 9}T00:00:{n % 60:02d}Z,openai,gpt-4o-mini,"
                       f"{tokens},3,{feature}\n")
            line += 2 if spans else 1
    assert path.stat().st_size > 40 * 2**20
    async with open_store(tmp_path) as store:
        result = await store.import_file("d1", path)
        [spanning] = await store.fetch(
            "SELECT count(*) AS n FROM requests WHERE dataset_id = 'd1' "
            "AND feature = 'first line' || chr(10) || 'second line'"
        )
    assert (result.rows, result.rejected_rows) == (700_000 - len(bad), len(bad))
    assert spanning["n"] == 700
    assert [r.line for r in result.rejects] == expected_lines
    assert expected_lines[1] > 400_000 + 2  # the records before it did span lines
    assert all(r.reason.startswith("input_tokens: must be a whole number") for r in result.rejects)
