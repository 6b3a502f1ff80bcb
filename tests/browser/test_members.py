"""The organization switcher and the Members page in Chromium: an owner switches into a
team organization, invites a viewer with the link the page shows, the viewer opens it in
their own browser and joins, reads the team's data and is refused what a viewer may not
do; the owner changes the role, reads the audit log, and removes them."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from tests.browser.app_page import open_screen, wait_live
from tests.browser.conftest import ApiUser, Tab, api_signup, signed_in_tab
from tests.e2e.server import Server


def _tab(browser: Browser, user: ApiUser) -> Tab:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab = signed_in_tab(context, user)
    wait_live(tab.page)
    return tab


def _team(server: Server, owner: ApiUser) -> tuple[str, str]:
    """An organization of the owner's with a dataset of its own; (its id, the dataset's)."""
    org = owner.post("/api/organizations", {"name": "Acme"})["id"]
    made = httpx.post(f"{server.base_url}/api/datasets/demo", timeout=60,
                      headers={**owner.headers, "X-Netra-Organization": org},
                      json={"rows": 300, "seed": 5, "name": "Acme traffic"})
    assert made.status_code == 201, made.text
    return org, made.json()["id"]


def test_switch_invite_join_and_manage_roles(browser: Browser, server: Server) -> None:
    owner, viewer = api_signup(server.base_url, "olivia"), api_signup(server.base_url, "val")
    owner.post("/api/datasets/demo", {"rows": 200, "seed": 1, "name": "Olivia's own"})
    org, _ = _team(server, owner)
    olivia = _tab(browser, owner)
    val: Tab | None = None
    try:
        page = olivia.page
        switcher = page.get_by_label("Organization", exact=True)
        expect(switcher.locator("option")).to_have_text(["olivia's workspace (personal)",
                                                         "Acme"])
        open_screen(page, "Datasets")
        expect(page.locator("#dataset-list")).to_contain_text("Olivia's own")
        switcher.select_option(label="Acme")
        expect(page.locator("#dataset-list")).to_contain_text("Acme traffic")
        expect(page.locator("#dataset-list")).not_to_contain_text("Olivia's own")

        open_screen(page, "Members")
        expect(page.locator("#members-title")).to_have_text("Members of Acme")
        expect(page.locator("#member-list tr")).to_have_count(1)
        expect(page.locator("#my-role")).to_have_text("You are an owner here.")
        page.locator("#invite-form").get_by_label("Email").fill(viewer.email)
        page.locator("#invite-role").select_option("viewer")
        page.get_by_role("button", name="Invite").click()
        expect(page.locator("#invite-created")).to_be_visible()
        link = page.locator("#invite-link").inner_text()
        assert link.startswith(f"{server.base_url}/#/invitations/"), link
        expect(page.locator("#invitation-list tr")).to_have_count(1)

        val = _tab(browser, viewer)
        val.page.goto(link)
        expect(val.page.locator(".toast")).to_contain_text("You joined Acme as a viewer")
        expect(val.page.locator("#members-title")).to_have_text("Members of Acme")
        expect(val.page.get_by_label("Organization", exact=True)).to_have_value(org)
        expect(val.page.locator("#invite-card")).to_be_hidden()
        expect(val.page.locator("#audit")).to_be_hidden()
        open_screen(val.page, "Datasets")
        expect(val.page.locator("#dataset-list")).to_contain_text("Acme traffic")
        # A viewer is not offered what only admins may do, and is told who can.
        expect(val.page.get_by_role("button", name="Load demo data")).to_be_hidden()
        expect(val.page.get_by_role("button", name="Delete dataset Acme traffic")).to_be_hidden()
        expect(val.page.locator("#datasets-view .not-admin")).to_be_visible()
        open_screen(val.page, "API keys")
        expect(val.page.locator("#keys-view .not-admin")).to_be_visible()
        expect(val.page.locator("#key-form")).to_be_hidden()

        page.reload()
        wait_live(page)
        open_screen(page, "Members")
        expect(switcher).to_have_value(org)  # the organization stays chosen across reloads
        row = page.locator(f"#member-list tr[data-user-id='{viewer.tokens['user']['id']}']")
        expect(row).to_contain_text(viewer.email)
        row.get_by_label(f"Role of {viewer.email}").select_option("member")
        expect(page.locator(".toast")).to_contain_text(f"{viewer.email} is now a member")
        audit = page.locator("#audit-list")
        expect(audit).to_contain_text(f"changed the role of {viewer.email}")
        expect(audit).to_contain_text(f"joined as {viewer.email}")
        expect(audit).to_contain_text(f"invited {viewer.email}")
        expect(audit).to_contain_text("created the dataset Acme traffic")

        # A thread shared into the organization: its members read it, and cannot ask in it.
        owner.post("/api/threads", {"title": "Where Acme's money goes"})
        page.reload()
        wait_live(page)
        page.get_by_role("button", name="Share thread Where Acme's money goes with Acme").click()
        expect(page.locator(".toast")).to_contain_text("Members of Acme can now read")
        val.page.reload()
        wait_live(val.page)
        shared = val.page.locator("#shared-list").get_by_role("link",
                                                               name="Where Acme's money goes")
        shared.click()
        expect(val.page.locator("#thread-title")).to_have_text("Where Acme's money goes")
        expect(val.page.get_by_label("Your question")).to_be_disabled()
        open_screen(val.page, "Datasets")
        open_screen(page, "Members")

        page.on("dialog", lambda dialog: dialog.accept())
        page.locator(f"#member-list tr[data-user-id='{viewer.tokens['user']['id']}']") \
            .get_by_role("button", name=f"Remove {viewer.email}").click()
        page.locator("#dialog-ok").click()
        expect(page.locator("#member-list tr")).to_have_count(1)

        # Removed, the viewer's next look finds the organization gone and falls back.
        val.page.reload()
        wait_live(val.page)
        expect(val.page.get_by_label("Organization", exact=True).locator("option")) \
            .to_have_text(["val's workspace (personal)"])
        expect(val.page.locator(".toast")).to_contain_text("no longer a member")
        assert olivia.errors == []
        assert val.errors == []  # nothing was asked of the server that it refused
    finally:
        olivia.page.context.close()
        if val is not None:
            val.page.context.close()
