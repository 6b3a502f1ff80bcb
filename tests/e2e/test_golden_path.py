"""The golden path through the real server: sign up, load data, ask, watch, get the answer."""

from __future__ import annotations

import asyncio

import httpx

from tests.e2e.client import check_run_invariants, signup
from tests.e2e.server import Server

FIVE_KINDS = {
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
}


async def golden_path(http: httpx.AsyncClient, ws_url: str) -> None:
    user = await signup(http, ws_url, "golden")
    dataset_id = await user.demo_dataset(rows=3000)
    thread_id = await user.thread("Where does our money go?")
    socket = await user.socket()
    accepted = await socket.ask(thread_id, "How can we cut our LLM costs?")
    assert accepted["type"] == "message_accepted", accepted
    events = await socket.run_events(accepted["run_id"])
    await socket.close()

    check_run_invariants(events)
    assert {e["type"] for e in events} >= FIVE_KINDS
    agents = [e["agent"] for e in events if e["type"] == "agent_started"]
    assert agents == ["supervisor", "triage", "data", "optimization", "actions", "reporting"]
    final = events[-1]
    assert final["type"] == "agent_completed" and final["agent"] == "supervisor"
    assert final["payload"]["report"]["dataset_id"] == dataset_id

    # The answer's headline figure is the overview tool's figure, not an invention.
    overview = next(
        e
        for e in events
        if e["type"] == "tool_completed" and e["payload"]["tool"] == "dataset_overview"
    )["payload"]["result"]
    monthly = f"${overview['monthly_spend_usd']:,.2f}"
    assert monthly in final["payload"]["content"]
    report = final["payload"]["report"]
    assert {"findings", "totals", "charts", "actions"} <= set(report)
    for finding in report["findings"]:
        assert f"${finding['savings_usd_month']:,.2f}" in final["payload"]["content"]

    # Stored: the thread history holds the question and the answer with its report.
    messages = (await user.get(f"/api/threads/{thread_id}/messages")).json()
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["id"] == final["payload"]["message_id"]
    assert messages[1]["content"] == final["payload"]["content"]
    assert messages[1]["report"] == report
    run = (await user.get(f"/api/runs/{accepted['run_id']}")).json()
    assert run["status"] == "completed" and run["finished_at"]
    stored = (await user.get(f"/api/runs/{accepted['run_id']}/events?after_seq=0")).json()
    assert stored == events


async def test_golden_path(server: Server, http: httpx.AsyncClient) -> None:
    await golden_path(http, server.ws_url)


async def test_rest_message_runs_the_same_pipeline(server: Server, http: httpx.AsyncClient) -> None:
    user = await signup(http, server.ws_url)
    await user.demo_dataset(rows=1000)
    thread_id = await user.thread()
    socket = await user.socket()
    response = await user.post(f"/api/threads/{thread_id}/messages", {"content": "spend by model"})
    assert response.status_code == 202, response.text
    run_id = response.json()["run"]["id"]
    events = await socket.run_events(run_id)
    check_run_invariants(events)
    assert events[-1]["type"] == "agent_completed"


async def test_user_without_data_gets_a_useful_answer(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url)
    thread_id = await user.thread()
    socket = await user.socket()
    accepted = await socket.ask(thread_id, "How can we save money?")
    events = await socket.run_events(accepted["run_id"])
    check_run_invariants(events)
    content = events[-1]["payload"]["content"]
    assert events[-1]["type"] == "agent_completed"
    for hint in ("records-csv", "/api/datasets", "/api/ingest/", "demo"):
        assert hint in content


async def test_two_users_are_isolated(server: Server, http: httpx.AsyncClient) -> None:
    alice = await signup(http, server.ws_url, "alice")
    bob = await signup(http, server.ws_url, "bob")
    await alice.demo_dataset(rows=1000)
    a_thread = await alice.thread()
    a_socket, b_socket = await alice.socket(), await bob.socket()
    accepted = await a_socket.ask(a_thread, "How can we cut costs?")
    await a_socket.run_events(accepted["run_id"])
    # B's socket, open the whole time, got nothing of A's; a ping proves it is alive
    # and that everything sent before the pong has been read.
    await b_socket.send({"type": "ping"})
    await b_socket.until(lambda f: f["type"] == "pong")
    assert [f for f in b_socket.frames if f["type"] != "pong"] == []
    for path in (
        f"/api/threads/{a_thread}",
        f"/api/threads/{a_thread}/messages",
        f"/api/runs/{accepted['run_id']}",
        f"/api/runs/{accepted['run_id']}/events",
    ):
        response = await bob.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    # B cannot resume, cancel or write into A's run and thread either.
    await b_socket.send({"type": "resume", "run_id": accepted["run_id"], "after_seq": 0})
    assert (await b_socket.until(lambda f: f["type"] == "error"))["code"] == "not_found"
    reply = await b_socket.ask(a_thread, "hello")
    assert reply["type"] == "error" and reply["code"] == "not_found"
    await a_socket.close()
    await b_socket.close()


async def test_fifty_concurrent_users_all_complete(server: Server, http: httpx.AsyncClient) -> None:
    async def one(i: int) -> list[dict]:  # type: ignore[type-arg]
        user = await signup(http, server.ws_url, f"load{i}")
        if i % 2 == 0:
            await user.demo_dataset(rows=500, seed=i)
        thread_id = await user.thread()
        socket = await user.socket()
        accepted = await socket.ask(thread_id, "How can we reduce our LLM bill?")
        assert accepted["type"] == "message_accepted", accepted
        events = await socket.run_events(accepted["run_id"], timeout=120)
        # Nothing of anyone else's reached this user's socket.
        assert {f["run_id"] for f in socket.frames if "run_id" in f} == {accepted["run_id"]}
        await socket.close()
        return events

    results = await asyncio.gather(*(one(i) for i in range(50)))
    for events in results:
        check_run_invariants(events)
        assert events[-1]["type"] == "agent_completed"
