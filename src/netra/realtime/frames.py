"""The WebSocket's frames as models: what a client sends, what the server sends, and the
payload of each run event.

The socket's handlers build and read plain dicts (a frame is small and hot); these
models are the contract those dicts keep. docs/protocol.md carries their JSON Schemas,
written by `python -m netra.realtime.frames --write docs/protocol.md`; a test checks that
the document holds exactly what the models say, and that every frame a real server sends
during a run validates against them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

# -- client → server --------------------------------------------------------------------


class _Frame(BaseModel):
    model_config = ConfigDict(extra="allow")  # unknown fields are ignored: clients may grow


class UserMessage(_Frame):
    """Ask a question in a thread; answered by `message_accepted` (or `error`)."""

    type: Literal["user_message"]
    thread_id: str
    content: str = Field(description="at most NETRA_MAX_MESSAGE_BYTES bytes")
    client_msg_id: str | None = Field(
        default=None, max_length=128,
        description="retry key: the same id again answers the first acceptance; blank is none")
    dataset_id: str | None = Field(default=None, description="the dataset this question uses")
    organization_id: str | None = Field(
        default=None, description="the organization it asks in (default: your personal one); "
        "the dataset must be one of its datasets, and you one of its members or higher")


class CancelRun(_Frame):
    """Stop a run wherever it executes; its stream ends with `run_cancelled`."""

    type: Literal["cancel_run"]
    run_id: str


class Resume(_Frame):
    """Send again every stored event of the run with `seq` > `after_seq`."""

    type: Literal["resume"]
    run_id: str
    after_seq: int = Field(ge=0)


class Ping(_Frame):
    """Keep-alive; answered by `pong` and free of the message rate limit."""

    type: Literal["ping"]


ClientFrame = Annotated[UserMessage | CancelRun | Resume | Ping, Field(discriminator="type")]

# -- server → client ----------------------------------------------------------------------


class Connected(_Frame):
    """The first frame of every socket."""

    type: Literal["connected"]
    user_id: str
    connection_id: str
    server_time: str


class Pong(_Frame):
    type: Literal["pong"]


class MessageAccepted(_Frame):
    """The message is stored and its run queued; its events follow."""

    type: Literal["message_accepted"]
    client_msg_id: str | None
    thread_id: str
    message_id: str
    run_id: str


class Error(_Frame):
    """A frame was refused; the socket stays open."""

    type: Literal["error"]
    code: str = Field(description="bad_request, too_large, not_found, rate_limited, "
                      "too_many_runs, unavailable, internal_error, …")
    message: str
    client_msg_id: str | None = Field(default=None, description="of the refused message")
    retry_after: int | None = Field(default=None, description="seconds, with rate_limited")


# -- run events: one envelope, a payload per type -------------------------------------------


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class Empty(_Payload):
    """`agent_started`, `run_cancelled`."""


class Thinking(_Payload):
    """`agent_thinking`: what the agent is doing, in words."""

    text: str


class ToolExecuting(_Payload):
    tool: str
    tool_call_id: str
    args: dict[str, Any]


class ToolCompleted(_Payload):
    tool: str
    tool_call_id: str = Field(description="the same as its tool_executing's")
    ok: bool
    duration_ms: float
    summary: str
    result: Any = Field(default=None, description="the tool's result, when it is shown")
    cached: bool | None = Field(default=None, description="read back from the version's "
                                "kept analysis instead of computed")


class AnswerDelta(_Payload):
    """The model's draft as it writes it (figures not yet checked)."""

    text: str = Field(description="the new text")
    html: str | None = Field(default=None, description="the whole draft so far, rendered "
                             "and sanitised")


class PartialResult(_Payload):
    """A chunk of the checked answer, in order."""

    text: str
    html: str | None = Field(default=None, description="the chunk rendered and sanitised (a "
                             "chunk is whole sections of the answer, so the chunks' HTML "
                             "joined is the answer's)")


class SubAgentCompleted(_Payload):
    """`agent_completed` of a sub-agent (any agent but `supervisor`)."""

    summary: str


class Answer(_Payload):
    """`agent_completed` of the `supervisor`: the run's answer, also stored in the thread."""

    message_id: str
    content: str = Field(description="Markdown")
    content_html: str = Field(description="the Markdown rendered and sanitised")
    report: dict[str, Any] = Field(description="findings, totals, charts, actions, downloads, "
                                   "executive_summary, unverified, usage, fallback, …")


class Failure(_Payload):
    """`agent_error`: of the supervisor, the run failed; of a sub-agent, that agent did."""

    code: str = Field(description="timeout, llm_unavailable, tool_failed, interrupted, "
                      "given_up, internal_error, agent_failed, …")
    message: str


PAYLOADS: dict[str, tuple[type[_Payload], ...]] = {
    "agent_started": (Empty,),
    "agent_thinking": (Thinking,),
    "tool_executing": (ToolExecuting,),
    "tool_completed": (ToolCompleted,),
    "answer_delta": (AnswerDelta,),
    "partial_result": (PartialResult,),
    "agent_completed": (Answer, SubAgentCompleted),
    "agent_error": (Failure,),
    "run_cancelled": (Empty,),
}


class RunEvent(_Frame):
    """Every run event, stored before it is sent; `seq` is 1, 2, 3… per run, without gaps.
    A run's stream ends with one terminal event: the supervisor's `agent_completed` or
    `agent_error`, or `run_cancelled`."""

    type: Literal["agent_started", "agent_thinking", "tool_executing", "tool_completed",
                  "answer_delta", "partial_result", "agent_completed", "agent_error",
                  "run_cancelled"]
    run_id: str
    thread_id: str
    seq: int = Field(ge=1)
    ts: str = Field(description="ISO 8601, UTC, with Z")
    agent: str = Field(description="supervisor, triage, data, optimization, actions, "
                       "reporting")
    payload: dict[str, Any]


ServerFrame: Any = Connected | Pong | MessageAccepted | Error | RunEvent  # (a union, not a type)


def check_server_frame(frame: dict[str, Any]) -> None:
    """Raise ValueError unless the frame keeps the contract, its payload included."""
    if "seq" in frame:
        event = RunEvent.model_validate(frame)
        kinds = PAYLOADS[event.type]
        if event.type == "agent_completed":
            kinds = (Answer,) if event.agent == "supervisor" else (SubAgentCompleted,)
        kinds[0].model_validate(event.payload)
        return
    TypeAdapter(ServerFrame).validate_python(frame)


# -- the document -------------------------------------------------------------------------

START = ("<!-- frame schemas: generated by "
         "`python -m netra.realtime.frames --write docs/protocol.md` -->")
END = "<!-- end of frame schemas -->"


def _schema(title: str, model: Any) -> str:
    schema = TypeAdapter(model).json_schema()
    return f"#### {title}\n\n```json\n{json.dumps(schema, indent=2, ensure_ascii=False)}\n```\n"


def schemas() -> str:
    """The Markdown block of every frame's JSON Schema."""
    parts = ["### Client frames\n", _schema("any client frame", ClientFrame),
             "### Server frames\n", _schema("any server frame", ServerFrame),
             "### Run event payloads\n"]
    for kind, models in PAYLOADS.items():
        for model in models:
            if kind == "agent_completed":
                who = "supervisor" if model is Answer else "a sub-agent"
                parts.append(_schema(f"`{kind}` payload ({who})", model))
            else:
                parts.append(_schema(f"`{kind}` payload", model))
    return "\n".join(parts)


def in_document(text: str) -> str:
    start, end = text.index(START), text.index(END)
    return text[:start + len(START)] + "\n\n" + schemas() + "\n" + text[end:]


def main() -> None:
    parser = argparse.ArgumentParser(description="print or write the frames' JSON Schemas")
    parser.add_argument("--write", type=Path, help="the document whose schemas to replace")
    args = parser.parse_args()
    if args.write is None:
        print(schemas())
    else:
        args.write.write_text(in_document(args.write.read_text()))


if __name__ == "__main__":
    main()
