"""The language-model agent through the real server, on a scripted OpenAI-compatible
model (the local fake speaks the real Chat Completions protocol, tool calls included):
it plans, calls the analyses and `query`, and writes the answer, whose numbers are
checked against the tool results."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from netra.web.markdown import render_markdown
from tests.e2e.client import Socket, User, check_run_invariants, signup
from tests.e2e.server import Server, running_server
from tests.fakes.openai_server import FakeOpenAI, ToolCall, running_fake_openai

QUESTION = "Where does our LLM money go?"


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    with running_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
def agent_server(tmp_path_factory: pytest.TempPathFactory, model: FakeOpenAI) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("agent"), NETRA_LLM_BASE_URL=model.base_url,
                        NETRA_LLM_API_KEY="test-key", NETRA_LLM_TIMEOUT_S="3",
                        NETRA_LLM_MAX_CALLS="6") as running:
        yield running


@pytest.fixture
async def user(agent_server: Server, model: FakeOpenAI) -> AsyncIterator[User]:
    model.requests.clear()
    model.fail_status = None
    model.delay_s = 0.0
    async with httpx.AsyncClient(base_url=agent_server.base_url, timeout=60) as http:
        someone = await signup(http, agent_server.ws_url, "agent")
        await someone.demo_dataset(rows=1000)
        yield someone


def tool_results(body: dict[str, Any]) -> list[Any]:
    """The tool results the model has been sent so far, parsed."""
    found = []
    for message in body["messages"]:
        if message["role"] == "tool":
            try:
                found.append(json.loads(message["content"]))
            except (TypeError, ValueError):
                found.append(message["content"])
    return found


async def ask(user: User, question: str = QUESTION, thread_id: str | None = None,
              ) -> tuple[list[dict[str, Any]], str]:
    thread_id = thread_id or await user.thread()
    socket: Socket = await user.socket()
    accepted = await socket.ask(thread_id, question)
    events = await socket.run_events(accepted["run_id"])
    await socket.close()
    check_run_invariants(events)
    return events, thread_id


def tools_called(events: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    return [(e["agent"], e["payload"]["tool"], e["payload"]["ok"])
            for e in events if e["type"] == "tool_completed"]


def overview_then_query(sql: str, answer: Any) -> Any:
    """A scripted model: the overview, one query, then an answer from their results."""

    def reply(body: dict[str, Any]) -> Any:
        results = tool_results(body)
        if not results:
            return [ToolCall("dataset_overview", {})]
        if len(results) == 1:
            return [ToolCall("query", {"sql": sql})]
        return answer(results)

    return reply


async def test_the_model_calls_tools_and_answers_from_their_results(
    user: User, model: FakeOpenAI
) -> None:
    sql = ("SELECT feature, round(sum(cost_usd), 2) AS cost FROM requests "
           "GROUP BY feature ORDER BY cost DESC LIMIT 1")

    def answer(results: list[Any]) -> str:
        overview, top = results[0], results[1]["rows"][0]
        return (f"You spent **${overview['spend_usd']:,.2f}** on {overview['requests']:,} "
                f"requests; the costliest feature is {top[0]} at ${top[1]:,.2f}.")

    model.reply = overview_then_query(sql, answer)
    events, thread_id = await ask(user)
    assert tools_called(events) == [("data", "dataset_overview", True), ("data", "query", True)]
    final = events[-1]
    assert final["type"] == "agent_completed"
    report = final["payload"]["report"]
    assert report["unverified"] == []
    assert final["payload"]["content"] == answer(tool_results(model.chat_requests[-1]))
    # the draft streamed as the model wrote it, then the checked answer
    deltas = [e["payload"] for e in events if e["type"] == "answer_delta"]
    drafted = "".join(d["text"] for d in deltas)
    assert drafted.strip() == final["payload"]["content"].strip()
    # each delta also brings the draft so far, rendered: the last one is all of it
    assert deltas[-1]["html"] == render_markdown(drafted)
    # what the answer itself cost, and the calls are a dataset of the user's own
    assert report["usage"]["model_calls"] == 3 and report["usage"]["cost_usd"] > 0
    datasets = (await user.get("/api/datasets")).json()
    own = next(d for d in datasets if d["name"] == report["usage"]["dataset"])
    assert own["rows"] == 3
    history = (await user.get(f"/api/threads/{thread_id}/messages")).json()
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[1]["content"] == final["payload"]["content"]


async def test_an_invented_number_is_left_out_and_listed(user: User, model: FakeOpenAI) -> None:
    def answer(results: list[Any]) -> str:
        return (f"You made {results[0]['requests']:,} requests. "
                "That is about $20,000 a year.")

    model.reply = overview_then_query("SELECT count(*) AS n FROM requests", answer)
    events, _ = await ask(user)
    payload = events[-1]["payload"]
    assert "$20,000" not in payload["content"]
    assert payload["report"]["unverified"] == ["$20,000 a year"]
    assert "requests" in payload["content"]


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM requests WHERE dataset_id <> ''",
    "SET threads = 1",
    "ATTACH '/tmp/x.db' AS x",
])
async def test_a_hostile_query_is_refused_and_the_model_told_why(
    user: User, model: FakeOpenAI, sql: str
) -> None:
    def reply(body: dict[str, Any]) -> Any:
        told = [m for m in body["messages"] if m["role"] == "tool"]
        if not told:
            return [ToolCall("query", {"sql": sql})]
        return "I could not run that query."

    model.reply = reply
    events, _ = await ask(user)
    assert tools_called(events) == [("data", "query", False)]
    refusal = next(e for e in events if e["type"] == "tool_completed")["payload"]["summary"]
    feedback = [m["content"] for m in model.chat_requests[-1]["messages"] if m["role"] == "tool"]
    assert feedback and refusal.removeprefix("failed: ") in feedback[0]
    assert "root:" not in json.dumps(events)  # nothing of the file, nothing of the others
    assert events[-1]["payload"]["content"] == "I could not run that query."


async def test_follow_ups_see_the_conversation(user: User, model: FakeOpenAI) -> None:
    model.reply = "Your biggest cost is the feature with the most tokens."
    _, thread_id = await ask(user)
    model.reply = "As I said."
    await ask(user, "And for the second one?", thread_id)
    messages = model.chat_requests[-1]["messages"]
    said = [m.get("content") for m in messages if m["role"] in ("user", "assistant")]
    assert QUESTION in said[0] if isinstance(said[0], str) else QUESTION in json.dumps(said[0])
    assert any("biggest cost" in json.dumps(s) for s in said)
    assert "And for the second one?" in json.dumps(said[-1])


async def test_a_model_that_never_stops_calling_tools_is_cut_off(
    user: User, model: FakeOpenAI
) -> None:
    model.reply = [ToolCall("dataset_overview", {})]  # forever
    events, _ = await ask(user)
    final = events[-1]
    assert final["type"] == "agent_completed"
    assert "UsageLimitExceeded" in final["payload"]["report"]["fallback"]
    assert len(model.chat_requests) <= 6


@pytest.mark.parametrize("failure", ["HTTP 503", "silence", "garbled"])
async def test_a_failing_model_falls_back_to_the_built_in_analyst(
    user: User, model: FakeOpenAI, failure: str
) -> None:
    model.reply = "unused"
    if failure == "HTTP 503":
        model.fail_status = 503
    elif failure == "silence":
        model.delay_s = 30.0
    else:
        model.malformed_stream = True
    try:
        events, _ = await ask(user, "How can we cut our LLM costs?")
    finally:
        model.malformed_stream = False
    final = events[-1]
    assert final["type"] == "agent_completed", final
    payload = final["payload"]
    assert payload["report"]["fallback"] and "test-key" not in json.dumps(events)
    assert payload["content"].startswith("_The language model was unavailable")
    assert payload["report"]["findings"], "the built-in analyst's full answer"


async def test_an_ag_ui_client_drives_the_same_runs(
    agent_server: Server, user: User, model: FakeOpenAI
) -> None:
    """POST /api/ag-ui: AG-UI events out (checked with the ag-ui-protocol types), the
    question and answer stored in the thread, the run's events on /ws too."""
    from ag_ui.core import Event as AgUiEvent
    from ag_ui.core import EventType, RunAgentInput, UserMessage
    from pydantic import TypeAdapter

    model.reply = overview_then_query(
        "SELECT count(*) AS n FROM requests",
        lambda results: f"You made {results[1]['rows'][0][0]:,} requests.")
    thread_id = await user.thread()
    watcher = await user.socket()
    body = RunAgentInput(thread_id=thread_id, run_id="agui-run-1", messages=[
        UserMessage(id="m1", role="user", content="How many requests did we make?")])
    parse = TypeAdapter(AgUiEvent)
    events = []
    async with user.http.stream("POST", "/api/ag-ui", headers=user.auth,
                                content=body.model_dump_json(by_alias=True)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(parse.validate_json(line.removeprefix("data: ")))
    kinds = [e.type for e in events]
    assert kinds[0] == EventType.RUN_STARTED and kinds[-1] == EventType.RUN_FINISHED
    assert [e.tool_call_name for e in events if e.type == EventType.TOOL_CALL_START] == [
        "dataset_overview", "query"]
    text = "".join(e.delta for e in events if e.type == EventType.TEXT_MESSAGE_CONTENT)
    assert text == "You made 1,000 requests."
    messages = (await user.get(f"/api/threads/{thread_id}/messages")).json()
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "How many requests did we make?"), ("assistant", text)]
    run_id = messages[0]["run_id"]
    check_run_invariants(await watcher.run_events(run_id))
    await watcher.close()


async def test_ag_ui_refuses_another_users_thread(agent_server: Server, user: User) -> None:
    async with httpx.AsyncClient(base_url=agent_server.base_url, timeout=30) as http:
        stranger = await signup(http, agent_server.ws_url, "stranger")
        body = {"threadId": await user.thread(), "runId": "r", "messages": [
            {"id": "m", "role": "user", "content": "hello"}]}
        answer = await http.post("/api/ag-ui", json=body, headers=stranger.auth)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
        unauthenticated = await http.post("/api/ag-ui", json=body)
        assert unauthenticated.status_code == 401
        bad = await http.post("/api/ag-ui", json={"threadId": "x"}, headers=stranger.auth)
        assert bad.status_code == 400 and "RunAgentInput" in bad.json()["error"]["message"]


async def test_a_malformed_tool_call_is_sent_back_then_given_up_on(
    user: User, model: FakeOpenAI
) -> None:
    """A tool that does not exist, or arguments of the wrong shape: the model is told and
    may correct itself; one that keeps at it ends in the built-in analyst's answer."""
    def reply(body: dict[str, Any]) -> Any:
        corrections = [m for m in body["messages"] if m["role"] == "tool"]
        if len(corrections) < 2:
            return [ToolCall("spend_breakdown", {"by": "planet"})]  # not a dimension
        return "Spend is broken down by feature in the report."

    model.reply = reply
    events, _ = await ask(user)
    feedback = [m["content"] for m in model.chat_requests[-1]["messages"] if m["role"] == "tool"]
    assert feedback and all("planet" in f or "by" in f for f in feedback)
    assert events[-1]["payload"]["content"] == "Spend is broken down by feature in the report."

    model.reply = [ToolCall("drop_all_tables", {})]  # forever, a tool there is not
    events, _ = await ask(user)
    assert events[-1]["type"] == "agent_completed"
    assert events[-1]["payload"]["report"]["fallback"]
