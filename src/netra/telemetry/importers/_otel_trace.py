"""What a GenAI span inherits from the spans around it: the customer's own keys, read
from the nearest ancestor of the same trace that sets them.

An application sets its feature, end user, session or tenant once, on the span that
handles the request; the GenAI spans of its model calls (children or grandchildren)
carry none of it. So each span's parent link and the few inherited keys it carries
(`KEYS`) are kept, and a GenAI record waits until its chain of ancestors up to the
trace's root is known.

Spans come in any order. An SDK exports a span when it ends, so a child usually comes
before its parent (the request span ends last); an export batch groups spans by
instrumentation scope, so a parent may come first too; a trace may run across export
batches (lines). A record is handed back as soon as its chain is whole, whatever the
order. One whose chain stays broken (its parent is in no line of the file: a trace
exported in part, or its root in another service's file) is handed back at the end of
the file with the ancestors that were found (`complete` False).

Memory is bounded whatever the file's size. The links are a window of the latest
`max_spans` spans: the spans of a trace are exported within seconds of each other, so a
span that comes after its parent meets it within the window; a record waiting on a
missing ancestor carries the keys found below it, so it needs no link that has left
the window by the time the ancestor comes. Past `max_waiting` waiting records, the
oldest are handed back at once with the ancestors known so far (`complete` False,
counted in `released`). Links are plain strings and tuples of strings in one ordered
dict, which the garbage collector does not have to walk one by one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# Record field (or metadata key) -> the span attributes that give it, in the order they
# are taken when one span carries several. `agent` is only the feature's fallback.
KEYS: dict[str, tuple[str, ...]] = {
    "feature": ("netra.feature", "feature", "app.feature"),
    "end_user": ("netra.end_user", "enduser.id", "user.id", "enduser.pseudo.id"),
    "conversation_id": ("gen_ai.conversation.id", "netra.conversation_id", "session.id"),
    "tenant": ("netra.tenant", "tenant.id"),
    "agent": ("gen_ai.agent.name",),
}
_SOURCES = frozenset(source for sources in KEYS.values() for source in sources)
MAX_SPANS = 50_000  # links held: ~0.5 kB each, ~27 MB at most
MAX_WAITING = 10_000  # GenAI records held until their ancestors arrive: ~3 kB each
MAX_DEPTH = 256  # ancestors walked at most: deeper is a cycle of parent ids

Keys = tuple[tuple[str, str], ...]  # (KEYS' field, value) pairs one span carries
SpanKey = tuple[str, str]  # (trace id, span id)


def keys_of(attributes: Mapping[str, Any]) -> Keys | None:
    """The inherited keys a span's (or a resource's) attributes carry; None for none."""
    if _SOURCES.isdisjoint(attributes):  # most spans: at once
        return None
    found = []
    for name, sources in KEYS.items():
        for source in sources:
            value = attributes.get(source)
            if isinstance(value, str) and value.strip():
                found.append((name, value.strip()))
                break
            if isinstance(value, int | float) and not isinstance(value, bool):
                found.append((name, str(value)))
                break
    return tuple(found) or None


def inherit(levels: list[Keys]) -> dict[str, str]:
    """Each key from the nearest level that has it (levels nearest first)."""
    out: dict[str, str] = {}
    for level in levels:
        for name, value in level:
            out.setdefault(name, value)
    return out


@dataclass
class Resolved(Generic[T]):
    payload: T
    levels: list[Keys]  # the keys of the span itself, then of its ancestors, nearest first
    complete: bool  # the chain reached the trace's root


@dataclass(slots=True)
class _Held(Generic[T]):
    """A record on its way up its chain: the keys found so far, and how far it went."""

    payload: T
    levels: list[Keys] = field(default_factory=list)
    depth: int = 0


class TraceBuffer(Generic[T]):
    """The latest spans' parent links and keys, and the records waiting on them."""

    def __init__(self, max_spans: int = MAX_SPANS, max_waiting: int = MAX_WAITING) -> None:
        self.max_spans = max_spans
        self.max_waiting = max_waiting
        # (trace, span) -> (parent span id or None for a root, its keys), oldest first
        self.links: OrderedDict[SpanKey, tuple[str | None, Keys | None]] = OrderedDict()
        # (trace, span) not seen yet -> the records whose chain stops there, oldest first
        self.missing: OrderedDict[SpanKey, list[_Held[T]]] = OrderedDict()
        self.waiting = 0
        self.released = 0  # records handed back early, the buffer full

    def add(
        self,
        trace_id: str,
        span_id: str,
        parent_id: str | None,
        keys: Keys | None,
        payload: T | None = None,
    ) -> list[Resolved[T]]:
        """Take one span (with its record, if it is one); the records now resolved."""
        key = (trace_id, span_id)
        self.links[key] = (parent_id or None, keys)
        self.links.move_to_end(key)  # a span exported twice counts as its latest
        resolved: list[Resolved[T]] = []
        if payload is not None:
            self._climb(key, _Held(payload), resolved)
        if self.missing and key in self.missing:
            for held in self.missing.pop(key):  # they go on up from here
                self.waiting -= 1
                self._climb(key, held, resolved)
        while len(self.links) > self.max_spans:
            self.links.popitem(last=False)
        while self.waiting > self.max_waiting:
            early = self._release()
            self.released += len(early)
            resolved += early
        return resolved

    def drain(self) -> Iterator[Resolved[T]]:
        """At the end of the file: every record still waiting, with what is known."""
        while self.missing:
            yield from self._release()

    def _climb(self, current: SpanKey, held: _Held[T], out: list[Resolved[T]]) -> None:
        """Walk up from `current` to the root (resolved), or to a span not seen yet (the
        record waits there, its keys so far with it: the links below may go meanwhile)."""
        trace = current[0]
        while True:
            link = self.links.get(current)
            if link is None:
                self.missing.setdefault(current, []).append(held)
                self.waiting += 1
                return
            parent, keys = link
            if keys:
                held.levels.append(keys)
            held.depth += 1
            if parent is None or held.depth >= MAX_DEPTH:  # the root, or a cycle
                out.append(Resolved(held.payload, held.levels, complete=parent is None))
                return
            current = (trace, parent)

    def _release(self) -> list[Resolved[T]]:
        """The records waiting longest on one missing span, with what is known."""
        _, held = self.missing.popitem(last=False)
        self.waiting -= len(held)
        return [Resolved(h.payload, h.levels, complete=False) for h in held]
