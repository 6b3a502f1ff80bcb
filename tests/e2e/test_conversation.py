"""Follow-up questions in one thread, and questions the data cannot answer yet, through
the real server. Each follow-up must be answered from the tool that measures it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.client import Socket, User, check_run_invariants, signup
from tests.e2e.server import Server


async def _answer(socket: Socket, thread_id: str, question: str) -> list[dict[str, Any]]:
    accepted = await socket.ask(thread_id, question)
    assert accepted["type"] == "message_accepted", accepted
    events = await socket.run_events(accepted["run_id"])
    check_run_invariants(events)
    assert events[-1]["type"] == "agent_completed", events[-1]
    return events


def _tools(events: list[dict[str, Any]]) -> list[str]:
    return [e["payload"]["tool"] for e in events if e["type"] == "tool_completed"]


def _result(events: list[dict[str, Any]], tool: str) -> Any:
    return next(e["payload"]["result"] for e in events
                if e["type"] == "tool_completed" and e["payload"]["tool"] == tool)


def _content(events: list[dict[str, Any]]) -> str:
    return str(events[-1]["payload"]["content"])


async def test_follow_ups_in_one_thread_use_the_right_tool(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url, "follow")
    await user.demo_dataset(rows=4000)
    thread_id = await user.thread("Follow-ups")
    socket = await user.socket()

    first = await _answer(socket, thread_id, "How can we cut our LLM costs?")
    findings = first[-1]["payload"]["report"]["findings"]
    assert len(findings) >= 2

    # "the second finding": the second of the ranked findings, re-measured by its finder.
    detail = await _answer(socket, thread_id, "Tell me more about the second finding")
    second = findings[1]
    assert f"find_{second['category']}" in _tools(detail)
    assert second["title"] in _content(detail)

    # What-if on half of a feature: the replay tool, with the share and feature as asked.
    routing = next(f for f in findings if f["category"] == "model_rightsizing")
    feature = routing["evidence"]["feature"]
    replay = await _answer(socket, thread_id, f"What if we move only half of {feature}?")
    simulate = next(e for e in replay if e["type"] == "tool_executing"
                    and e["payload"]["tool"] == "simulate")["payload"]["args"]
    assert simulate["share_pct"] == 50.0 and list(simulate["features"]) == [feature]
    result = _result(replay, "simulate")
    assert f"${result['savings_usd_month']:,.2f}" in _content(replay)

    week = await _answer(socket, thread_id, "Spend by feature last week")
    breakdown = next(e for e in week if e["type"] == "tool_executing"
                     and e["payload"]["tool"] == "spend_breakdown")["payload"]["args"]
    assert breakdown == {"dataset_id": breakdown["dataset_id"], "by": "feature", "last_days": 7}

    slow = await _answer(socket, thread_id, "Which model is slowest?")
    slowest = _result(slow, "latency_by_model")["rows"][0]
    assert slowest["model"] in _content(slow)

    providers = await _answer(socket, thread_id, "Compare providers for gpt-4o-class models")
    assert "compare_providers" in _tools(providers)

    errors = await _answer(socket, thread_id, "What did errors cost us?")
    cost = _result(errors, "error_cost")
    assert f"${cost['cost_usd']:,.2f}" in _content(errors)

    # The whole conversation is stored in order.
    messages = (await user.get(f"/api/threads/{thread_id}/messages")).json()
    assert [m["role"] for m in messages] == ["user", "assistant"] * 7
    await socket.close()


async def test_no_dataset_gets_a_complete_answer_saying_what_to_bring(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url, "empty")
    thread_id = await user.thread()
    socket = await user.socket()
    events = await _answer(socket, thread_id, "Where could we save money on caching?")
    content = _content(events)
    for hint in ("records-csv", "/api/datasets", "/api/ingest/", "demo", "prompt_hash"):
        assert hint in content, hint
    await socket.close()


# No prompt_hash, no prefix_hash: caching questions cannot be answered from this.
_NO_HASHES = "ts,provider,model,input_tokens,output_tokens,feature,latency_ms\n" + "".join(
    f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:00:00Z,openai,gpt-4o,{800 + i},{40 + i % 9},"
    f"{'search' if i % 2 else 'chat'},{300 + i}\n"
    for i in range(240)
)


async def _upload(user: User, text: str) -> dict[str, Any]:
    answer = await user.post("/api/datasets", files={"file": ("calls.csv", text.encode())},
                             data={"name": "no hashes"})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_caching_question_without_prompt_hashes_says_what_to_add(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url, "nohash")
    dataset = await _upload(user, _NO_HASHES)
    assert dataset["rows"] == 240
    thread_id = await user.thread()
    socket = await user.socket()
    events = await _answer(socket, thread_id, "How much would prompt caching save us?")
    content = _content(events)
    report = events[-1]["payload"]["report"]
    assert report["missing"] == ["prompt_hash", "prefix_hash"]
    assert "prompt_hash" in content and "prefix_hash" in content
    # What it could already conclude: the dataset's own spend, from the overview tool.
    overview = _result(events, "dataset_overview")
    assert f"${overview['spend_usd']:,.2f}" in content
    assert not any(t.startswith("find_") for t in _tools(events))
    await socket.close()


async def test_without_a_model_an_unrecognised_question_is_said_to_need_one(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url, "unknown")
    await user.demo_dataset(rows=500)
    socket = await user.socket()
    events = await _answer(socket, await user.thread(), "Wie hoch war unser Umsatz?")
    content = _content(events)
    assert content.startswith("I could not match this question to an analysis")
    assert "NETRA_LLM_BASE_URL" in content and "## What the data shows" in content
    await socket.close()
