"""`python -m bench.duckdb_rss [QUERIES] [KIND]`: DuckDB alone, no Netra code, repeating
one query over 1,000 rows and printing the process's RSS and glibc's heap in use.

It shows where the server's RSS climb over its first runs comes from (README, "RSS"):
a windowed query with PARTITION BY makes the heap in use grow with every run until it
levels off, the memory belongs to the database (closing it frees the heap in use),
and neither a sort, an ORDER BY-only window nor a small hash aggregate does this.
Linux with glibc only (it reads /proc and calls mallinfo2).
"""

from __future__ import annotations

import ctypes
import sys
import tempfile
from pathlib import Path

import duckdb

QUERIES = {
    "window": "SELECT max(r) FROM (SELECT row_number() OVER (PARTITION BY g ORDER BY v) AS r "
              "FROM t)",
    "ordered-window": "SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY v) AS r FROM t)",
    "sort": "SELECT sum(x) FROM (SELECT v * 2 AS x FROM t ORDER BY v, g)",
    "aggregate": "SELECT max(s) FROM (SELECT g, sum(v) AS s FROM t GROUP BY g)",
}  # fmt: skip


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]  # fmt: skip


_LIBC = ctypes.CDLL("libc.so.6")
_LIBC.mallinfo2.restype = _MallInfo2


def memory() -> str:
    in_use = _LIBC.mallinfo2().uordblks / 2**20
    # read here, not with bench._common.rss_mb: importing that would load Netra's modules
    rss = next(int(line.split()[1]) / 1024
               for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmRSS:"))
    return f"RSS {rss:6.1f} MB, heap in use {in_use:5.1f} MB"


def main(queries: int, kind: str) -> None:
    with tempfile.TemporaryDirectory(prefix="netra-duckdb-rss-") as tmp:
        database = duckdb.connect(str(Path(tmp) / "rss.duckdb"))
        database.execute("SET threads = 1")  # one thread: no scheduling in the picture
        database.execute("CREATE TABLE t AS SELECT i % 7 AS g, random() * 1000 AS v "
                         "FROM range(1000) AS r(i)")
        print(f"{kind}: {QUERIES[kind]}\n{'start':>10}  {memory()}")
        for done in range(1, queries + 1):
            database.execute(QUERIES[kind]).fetchall()
            if done % (queries // 10) == 0:
                print(f"{done:>10,}  {memory()}")
        database.close()
        print(f"{'closed':>10}  {memory()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40_000,
         sys.argv[2] if len(sys.argv) > 2 else "window")
