"""The checked answer goes out in chunks of whole Markdown blocks, each rendered on its
own: together they are the answer, and no chunk cuts a table or a code block."""

from __future__ import annotations

from netra.agents.reporting import chunks
from netra.web.markdown import render_markdown

TABLE = "| model | spend |\n|---|---:|\n" + "".join(f"| m{i} | ${i}.00 |\n" for i in range(40))
FENCE = "```yaml\nmodel_list:\n\n  - model_name: gpt-4o-mini\n\n    litellm_params: {}\n```\n"
ANSWER = ("## Executive summary\n\nYou spend **$1,000/month**.\n\n" + TABLE + "\n"
          + "Some words. " * 60 + "\n\n" + FENCE + "\n## Next steps\n\n1. Do it.\n")


def test_chunks_are_the_answer_in_whole_blocks() -> None:
    parts = chunks(ANSWER, 100)
    assert "".join(parts) == ANSWER
    assert len(parts) > 2
    for part in parts[:-1]:
        assert len(part) >= 100 and part.endswith("\n\n")
        assert part.count("```") % 2 == 0  # a code block is never cut
    # Each chunk renders as its own blocks: the table whole in one chunk.
    assert sum(render_markdown(p).count("<table>") for p in parts) == 1
    assert sum(render_markdown(p).count("<tr>") for p in parts) == 41


def test_a_short_answer_is_one_chunk_and_nothing_is_none() -> None:
    assert chunks("Just this.", 1500) == ["Just this."]
    assert chunks("", 1500) == []
