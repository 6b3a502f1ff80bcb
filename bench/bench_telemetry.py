"""Telemetry import and summary at scale, on the embedded DuckDB store, in process.

1. CSV import of a 5-million-row records file (import_file: staging, validation of every
   row, pricing, insert); baseline: DuckDB's own `read_csv` of the same file into a
   table of the same kind of database file, in the same run. Target: at least half of
   the baseline's rows/s, i.e. import time ≤ 2× the baseline's.
2. Peak memory (VmHWM) of a fresh process importing a 1 GB records file; baseline: the
   same process just before the import. Target ≤ 1 GB.
3. The dataset summary (`GET /api/datasets/{id}/summary`'s queries) on 10 million rows,
   p50/p95; baseline: one raw scan of the same rows. Target p95 ≤ 1 s.

The CSV files are written by DuckDB's COPY (seconds, not minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from bench._common import Figure, latency_figures
from netra.telemetry.service import summarise
from netra.telemetry.store.duckdb_store import DuckDBStore

ROOT = Path(__file__).resolve().parent.parent
IMPORT_RATIO_TARGET = 2.0  # import time / read_csv time, i.e. rows/s ≥ 0.5 of DuckDB's
PEAK_TARGET_MB = 1024.0
SUMMARY_P95_TARGET_MS = 1000.0
ROW_BYTES = 127  # about what one row of `records_csv` takes
END = date(2026, 11, 25)

FIGURE_NAMES = (
    "CSV import time, records file",
    "peak memory importing a 1 GB file",
    "dataset summary p50",
    "dataset summary p95",
)


def records_csv(path: Path, rows: int) -> Path:
    """A records-csv file of `rows` varied rows (3 providers, 30 days, features, users)."""
    duckdb.sql(f"""
    COPY (
      SELECT TIMESTAMP '2026-10-01' + INTERVAL (i * 7 % 2592000) SECOND AS ts,
        ['openai', 'anthropic', 'google'][i % 3 + 1] AS provider,
        ['gpt-4o', 'claude-sonnet-4-5', 'gemini-2.5-flash'][i % 3 + 1] AS model,
        100 + i % 5000 AS input_tokens, 10 + i % 700 AS output_tokens,
        (i % 5) * 10 AS cached_input_tokens, round(200 + (i % 3000) * 1.5, 1) AS latency_ms,
        CASE WHEN i % 40 = 0 THEN 'error' ELSE 'ok' END AS status,
        'feature-' || (i % 12) AS feature, 'user-' || (i % 1000) AS end_user,
        'req-' || i AS request_id, md5((i % 10000)::VARCHAR) AS prompt_hash
      FROM range({rows}) AS t(i)
    ) TO '{path}' (HEADER)
    """)
    return path


def _baseline_seconds(csv: Path, database: Path) -> float:
    connection = duckdb.connect(str(database))
    try:
        started = time.perf_counter()
        connection.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(csv)])
        return time.perf_counter() - started
    finally:
        connection.close()
        database.unlink()


async def _import_seconds(csv: Path, database: Path, rows: int) -> float:
    store = DuckDBStore(database)
    await store.open()
    try:
        started = time.perf_counter()
        result = await store.import_file("bench", csv)
        took = time.perf_counter() - started
    finally:
        await store.close()
    if (result.rows, result.rejected_rows) != (rows, 0):
        raise RuntimeError(f"imported {result.rows} rows, rejected {result.rejected_rows}")
    return took


def import_figure(tmp: Path, rows: int, repeats: int) -> Figure:
    """Import time vs DuckDB's read_csv on the same file, best of `repeats` each,
    interleaved so both see the same machine."""
    csv = records_csv(tmp / "records.csv", rows)
    ours, theirs = [], []
    for _ in range(repeats):
        theirs.append(_baseline_seconds(csv, tmp / "baseline.duckdb"))
        ours.append(asyncio.run(_import_seconds(csv, tmp / "import.duckdb", rows)))
        (tmp / "import.duckdb").unlink()
    best, base = min(ours), min(theirs)
    csv.unlink()
    return Figure(
        "CSV import time, records file", best, "s", target=IMPORT_RATIO_TARGET * base,
        baseline=base, baseline_name="DuckDB read_csv",
        detail=f"{rows:,} rows: {rows / best:,.0f} rows/s vs {rows / base:,.0f} rows/s "
        f"({base / best:.2f} of DuckDB's; target ≥ {1 / IMPORT_RATIO_TARGET:.2f})",
    )  # fmt: skip


_CHILD = """
import asyncio, json, sys
from pathlib import Path
from netra.telemetry.store.duckdb_store import DuckDBStore

def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024

async def main():
    store = DuckDBStore(sys.argv[2])
    await store.open()
    before = hwm()
    result = await store.import_file('bench', Path(sys.argv[1]))
    await store.close()
    print(json.dumps({'before': before, 'peak': hwm(), 'rows': result.rows}))

asyncio.run(main())
"""


def memory_figure(tmp: Path, file_bytes: int) -> Figure:
    rows = file_bytes // ROW_BYTES
    csv = records_csv(tmp / "big.csv", rows)
    size = csv.stat().st_size
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(csv), str(tmp / "memory.duckdb")],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    csv.unlink()
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    if measured["rows"] != rows:
        raise RuntimeError(f"imported {measured['rows']} of {rows} rows")
    return Figure(
        "peak memory importing a 1 GB file", measured["peak"], "MB", target=PEAK_TARGET_MB,
        baseline=measured["before"], baseline_name="the process before the import",
        compare="difference", detail=f"{size / 2**20:,.0f} MiB file, {rows:,} rows",
    )  # fmt: skip


RAW_SCAN = "SELECT count(*), sum(cost_usd), sum(input_tokens) FROM requests WHERE dataset_id = ?"


async def _summary_times(tmp: Path, rows: int, samples: int) -> tuple[list[float], list[float]]:
    store = DuckDBStore(tmp / "summary.duckdb")
    await store.open()
    try:
        await store.generate_demo("d", rows=rows, seed=7, end=END)
        ours: list[float] = []
        raw: list[float] = []
        await summarise(store, "d")  # warm-up: plans and caches are not latency
        for _ in range(samples):
            started = time.perf_counter()
            await summarise(store, "d")
            ours.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await store.fetch(RAW_SCAN, ["d"])
            raw.append((time.perf_counter() - started) * 1000)
        return ours, raw
    finally:
        await store.close()


def summary_figures(tmp: Path, rows: int, samples: int) -> list[Figure]:
    ours, raw = asyncio.run(_summary_times(tmp, rows, samples))
    return latency_figures(
        "dataset summary", ours, raw, "raw scan", p95_target=SUMMARY_P95_TARGET_MS,
        detail=f"{rows:,} rows, {samples} runs",
    )  # fmt: skip


def run(args: argparse.Namespace) -> list[Figure]:
    quick = bool(getattr(args, "quick", False))
    with tempfile.TemporaryDirectory(prefix="netra-bench-telemetry-") as name:
        tmp = Path(name)
        figures = [import_figure(tmp, 50_000 if quick else 5_000_000, 1 if quick else 2)]
        figures.append(memory_figure(tmp, (20 if quick else 1024) * 2**20))
        figures += summary_figures(tmp, 20_000 if quick else 10_000_000, 3 if quick else 10)
    return figures
