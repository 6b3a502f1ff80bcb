"""Each dataset version is analysed once: the first question (or the background job after
an import) computes it, every later question reads it back; new rows make a new version."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.client import User, check_run_invariants, signup
from tests.e2e.processes import Netra, netra_processes
from tests.e2e.server import Server

QUESTION = "How can we cut our LLM costs?"


async def answer(user: User, question: str = QUESTION, dataset_id: str | None = None,
                 ) -> list[dict[str, Any]]:
    socket = await user.socket()
    accepted = await socket.ask(await user.thread(), question,
                                **({"dataset_id": dataset_id} if dataset_id else {}))
    events = await socket.run_events(accepted["run_id"])
    await socket.close()
    check_run_invariants(events)
    assert events[-1]["type"] == "agent_completed", events[-1]
    return events


def analyses(metrics_text: str) -> float:
    found = re.search(r"^netra_dataset_analyses_total (\S+)$", metrics_text, re.M)
    return float(found.group(1)) if found else 0.0


def kept_tools(events: list[dict[str, Any]]) -> dict[str, bool]:
    """Each tool the run called: whether its result was read back."""
    return {e["payload"]["tool"]: bool(e["payload"].get("cached")) for e in events
            if e["type"] == "tool_completed"}


async def test_a_second_question_reads_the_analysis_back(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url, "cache")
    dataset_id = await user.demo_dataset(rows=1500)
    first = await answer(user, dataset_id=dataset_id)
    second = await answer(user, dataset_id=dataset_id)
    assert all(kept_tools(second).values()), "every tool result of the second question read back"
    # The same answer, to the cent, whether computed or read back.
    assert first[-1]["payload"]["content"] == second[-1]["payload"]["content"]
    assert first[-1]["payload"]["report"]["findings"] == \
        second[-1]["payload"]["report"]["findings"]


async def test_new_rows_make_a_new_version_and_the_answer_reflects_them(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = await signup(http, server.ws_url, "version")
    dataset_id = await user.demo_dataset(rows=1000)
    before = await answer(user, "How much did we spend in total?", dataset_id)
    overview = next(e["payload"]["result"] for e in before if e["type"] == "tool_completed"
                    and e["payload"]["tool"] == "dataset_overview")
    records = [{"ts": "2026-11-30T12:00:00Z", "provider": "openai", "model": "gpt-4o",
                "input_tokens": 1_000_000, "output_tokens": 100_000, "feature": "new-feature",
                "request_id": f"extra-{i}"} for i in range(3)]
    added = await user.post(f"/api/ingest/{dataset_id}/records", records)
    assert added.status_code == 202 and added.json()["accepted"] == 3
    after = await answer(user, "How much did we spend in total?", dataset_id)
    fresh = next(e["payload"] for e in after if e["type"] == "tool_completed"
                 and e["payload"]["tool"] == "dataset_overview")
    # The new version was analysed anew (and read back from that analysis).
    assert fresh["result"]["requests"] == overview["requests"] + 3
    assert fresh["result"]["spend_usd"] > overview["spend_usd"]
    # Deleting those rows again makes another version: the next answer is the first's.
    gone = await user.http.delete(f"/api/datasets/{dataset_id}/requests",
                                  params={"feature": "new-feature"}, headers=user.auth)
    assert gone.status_code == 200, gone.text
    assert gone.json()["deleted"] == 3
    assert gone.json()["dataset"]["rows"] == overview["requests"]
    again = await answer(user, "How much did we spend in total?", dataset_id)
    restored = next(e["payload"] for e in again if e["type"] == "tool_completed"
                    and e["payload"]["tool"] == "dataset_overview")
    assert restored["result"] == overview
    assert again[-1]["payload"]["content"] == before[-1]["payload"]["content"]
    # Deleting the dataset removes what was kept for it.
    assert (await user.http.delete(f"/api/datasets/{dataset_id}",
                                   headers=user.auth)).status_code == 204


async def test_questions_arriving_together_on_a_new_version_make_one_analysis(
    tmp_path: Path,
) -> None:
    with netra_processes() as started:
        serve = Netra("serve", tmp_path / "s", {}).start()
        started.append(serve)
        async with httpx.AsyncClient(base_url=serve.server.base_url, timeout=60) as http:
            user = await signup(http, serve.server.ws_url, "together")
            dataset_id = await user.demo_dataset(rows=3000)
            before = analyses((await http.get("/metrics")).text)
            runs = await asyncio.gather(*(answer(user, dataset_id=dataset_id)
                                          for _ in range(3)))
            assert all(r[-1]["type"] == "agent_completed" for r in runs)
            done = analyses((await http.get("/metrics")).text) - before
            assert done <= 1, f"{done} analyses of one version"
            contents = {r[-1]["payload"]["content"] for r in runs}
            assert len(contents) == 1, "every question read the same analysis"


async def test_an_analysis_cut_short_by_a_crash_resumes(tmp_path: Path) -> None:
    """SIGKILL while the first question waits for the analysis of a large dataset; after
    the restart the run completes with its full answer."""
    with netra_processes() as started:
        serve = Netra("serve", tmp_path / "s", {}).start()
        started.append(serve)
        async with httpx.AsyncClient(base_url=serve.server.base_url, timeout=120) as http:
            user = await signup(http, serve.server.ws_url, "crash")
            dataset_id = await user.demo_dataset(rows=150_000)
            socket = await user.socket()
            accepted = await socket.ask(await user.thread(), QUESTION, dataset_id=dataset_id)
            await socket.until(lambda f: f.get("run_id") == accepted["run_id"]
                               and f["type"] == "agent_thinking"
                               and "Analysing this version" in f["payload"]["text"])
            serve.kill()
        again = Netra("serve", tmp_path / "s", {}, port=serve.port).start()
        started.append(again)
        async with httpx.AsyncClient(base_url=again.server.base_url, timeout=120) as http:
            user.http, user.ws_url = http, again.server.ws_url
            socket = await user.socket()
            await socket.send({"type": "resume", "run_id": accepted["run_id"], "after_seq": 0})
            events = await socket.run_events(accepted["run_id"], timeout=120)
            check_run_invariants(events)
            assert events[-1]["type"] == "agent_completed"
            assert events[-1]["payload"]["report"]["findings"]
            await socket.close()


async def test_an_import_is_analysed_in_the_background(tmp_path: Path) -> None:
    """Rows settle, the version is analysed without anyone asking; the first question
    then reads every result back."""
    with netra_processes() as started:
        serve = Netra("serve", tmp_path / "s", {}).start()
        started.append(serve)
        async with httpx.AsyncClient(base_url=serve.server.base_url, timeout=60) as http:
            user = await signup(http, serve.server.ws_url, "background")
            before = analyses((await http.get("/metrics")).text)
            dataset_id = await user.demo_dataset(rows=1000)
            async with asyncio.timeout(60):  # settles after 5 s, then a few seconds' work
                while True:  # polling a counter, bounded by the timeout
                    if analyses((await http.get("/metrics")).text) >= before + 1:
                        break
                    await asyncio.sleep(0.5)
            events = await answer(user, dataset_id=dataset_id)
            # Every result, the action plan derived from the findings too: the first
            # question costs what a follow-up does.
            kept = kept_tools(events)
            assert {"draft_action_plan", "total_savings", "find_batch_api"} <= set(kept)
            assert all(kept.values()), kept
            assert not any("Analysing this version" in e["payload"].get("text", "")
                           for e in events if e["type"] == "agent_thinking")
