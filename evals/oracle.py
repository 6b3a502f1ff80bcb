"""The eval's own copy of the server's demo dataset, and the facts computed from it.

The demo generator is deterministic in (rows, seed, end) where `end` defaults to today
(UTC) on the server: the copy is generated for the candidate ends around today and kept
only when its row count, total cost and first/last timestamps equal the server's dataset
(`Oracle.open` fails otherwise, so answers are never graded against another dataset).

Facts are plain DuckDB SQL over the copy. The savings findings are the product's own
finders run in-process (`netra.analysis.findings`: they are tested against the
generator's planted ground truth elsewhere), so those questions check that the answer
carries what the analyses found, not that the analyses are right. What-if figures are
re-priced here from token counts and the price catalogue, independently of the what-if
replay.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from evals.facts import Expected, FactSpec, Num, Source
from netra.analysis.findings import combined_savings, find_all
from netra.telemetry import pricing
from netra.telemetry.store.duckdb_store import DuckDBStore

DATASET = "eval"


@dataclass(frozen=True)
class ServerDataset:
    """What the server says about the dataset it generated."""

    id: str
    rows: int
    total_cost_usd: float
    first_ts: str | None
    last_ts: str | None

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> ServerDataset:
        return cls(str(body["id"]), int(body["rows"]), float(body["total_cost_usd"] or 0),
                   body.get("first_ts"), body.get("last_ts"))


def _ts(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _same_instant(ours: datetime | None, theirs: datetime | None) -> bool:
    """Equal to the millisecond (the API writes times with milliseconds)."""
    if ours is None or theirs is None:
        return ours is theirs
    return abs((ours - theirs).total_seconds()) < 0.001


class Oracle:
    """The eval-side dataset (DuckDB, in a temporary directory) and its facts."""

    def __init__(self, directory: Path | None = None) -> None:
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="netra-evals-")
        root = directory or Path(self._tmp.name if self._tmp else ".")
        self.store = DuckDBStore(root / "oracle.duckdb")
        self.end: date | None = None
        self.dataset = DATASET
        self._findings: list[dict[str, Any]] | None = None

    async def open(self, server: ServerDataset, seed: int) -> None:
        """Generate the copy and check it is the server's dataset, row for row in total."""
        await self.store.open()
        today = datetime.now(UTC).date()
        last = _ts(server.last_ts)
        candidates = [today, today - timedelta(days=1), today + timedelta(days=1)]
        if last is not None:
            candidates.insert(0, last.date() + timedelta(days=1))
        tried = []
        for end in dict.fromkeys(candidates):
            dataset = f"{DATASET}-{end.isoformat()}"
            result = await self.store.generate_demo(dataset, rows=server.rows, seed=seed, end=end)
            same = (result.rows == server.rows
                    and math.isclose(result.total_cost_usd or 0, server.total_cost_usd,
                                     rel_tol=1e-9, abs_tol=1e-6)
                    and _same_instant(result.first_ts, _ts(server.first_ts))
                    and _same_instant(result.last_ts, _ts(server.last_ts)))
            if same:
                self.end, self.dataset = end, dataset
                return
            tried.append(f"end={end}: {result.rows} rows, ${result.total_cost_usd:.6f}")
        raise RuntimeError(
            f"the eval's dataset differs from the server's ({server.rows} rows, "
            f"${server.total_cost_usd:.6f}, {server.first_ts}..{server.last_ts}); tried "
            + "; ".join(tried))

    async def close(self) -> None:
        await self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- plain SQL ----------------------------------------------------------------------

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        """The rows of `sql`, each `?` bound to the dataset id."""
        found: list[dict[str, Any]] = await self.store.fetch(sql, [self.dataset] * sql.count("?"))
        return found

    async def scalar(self, sql: str) -> Any:
        rows = await self.rows(sql)
        if not rows:
            raise ValueError(f"no row for fact SQL: {sql}")
        return next(iter(rows[0].values()))

    # -- the product's finders (see the module docstring) ---------------------------------

    async def findings(self) -> list[dict[str, Any]]:
        if self._findings is None:
            self._findings = await find_all(self.store, self.dataset)
        return self._findings

    async def finding(self, category: str) -> dict[str, Any]:
        found = [f for f in await self.findings() if f["category"] == category]
        if not found:
            raise ValueError(f"the demo dataset has no {category} finding")
        return found[0]

    async def combined_savings_month(self) -> tuple[float, float]:
        """Total monthly savings, overlap counted once, and the gross sum."""
        totals = combined_savings(await self.findings())
        return float(totals["savings_usd_month"]), float(totals["gross_savings_usd_month"])

    # -- independent re-pricing -----------------------------------------------------------

    async def window_days(self) -> float:
        return float(await self.scalar(
            "SELECT greatest(epoch(max(ts) - min(ts)) / 86400.0, 1.0) FROM requests "
            "WHERE dataset_id = ?"))

    async def repriced(self, where: str, provider: str | None = None, model: str | None = None,
                       batch: bool | None = None) -> tuple[float, float]:
        """(what the requests matching `where` cost, what they would cost at another model
        or provider, or through the batch API), from token counts and catalogue rates."""
        rows = await self.rows(f"""
            SELECT provider, model, ts::DATE AS day, batch, sum(cost_usd) AS paid,
              sum(input_tokens) AS input, sum(output_tokens) AS output,
              sum(cached_input_tokens) AS cached, sum(cache_write_tokens) AS written,
              min(input_tokens) AS low, max(input_tokens) AS high
            FROM requests WHERE dataset_id = ? AND ({where}) GROUP BY ALL""")
        paid = simulated = 0.0
        for row in rows:
            to_batch = bool(row["batch"]) if batch is None else batch
            prices = {pricing.price_per_mtok(provider or row["provider"], model or row["model"],
                                             row["day"], batch=to_batch, input_tokens=int(n))
                      for n in (row["low"], row["high"])}
            if len(prices) != 1 or None in prices:
                raise ValueError(f"no single price for {row['model']} on {row['day']}")
            [rates] = prices
            assert rates is not None
            paid += float(row["paid"])
            simulated += rates.cost_usd(int(row["input"]), int(row["output"]),
                                        int(row["cached"]), int(row["written"]))
        return paid, simulated

    # -- resolving a question's facts ------------------------------------------------------

    async def value(self, source: Source) -> Any:
        if isinstance(source, str):
            return await self.scalar(source)
        return await source(self)

    async def resolve(self, spec: FactSpec) -> Expected:
        """The fact's expected values; one that cannot be computed on this dataset (e.g. a
        finding a small demo does not have) is kept, and no answer can meet it."""
        try:
            return await self._resolve(spec)
        except ValueError as cannot:
            return Expected(f"{spec.label} (cannot be computed: {cannot})",
                            unit=spec.unit if isinstance(spec, Num) else None)

    async def _resolve(self, spec: FactSpec) -> Expected:
        if isinstance(spec, Num):
            found = await self.value(spec.source)
            values = tuple(float(v) for v in (found if isinstance(found, tuple | list)
                                              else (found,)))
            return Expected(spec.label, unit=spec.unit, values=values)
        if isinstance(spec.source, tuple):
            return Expected(spec.label, phrases=spec.source)
        found = await self.value(spec.source)
        phrases = spec.forms(found) if spec.forms else (str(found),)
        return Expected(spec.label, phrases=phrases)

