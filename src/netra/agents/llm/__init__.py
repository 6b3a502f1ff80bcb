"""The built-in offline analyst (deterministic, no network): how the team reads a
question and words its answer when no language model is configured, or when the
configured one fails. A configured model drives the team itself (`agents.supervisor`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WritingBrief:
    question: str
    # The complete, deterministic Markdown answer built from tool results.
    draft: str
    # The tool results the draft was built from (JSON-serialisable).
    facts: dict[str, Any]


__all__ = ["WritingBrief"]
