"""Which cores a server's Python threads run on: one, in the embedded default.

A `netra serve` (or `netra worker`) is bound by Python's GIL: its event loop, the SQLite
connection threads and the run engine's threads take turns holding it, so together they
use about one core however many there are. Left free to spread, each hand-over of the
GIL wakes a thread on another core, whose caches hold none of the data it is about to
touch; kept on one core, a hand-over is a switch on the same core. In a burst of 200
questions on 2 cores, kept threads cost a tenth to a quarter less CPU per answer than
free ones (the same code side by side, `auto` against `off`).

Only our own threads are kept there. DuckDB's threads, which do not need the GIL, keep
every core (`every_core` around opening the database: threads inherit the cores of the
thread that starts them), and so do all other processes: the kernel moves them off a
core our threads keep busy, so a busy core does not stall us. Several servers on one
machine (a scaled deployment, on PostgreSQL) would all pick the same core, so `auto`
keeps threads on one core only in the embedded default, one process on its own data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from typing import Literal

log = logging.getLogger(__name__)

CoreChoice = Literal["auto", "off"] | int

_lock = threading.Lock()
_all: set[int] | None = None  # every core the process may use, once its threads are kept
_kept: set[int] | None = None  # the core they are kept on


def keep_python_threads(choice: CoreChoice, *, embedded: bool) -> int | None:
    """Keep this thread, and every thread it starts from now on, on one core. Call it
    first thing in the process, before any thread starts. The core, or None (left to
    the kernel: off, not Linux, a single core, or `auto` on a shared database)."""
    global _all, _kept
    if choice == "off" or (choice == "auto" and not embedded):
        return None
    if not hasattr(os, "sched_setaffinity"):
        return None  # not Linux: the kernel decides
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None
    if choice == "auto":
        core = usable[-1]  # the first core usually takes more of the machine's interrupts
    elif choice in usable:
        core = choice
    else:
        raise ValueError(f"NETRA_PYTHON_CORE={choice}: this process may only use cores "
                         f"{', '.join(map(str, usable))}")
    with _lock:
        os.sched_setaffinity(0, {core})  # 0: the calling thread (Linux)
        _all, _kept = set(usable), {core}
    log.info("Python threads kept on core %d of %d (NETRA_PYTHON_CORE=%s)",
             core, len(usable), choice)
    return core


@contextlib.contextmanager
def every_core() -> Iterator[None]:
    """Threads started inside this block (by a library such as DuckDB, for work that
    does not hold the GIL) may run on every core."""
    with _lock:
        everything, kept = _all, _kept
    if everything is None or kept is None:
        yield
        return
    os.sched_setaffinity(0, everything)
    try:
        yield
    finally:
        os.sched_setaffinity(0, kept)
