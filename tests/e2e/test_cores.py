"""A server's Python threads share one core; DuckDB's threads keep every core."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.server import Server

CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_setaffinity") else []
needs_two_cores = pytest.mark.skipif(
    len(CORES) < 2, reason="keeping threads on one core needs Linux and at least 2 usable cores")

# Run in a fresh interpreter: pinning the test process itself would slow every later test.
PROBE = """
import json, os, sys, threading
from netra import cores

def cores_of_a_new_thread():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(sorted(os.sched_getaffinity(0))))
    thread.start(); thread.join()
    return seen[0]

choice = sys.argv[1] if sys.argv[1] in ("auto", "off") else int(sys.argv[1])
try:
    kept = cores.keep_python_threads(choice, embedded=sys.argv[2] == "embedded")
except ValueError as error:
    print(json.dumps({"error": str(error)})); raise SystemExit
started = cores_of_a_new_thread()
with cores.every_core():
    inside = cores_of_a_new_thread()
print(json.dumps({"kept": kept, "started": started, "inside": inside,
                  "after": cores_of_a_new_thread()}))
"""


def _probe(choice: str, where: str = "embedded") -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, choice, where], check=True,
                          capture_output=True, text=True, timeout=60)
    result: dict[str, object] = json.loads(done.stdout)
    return result


@needs_two_cores
def test_auto_keeps_python_threads_on_the_last_core_and_libraries_may_use_all() -> None:
    assert _probe("auto") == {"kept": CORES[-1], "started": [CORES[-1]], "inside": CORES,
                              "after": [CORES[-1]]}


@needs_two_cores
def test_a_chosen_core_is_kept() -> None:
    assert _probe(str(CORES[0]))["started"] == [CORES[0]]


@needs_two_cores
def test_off_or_a_shared_database_leaves_threads_to_the_kernel() -> None:
    for choice, where in (("off", "embedded"), ("auto", "postgresql")):
        assert _probe(choice, where) == {"kept": None, "started": CORES, "inside": CORES,
                                         "after": CORES}


@needs_two_cores
def test_a_core_the_process_may_not_use_is_refused_by_name() -> None:
    error = str(_probe("4096")["error"])
    assert "NETRA_PYTHON_CORE=4096" in error and ", ".join(map(str, CORES)) in error


def _cores_of_threads(pid: int) -> dict[int, list[int]]:
    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            threads[int(task.name)] = sorted(os.sched_getaffinity(int(task.name)))
        except OSError:  # the thread ended meanwhile
            continue
    return threads


@needs_two_cores
def test_the_embedded_server_keeps_its_threads_on_one_core_but_duckdbs(server: Server) -> None:
    threads = _cores_of_threads(server.process.pid)
    assert threads[server.process.pid] == [CORES[-1]]  # the event loop's thread
    kept = sorted(tid for tid, cores in threads.items()
                  if cores == [CORES[-1]] and tid != server.process.pid)
    assert len(kept) > 1  # the threads it started: SQLite's, the run engine's
    # Threads ids rise as threads start: those started after the first kept one with
    # every core are DuckDB's (a thread or two started at import, before, keep them too).
    assert [tid for tid, cores in threads.items() if cores == CORES and tid > kept[0]]
