"""The checked answer goes out in chunks of whole sections, each rendered on its own:
together they are the answer, its HTML is exactly the whole rendered at once, and no chunk
cuts a list, a table or a code block."""

from __future__ import annotations

from netra.web.markdown import next_section, render_answer, render_markdown, sections

TABLE = "| model | spend |\n|---|---:|\n" + "".join(f"| m{i} | ${i}.00 |\n" for i in range(40))
FENCE = "```yaml\nmodel_list:\n\n## not a heading: in the fence\n\n  - model_name: gpt-4o\n```\n"
ANSWER = ("## Executive summary\n\nYou spend **$1,000/month**.\n\n" + TABLE + "\n"
          + "Some words. " * 60 + "\n\n1. one\n\n2. two\n\n" + FENCE
          + "\n## Next steps\n\n1. Do it.\n\n> a quote\n## Assumptions\n\n- none\n")


def test_chunks_are_the_answer_in_whole_sections() -> None:
    for size in (1, 40, 100, 1500):
        parts = sections(ANSWER, size)
        assert "".join(parts) == ANSWER
        for part in parts[:-1]:
            assert len(part) >= size and part.endswith("\n\n")
            assert part.count("```") % 2 == 0  # a code block is never cut
        for part in parts[1:]:
            assert part.startswith("#")  # a chunk starts a section
        # Rendered one by one and joined: the whole, rendered at once.
        assert "".join(render_markdown(p) for p in parts) == render_markdown(ANSWER)
    # Neither the fenced "heading" nor one right under a quote (no blank line) is a cut.
    assert len(sections(ANSWER, 40)) == 2
    assert render_answer(ANSWER) == render_markdown(ANSWER)


def test_text_arriving_in_pieces_is_cut_where_the_whole_is() -> None:
    cuts, buffer = [], ""
    for index in range(0, len(ANSWER), 7):
        buffer += ANSWER[index:index + 7]
        while end := next_section(buffer, 40):
            cuts.append(buffer[:end])
            buffer = buffer[end:]
    assert [*cuts, buffer] == sections(ANSWER, 40)


def test_a_short_answer_is_one_chunk_and_nothing_is_none() -> None:
    assert sections("Just this.", 1500) == ["Just this."]
    assert sections("", 1500) == []
