"""A dataset's requests a page at a time, newest or costliest first, every stored field of
each, for any slice (`slicing.Slice`).

Keyset pagination: a page ends with a cursor naming its last row's sort key, and the
next page starts after it, so a page deep in ten million rows costs what the first does
(an offset would sort everything before it). The sort key ends in a hash of the whole
row, so the order is total; rows equal in every column hash alike and are told apart by
how many of them the pages so far have shown (the cursor's `n`, skipped as an offset).

Two scans, both cheap: the first reads only the leading sort column to find the page's
edge (the smallest value among the next rows); the second reads whole rows from the edge
up, so only about a page of rows is hashed, sorted and fetched.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from netra.analysis.slicing import Slice, invalid
from netra.db.base import isoformat_z
from netra.telemetry.schema import COLUMN_NAMES
from netra.telemetry.store import AnalyticsStore

FIELDS = (*COLUMN_NAMES, "cost_usd")
_ROW_HASH = f"hash({', '.join(FIELDS)})"
# Sort name -> the key's leading expressions, all descending (NULL costs as -1: last).
SORTS = {"time": ("ts",), "cost": ("coalesce(cost_usd, -1)", "ts")}
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def _after(keys: tuple[str, ...]) -> str:
    """Rows at or after the cursor's key (k1, …, row hash) in descending order,
    lexicographically; the leading `k1 <= ?` is repeated alone so a store can skip
    blocks on it. Parameters: k1, then every key in order."""
    columns = [*keys, _ROW_HASH]
    ors = []
    for i, column in enumerate(columns):
        equal = [f"{c} = ?" for c in columns[:i]]
        last = i == len(columns) - 1
        ors.append(" AND ".join([*equal, f"{column} {'<=' if last else '<'} ?"]))
    return f"{keys[0]} <= ? AND ({' OR '.join(ors)})"


def _after_params(values: list[Any]) -> list[Any]:
    """Parameters of `_after` for a cursor key (k1, …, row hash)."""
    params = [values[0]]
    for i in range(len(values)):
        params += [*values[:i], values[i]]
    return params


def _page_sql(where: str, keys: tuple[str, ...], after: bool) -> str:
    """The page's rows. The edge subquery takes the first key alone (a plain `k1 < ?`
    reads one column; the whole-row condition would hash every row): below the cursor's
    k1, the smallest of as many values as the page needs; rows at k1 itself all pass it,
    and the whole-row condition then keeps those after the cursor. Parameters: the
    slice's, `_after`'s (with a cursor), then the slice's again, k1 and the rows wanted
    (or without a cursor: the slice's, the rows wanted), then LIMIT and OFFSET."""
    lead = keys[0]
    below = f" AND {lead} < ?" if after else ""
    edge = (f"(SELECT min(k) FROM (SELECT {lead} AS k FROM requests WHERE {where}{below} "
            f"ORDER BY k DESC LIMIT ?) AS edge)")  # fmt: skip
    floor = f"coalesce({edge}, ?)" if after else edge
    condition = f"{where} AND {_after(keys)}" if after else where
    order = ", ".join(f"{k} DESC" for k in (*keys, "row_key"))
    return f"""
SELECT {', '.join(FIELDS)}, {_ROW_HASH} AS row_key, {lead} AS lead_key
FROM requests
WHERE {condition} AND {lead} >= {floor}
ORDER BY {order} LIMIT ? OFFSET ?"""


def _cursor(sort: str, row: dict[str, Any], shown: int) -> str:
    key = [row["ts"].isoformat()] if sort == "time" else [row["lead_key"], row["ts"].isoformat()]
    body = {"sort": sort, "key": key, "hash": row["row_key"], "n": shown}
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def read_cursor(text: str, sort: str) -> tuple[list[Any], int]:
    """(the sort key of the last row shown, ending in its hash; how many rows with that
    very key were shown) from a cursor this module wrote."""
    try:
        body = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        key = body["key"]
        ts = datetime.fromisoformat(key[-1])
        values: list[Any] = [*key[:-1], ts.replace(tzinfo=None), int(body["hash"])]
        shown = int(body["n"])
        given = body["sort"]
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error):
        raise invalid("cursor", "not a cursor this endpoint gave; start again without it") from None
    if given != sort:
        raise invalid("cursor", f"it was made for sort={given}, not sort={sort}")
    if len(values) != len(SORTS[sort]) + 1 or shown < 1 or not all(
        isinstance(v, int | float) for v in values[:-2]):  # fmt: skip
        raise invalid("cursor", "not a cursor this endpoint gave; start again without it")
    return values, shown


def _row(row: dict[str, Any]) -> dict[str, Any]:
    out = {name: row[name] for name in FIELDS}
    out["ts"] = isoformat_z(row["ts"].replace(tzinfo=UTC))
    if isinstance(out["metadata"], str):  # JSON text of the source's extra columns
        with contextlib.suppress(ValueError):  # not JSON: shown as it is
            out["metadata"] = json.loads(out["metadata"])
    return out


async def request_page(
    store: AnalyticsStore,
    dataset_id: str,
    chosen: Slice,
    *,
    sort: str = "time",
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """A page of the requests in `chosen`: `rows`, `next_cursor` (None on the last page)
    and `total`, how many requests the slice holds."""
    if sort not in SORTS:
        raise invalid("sort", f"must be {' or '.join(SORTS)} (got {sort[:40]!r})")
    where, params = chosen.where(dataset_id)
    key, shown = read_cursor(cursor, sort) if cursor else (None, 0)
    wanted = shown + limit + 1  # one row past the page says whether there is a next one
    if key is None:
        bound = params + params + [wanted]
    else:
        bound = params + _after_params(key) + params + [key[0], wanted, key[0]]
    sql = _page_sql(where, SORTS[sort], key is not None)
    rows, [count] = await asyncio.gather(
        store.fetch(sql, bound + [limit + 1, shown]),
        store.fetch(f"SELECT count(*) AS n FROM requests WHERE {where}", params),
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        same = sum(1 for r in page if r["row_key"] == last["row_key"] and r["ts"] == last["ts"])
        carried = shown if key is not None and same == len(page) and _same(key, last, sort) else 0
        next_cursor = _cursor(sort, last, same + carried)
    return {"sort": sort, "limit": limit, "total": count["n"],
            "rows": [_row(r) for r in page], "next_cursor": next_cursor}  # fmt: skip


def _same(key: list[Any], row: dict[str, Any], sort: str) -> bool:
    """Whether a row has the cursor's very key (the page repeats the last row shown)."""
    mine = [row["ts"]] if sort == "time" else [row["lead_key"], row["ts"]]
    return [*mine, row["row_key"]] == key
