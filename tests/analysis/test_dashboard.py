"""The dashboard and the request pages on a real DuckDB store, every number checked against
the overview or against Python over the very rows the slice selects."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from netra.analysis.dashboard import MAX_BUCKETS, OPTIONS, dashboard, filter_options
from netra.analysis.overview import overview_totals
from netra.analysis.request_log import request_page
from netra.analysis.slicing import Slice, read_query, whole_number
from netra.errors import ValidationFailed
from netra.telemetry.store.duckdb_store import DuckDBStore
from tests.telemetry.helpers import open_store, quantile_cont, record, round_tenth

END = date(2026, 11, 25)
Row = dict[str, Any]


def rate(errors: int, requests: int) -> float | None:
    if not requests:
        return None
    return float(Decimal(errors / requests).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def expected(rows: list[Row]) -> dict[str, Any]:
    """What the dashboard must say of these rows, worked out in Python."""
    latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
    errors = sum(r["status"] == "error" for r in rows)
    return {
        "requests": len(rows),
        "spend_usd": pytest.approx(sum(r["cost_usd"] or 0 for r in rows), abs=1e-6),
        "input_tokens": sum(r["input_tokens"] or 0 for r in rows),
        "output_tokens": sum(r["output_tokens"] or 0 for r in rows),
        "errors": errors,
        "error_rate": rate(errors, len(rows)),
        "p50_latency_ms": round_tenth(quantile_cont(latencies, 0.5)) if latencies else None,
        "p95_latency_ms": round_tenth(quantile_cont(latencies, 0.95)) if latencies else None,
    }


def p95(rows: list[Row]) -> float | None:
    return expected(rows)["p95_latency_ms"]


async def all_rows(store: DuckDBStore, dataset: str) -> list[Row]:
    return await store.fetch("SELECT * FROM requests WHERE dataset_id = ?", [dataset])


def slice_of(**query: Any) -> Slice:
    items = [(k.rstrip("_"), v) for k, vs in query.items()
             for v in (vs if isinstance(vs, list) else [vs])]  # fmt: skip
    return read_query(items)[0]


def key(name: str) -> Callable[[Row], str]:
    return lambda r: r[name] if r[name] is not None else "(none)"


EXTRA = [  # no feature, no end user, no latency, a failure: the keys and sums' edge cases
    record(ts="2026-11-20T08:00:00Z", feature=None, end_user=None, latency_ms=None),
    record(ts="2026-11-20T09:30:00Z", feature=None, end_user="zed", latency_ms=12.5,
           status="error", error_type="timeout"),
    record(ts="2026-11-21T23:59:59.999Z", model="claude-sonnet-4-5", provider="anthropic",
           feature="chat", end_user=None, latency_ms=450.25),
]  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    async with open_store(tmp_path) as opened:
        await opened.generate_demo("d", rows=3000, seed=5, end=END)
        await opened.insert_records("d", EXTRA)
        await opened.insert_records("noise", [record(), record(status="error")])
        yield opened


async def test_the_whole_dataset_matches_the_overview_and_python(store: DuckDBStore) -> None:
    board = await dashboard(store, "d", Slice())
    overview = await overview_totals(store, "d")
    rows = await all_rows(store, "d")
    totals = board["totals"]
    for name in ("requests", "spend_usd", "input_tokens", "output_tokens", "error_rate",
                 "p50_latency_ms", "p95_latency_ms"):  # fmt: skip
        assert totals[name] == overview[name], name
    assert totals == expected(rows)
    assert board["bucket"] == "day" and len(board["series"]) == 30
    assert board["range"] == {"from": overview["first_ts"], "to": overview["last_ts"]}
    assert sum(b["requests"] for b in board["series"]) == len(rows)
    assert board["filters"] == {n: [] for n in ("model", "provider", "feature", "end_user",
                                                "status")}  # fmt: skip
    options = board["options"]
    assert options["model"]["values"] == sorted({r["model"] for r in rows})
    assert "(none)" in options["feature"]["values"] and not options["feature"]["truncated"]
    assert options["status"]["values"] == ["ok", "error"]
    assert options == await filter_options(store, "d")  # the same from their own query


async def test_each_bucket_is_its_rows(store: DuckDBStore) -> None:
    rows = await all_rows(store, "d")
    for bucket, start in (("day", lambda t: t.replace(hour=0, minute=0, second=0, microsecond=0)),
                          ("week", lambda t: (t - timedelta(days=t.weekday())).replace(
                              hour=0, minute=0, second=0, microsecond=0))):  # fmt: skip
        board = await dashboard(store, "d", Slice(), bucket=bucket)
        groups: dict[datetime, list[Row]] = {}
        for r in rows:
            groups.setdefault(start(r["ts"]), []).append(r)
        series = {b["start"]: b for b in board["series"]}
        assert len(series) == len(board["series"])
        for at, members in groups.items():
            shown = series[at.replace(tzinfo=UTC).isoformat()[:19] + ".000Z"]
            assert {k: shown[k] for k in expected(members)} == expected(members), at
        if bucket == "week":
            assert all(datetime.fromisoformat(s[:10]).weekday() == 0 for s in series)


async def test_a_slice_is_its_rows(store: DuckDBStore) -> None:
    rows = await all_rows(store, "d")
    models = sorted({r["model"] for r in rows})[:2]
    start, end = datetime(2026, 11, 10), datetime(2026, 11, 21, 12)
    chosen = slice_of(model=models, feature=["(none)", "chat", "support-chat"], status="ok",
                      from_="2026-11-10", to="2026-11-21T13:00:00+01:00")  # fmt: skip

    def selected(r: Row) -> bool:
        return (r["model"] in models and r["feature"] in (None, "chat", "support-chat")
                and r["status"] == "ok" and start <= r["ts"] < end)

    chosen_rows = [r for r in rows if selected(r)]
    assert len(chosen_rows) > 50  # a slice with something in it
    board = await dashboard(store, "d", chosen)
    assert board["totals"] == expected(chosen_rows)
    assert board["range"] == {"from": "2026-11-10T00:00:00.000Z", "to": "2026-11-21T12:00:00.000Z"}
    assert board["bucket"] == "day" and len(board["series"]) == 12  # 10th to 21st
    assert board["filters"]["model"] == models and board["filters"]["status"] == ["ok"]
    for name in ("model", "feature"):
        assert sum(r["requests"] for r in board["breakdowns"][name]["rows"]) == len(chosen_rows)
    # the options stay the dataset's whatever is filtered
    assert board["options"] == (await dashboard(store, "d", Slice()))["options"]


async def test_breakdowns_are_the_top_keys_by_spend(store: DuckDBStore) -> None:
    users = [record(end_user=f"user-{i:03d}", input_tokens=1000 + i, latency_ms=float(i))
             for i in range(OPTIONS + 20)]  # fmt: skip
    await store.insert_records("d", users)
    rows = await all_rows(store, "d")
    board = await dashboard(store, "d", Slice(), top=3)
    for name in ("model", "feature", "end_user", "provider"):
        groups: dict[str, list[Row]] = {}
        for r in rows:
            groups.setdefault(key(name)(r), []).append(r)
        spend = {k: round(sum(r["cost_usd"] or 0 for r in g), 6) for k, g in groups.items()}
        ranked = sorted(groups, key=lambda k: (-spend[k], -len(groups[k]), k))[:3]
        breakdown = board["breakdowns"][name]
        assert breakdown["keys"] == len(groups)
        assert [r["key"] for r in breakdown["rows"]] == ranked, name
        for shown in breakdown["rows"]:
            members = groups[shown["key"]]
            assert shown["requests"] == len(members)
            assert shown["spend_usd"] == pytest.approx(spend[shown["key"]], abs=1e-6)
            assert shown["p95_latency_ms"] == p95(members)
            assert shown["error_rate"] == expected(members)["error_rate"]
    options = board["options"]["end_user"]
    assert options["truncated"] and len(options["values"]) == OPTIONS
    assert options["values"] == sorted(options["values"])


async def test_buckets_follow_the_range(store: DuckDBStore) -> None:
    two_days = await dashboard(store, "d", slice_of(from_="2026-11-20", to="2026-11-22"))
    assert two_days["bucket"] == "hour" and len(two_days["series"]) == 48
    quiet = [b for b in two_days["series"] if b["requests"] == 0]
    assert quiet and all(b["p95_latency_ms"] is None and b["spend_usd"] == 0 for b in quiet)
    year = await dashboard(store, "d", slice_of(from_="2026-01-01", to="2027-01-01"))
    assert year["bucket"] == "week" and year["totals"]["requests"] == 3000 + len(EXTRA)
    empty = await dashboard(store, "d", slice_of(from_="2020-01-01", to="2020-01-02"))
    assert empty["totals"]["requests"] == 0 and empty["totals"]["p50_latency_ms"] is None
    assert [b["requests"] for b in empty["series"]] == [0] * 24
    assert all(not b["rows"] for b in empty["breakdowns"].values())
    with pytest.raises(ValidationFailed, match=f"over the {MAX_BUCKETS:,}"):
        await dashboard(store, "d", slice_of(from_="2026-01-01", to="2026-03-01"), bucket="hour")
    with pytest.raises(ValidationFailed, match="2,088 weeks in this range"):
        await dashboard(store, "d", slice_of(from_="1990-01-01", to="2030-01-01"))
    with pytest.raises(ValidationFailed, match="bucket: must be auto, hour, day, week"):
        await dashboard(store, "d", Slice(), bucket="month")


async def test_a_dataset_without_rows(tmp_path: Path) -> None:
    async with open_store(tmp_path) as store:
        board = await dashboard(store, "nothing", Slice())
        page = await request_page(store, "nothing", Slice())
    assert board["totals"]["requests"] == 0 and board["series"] == []
    assert board["range"] == {"from": None, "to": None}
    assert page == {"sort": "time", "limit": 50, "total": 0, "rows": [], "next_cursor": None}


@pytest.mark.parametrize(("query", "message"), [
    ([("modle", "x")], "modle: unknown query parameter; use bucket, end_user, feature, from"),
    ([("from", "yesterday")], "from: not an ISO 8601 time (got 'yesterday')"),
    ([("from", "2026-11-02"), ("to", "2026-11-01")], "from: must be before to"),
    ([("status", "failed")], "status: must be ok or error (got 'failed')"),
    ([("bucket", "day"), ("bucket", "hour")], "bucket: give it once"),
    ([("model", str(i)) for i in range(101)], "model: at most 100 values (got 101)"),
    ([("model", "m" * 2001)], "model: a value is longer than 2000 characters"),
])  # fmt: skip
def test_a_query_that_cannot_be_read_says_why(query: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_query(query, ("bucket",))
    assert caught.value.message.startswith(message)
    assert caught.value.details[0]["loc"][0] == "query"


def test_whole_numbers_and_empty_values() -> None:
    assert whole_number("top", None, 10, 1, 50) == 10 and whole_number("top", "7", 10, 1, 50) == 7
    for bad, said in (("0", "between 1 and 50 (got 0)"), ("ten", "a whole number (got 'ten')")):
        with pytest.raises(ValidationFailed, match=re.escape(said)):
            whole_number("top", bad, 10, 1, 50)
    chosen, options = read_query([("model", ""), ("to", ""), ("top", "3")], ("top",))
    assert not chosen.filtered and options == {"top": "3"}


# -- the request pages -------------------------------------------------------------------


def identity(row: Row) -> tuple[Any, ...]:
    return tuple(row[k] for k in ("ts", "model", "request_id", "input_tokens", "cost_usd"))


async def walk(store: DuckDBStore, dataset: str, chosen: Slice, sort: str, limit: int
               ) -> list[Row]:  # fmt: skip
    shown, cursor = [], None
    for _ in range(1000):
        page = await request_page(store, dataset, chosen, sort=sort, limit=limit, cursor=cursor)
        assert len(page["rows"]) <= limit
        shown += page["rows"]
        cursor = page["next_cursor"]
        if cursor is None:
            return shown
        assert len(page["rows"]) == limit
    raise AssertionError("the pages never ended")


def as_stored(rows: Iterable[Row]) -> Counter[tuple[Any, ...]]:
    return Counter((r["ts"][:23], r["model"], r["request_id"], r["input_tokens"], r["cost_usd"])
                   for r in rows)  # fmt: skip


@pytest.mark.parametrize("sort", ["time", "cost"])
async def test_pages_show_every_request_once_in_order(tmp_path: Path, sort: str) -> None:
    same = record(ts="2026-11-03T10:00:00Z", request_id="twin", feature="chat")
    rows = ([same] * 5  # five rows equal in every column, across page edges
            + [record(ts="2026-11-03T10:00:00Z", input_tokens=1000 + i) for i in range(4)]
            + [record(ts=f"2026-11-0{1 + i % 5}T0{i % 9}:00:00Z", model=m, input_tokens=10 * i,
                      status="error" if i % 4 == 0 else "ok")
               for i, m in enumerate(["gpt-4o", "gpt-4o-mini", "mystery-model"] * 6)])  # fmt: skip
    async with open_store(tmp_path) as store:
        await store.insert_records("d", rows)
        stored = await all_rows(store, "d")
        for limit in (2, 3, 7):
            shown = await walk(store, "d", Slice(), sort, limit)
            assert as_stored(shown) == as_stored(
                {**r, "ts": r["ts"].isoformat(timespec="milliseconds")} for r in stored)
            keys = [(r["cost_usd"] if r["cost_usd"] is not None else -1, r["ts"]) if sort == "cost"
                    else (r["ts"],) for r in shown]  # fmt: skip
            assert keys == sorted(keys, reverse=True), limit
        errors = await walk(store, "d", slice_of(status="error"), sort, 2)
        first = await request_page(store, "d", slice_of(status="error"), sort=sort, limit=2)
    assert len(errors) == first["total"] == sum(r["status"] == "error" for r in stored)
    assert first["total"] > 2 and all(r["status"] == "error" for r in errors)
    every = set(first["rows"][0])
    assert {"ts", "provider", "model", "cached_input_tokens", "reasoning_tokens", "latency_ms",
            "ttft_ms", "error_type", "feature", "end_user", "cost_usd", "metadata"} <= every


async def test_a_cursor_is_checked(store: DuckDBStore) -> None:
    page = await request_page(store, "d", Slice(), limit=5)
    assert page["total"] == 3000 + len(EXTRA) and page["next_cursor"]
    with pytest.raises(ValidationFailed, match="cursor: it was made for sort=time"):
        await request_page(store, "d", Slice(), sort="cost", cursor=page["next_cursor"])
    for bad in ("garbage", "eyJzb3J0IjogInRpbWUifQ", page["next_cursor"][:-3]):
        with pytest.raises(ValidationFailed, match="cursor: not a cursor this endpoint gave"):
            await request_page(store, "d", Slice(), cursor=bad)
    with pytest.raises(ValidationFailed, match="sort: must be time or cost"):
        await request_page(store, "d", Slice(), sort="size")
