"""Any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, Ollama, LiteLLM, …).

The model classifies questions and writes a short executive summary above the
deterministic draft. Its prose is held back until the numbers guard has checked it, and
every call is bounded by one deadline, so a stalled endpoint costs at most `timeout_s`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import SecretStr

from netra.agents.llm import LanguageModelError, WritingBrief
from netra.agents.llm.guard import invented_numbers
from netra.agents.llm.offline import classify_by_keywords, split_into_chunks

log = logging.getLogger(__name__)

# The facts can be large; the draft already carries every number worth quoting.
_MAX_FACTS_CHARS = 12_000
# Local endpoints (Ollama, vLLM) accept any key, but the client library insists on one.
_NO_KEY = "not-needed"

_CLASSIFY_PROMPT = """You route questions about LLM usage and cost to the right specialist.
Answer with exactly one label from the list below and nothing else: no punctuation, no
explanation.

Labels:
{labels}"""

_WRITE_PROMPT = """You are the reporting analyst of Netra Apex, which finds cost savings in
LLM usage telemetry. Write one short executive-summary paragraph (2 to 4 sentences) that
answers the user's question from the analysis below. It will be shown above the full
report. Use only numbers that appear in the analysis, written exactly as they appear
there; never calculate, round, estimate or invent a number. Plain prose: no headings, no
lists, no Markdown tables."""


def _public_endpoint(base_url: str) -> str:
    """The URL without credentials or query, safe to show in an error message."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class OpenAICompatibleModel:
    """A language model behind an OpenAI-compatible HTTP API."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: SecretStr | str | None,
        model: str,
        timeout_s: float,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self.name = f"openai:{model}"
        self.model = model
        self.timeout_s = timeout_s
        self.endpoint = _public_endpoint(base_url)
        self._key = key or ""
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=key or _NO_KEY, timeout=timeout_s, max_retries=1
        )

    async def classify(self, question: str, labels: Mapping[str, str]) -> str:
        listed = "\n".join(f"- {label}: {description}" for label, description in labels.items())
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": _CLASSIFY_PROMPT.format(labels=listed)},
            {"role": "user", "content": question},
        ]
        with self._failures():
            async with asyncio.timeout(self.timeout_s):
                completion = await self._client.chat.completions.create(
                    model=self.model, messages=messages
                )
            reply = completion.choices[0].message.content if completion.choices else None
        label = _parse_label(reply or "", labels)
        if label is None:
            log.warning("%s answered %r, not a label; classifying offline", self.name, reply)
            return classify_by_keywords(question, labels)
        return label

    async def write(self, brief: WritingBrief) -> AsyncIterator[str]:
        pieces = await self._summary_pieces(brief)
        summary = "".join(pieces).strip()
        invented = invented_numbers(summary, draft=brief.draft, facts=brief.facts)
        if summary and not invented:
            for piece in pieces:
                yield piece
            yield "\n\n"
        elif invented:
            log.warning("%s summary dropped; numbers not from tools: %s", self.name, invented)
        for chunk in split_into_chunks(brief.draft):
            yield chunk

    async def close(self) -> None:
        await self._client.close()

    async def _summary_pieces(self, brief: WritingBrief) -> list[str]:
        """The model's summary as streamed, held back until it is complete."""
        facts = json.dumps(brief.facts, default=str, ensure_ascii=False)[:_MAX_FACTS_CHARS]
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": _WRITE_PROMPT},
            {
                "role": "user",
                "content": f"Question: {brief.question}\n\nTool results (JSON):\n{facts}"
                f"\n\nReport:\n{brief.draft}",
            },
        ]
        pieces: list[str] = []
        with self._failures():
            async with asyncio.timeout(self.timeout_s):
                stream = await self._client.chat.completions.create(
                    model=self.model, messages=messages, stream=True
                )
                async with stream:
                    async for chunk in stream:
                        delta = chunk.choices[0].delta.content if chunk.choices else None
                        if delta:
                            pieces.append(delta)
        # Leading whitespace would become stray Markdown indentation above the draft.
        while pieces and not pieces[0].strip():
            pieces.pop(0)
        if pieces:
            pieces[0] = pieces[0].lstrip()
            pieces[-1] = pieces[-1].rstrip()
        return pieces

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """Turn every way a call can fail into one LanguageModelError naming the endpoint."""
        where = f"language model {self.model!r} at {self.endpoint}"
        try:
            yield
        except (TimeoutError, openai.APITimeoutError, httpx.TimeoutException) as error:
            raise self._error(
                "llm_timeout", f"{where} did not answer within {self.timeout_s:g}s"
            ) from error
        except openai.APIStatusError as error:
            code = (
                "llm_unavailable"
                if error.status_code >= 500 or error.status_code == 429
                else "llm_rejected"
            )
            raise self._error(
                code, f"{where} answered HTTP {error.status_code}: {_error_text(error)}"
            ) from error
        except (openai.APIConnectionError, httpx.TransportError) as error:
            raise self._error(
                "llm_unavailable", f"{where} is unreachable: {error.__cause__ or error}"
            ) from error
        except (
            openai.OpenAIError,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            IndexError,
            httpx.HTTPError,
        ) as error:
            raise self._error(
                "llm_bad_response",
                f"{where} sent a malformed response: {type(error).__name__}: {error}",
            ) from error

    def _error(self, code: str, message: str) -> LanguageModelError:
        if self._key:
            message = message.replace(self._key, "***")
        return LanguageModelError(code, message)


def _error_text(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])[:300]
    return str(error.message)[:300]


def _parse_label(reply: str, labels: Mapping[str, str]) -> str | None:
    """The label the model meant, tolerating case, quotes and a trailing full stop."""
    cleaned = reply.strip().strip("`'\".*: \n").lower()
    by_lower = {label.lower(): label for label in labels}
    if cleaned in by_lower:
        return by_lower[cleaned]
    mentioned = [
        label for label in labels
        if re.search(rf"(?<![\w-]){re.escape(label.lower())}(?![\w-])", cleaned)
    ]  # fmt: skip
    return mentioned[0] if len(mentioned) == 1 else None
