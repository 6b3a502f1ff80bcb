"""The reporting agent: writes the final answer, streaming it as `partial_result` chunks."""

from __future__ import annotations

from typing import Any

from netra.agents.llm import WritingBrief
from netra.agents.llm.offline import OfflineAnalyst
from netra.runs.context import RunContext
from netra.web.markdown import ANSWER_CHUNK, next_section, render_section


async def send_chunk(ctx: RunContext, agent: str, text: str) -> None:
    """One `partial_result`: a chunk of whole sections (web/markdown.py), and its HTML
    (sanitised), so the page shows the answer formatted while it arrives."""
    await ctx.emit("partial_result", agent, {"text": text, "html": render_section(text)})


async def write(ctx: RunContext, llm: OfflineAnalyst, draft: str, facts: dict[str, Any]) -> str:
    async with ctx.agent("reporting") as step:
        await ctx.think("reporting", "Writing the answer.")
        brief = WritingBrief(question=ctx.request.question, draft=draft, facts=facts)

        async def stream() -> str:
            content = buffer = ""
            async for piece in llm.write(brief):
                buffer += piece
                while end := next_section(buffer, ANSWER_CHUNK):
                    await send_chunk(ctx, "reporting", buffer[:end])
                    content, buffer = content + buffer[:end], buffer[end:]
            if buffer:
                await send_chunk(ctx, "reporting", buffer)
            return content + buffer

        content = await stream()  # deterministic: replayed, it writes the same chunks
        step.summary = f"answer written ({len(content):,} characters)"
        return content
