import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.fakes.openai_server import FakeOpenAI

from netra.agents.llm import LanguageModelError, WritingBrief
from netra.agents.llm.openai_compatible import OpenAICompatibleModel

LABELS = {
    "general": "general questions, greetings, help",
    "cost_overview": "total cost, spend, bill, expensive, money",
    "latency": "latency, slow responses, p95, speed",
}
DRAFT = "## Spend\n\nYou spent **$3,900.00** on 12,345 requests.\n\n- caching saves $410.50\n"
FACTS = {"total_cost_usd": 3900.0, "requests": 12345, "savings_usd_month": 410.5}
BRIEF = WritingBrief(question="Where does my money go?", draft=DRAFT, facts=FACTS)
SUMMARY = "You spent $3,900 on 12,345 requests. Caching alone saves $410.50 a month."
API_KEY = "sk-test-secret-key-0123456789"


@pytest.fixture
async def model(fake_openai: FakeOpenAI) -> AsyncIterator[OpenAICompatibleModel]:
    fake_openai.api_key = API_KEY
    llm = OpenAICompatibleModel(
        base_url=fake_openai.base_url, api_key=API_KEY, model="test-model", timeout_s=5.0
    )
    yield llm
    await llm.close()


async def collect(llm: OpenAICompatibleModel, brief: WritingBrief = BRIEF) -> str:
    return "".join([chunk async for chunk in llm.write(brief)])


async def test_classify_returns_the_label_the_model_answers(
    model: OpenAICompatibleModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = " Latency.\n"
    assert await model.classify("hello", LABELS) == "latency"
    (request,) = fake_openai.chat_requests
    assert request["model"] == "test-model"
    assert not request.get("stream")
    system, user = request["messages"]
    assert system["role"] == "system" and "cost_overview: total cost" in system["content"]
    assert user == {"role": "user", "content": "hello"}


async def test_classify_falls_back_to_keywords_when_the_reply_is_no_label(
    model: OpenAICompatibleModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = "I think this is about money or maybe speed"
    assert await model.classify("Why is my bill so expensive?", LABELS) == "cost_overview"


async def test_write_streams_the_models_summary_then_the_draft(
    model: OpenAICompatibleModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = SUMMARY
    chunks = [chunk async for chunk in model.write(BRIEF)]
    assert "".join(chunks) == SUMMARY + "\n\n" + DRAFT
    assert len(chunks) > 3  # streamed, not one blob
    (request,) = fake_openai.chat_requests
    assert request["model"] == "test-model" and request["stream"] is True
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert "Where does my money go?" in request["messages"][1]["content"]
    assert DRAFT in request["messages"][1]["content"]
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


async def test_a_summary_with_an_invented_number_is_replaced_by_the_draft(
    model: OpenAICompatibleModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = "You spent $3,900 and could save $1,250 a month."
    assert await collect(model) == DRAFT


async def test_an_empty_summary_leaves_the_draft_alone(
    model: OpenAICompatibleModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = "  \n"
    assert await collect(model) == DRAFT


async def test_a_server_error_raises_language_model_error(
    model: OpenAICompatibleModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.fail_status = 500
    with pytest.raises(LanguageModelError) as raised:
        await collect(model)
    assert raised.value.code == "llm_unavailable"
    assert fake_openai.base_url in raised.value.message and "500" in raised.value.message


async def test_a_rejected_key_raises_without_showing_the_key(fake_openai: FakeOpenAI) -> None:
    fake_openai.api_key = "sk-the-right-one"
    llm = OpenAICompatibleModel(
        base_url=fake_openai.base_url, api_key=API_KEY, model="m", timeout_s=5.0
    )
    with pytest.raises(LanguageModelError) as raised:
        await llm.classify("hello", LABELS)
    await llm.close()
    assert raised.value.code == "llm_rejected" and "401" in raised.value.message
    assert API_KEY not in str(raised.value)


@pytest.mark.parametrize("knob", [{"delay_s": 30.0}, {"stall_s": 30.0}])
async def test_a_server_slower_than_the_timeout_raises_llm_timeout(
    fake_openai: FakeOpenAI, knob: dict[str, Any]
) -> None:
    for name, value in knob.items():
        setattr(fake_openai, name, value)
    fake_openai.reply = SUMMARY
    llm = OpenAICompatibleModel(
        base_url=fake_openai.base_url, api_key=None, model="m", timeout_s=0.5
    )
    with pytest.raises(LanguageModelError) as raised:
        await collect(llm)
    await llm.close()
    assert raised.value.code == "llm_timeout"
    assert fake_openai.base_url in raised.value.message


async def test_a_stream_that_drips_past_the_deadline_raises_llm_timeout(
    fake_openai: FakeOpenAI,
) -> None:
    # Every event arrives well within a read timeout; only the whole-call deadline ends it.
    fake_openai.chunk_interval_s = 0.1
    fake_openai.reply = "word " * 100
    llm = OpenAICompatibleModel(
        base_url=fake_openai.base_url, api_key=None, model="m", timeout_s=0.5
    )
    with pytest.raises(LanguageModelError) as raised:
        await collect(llm)
    await llm.close()
    assert raised.value.code == "llm_timeout"


async def test_classify_against_a_stalled_body_raises_llm_timeout(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.stall_s = 30.0
    llm = OpenAICompatibleModel(
        base_url=fake_openai.base_url, api_key=None, model="m", timeout_s=0.5
    )
    with pytest.raises(LanguageModelError) as raised:
        await llm.classify("hello", LABELS)
    await llm.close()
    assert raised.value.code == "llm_timeout"


async def test_a_malformed_stream_raises_llm_bad_response(
    model: OpenAICompatibleModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.malformed_stream = True
    with pytest.raises(LanguageModelError) as raised:
        await collect(model)
    assert raised.value.code == "llm_bad_response"


async def test_connection_refused_raises_llm_unavailable() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = OpenAICompatibleModel(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=API_KEY, model="m", timeout_s=5.0
    )
    with pytest.raises(LanguageModelError) as raised:
        await llm.classify("hello", LABELS)
    await llm.close()
    assert raised.value.code == "llm_unavailable"
    assert f"127.0.0.1:{port}" in raised.value.message
