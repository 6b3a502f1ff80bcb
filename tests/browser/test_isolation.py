"""Two people in two browser contexts: neither sees the other's threads, datasets or
events, though both are signed in to the same server at the same time."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.app_page import ask, open_screen, run_id_of, wait_finished, wait_live
from tests.browser.conftest import Tab, api_signup, signed_in_tab
from tests.e2e.server import Server


def person(browser: Browser, server: Server, name: str) -> Tab:
    user = api_signup(server.base_url, name)
    user.post("/api/datasets/demo", {"rows": 400, "seed": len(name)})
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    tab = signed_in_tab(context, user)
    wait_live(tab.page)
    return tab


def test_two_users_see_only_their_own(browser: Browser, server: Server) -> None:
    alice = person(browser, server, "alice")
    bob = person(browser, server, "bobby")
    try:
        alice_turn = ask(alice.page, "Alice asks where the money goes?")
        bob_turn = ask(bob.page, "Bobby asks how to cut costs?")
        wait_finished(alice_turn)
        wait_finished(bob_turn)
        alice_run, bob_run = run_id_of(alice_turn), run_id_of(bob_turn)

        for tab, own, other in ((alice, "Alice", "Bobby"), (bob, "Bobby", "Alice")):
            links = tab.page.locator("#thread-list a")
            expect(links).to_have_count(1)
            expect(links).to_contain_text(own)
            expect(tab.page.locator("#log")).not_to_contain_text(other)
        assert alice.run_frames(bob_run) == [] and bob.run_frames(alice_run) == []
        assert alice.run_frames(alice_run) and bob.run_frames(bob_run)
        assert not [f for f in alice.frames if f.get("thread_id") in
                    {e["thread_id"] for e in bob.run_frames(bob_run)}]

        alice_sets = alice.api().get("/api/datasets")
        bob_sets = bob.api().get("/api/datasets")
        open_screen(alice.page, "Datasets")
        open_screen(bob.page, "Datasets")
        for tab, own, other in ((alice, alice_sets, bob_sets), (bob, bob_sets, alice_sets)):
            rows = tab.page.locator("#dataset-list tr")
            expect(rows).to_have_count(len(own))
            ids = rows.evaluate_all("rs => rs.map(r => r.dataset.datasetId)")
            assert set(ids) == {d["id"] for d in own}
            assert not set(ids) & {d["id"] for d in other}

        # Opening the other's thread by its address shows nothing of it.
        [bob_thread] = bob.api().get("/api/threads")
        alice.page.goto(f"{server.base_url}/#/chat/{bob_thread['id']}")
        expect(alice.page.locator(".toast")).to_contain_text("Could not open the thread")
        expect(alice.page.locator("#log")).not_to_contain_text("Bobby")
        assert [e for e in alice.errors if "404" not in e] == []
        assert bob.errors == []
    finally:
        alice.page.context.close()
        bob.page.context.close()
