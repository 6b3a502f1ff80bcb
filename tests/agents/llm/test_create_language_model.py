from pydantic import SecretStr
from tests.fakes.openai_server import FakeOpenAI

from netra.agents.llm import create_language_model
from netra.agents.llm.offline import OfflineAnalyst
from netra.agents.llm.openai_compatible import OpenAICompatibleModel
from netra.settings import Settings


async def test_without_a_base_url_the_offline_analyst_is_used() -> None:
    model = create_language_model(Settings(llm_base_url=None))
    assert isinstance(model, OfflineAnalyst) and model.name == "offline"
    await model.close()


async def test_with_a_base_url_the_openai_compatible_model_talks_to_it(
    fake_openai: FakeOpenAI,
) -> None:
    settings = Settings(
        llm_base_url=fake_openai.base_url,
        llm_api_key=SecretStr("sk-settings-key"),
        llm_model="my-model",
        llm_timeout_s=5.0,
    )
    model = create_language_model(settings)
    assert isinstance(model, OpenAICompatibleModel) and model.name == "openai:my-model"
    fake_openai.reply = "general"
    assert await model.classify("hi", {"cost": "money", "general": "anything"}) == "general"
    await model.close()
    assert fake_openai.chat_requests[0]["model"] == "my-model"
    assert fake_openai.requests[0].headers["authorization"] == "Bearer sk-settings-key"
