"""The reporting agent: writes the final answer, streaming it as `partial_result` chunks."""

from __future__ import annotations

from typing import Any

from netra.agents.llm import WritingBrief
from netra.agents.llm.offline import OfflineAnalyst
from netra.runs.context import RunContext

MIN_CHUNK = 48  # merge tiny model chunks: fewer events, same text


async def write(ctx: RunContext, llm: OfflineAnalyst, draft: str, facts: dict[str, Any]) -> str:
    async with ctx.agent("reporting") as step:
        await ctx.think("reporting", "Writing the answer.")
        brief = WritingBrief(question=ctx.request.question, draft=draft, facts=facts)

        async def stream() -> str:
            parts: list[str] = []
            buffer = ""
            async for chunk in llm.write(brief):
                buffer += chunk
                if len(buffer) >= MIN_CHUNK:
                    parts.append(buffer)
                    await ctx.emit("partial_result", "reporting", {"text": buffer})
                    buffer = ""
            if buffer:
                parts.append(buffer)
                await ctx.emit("partial_result", "reporting", {"text": buffer})
            return "".join(parts)

        content = await stream()  # deterministic: replayed, it writes the same chunks
        step.summary = f"answer written ({len(content):,} characters)"
        return content
