"""quantile_cont's weighing spelled out in SQL: fma to the last bit, and DuckDB's own."""

from __future__ import annotations

import random
from fractions import Fraction

import duckdb

from netra.telemetry.store.interpolation import fused_multiply_add, interpolated
from tests.telemetry.helpers import quantile_cont


def _triples(count: int, seed: int) -> list[tuple[float, float, float]]:
    """(lo, 1 − f, hi·f) as quantile_cont meets them: latencies of many magnitudes and
    decimals, weights from q·(n − 1)."""
    rng = random.Random(seed)
    triples = []
    for _ in range(count):
        n = rng.randint(2, 100_000)
        q = rng.choice((0.5, 0.9, 0.95, 0.99, 0.37, rng.random()))
        position = q * (n - 1)
        f = position - int(position)
        lo = round(rng.uniform(0, 10 ** rng.randint(1, 7)), rng.choice((0, 1, 2, 3)))
        hi = lo + round(rng.uniform(0, 10 ** rng.randint(0, 6)), rng.choice((0, 1, 2)))
        triples.append((lo, 1 - f, hi * f))
    return triples


def test_fused_multiply_add_is_rounded_once() -> None:
    triples = _triples(20_000, seed=1)
    sql = (f"SELECT list({fused_multiply_add('a', 'b', 'c')} ORDER BY i) FROM ("
           "SELECT unnest(?) AS a, unnest(?) AS b, unnest(?) AS c, unnest(range(?)) AS i)")
    columns = [list(column) for column in zip(*triples, strict=True)]
    [(got,)] = duckdb.connect().execute(sql, [*columns, len(triples)]).fetchall()
    exact = [float(Fraction(a) * Fraction(b) + Fraction(c)) for a, b, c in triples]
    plain = [a * b + c for a, b, c in triples]
    assert got == exact
    assert plain != exact  # the cases include some that two roundings get wrong


def test_interpolated_is_duckdbs_quantile_cont() -> None:
    """The premise: DuckDB's own quantile_cont weighs as `interpolated` does."""
    rng = random.Random(2)
    connection = duckdb.connect()
    for _ in range(300):
        values = [round(rng.uniform(0, 40_000), rng.choice((0, 1, 2)))
                  for _ in range(rng.randint(1, 600))]
        q = rng.choice((0.5, 0.95, 0.99, 0.37, rng.random()))
        ordered = sorted(values)
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        [(theirs, ours)] = connection.execute(
            f"SELECT quantile_cont(v, ?), (SELECT {interpolated('lo', 'hi', 'f')} "
            "FROM (SELECT ?::DOUBLE AS lo, ?::DOUBLE AS hi, ?::DOUBLE AS f)) "
            "FROM (SELECT unnest(?) AS v)",
            [q, ordered[low], ordered[high], position - low, values],
        ).fetchall()
        assert theirs == ours == quantile_cont(values, q), (q, values)
