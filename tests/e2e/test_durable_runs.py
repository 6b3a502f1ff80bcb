"""Runs survive what kills processes: real processes, killed with SIGKILL, restarted,
and a second instance started beside them; assertions are what a user sees.

A slow model (the local OpenAI wire-protocol fake, streaming one word every 0.1 s) keeps
each run in its answer-writing step long enough to kill the process mid-run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.client import Socket, User, check_run_invariants, signup
from tests.e2e.processes import Netra, netra_processes, private_redis
from tests.e2e.server import running_server
from tests.fakes.clickhouse_server import clickhouse_server
from tests.fakes.openai_server import FakeOpenAI, ToolCall, running_fake_openai

WORDS = 60
LONG_ANSWER = " ".join(f"word{i}" for i in range(WORDS)) + "."
QUESTION = "How can we cut our LLM costs?"
RESUMED = "Resumed after an interruption"


def scripted(body: dict[str, Any]) -> Any:
    """The model looks at the conversation once (a quick tool call), then writes a long
    answer slowly: a run spends most of its time in that last model call."""
    if not any(m["role"] == "tool" for m in body["messages"]):
        return [ToolCall("previous_answer", {})]
    return LONG_ANSWER


@pytest.fixture
def slow_llm() -> Iterator[FakeOpenAI]:
    with running_fake_openai() as fake:
        fake.reply = scripted
        fake.chunk_interval_s = 0.1
        yield fake


def llm_env(fake: FakeOpenAI) -> dict[str, str]:
    return {"NETRA_LLM_BASE_URL": fake.base_url, "NETRA_LLM_API_KEY": "test-key",
            "NETRA_LLM_TIMEOUT_S": "30"}


async def until_writing(socket: Socket, run_id: str) -> list[dict[str, Any]]:
    """Wait until the model is writing the answer (the run's last, slow model call);
    the events so far."""
    await socket.until(lambda f: f.get("run_id") == run_id and f["type"] == "answer_delta")
    return [f for f in socket.frames if f.get("run_id") == run_id and "seq" in f]


async def resumed_events(
    user: User, run_id: str, seen: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Reconnect (as the web app does after a drop) and resume after the last seq seen."""
    socket = await user.socket()
    last = max((e["seq"] for e in seen), default=0)
    await socket.send({"type": "resume", "run_id": run_id, "after_seq": last})
    rest = await socket.run_events(run_id, timeout=60)
    await socket.close()
    return seen + rest


async def test_a_run_killed_mid_answer_completes_after_a_restart(
    tmp_path: Path, slow_llm: FakeOpenAI
) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, **llm_env(slow_llm)) as first:
        async with httpx.AsyncClient(base_url=first.base_url, timeout=30) as http:
            user = await signup(http, first.ws_url)
            await user.demo_dataset(rows=1000)
            thread_id = await user.thread()
            socket = await user.socket()
            run_id = (await socket.ask(thread_id, QUESTION))["run_id"]
            seen = await until_writing(socket, run_id)
            first.process.kill()  # SIGKILL mid-run
            first.process.wait()
    assert len(slow_llm.chat_requests) == 2
    with running_server(data_dir, **llm_env(slow_llm)) as second:
        async with httpx.AsyncClient(base_url=second.base_url, timeout=30) as http:
            user.http, user.ws_url = http, second.ws_url
            events = await resumed_events(user, run_id, seen)
            check_run_invariants(events)
            final = events[-1]
            assert final["type"] == "agent_completed", final
            assert LONG_ANSWER in final["payload"]["content"]
            assert any(RESUMED in e["payload"].get("text", "") for e in events
                       if e["type"] == "agent_thinking")
            # The finished steps were not done again: the first model call and its tool
            # call once each; only the model call that was writing ran again.
            assert len(slow_llm.chat_requests) == 3
            assert [e["payload"]["tool"] for e in events
                    if e["type"] == "tool_completed"] == ["previous_answer"]
            messages = (await user.get(f"/api/threads/{thread_id}/messages")).json()
            assert [m["role"] for m in messages] == ["user", "assistant"]
            assert messages[1]["content"] == final["payload"]["content"]
            stored = (await user.get(f"/api/runs/{run_id}/events")).json()
            assert stored == events


@pytest.fixture
def analytics_url(tmp_path: Path) -> Iterator[str]:
    """One ClickHouse engine every process of the test reads (the ClickHouse HTTP
    interface over chdb): runs execute wherever the queue sends them."""
    with clickhouse_server(tmp_path / "clickhouse") as url:
        yield url


@pytest.fixture
async def shared(
    postgres_url: str, redis_url: str, analytics_url: str
) -> AsyncIterator[dict[str, str]]:
    yield {"NETRA_DATABASE_URL": postgres_url, "NETRA_REDIS_URL": redis_url,
           "NETRA_ANALYTICS_URL": analytics_url}


def executor_of(postgres_url: str, run_id: str, timeout: float = 10.0) -> str:
    """Which process executes the run: DBOS records it in its system tables once a
    process has taken the run from the queue (waited for, up to `timeout`)."""
    import sqlalchemy as sa

    url = sa.make_url(postgres_url).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                found = connection.execute(sa.text(
                    "SELECT executor_id FROM dbos.workflow_status WHERE workflow_uuid = :id "
                    "AND status <> 'ENQUEUED'"
                ), {"id": run_id}).scalar()
            if found or time.monotonic() > deadline:
                return str(found)
            time.sleep(0.05)  # polling DBOS's record, bounded by the deadline
    finally:
        engine.dispose()


def process_of(processes: list[Netra], executor: str) -> Netra:
    [owner] = [p for p in processes if f"-{p.pid}-" in executor]
    return owner


async def test_a_survivor_takes_over_the_runs_of_a_killed_instance(
    tmp_path: Path, slow_llm: FakeOpenAI, shared: dict[str, str], postgres_url: str
) -> None:
    env = {**shared, **llm_env(slow_llm)}
    with netra_processes() as started:
        a = Netra("serve", tmp_path / "a", env).start()
        started.append(a)
        b = Netra("serve", tmp_path / "b", env).start()
        started.append(b)
        async with httpx.AsyncClient(base_url=a.server.base_url, timeout=30) as http:
            user = await signup(http, a.server.ws_url)
            thread_id = await user.thread()
            sockets = {}
            for process in (a, b):
                user.ws_url = process.server.ws_url
                sockets[process.role + str(process.port)] = await user.socket()
            asker = sockets[f"serve{a.port}"]
            slow_llm.chunk_interval_s = 0.3  # ~18 s of answer: time to start another
            run_id = (await asker.ask(thread_id, QUESTION))["run_id"]
            owner = executor_of(postgres_url, run_id)
            executing = process_of([a, b], owner)
            survivor = b if executing is a else a
            watcher = sockets[f"serve{survivor.port}"]
            await until_writing(watcher, run_id)

            # A third instance starting now leaves the live run alone.
            c = Netra("serve", tmp_path / "c", env).start()
            started.append(c)
            run = (await user.get(f"/api/runs/{run_id}")).json()
            assert run["status"] == "running" and executor_of(postgres_url, run_id) == owner

            executing.kill()
            slow_llm.chunk_interval_s = 0.01
            # The survivor recovers the run within 30 s of the kill (dead after 15 s
            # without a heartbeat, found on its next 5 s round), and finishes it.
            events = await watcher.run_events(run_id, timeout=30 + 10)
            check_run_invariants(events)  # every event once, in order, on the survivor
            assert events[-1]["type"] == "agent_completed"
            assert any(RESUMED in e["payload"].get("text", "") for e in events
                       if e["type"] == "agent_thinking")
            assert process_of([a, b, c], executor_of(postgres_url, run_id)) is not executing
            for name, socket in sockets.items():
                if name != f"serve{executing.port}":
                    await socket.close()


async def test_a_run_is_executed_by_a_worker_when_serve_does_not_execute_runs(
    tmp_path: Path, shared: dict[str, str], postgres_url: str
) -> None:
    with netra_processes() as started:
        worker = Netra("worker", tmp_path / "w", shared).start()
        started.append(worker)
        serve = Netra("serve", tmp_path / "s", {**shared, "NETRA_EXECUTE_RUNS": "false"}).start()
        started.append(serve)
        async with httpx.AsyncClient(base_url=serve.server.base_url, timeout=30) as http:
            ready = (await http.get("/health/ready")).json()
            assert ready["checks"]["run_queue"]["executes_runs"] is False
            assert ready["checks"]["run_queue"]["live_workers"] >= 1
            user = await signup(http, serve.server.ws_url)
            await user.demo_dataset(rows=1000)  # imported by serve, read by the worker
            thread_id = await user.thread()
            socket = await user.socket()
            run_id = (await socket.ask(thread_id, QUESTION))["run_id"]
            events = await socket.run_events(run_id)
            check_run_invariants(events)
            assert events[-1]["type"] == "agent_completed"
            assert events[-1]["payload"]["report"]["findings"], "an answer from the data"
            assert process_of([worker, serve], executor_of(postgres_url, run_id)) is worker
            await socket.close()


async def test_cancel_on_one_instance_stops_a_run_executing_on_another(
    tmp_path: Path, slow_llm: FakeOpenAI, shared: dict[str, str], postgres_url: str
) -> None:
    env = {**shared, **llm_env(slow_llm)}
    with netra_processes() as started:
        a = Netra("serve", tmp_path / "a", env).start()
        b = Netra("serve", tmp_path / "b", env).start()
        started += [a, b]
        async with httpx.AsyncClient(base_url=a.server.base_url, timeout=30) as http:
            user = await signup(http, a.server.ws_url)
            thread_id = await user.thread()
            socket = await user.socket()
            run_id = (await socket.ask(thread_id, QUESTION))["run_id"]
            await until_writing(socket, run_id)
            executing = process_of([a, b], executor_of(postgres_url, run_id))
            other = b if executing is a else a
            async with httpx.AsyncClient(base_url=other.server.base_url, timeout=30) as there:
                user.http = there
                response = await user.post(f"/api/runs/{run_id}/cancel")
                assert response.status_code == 202, response.text
            events = await socket.run_events(run_id, timeout=30)
            check_run_invariants(events)
            assert events[-1]["type"] == "run_cancelled"
            user.http = http
            run = (await user.get(f"/api/runs/{run_id}")).json()
            assert run["status"] == "cancelled"
            await socket.close()


async def test_the_same_message_sent_to_two_instances_makes_one_run(
    tmp_path: Path, shared: dict[str, str]
) -> None:
    with netra_processes() as started:
        a = Netra("serve", tmp_path / "a", shared).start()
        b = Netra("serve", tmp_path / "b", shared).start()
        started += [a, b]
        async with (
            httpx.AsyncClient(base_url=a.server.base_url, timeout=30) as http_a,
            httpx.AsyncClient(base_url=b.server.base_url, timeout=30) as http_b,
        ):
            user = await signup(http_a, a.server.ws_url)
            thread_id = await user.thread()
            body = {"content": "What data do you need?", "client_msg_id": "retry-1"}
            headers = user.auth
            answers = await asyncio.gather(*(
                http.post(f"/api/threads/{thread_id}/messages", json=body, headers=headers)
                for http in (http_a, http_b, http_a, http_b)))
            assert all(a.status_code == 202 for a in answers), [a.text for a in answers]
            assert len({a.json()["run"]["id"] for a in answers}) == 1
            messages = (await user.get(f"/api/threads/{thread_id}/messages")).json()
            assert [m["role"] for m in messages if m["role"] == "user"] == ["user"]


async def wait_until_ended(user: User, run_ids: list[str], timeout: float = 60) -> list[str]:
    """The runs' final statuses, polled over REST until none is queued or running."""
    async with asyncio.timeout(timeout):
        while True:
            statuses = [(await user.get(f"/api/runs/{r}")).json()["status"] for r in run_ids]
            if not any(s in ("queued", "running") for s in statuses):
                return statuses
            await asyncio.sleep(0.2)  # polling a status, bounded by the timeout


async def test_runs_complete_through_a_redis_outage(
    tmp_path: Path, slow_llm: FakeOpenAI, postgres_url: str, analytics_url: str
) -> None:
    """Redis stopped mid-run and while messages are sent, then restarted: every run
    completes, none stays queued, and a client that reconnects gets every event."""
    with private_redis(tmp_path / "redis") as redis_server, netra_processes() as started:
        env = {"NETRA_DATABASE_URL": postgres_url, "NETRA_REDIS_URL": redis_server.url,
               "NETRA_ANALYTICS_URL": analytics_url, **llm_env(slow_llm)}
        a = Netra("serve", tmp_path / "a", env).start()
        b = Netra("serve", tmp_path / "b", env).start()
        started += [a, b]
        async with (
            httpx.AsyncClient(base_url=a.server.base_url, timeout=30) as http_a,
            httpx.AsyncClient(base_url=b.server.base_url, timeout=30) as http_b,
        ):
            user = await signup(http_a, a.server.ws_url)
            user.ws_url = b.server.ws_url
            watcher = await user.socket()  # on B, ticket from A: through Redis
            first_thread = await user.thread()
            first = (await user.post(f"/api/threads/{first_thread}/messages",
                                     {"content": QUESTION})).json()["run"]["id"]
            await until_writing(watcher, first)

            redis_server.kill()  # mid-run
            run_ids = [first]
            for http in (http_a, http_b, http_a):  # messages sent while Redis is down
                thread_id = await user.thread()
                user.http = http
                answer = await user.post(f"/api/threads/{thread_id}/messages",
                                         {"content": "What data do you need?"})
                assert answer.status_code == 202, answer.text
                run_ids.append(answer.json()["run"]["id"])
            ready = (await http_a.get("/health/ready")).json()
            assert ready["status"] == "ready" and "event_bus" in ready["degraded"]
            redis_server.start()

            user.http = http_a
            assert await wait_until_ended(user, run_ids) == ["completed"] * len(run_ids)
            # The socket that stayed open on B catches up once Redis is back.
            events = await watcher.run_events(first, timeout=30)
            check_run_invariants(events)
            await watcher.close()
            # A client that reconnects gets every event of every run.
            user.ws_url = a.server.ws_url
            for run_id in run_ids:
                events = await resumed_events(user, run_id, [])
                check_run_invariants(events)
                assert events[-1]["type"] == "agent_completed"


async def test_a_run_past_its_timeout_ends_with_a_timeout_error(
    tmp_path: Path, slow_llm: FakeOpenAI
) -> None:
    """The run's deadline is DBOS's: it stops the model call mid-stream, and the run
    ends with `agent_error` `timeout`, its open tool calls and sub-agents closed."""
    slow_llm.chunk_interval_s = 1.0  # a minute of answer: far past the deadline
    with running_server(tmp_path / "data", NETRA_RUN_TIMEOUT_S="3",
                        **llm_env(slow_llm)) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            user = await signup(http, server.ws_url)
            thread_id = await user.thread()
            socket = await user.socket()
            run_id = (await socket.ask(thread_id, QUESTION))["run_id"]
            events = await socket.run_events(run_id, timeout=30)
            check_run_invariants(events)
            assert events[-1]["type"] == "agent_error", events[-1]
            assert events[-1]["payload"]["code"] == "timeout"
            run = (await user.get(f"/api/runs/{run_id}")).json()
            assert run["status"] == "failed" and run["error"]["code"] == "timeout"
            await socket.close()
