"""The fake must speak the real protocol: the official client is the judge."""

import openai
import pytest
from tests.fakes.openai_server import FakeOpenAI


async def test_the_official_client_reads_completions_streams_and_models(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.reply = lambda body: f"echo {body['messages'][-1]['content']}"
    async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="k") as client:
        completion = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi there"}]
        )
        stream = await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "again"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
        models = await client.models.list()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "echo hi there"
    assert completion.choices[0].finish_reason == "stop"
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo again"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    assert [m.id for m in models.data] == ["gpt-4o-mini"]
    assert [r.path for r in fake_openai.requests] == [
        "/v1/chat/completions",
        "/v1/chat/completions",
        "/v1/models",
    ]


async def test_a_failure_status_carries_an_openai_error_body(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_status = 429
    fake_openai.fail_message = "slow down"
    async with openai.AsyncOpenAI(
        base_url=fake_openai.base_url, api_key="k", max_retries=0
    ) as client:
        with pytest.raises(openai.RateLimitError) as raised:
            await client.chat.completions.create(model="m", messages=[])
    assert raised.value.status_code == 429
    assert isinstance(raised.value.body, dict) and raised.value.body["message"] == "slow down"
