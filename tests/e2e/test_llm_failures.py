"""A slow, failing or garbled OpenAI-compatible endpoint (the local wire-protocol fake)
ends the run with a clear `agent_error` within the configured timeout, never a hang."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.client import check_run_invariants, signup
from tests.e2e.server import Server, running_server
from tests.fakes.openai_server import FakeOpenAI, running_fake_openai

LLM_TIMEOUT_S = 2.0
# The run must end within the model's deadline plus the time the tools take; a hang would
# run into this bound instead (the fake stays silent for much longer than it).
ENDS_WITHIN_S = LLM_TIMEOUT_S + 8.0


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeOpenAI]:
    with running_fake_openai() as fake:
        yield fake


@pytest.fixture(autouse=True)
def healthy(fake_llm: FakeOpenAI) -> Iterator[None]:
    fake_llm.reply = lambda body: "A short answer." if body.get("stream") else "optimize"
    fake_llm.delay_s = fake_llm.stall_s = 0.0
    fake_llm.fail_status = None
    fake_llm.malformed_stream = False
    yield


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeOpenAI) -> Iterator[Server]:
    with running_server(
        tmp_path_factory.mktemp("llm"),
        NETRA_LLM_BASE_URL=fake_llm.base_url,
        NETRA_LLM_API_KEY="test-key",
        NETRA_LLM_TIMEOUT_S=str(LLM_TIMEOUT_S),
    ) as running:
        yield running


@pytest.fixture
async def client(llm_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=llm_server.base_url, timeout=30) as http:
        yield http


async def _run(llm_server: Server, client: httpx.AsyncClient) -> list[dict[str, Any]]:
    user = await signup(client, llm_server.ws_url)
    await user.demo_dataset(rows=1000)
    thread_id = await user.thread()
    socket = await user.socket()
    accepted = await socket.ask(thread_id, "How can we cut our LLM costs?")
    assert accepted["type"] == "message_accepted", accepted
    events = await socket.run_events(accepted["run_id"], timeout=ENDS_WITHIN_S)
    await socket.close()
    check_run_invariants(events)
    run = (await user.get(f"/api/runs/{accepted['run_id']}")).json()
    assert run["status"] == ("completed" if events[-1]["type"] == "agent_completed" else "failed")
    return events


def _error(events: list[dict[str, Any]]) -> dict[str, Any]:
    final = events[-1]
    assert final["type"] == "agent_error" and final["agent"] == "supervisor", final
    payload: dict[str, Any] = final["payload"]
    return payload


async def test_healthy_endpoint_writes_the_answer(
    llm_server: Server, client: httpx.AsyncClient
) -> None:
    events = await _run(llm_server, client)
    assert events[-1]["type"] == "agent_completed"


async def test_silent_endpoint_times_out_with_agent_error(
    llm_server: Server, client: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    fake_llm.delay_s = 60.0
    error = _error(await _run(llm_server, client))
    assert error["code"] == "llm_timeout"
    assert f"within {LLM_TIMEOUT_S:g}s" in error["message"]


async def test_endpoint_stalling_mid_stream_times_out(
    llm_server: Server, client: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    fake_llm.reply = lambda body: "A long answer. " * 50 if body.get("stream") else "optimize"
    fake_llm.stall_s = 60.0
    assert _error(await _run(llm_server, client))["code"] == "llm_timeout"


async def test_failing_endpoint_gives_agent_error_naming_the_status(
    llm_server: Server, client: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    fake_llm.fail_status = 503
    error = _error(await _run(llm_server, client))
    assert error["code"] == "llm_unavailable" and "HTTP 503" in error["message"]
    assert "test-key" not in error["message"]


async def test_garbled_stream_gives_agent_error(
    llm_server: Server, client: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    fake_llm.malformed_stream = True
    assert _error(await _run(llm_server, client))["code"] == "llm_bad_response"


async def test_server_serves_the_next_run_after_a_failure(
    llm_server: Server, client: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    fake_llm.fail_status = 500
    _error(await _run(llm_server, client))
    fake_llm.fail_status = None
    events = await asyncio.wait_for(_run(llm_server, client), ENDS_WITHIN_S * 2)
    assert events[-1]["type"] == "agent_completed"
