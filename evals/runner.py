"""Running the questions against a real server: the model (scripted fake, a real endpoint,
or none), `netra serve` in a subprocess, one user with the demo dataset, every question
over the WebSocket (a thread's follow-ups in one conversation), every run's events
checked against PROTOCOL.md's invariants and graded."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from tests.e2e.client import User, check_run_invariants, signup
from tests.e2e.server import running_server
from tests.fakes.openai_server import running_fake_openai

from evals import scripted
from evals.facts import Expected
from evals.grading import Grade, Run, grade
from evals.oracle import Oracle, ServerDataset
from evals.questions import Question

Mode = Literal["scripted", "offline", "endpoint"]
RUN_TIMEOUT_S = {"scripted": 120.0, "offline": 120.0, "endpoint": 600.0}


class CannotMeasure(RuntimeError):
    """The eval could not run (no server, no endpoint, a dataset that differs)."""


@dataclass
class Result:
    question: Question
    expected: list[Expected]
    run: Run
    grade: Grade


@contextlib.contextmanager
def model_env(mode: Mode) -> Iterator[dict[str, str]]:
    """The server's environment for the mode, with the scripted fake running if needed."""
    if mode == "offline":
        yield {}
    elif mode == "scripted":
        with running_fake_openai() as fake:
            fake.reply = scripted.reply
            yield {"NETRA_LLM_BASE_URL": fake.base_url, "NETRA_LLM_API_KEY": "eval-key",
                   "NETRA_LLM_MODEL": "gpt-4o-mini", "NETRA_LLM_TIMEOUT_S": "30"}
    else:
        base_url = os.environ.get("NETRA_EVAL_LLM_BASE_URL")
        if not base_url:
            raise CannotMeasure("endpoint mode needs NETRA_EVAL_LLM_BASE_URL (and usually "
                                "NETRA_EVAL_LLM_API_KEY, NETRA_EVAL_LLM_MODEL)")
        env = {"NETRA_LLM_BASE_URL": base_url, "NETRA_LLM_TIMEOUT_S": "120",
               "NETRA_RUN_TIMEOUT_S": "480"}
        if key := os.environ.get("NETRA_EVAL_LLM_API_KEY"):
            env["NETRA_LLM_API_KEY"] = key
        if model := os.environ.get("NETRA_EVAL_LLM_MODEL"):
            env["NETRA_LLM_MODEL"] = model
        yield env


async def ask(user: User, thread_id: str, question: Question, dataset_id: str,
              wait_s: float) -> Run:
    """One question over a fresh WebSocket, and its run's events."""
    started = time.monotonic()
    socket = await user.socket()
    try:
        accepted = await socket.ask(thread_id, question.text, dataset_id=dataset_id)
        if accepted["type"] != "message_accepted":
            return Run(error=f"refused: {accepted.get('code')}: {accepted.get('message')}",
                       seconds=time.monotonic() - started)
        try:
            events = await socket.run_events(accepted["run_id"], timeout=wait_s)
        except TimeoutError:
            return Run(terminal="timeout", error=f"no terminal event in {wait_s:.0f} s",
                       seconds=time.monotonic() - started)
    finally:
        await socket.close()
    run = Run.from_events(events, time.monotonic() - started)
    try:
        check_run_invariants(events)
    except (AssertionError, KeyError) as broken:
        run.protocol = f"{type(broken).__name__}: {broken}"[:300]
    return run


async def run_questions(
    mode: Mode, questions: list[Question], *, rows: int, seed: int,
    progress: Callable[[Result], None] | None = None,
) -> tuple[list[Result], ServerDataset]:  # fmt: skip
    """Ask every question of a fresh server in `mode` and grade the answers."""
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="netra-evals-")))
        env = stack.enter_context(model_env(mode))
        try:
            server = stack.enter_context(running_server(tmp / "server", None, **env))
        except RuntimeError as failed:
            raise CannotMeasure(f"the server did not start: {failed}") from failed
        oracle = Oracle(tmp)
        try:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as http:
                user = await signup(http, server.ws_url, "evals")
                dataset = await demo_dataset(user, oracle, rows, seed)
                return await _ask_all(mode, user, oracle, dataset, questions, progress), dataset
        finally:
            await oracle.close()
    raise AssertionError("unreachable")  # mypy: ExitStack may swallow exceptions


async def demo_dataset(user: User, oracle: Oracle, rows: int, seed: int) -> ServerDataset:
    """The server's demo dataset, and the oracle's identical copy of it."""
    made = await user.post("/api/datasets/demo", {"rows": rows, "seed": seed})
    if made.status_code != 201:
        raise CannotMeasure(f"demo dataset: {made.status_code} {made.text}")
    dataset = ServerDataset.from_api(made.json())
    try:
        await oracle.open(dataset, seed)
    except RuntimeError as differs:
        raise CannotMeasure(str(differs)) from differs
    return dataset


async def _ask_all(
    mode: Mode, user: User, oracle: Oracle, dataset: ServerDataset, questions: list[Question],
    progress: Callable[[Result], None] | None,
) -> list[Result]:  # fmt: skip
    expected = {q.id: [await oracle.resolve(f) for f in q.facts] for q in questions}
    threads: dict[str, str] = {}
    results = []
    for question in questions:
        key = question.thread or question.id
        if key not in threads:
            threads[key] = await user.thread(f"eval: {key}")
        run = await ask(user, threads[key], question, dataset.id, RUN_TIMEOUT_S[mode])
        result = Result(question, expected[question.id], run,
                        grade(question, expected[question.id], run))
        results.append(result)
        if progress is not None:
            progress(result)
    return results
