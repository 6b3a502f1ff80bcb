"""Organizations through the real server: roles over every route and WebSocket message,
isolation across organizations (404, never 403), invitations, the last owner, the audit
log, shared threads. Every test signs up its own people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.client import User, signup
from tests.e2e.server import Server

HEADER = "X-Netra-Organization"
CSV = b"ts,provider,model,input_tokens,output_tokens\r\n2026-11-01T10:00:00Z,openai,gpt-4o,10,1\r\n"
RECORD = {"ts": "2026-11-03T10:00:00Z", "provider": "openai", "model": "gpt-4o",
          "input_tokens": 10, "output_tokens": 1, "request_id": "r1"}


def _in(user: User, organization_id: str) -> dict[str, str]:
    return {**user.auth, HEADER: organization_id}


async def _call(user: User, method: str, path: str, organization_id: str | None = None,
                **kw: Any) -> httpx.Response:
    headers = _in(user, organization_id) if organization_id else user.auth
    return await user.http.request(method, path, headers=headers, **kw)


async def _join(owner: User, organization_id: str, person: User, role: str) -> None:
    invited = await owner.post(f"/api/organizations/{organization_id}/invitations",
                               {"email": person.email, "role": role})
    assert invited.status_code == 201, invited.text
    assert invited.json()["link"].endswith(f"/#/invitations/{invited.json()['token']}")
    accepted = await person.post("/api/invitations/accept", {"token": invited.json()["token"]})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["organization"]["role"] == role


@dataclass
class Team:
    org: str
    dataset: str
    owner: User
    admin: User
    member: User
    viewer: User
    outsider: User


@pytest.fixture
async def team(server: Server, http: httpx.AsyncClient) -> Team:
    owner, admin, member, viewer, outsider = [
        await signup(http, server.ws_url, name)
        for name in ("olivia", "ada", "mo", "val", "bob")]
    made = await owner.post("/api/organizations", {"name": "Acme"})
    assert made.status_code == 201, made.text
    org = made.json()["id"]
    for person, role in ((admin, "admin"), (member, "member"), (viewer, "viewer")):
        await _join(owner, org, person, role)
    demo = await _call(owner, "POST", "/api/datasets/demo", org, json={"rows": 300, "seed": 2})
    assert demo.status_code == 201, demo.text
    return Team(org, demo.json()["id"], owner, admin, member, viewer, outsider)


async def test_a_new_account_acts_in_its_personal_organization_without_a_header(
    server: Server, http: httpx.AsyncClient,
) -> None:
    ann = await signup(http, server.ws_url, "ann")
    mine = (await ann.get("/api/organizations")).json()
    assert [(o["role"], o["personal"]) for o in mine] == [("owner", True)]
    dataset = await ann.demo_dataset(rows=200)
    assert [d["id"] for d in (await ann.get("/api/datasets")).json()] == [dataset]
    personal = await _call(ann, "GET", "/api/datasets", mine[0]["id"])
    assert [d["id"] for d in personal.json()] == [dataset]
    assert (await ann.post("/api/api-keys", {"name": "k"})).status_code == 201


def _reads(t: Team) -> list[tuple[str, str, dict[str, Any]]]:
    base = f"/api/datasets/{t.dataset}"
    return [("GET", "/api/datasets", {}), ("GET", base, {}), ("GET", f"{base}/summary", {}),
            ("GET", f"{base}/dashboard", {}), ("GET", f"{base}/requests", {}),
            ("POST", f"{base}/simulate", {"json": {"model_map": {"gpt-4o": "gpt-4o-mini"}}}),
            ("GET", f"/api/organizations/{t.org}", {}),
            ("GET", f"/api/organizations/{t.org}/members", {}),
            ("GET", f"/api/organizations/{t.org}/threads", {})]


def _admin_work(t: Team) -> list[tuple[str, str, dict[str, Any]]]:
    return [("POST", "/api/datasets", {"files": {"file": ("a.csv", CSV)}}),
            ("POST", "/api/datasets/demo", {"json": {"rows": 100}}),
            ("DELETE", f"/api/datasets/{t.dataset}", {}),
            ("DELETE", f"/api/datasets/{t.dataset}/requests", {"params": {"status": "error"}}),
            ("POST", "/api/api-keys", {"json": {"name": "k"}}), ("GET", "/api/api-keys", {}),
            ("POST", "/api/ingest/datasets", {"json": {"name": "live"}}),
            ("POST", f"/api/ingest/{t.dataset}/records", {"json": [RECORD]}),
            ("GET", f"/api/organizations/{t.org}/audit", {}),
            ("GET", f"/api/organizations/{t.org}/invitations", {}),
            ("POST", f"/api/organizations/{t.org}/invitations",
             {"json": {"email": "new@example.com"}}),
            ("PATCH", f"/api/organizations/{t.org}/members/{t.member.id}",
             {"json": {"role": "viewer"}}),
            ("DELETE", f"/api/organizations/{t.org}/members/{t.member.id}", {})]


async def test_a_viewer_reads_and_can_neither_change_nor_ask(team: Team) -> None:
    t = team
    for method, path, kw in _reads(t):
        answer = await _call(t.viewer, method, path, t.org, **kw)
        assert answer.status_code == 200, (method, path, answer.text)
    for method, path, kw in _admin_work(t):
        answer = await _call(t.viewer, method, path, t.org, **kw)
        assert answer.status_code == 403, (method, path, answer.text)
        assert "you are a viewer" in answer.json()["error"]["message"]
    thread = await t.viewer.thread()
    asked = await _call(t.viewer, "POST", f"/api/threads/{thread}/messages", t.org,
                        json={"content": "why so costly?", "dataset_id": t.dataset})
    assert asked.status_code == 403 and "asking questions" in asked.json()["error"]["message"]
    assert (await _call(t.owner, "GET", f"/api/datasets/{t.dataset}", t.org)).status_code == 200


async def test_a_member_asks_and_reads_but_does_not_manage(team: Team) -> None:
    t = team
    for method, path, kw in _reads(t):
        assert (await _call(t.member, method, path, t.org, **kw)).status_code == 200, path
    for method, path, kw in _admin_work(t):
        answer = await _call(t.member, method, path, t.org, **kw)
        assert answer.status_code == 403, (method, path, answer.text)
    thread = await t.member.thread()
    asked = await _call(t.member, "POST", f"/api/threads/{thread}/messages", t.org,
                        json={"content": "why so costly?", "dataset_id": t.dataset})
    assert asked.status_code == 202, asked.text
    assert asked.json()["run"]["dataset_id"] == t.dataset
    # Without the header the member asks in their personal organization: not its data.
    elsewhere = await t.member.post(f"/api/threads/{thread}/messages",
                                    {"content": "and now?", "dataset_id": t.dataset})
    assert elsewhere.status_code == 404


async def test_an_admin_manages_datasets_and_keys(team: Team) -> None:
    t = team
    key = await _call(t.admin, "POST", "/api/api-keys", t.org, json={"name": "collector"})
    assert key.status_code == 201, key.text
    by_key = {"Authorization": f"Bearer {key.json()['key']}"}
    ingested = await t.admin.http.post(f"/api/ingest/{t.dataset}/records", headers=by_key,
                                       json=[RECORD])
    assert ingested.status_code == 202 and ingested.json()["accepted"] == 1
    made = await t.admin.http.post("/api/ingest/datasets", headers=by_key, json={"name": "x"})
    assert made.status_code == 201
    listed = await _call(t.owner, "GET", "/api/datasets", t.org)
    assert made.json()["id"] in {d["id"] for d in listed.json()}
    keys = await _call(t.owner, "GET", "/api/api-keys", t.org)
    assert [k["name"] for k in keys.json()] == ["collector"]
    assert (await t.admin.get("/api/api-keys")).json() == []  # the admin's personal ones
    gone = await _call(t.admin, "DELETE", f"/api/api-keys/{key.json()['id']}", t.org)
    assert gone.status_code == 204
    assert (await _call(t.admin, "DELETE", f"/api/datasets/{t.dataset}", t.org)).status_code \
        == 204


async def test_an_outsider_finds_nothing_of_the_organization(team: Team) -> None:
    t = team
    bob = t.outsider
    for method, path, kw in _reads(t) + _admin_work(t):
        answer = await _call(bob, method, path, t.org, **kw)
        assert answer.status_code == 404, (method, path, answer.text)
        assert "organization not found" in answer.json()["error"]["message"]
        if t.dataset in path or t.org in path:  # in his personal organization: not there
            answer = await _call(bob, method, path, **kw)
            assert answer.status_code == 404, (method, path, answer.text)
    # Bob's own things stay his: his personal organization holds nothing of Acme.
    assert t.dataset not in {d["id"] for d in (await bob.get("/api/datasets")).json()}
    key = await bob.post("/api/api-keys", {"name": "bob's"})
    by_key = {"Authorization": f"Bearer {key.json()['key']}"}
    answer = await bob.http.post(f"/api/ingest/{t.dataset}/records", headers=by_key,
                                 json=[RECORD])
    assert answer.status_code == 404
    own = await bob.demo_dataset(rows=150)
    for person in (t.owner, t.admin, t.member, t.viewer):
        answer = await _call(person, "GET", f"/api/datasets/{own}", t.org)
        assert answer.status_code == 404
    unknown = await _call(t.owner, "GET", "/api/datasets", "no-such-organization")
    assert unknown.status_code == 404 and "organization not found" in unknown.text


async def test_asking_over_rest_and_ag_ui_takes_a_member_of_the_organization(
    team: Team,
) -> None:
    t = team
    for person, status in ((t.outsider, 404), (t.viewer, 403)):
        thread = await person.thread()
        answer = await _call(person, "POST", f"/api/threads/{thread}/messages", t.org,
                             json={"content": "how much?", "dataset_id": t.dataset})
        assert answer.status_code == status, answer.text
        body = {"threadId": thread, "runId": f"agui-{person.id}", "state": {}, "tools": [],
                "context": [], "forwardedProps": {},
                "messages": [{"id": "m1", "role": "user", "content": "how much?"}]}
        answer = await _call(person, "POST", "/api/ag-ui", t.org, json=body)
        assert answer.status_code == status, answer.text


async def test_websocket_messages_pass_the_same_checks(team: Team) -> None:
    t = team
    sockets = {name: await getattr(t, name).socket()
               for name in ("member", "viewer", "outsider")}
    try:
        threads = {name: await getattr(t, name).thread() for name in sockets}
        ok = await sockets["member"].ask(threads["member"], "where does it go?",
                                         dataset_id=t.dataset, organization_id=t.org)
        assert ok["type"] == "message_accepted", ok
        viewer = await sockets["viewer"].ask(threads["viewer"], "and?", dataset_id=t.dataset,
                                             organization_id=t.org)
        assert (viewer["type"], viewer["code"]) == ("error", "forbidden")
        outsider = await sockets["outsider"].ask(threads["outsider"], "and?",
                                                 dataset_id=t.dataset, organization_id=t.org)
        assert (outsider["type"], outsider["code"]) == ("error", "not_found")
        personal = await sockets["member"].ask(threads["member"], "here?", dataset_id=t.dataset)
        assert (personal["type"], personal["code"]) == ("error", "not_found")
        stolen = await sockets["outsider"].ask(threads["outsider"], "mine?",
                                               dataset_id=t.dataset)
        assert (stolen["type"], stolen["code"]) == ("error", "not_found")
    finally:
        for socket in sockets.values():
            await socket.close()


async def test_the_organization_always_keeps_an_owner(team: Team) -> None:
    t = team
    members = f"/api/organizations/{t.org}/members"
    demote = await t.owner.http.patch(f"{members}/{t.owner.id}", headers=t.owner.auth,
                                      json={"role": "admin"})
    assert demote.status_code == 409 and "without an owner" in demote.text
    assert (await t.owner.http.delete(f"{members}/{t.owner.id}",
                                      headers=t.owner.auth)).status_code == 409
    assert (await t.owner.post(f"/api/organizations/{t.org}/leave")).status_code == 409
    # An admin may not touch an owner, nor make one.
    assert (await t.admin.http.delete(f"{members}/{t.owner.id}",
                                      headers=t.admin.auth)).status_code == 403
    assert (await t.admin.http.patch(f"{members}/{t.member.id}", headers=t.admin.auth,
                                     json={"role": "owner"})).status_code == 403
    promoted = await t.owner.http.patch(f"{members}/{t.admin.id}", headers=t.owner.auth,
                                        json={"role": "owner"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    assert (await t.owner.post(f"/api/organizations/{t.org}/leave")).status_code == 204
    assert (await _call(t.owner, "GET", "/api/datasets", t.org)).status_code == 404
    personal = (await t.admin.get("/api/organizations")).json()[0]
    assert personal["personal"] is True
    await _join(t.admin, personal["id"], t.member, "owner")  # not its last owner, even so:
    left = await t.admin.post(f"/api/organizations/{personal['id']}/leave")
    assert left.status_code == 409 and "personal organization" in left.text
    removed = await t.admin.http.delete(f"{members}/{t.viewer.id}", headers=t.admin.auth)
    assert removed.status_code == 204
    assert (await _call(t.viewer, "GET", "/api/datasets", t.org)).status_code == 404


async def test_invitations_work_once_for_their_address_until_revoked(
    team: Team, server: Server, http: httpx.AsyncClient,
) -> None:
    t = team
    newcomer, stranger = (await signup(http, server.ws_url, "nia"),
                          await signup(http, server.ws_url, "sam"))
    path = f"/api/organizations/{t.org}/invitations"
    invited = (await t.admin.post(path, {"email": newcomer.email.upper(),
                                         "role": "member"})).json()
    assert invited["email"] == newcomer.email
    assert [i["id"] for i in (await t.admin.get(path)).json()] == [invited["id"]]
    wrong = await stranger.post("/api/invitations/accept", {"token": invited["token"]})
    assert wrong.status_code == 403 and newcomer.email in wrong.json()["error"]["message"]
    assert (await newcomer.post("/api/invitations/accept",
                                {"token": invited["token"]})).status_code == 200
    again = await newcomer.post("/api/invitations/accept", {"token": invited["token"]})
    assert again.status_code == 409 and "already been used" in again.text
    forged = await newcomer.post("/api/invitations/accept", {"token": invited["token"][:-3]})
    assert forged.status_code == 404
    revoked = (await t.admin.post(path, {"email": stranger.email})).json()
    gone = await t.admin.http.delete(f"{path}/{revoked['id']}", headers=t.admin.auth)
    assert gone.status_code == 204
    late = await stranger.post("/api/invitations/accept", {"token": revoked["token"]})
    assert late.status_code == 400 and "revoked" in late.text
    twice = await t.admin.post(path, {"email": newcomer.email})
    assert twice.status_code == 409 and "already a member" in twice.text
    # An admin cannot invite an owner; nobody outside can invite at all.
    assert (await t.admin.post(path, {"email": "x@example.com",
                                      "role": "owner"})).status_code == 403
    assert (await t.outsider.post(path, {"email": "x@example.com"})).status_code == 404


async def test_shared_threads_are_read_by_members_only(team: Team) -> None:
    t = team
    thread = await t.member.thread("Where the money goes")
    share = await t.member.http.put(f"/api/threads/{thread}/organization",
                                    headers=t.member.auth, json={"organization_id": t.org})
    assert share.status_code == 200 and share.json()["organization_id"] == t.org
    # Your own thread is yours whichever organization a request names.
    own = await _call(t.member, "GET", f"/api/threads/{thread}/messages", "no-such-org")
    assert own.status_code == 200
    assert (await t.outsider.http.put(f"/api/threads/{thread}/organization",
                                      headers=t.outsider.auth,
                                      json={"organization_id": t.org})).status_code == 404
    shared = await _call(t.viewer, "GET", f"/api/organizations/{t.org}/threads")
    assert [s["id"] for s in shared.json()] == [thread]
    for path in (f"/api/threads/{thread}", f"/api/threads/{thread}/messages"):
        assert (await _call(t.viewer, "GET", path, t.org)).status_code == 200
        assert (await _call(t.viewer, "GET", path)).status_code == 404  # not in that org
        assert (await _call(t.outsider, "GET", path, t.org)).status_code == 404
    # Reading is all: the thread stays its user's to write to.
    posted = await _call(t.admin, "POST", f"/api/threads/{thread}/messages", t.org,
                         json={"content": "mine now?"})
    assert posted.status_code == 404
    back = await t.member.http.put(f"/api/threads/{thread}/organization",
                                   headers=t.member.auth, json={"organization_id": None})
    assert back.json()["organization_id"] is None
    assert (await _call(t.viewer, "GET", f"/api/threads/{thread}", t.org)).status_code == 404


async def test_the_audit_log_records_who_did_what_from_where(team: Team) -> None:
    t = team
    members = f"/api/organizations/{t.org}/members"
    await t.owner.http.patch(f"{members}/{t.member.id}", headers=t.owner.auth,
                             json={"role": "admin"})
    await t.owner.http.delete(f"{members}/{t.viewer.id}", headers=t.owner.auth)
    await t.admin.post(f"/api/organizations/{t.org}/leave")
    key = await _call(t.owner, "POST", "/api/api-keys", t.org, json={"name": "collector"})
    await _call(t.owner, "DELETE", f"/api/api-keys/{key.json()['id']}", t.org)
    await _call(t.owner, "DELETE", f"/api/datasets/{t.dataset}", t.org)
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = await _call(t.owner, "GET", f"/api/organizations/{t.org}/audit", t.org,
                           params=params)
        assert page.status_code == 200, page.text
        entries += page.json()["entries"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len({e["id"] for e in entries}) == len(entries)  # pages neither repeat nor skip
    actions = [e["action"] for e in reversed(entries)]
    assert actions == [
        "organization_created", "invited", "accepted", "invited", "accepted", "invited",
        "accepted", "dataset_created", "role_changed", "removed", "left", "key_created",
        "key_revoked", "dataset_deleted"]
    by_action = {e["action"]: e for e in entries}
    assert by_action["role_changed"]["details"] == {
        "user_id": t.member.id, "before": "member", "after": "admin"}
    assert by_action["removed"]["target"] == t.viewer.email
    assert by_action["left"]["actor_email"] == t.admin.email
    assert by_action["dataset_deleted"]["actor_email"] == t.owner.email
    assert all(e["ip_address"] == "127.0.0.1" for e in entries)
    assert (await _call(t.member, "GET", f"/api/organizations/{t.org}/audit")).status_code \
        == 200  # an admin now
    bad = await _call(t.owner, "GET", f"/api/organizations/{t.org}/audit",
                      params={"cursor": "nonsense"})
    assert bad.status_code == 422


async def test_sign_in_rules_are_an_owners_own_and_cannot_lock_them_out(team: Team) -> None:
    """(Single sign-on required, with a real provider: tests/e2e/test_sso.py.)"""
    t = team
    path = f"/api/organizations/{t.org}"
    renamed = await _call(t.admin, "PATCH", path, json={"name": "Acme Inc"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme Inc"
    assert (await _call(t.admin, "PATCH", path, json={"require_sso": False})).status_code == 403
    locked = await _call(t.owner, "PATCH", path, json={"require_sso": True})
    assert locked.status_code == 403 and "lock yourself out" in locked.text
    others = await _call(t.owner, "PATCH", path, json={"sso_domain": "gmail.com"})
    assert others.status_code == 403 and "your own email" in others.text
    own = t.owner.email.rsplit("@", 1)[1]
    claimed = await _call(t.owner, "PATCH", path, json={"sso_domain": own.upper()})
    assert claimed.status_code == 200 and claimed.json()["sso_domain"] == own
    released = await _call(t.owner, "PATCH", path, json={"sso_domain": ""})
    assert released.json()["sso_domain"] is None
