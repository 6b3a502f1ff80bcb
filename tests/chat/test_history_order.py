"""A thread's history by question: each answer right under the question it answers, even
when questions overlapped (the REST history and the agents' context both read it so)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from netra.chat.models import Message
from netra.chat.service import by_question

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def message(name: str, role: str, run_id: str | None, second: int) -> Message:
    return Message(id=name, thread_id="t", user_id="u", role=role, content=name,
                   run_id=run_id, created_at=START + timedelta(seconds=second))


def names(messages: list[Message]) -> list[str]:
    return [m.id for m in messages]


def test_overlapping_questions_come_back_each_answer_under_its_question() -> None:
    written = [message("Q1", "user", "r1", 0), message("A1", "assistant", "r1", 1),
               message("Q3", "user", "r3", 2), message("Q4", "user", "r4", 3),
               message("A4", "assistant", "r4", 4), message("A3", "assistant", "r3", 5)]
    assert names(by_question(written)) == ["Q1", "A1", "Q3", "A3", "Q4", "A4"]


def test_a_question_still_running_and_an_answer_without_its_question_keep_their_place() -> None:
    written = [message("A0", "assistant", "gone", 0),   # its question is out of the window
               message("Q1", "user", "r1", 1), message("Q2", "user", "r2", 2),
               message("A2", "assistant", "r2", 3)]  # Q1 is still being answered
    assert names(by_question(written)) == ["A0", "Q1", "Q2", "A2"]


def test_in_order_history_is_unchanged() -> None:
    written = [message("Q1", "user", "r1", 0), message("A1", "assistant", "r1", 1),
               message("Q2", "user", None, 2), message("Q3", "user", "r3", 3),
               message("A3", "assistant", "r3", 4)]
    assert names(by_question(written)) == names(written)
