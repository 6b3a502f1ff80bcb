"""JSON as the server writes it: event frames on sockets and the bus, JSON columns.

A run's events carry tens of kilobytes (findings, reports, tool results) and each is
encoded at least twice, for its row and for every socket that follows the run; under a
burst of 200 answers the standard library's encoder was a fifth of the server's CPU.
orjson writes the same JSON an order of magnitude faster. Its output is compact and UTF-8
(no \\u escapes), NaN and infinities become null (the standard encoder wrote `NaN`,
which is not JSON and which browsers refuse), and what it cannot encode raises TypeError
as the standard encoder did.
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Compact JSON text of `value`."""
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
