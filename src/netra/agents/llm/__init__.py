"""The language model the agents talk to: one Protocol, one file per implementation.

The offline analyst (deterministic, no network) is the default; an OpenAI-compatible
endpoint is used when NETRA_LLM_BASE_URL is set. Either way the model only classifies
questions and words the opening of an answer: every number still comes from a tool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from netra.runs.context import RunError

if TYPE_CHECKING:
    from netra.settings import Settings


class LanguageModelError(RunError):
    """A language model call failed; `code` is e.g. llm_timeout, llm_unavailable."""


@dataclass(frozen=True)
class WritingBrief:
    question: str
    # The complete, deterministic Markdown answer built from tool results.
    draft: str
    # The tool results the draft was built from (JSON-serialisable).
    facts: dict[str, Any]


class LanguageModel(Protocol):
    name: str

    async def classify(self, question: str, labels: Mapping[str, str]) -> str:
        """One key of `labels` (label -> description with the words that signal it)."""
        ...

    def write(self, brief: WritingBrief) -> AsyncIterator[str]:
        """Stream the final Markdown answer in chunks."""
        ...

    async def close(self) -> None: ...


def create_language_model(settings: Settings) -> LanguageModel:
    """The model named by settings: offline unless an OpenAI-compatible URL is set."""
    # Imported here so the offline default never loads the openai client library.
    if settings.llm_provider == "openai" and settings.llm_base_url:
        from netra.agents.llm.openai_compatible import OpenAICompatibleModel

        return OpenAICompatibleModel(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            model=settings.llm_model,
            timeout_s=settings.llm_timeout_s,
        )
    from netra.agents.llm.offline import OfflineAnalyst

    return OfflineAnalyst()


__all__ = ["LanguageModel", "LanguageModelError", "WritingBrief", "create_language_model"]
