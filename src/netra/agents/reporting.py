"""The reporting agent: writes the final answer, streaming it as `partial_result` chunks."""

from __future__ import annotations

from typing import Any

from netra.agents.llm import WritingBrief
from netra.agents.llm.offline import OfflineAnalyst
from netra.runs.context import RunContext
from netra.web.markdown import render_markdown

# The answer is complete before it is sent (the built-in analyst composes it from tool
# results): a few large chunks, not one event a line. 160 events a run cost a third of
# its server time; the page shows the text as it comes either way.
MIN_CHUNK = 1500


def _cut(text: str, size: int) -> int:
    """Where a chunk of `text` ends: after the first blank line past `size` characters
    outside a code fence, so a chunk is whole Markdown blocks (0: not yet)."""
    start = size
    while (blank := text.find("\n\n", start)) != -1:
        if text.count("```", 0, blank) % 2 == 0:
            return blank + 2
        start = blank + 2
    return 0


def chunks(text: str, size: int = MIN_CHUNK) -> list[str]:
    """`text` in chunks of whole Markdown blocks, each at least `size` characters but
    the last."""
    parts: list[str] = []
    while end := _cut(text, size):
        parts.append(text[:end])
        text = text[end:]
    return [*parts, text] if text else parts


async def send_chunk(ctx: RunContext, agent: str, text: str) -> None:
    """One `partial_result`: the chunk, and its blocks rendered (sanitised) so the page
    shows the answer formatted while it arrives, not as Markdown source."""
    await ctx.emit("partial_result", agent, {"text": text, "html": render_markdown(text)})


async def write(ctx: RunContext, llm: OfflineAnalyst, draft: str, facts: dict[str, Any]) -> str:
    async with ctx.agent("reporting") as step:
        await ctx.think("reporting", "Writing the answer.")
        brief = WritingBrief(question=ctx.request.question, draft=draft, facts=facts)

        async def stream() -> str:
            content = buffer = ""
            async for piece in llm.write(brief):
                buffer += piece
                while end := _cut(buffer, MIN_CHUNK):
                    await send_chunk(ctx, "reporting", buffer[:end])
                    content, buffer = content + buffer[:end], buffer[end:]
            if buffer:
                await send_chunk(ctx, "reporting", buffer)
            return content + buffer

        content = await stream()  # deterministic: replayed, it writes the same chunks
        step.summary = f"answer written ({len(content):,} characters)"
        return content
