"""The reporting agent: writes the final answer, streaming it as `partial_result` chunks."""

from __future__ import annotations

from typing import Any

from netra.agents.llm import WritingBrief
from netra.agents.llm.offline import OfflineAnalyst
from netra.runs.context import RunContext

# The answer is complete before it is sent (the built-in analyst composes it from tool
# results): a few large chunks, not one event a line. 160 events a run cost a third of
# its server time; the page shows the text as it comes either way.
MIN_CHUNK = 1500


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
