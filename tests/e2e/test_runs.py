"""Runs that outlive sockets: resume, cancel, the active-run limit. The server here writes
with an OpenAI-compatible model (the local wire-protocol fake) that streams slowly, so a
run is reliably still in progress while the test acts on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.client import check_run_invariants, is_terminal, signup
from tests.e2e.server import Server, running_server
from tests.fakes.openai_server import FakeOpenAI, running_fake_openai

SLOW_PARAGRAPH = " ".join(["Costs are concentrated in a few features."] * 12)


def _reply(body: dict[str, Any]) -> str:
    return SLOW_PARAGRAPH


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeOpenAI]:
    with running_fake_openai() as fake:
        fake.reply = _reply
        fake.chunk_interval_s = 0.05  # ~100 chunks: a run takes a few seconds
        yield fake


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeOpenAI) -> Iterator[Server]:
    with running_server(
        tmp_path_factory.mktemp("slow"),
        NETRA_LLM_BASE_URL=fake_llm.base_url,
        NETRA_LLM_API_KEY="test-key",
        NETRA_LLM_TIMEOUT_S="60",
    ) as running:
        yield running


@pytest.fixture
async def client(slow_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=slow_server.base_url, timeout=30) as http:
        yield http


def _in_reporting(frame: dict[str, Any]) -> bool:
    """The model is writing the answer (slowly): the run is well under way."""
    return frame.get("type") == "answer_delta"


async def test_resume_after_disconnect_gets_exactly_the_missing_events(
    slow_server: Server, client: httpx.AsyncClient
) -> None:
    user = await signup(client, slow_server.ws_url)
    await user.demo_dataset(rows=1000)
    thread_id = await user.thread()
    first = await user.socket()
    accepted = await first.ask(thread_id, "How can we cut costs?")
    await first.until(_in_reporting)  # the model is now streaming: the run is mid-way
    seen = [f for f in first.frames if f.get("run_id") == accepted["run_id"] and "seq" in f]
    last_seq = seen[-1]["seq"]
    await first.close()  # disconnect mid-run; the run must carry on

    second = await user.socket()
    await second.send({"type": "resume", "run_id": accepted["run_id"], "after_seq": last_seq})
    rest = await second.run_events(accepted["run_id"])
    assert [e["seq"] for e in rest] == list(range(last_seq + 1, last_seq + 1 + len(rest)))
    check_run_invariants(seen + rest)
    assert rest[-1]["type"] == "agent_completed"
    stored = (await user.get(f"/api/runs/{accepted['run_id']}/events")).json()
    assert stored == seen + rest
    await second.close()


async def test_resume_of_a_finished_run_replays_the_rest_once(
    slow_server: Server, client: httpx.AsyncClient
) -> None:
    user = await signup(client, slow_server.ws_url)
    thread_id = await user.thread()
    socket = await user.socket()
    accepted = await socket.ask(thread_id, "What should we bring?")
    events = await socket.run_events(accepted["run_id"])
    await socket.send({"type": "resume", "run_id": accepted["run_id"], "after_seq": 3})
    await socket.send({"type": "ping"})
    await socket.until(lambda f: f["type"] == "pong")
    run_frames = [f for f in socket.frames if f.get("run_id") == accepted["run_id"] and "seq" in f]
    replayed = run_frames[len(events) :]
    # This socket already holds every event, so nothing is sent twice.
    assert replayed == []
    other = await user.socket()
    await other.send({"type": "resume", "run_id": accepted["run_id"], "after_seq": 3})
    again = await other.run_events(accepted["run_id"])
    assert again == events[3:]
    await socket.close()
    await other.close()


async def test_cancel_run_ends_with_run_cancelled(
    slow_server: Server, client: httpx.AsyncClient
) -> None:
    user = await signup(client, slow_server.ws_url)
    await user.demo_dataset(rows=1000)
    thread_id = await user.thread()
    socket = await user.socket()
    accepted = await socket.ask(thread_id, "How can we cut costs?")
    await socket.until(_in_reporting)
    await socket.send({"type": "cancel_run", "run_id": accepted["run_id"]})
    events = await socket.run_events(accepted["run_id"])
    check_run_invariants(events)
    assert events[-1]["type"] == "run_cancelled"
    run = (await user.get(f"/api/runs/{accepted['run_id']}")).json()
    assert run["status"] == "cancelled"
    messages = (await user.get(f"/api/threads/{thread_id}/messages")).json()
    assert [m["role"] for m in messages] == ["user"]
    await socket.close()


async def test_rest_cancel(slow_server: Server, client: httpx.AsyncClient) -> None:
    user = await signup(client, slow_server.ws_url)
    thread_id = await user.thread()
    socket = await user.socket()
    accepted = await socket.ask(thread_id, "How can we cut costs?")
    await socket.until(_in_reporting)
    response = await user.post(f"/api/runs/{accepted['run_id']}/cancel")
    assert response.status_code == 202
    events = await socket.run_events(accepted["run_id"])
    assert events[-1]["type"] == "run_cancelled"
    await socket.close()


async def test_sixth_concurrent_run_is_refused(
    slow_server: Server, client: httpx.AsyncClient
) -> None:
    user = await signup(client, slow_server.ws_url)
    socket = await user.socket()
    runs = []
    for i in range(5):
        accepted = await socket.ask(await user.thread(f"t{i}"), "How can we cut costs?")
        assert accepted["type"] == "message_accepted", accepted
        runs.append(accepted["run_id"])
    refused = await socket.ask(await user.thread("t6"), "One more?")
    assert refused["type"] == "error" and refused["code"] == "too_many_runs", refused
    response = await user.post(
        f"/api/threads/{await user.thread('t7')}/messages", {"content": "and over REST?"}
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_runs"
    for run_id in runs:  # the connection stays usable and the five finish
        await socket.send({"type": "cancel_run", "run_id": run_id})
    for run_id in runs:
        events = await socket.run_events(run_id)
        check_run_invariants(events)
    await socket.close()


def _answering(frames: list[dict[str, Any]], run_id: str) -> list[int]:
    """Where, in the order a socket received them, the run's answer was streaming."""
    return [i for i, f in enumerate(frames)
            if f.get("run_id") == run_id and f["type"] == "answer_delta"]


def _ended(frames: list[dict[str, Any]], run_id: str) -> int:
    return next(i for i, f in enumerate(frames)
                if f.get("run_id") == run_id and "seq" in f and is_terminal(f))


async def _two_runs(server: Server, http: httpx.AsyncClient) -> tuple[list[dict[str, Any]],
                                                                     str, str]:
    """One user asks in two threads at once: every frame their socket got, in order, and
    the two runs in the order they began to stream (which goes first is the queue's
    choice)."""
    user = await signup(http, server.ws_url)
    socket = await user.socket()
    first = (await socket.ask(await user.thread("a"), "How can we cut costs?"))["run_id"]
    second = (await socket.ask(await user.thread("b"), "Where does the money go?"))["run_id"]
    for run_id in (first, second):
        events = await socket.run_events(run_id)
        check_run_invariants(events)
        assert events[-1]["type"] == "agent_completed", events[-1]
    await socket.close()
    earlier, later = sorted((first, second), key=lambda run: _answering(socket.frames, run)[0])
    return socket.frames, earlier, later


async def test_one_users_runs_execute_side_by_side_by_default(
    slow_server: Server, client: httpx.AsyncClient
) -> None:
    """No per-user cap is set: the intake's limit bounds a user's runs, and two of them
    execute at once (the second streams its answer while the first still does)."""
    frames, earlier, later = await _two_runs(slow_server, client)
    assert _answering(frames, later)[0] < _ended(frames, earlier)


async def test_a_per_user_cap_keeps_a_users_next_run_waiting_on_the_queue(
    tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    """NETRA_MAX_CONCURRENT_RUNS_PER_USER=1: both runs are accepted at once, but one
    executes only once the other has ended (a queue partition per user)."""
    with running_server(tmp_path / "capped", NETRA_MAX_CONCURRENT_RUNS_PER_USER="1",
                        NETRA_LLM_BASE_URL=fake_llm.base_url, NETRA_LLM_API_KEY="test-key",
                        NETRA_LLM_TIMEOUT_S="60") as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            frames, earlier, later = await _two_runs(server, http)
    assert _answering(frames, later)[0] > _ended(frames, earlier)


async def test_retried_client_msg_id_starts_nothing_new(
    slow_server: Server, client: httpx.AsyncClient
) -> None:
    user = await signup(client, slow_server.ws_url)
    thread_id = await user.thread()
    socket = await user.socket()
    first = await socket.ask(thread_id, "How can we cut costs?", client_msg_id="retry-1")
    again = await socket.ask(thread_id, "How can we cut costs?", client_msg_id="retry-1")
    assert first == again
    await socket.run_events(first["run_id"])
    messages = (await user.get(f"/api/threads/{thread_id}/messages")).json()
    assert [m["role"] for m in messages] == ["user", "assistant"]
    await socket.close()


def test_data_dir_holds_the_embedded_stores(slow_server: Server) -> None:
    data_dir = Path(slow_server.log_path).parent
    assert (data_dir / "netra.db").exists()
    assert (data_dir / "analytics.duckdb").exists()
