// Organizations: the switcher in the header (which organization every request acts in),
// the Members page (#/members: members and roles, invitations with the link to pass on,
// leaving, a new organization, the audit log for admins) and accepting an invitation's
// link (#/invitations/<token>).
import { $, h, ask, day, showError, showInfo } from "./dom.js";
import { currentOrganization, request, session, setOrganization } from "./api.js";

const RANK = { viewer: 0, member: 1, admin: 2, owner: 3 };
const ROLES = Object.keys(RANK);
const state = { list: [], lost: false, auditCursor: null, changed: () => {} };

/** `changed` is told when the organization changes, to reload what depends on it. */
export function initMembers({ changed }) {
  state.changed = changed;
  $("org-select").addEventListener("change", () => switchTo($("org-select").value));
  $("invite-form").addEventListener("submit", (e) => { e.preventDefault(); invite(); });
  $("org-form").addEventListener("submit", (e) => { e.preventDefault(); createOrganization(); });
  $("leave-btn").addEventListener("click", leave);
  $("audit-more").addEventListener("click", () => loadAudit(false));
  $("invite-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("invite-link").textContent);
      $("invite-copy").textContent = "Copied";
    } catch {
      showInfo("The browser did not let the page copy the link. Select it and copy it by hand.");
    }
  });
}

/** The caller's organizations, into the switcher; a remembered one that is gone (left,
 *  removed) falls back to the personal one, and with `notify` the page reloads for it. */
export async function loadOrganizations({ notify = true } = {}) {
  state.list = await request("GET", "/api/organizations");
  const wanted = currentOrganization();
  if (wanted && !state.list.some((o) => o.id === wanted)) {
    setOrganization(null);
    state.lost = true;
    if (notify) state.changed();
  }
  const current = shown();
  document.body.dataset.role = current?.role || "owner";
  $("org-select").replaceChildren(...state.list.map((o) => h("option", { value: o.id },
    o.personal ? `${o.name} (personal)` : o.name)));
  $("org-select").value = current?.id || "";
  return current;
}

/** The organization the page works in ({id, name, role, personal, …}), once loaded. */
export function workingIn() { return shown(); }

/** Say, once the page is shown, that the organization remembered was gone. */
export function sayIfLost() {
  if (!state.lost) return;
  state.lost = false;
  showInfo("You are no longer a member of that organization: back in your personal one.");
}

function shown() {
  const wanted = currentOrganization();
  return state.list.find((o) => o.id === wanted) || state.list.find((o) => o.personal) || null;
}

function switchTo(id) {
  const chosen = state.list.find((o) => o.id === id);
  setOrganization(chosen && !chosen.personal ? id : null);
  state.changed();
  showInfo(`Now working in ${chosen ? chosen.name : "your personal organization"}.`);
}

export function clearMembers() {
  state.list = [];
  delete document.body.dataset.role;
  $("org-select").replaceChildren();
  for (const id of ["member-list", "invitation-list", "audit-list"]) $(id).replaceChildren();
  $("invite-created").hidden = true;
}

const canManage = (org) => RANK[org.role] >= RANK.admin;
/** Whether the caller manages the current organization (its data, keys and members). */
export const manages = () => RANK[document.body.dataset.role || "owner"] >= RANK.admin;
const aRole = (role) => `${role === "admin" || role === "owner" ? "an" : "a"} ${role}`;

/** The Members page of the current organization. */
export async function loadMembers() {
  const org = await loadOrganizations();
  if (!org) return;
  $("members-title").textContent = `Members of ${org.name}`;
  $("my-role").textContent = `You are ${aRole(org.role)} here.`;
  const manage = canManage(org);
  $("invite-card").hidden = !manage;
  $("invitations").hidden = !manage;
  $("audit").hidden = !manage;
  $("leave-btn").hidden = org.personal;
  const members = await request("GET", `/api/organizations/${org.id}/members`);
  $("member-list").replaceChildren(...members.map((m) => memberRow(org, m)));
  if (manage) {
    await loadInvitations(org);
    await loadAudit(true);
  }
}

function memberRow(org, member) {
  const mine = member.user_id === session()?.user?.id;
  // An admin manages the roles below owner; an owner manages every role.
  const editable = canManage(org) && !mine
    && (org.role === "owner" || member.role !== "owner");
  const role = editable
    ? h("select", { "aria-label": `Role of ${member.email}`,
                    onchange: (e) => changeRole(org, member, e.target.value) },
        ...ROLES.filter((r) => org.role === "owner" || r !== "owner")
          .map((r) => h("option", { value: r, selected: r === member.role }, r)))
    : member.role;
  return h("tr", { dataset: { userId: member.user_id } },
    h("td", {}, member.name), h("td", {}, member.email), h("td", {}, role),
    h("td", { class: "nowrap" }, day(member.joined_at)),
    h("td", {}, editable ? h("button", { type: "button", "aria-label": `Remove ${member.email}`,
                                         onclick: () => remove(org, member) }, "Remove") : ""));
}

async function changeRole(org, member, role) {
  try {
    await request("PATCH", `/api/organizations/${org.id}/members/${member.user_id}`, { role });
    showInfo(`${member.email} is now ${aRole(role)}.`);
  } catch (error) {
    showError(error, "Could not change the role");
  }
  await loadMembers().catch((e) => showError(e, "Could not load the members"));
}

async function remove(org, member) {
  if (!await ask(`Remove ${member.email} from ${org.name}?`, { ok: "Remove" })) return;
  try {
    await request("DELETE", `/api/organizations/${org.id}/members/${member.user_id}`);
    showInfo(`Removed ${member.email}.`);
    await loadMembers();
  } catch (error) {
    showError(error, "Could not remove the member");
  }
}

async function leave() {
  const org = shown();
  if (!org || !await ask(`Leave ${org.name}? You will no longer see its datasets.`,
                         { ok: "Leave" })) return;
  try {
    await request("POST", `/api/organizations/${org.id}/leave`);
    setOrganization(null);
    state.changed();
    showInfo(`You left ${org.name}.`);
  } catch (error) {
    showError(error, "Could not leave the organization");
  }
}

async function invite() {
  const org = shown();
  const email = $("invite-email").value.trim();
  if (!org || !email) return;
  try {
    const made = await request("POST", `/api/organizations/${org.id}/invitations`,
                               { email, role: $("invite-role").value });
    $("invite-link").textContent = made.link;
    $("invite-copy").textContent = "Copy link";
    $("invite-created").hidden = false;
    $("invite-email").value = "";
    await loadInvitations(org);
    await loadAudit(true);
  } catch (error) {
    showError(error, "Could not invite");
  }
}

async function loadInvitations(org) {
  const waiting = await request("GET", `/api/organizations/${org.id}/invitations`);
  $("invitation-list").replaceChildren(...waiting.map((i) => h("tr", {},
    h("td", {}, i.email), h("td", {}, i.role), h("td", { class: "nowrap" }, day(i.expires_at)),
    h("td", {}, h("button", { type: "button", "aria-label": `Revoke the invitation of ${i.email}`,
                               onclick: () => revoke(org, i) }, "Revoke")))));
}

async function revoke(org, invitation) {
  try {
    await request("DELETE", `/api/organizations/${org.id}/invitations/${invitation.id}`);
    showInfo(`The invitation of ${invitation.email} no longer works.`);
    await loadInvitations(org);
  } catch (error) {
    showError(error, "Could not revoke the invitation");
  }
}

const ACTIONS = {
  invited: "invited", invitation_revoked: "revoked the invitation of", accepted: "joined as",
  joined_by_sso: "joined by single sign-on:", removed: "removed", role_changed: "changed the role of",
  left: "left:", dataset_created: "created the dataset", dataset_deleted: "deleted the dataset",
  requests_deleted: "deleted requests of the dataset",
  key_created: "created the API key", key_revoked: "revoked the API key",
  organization_created: "created the organization", settings_changed: "changed the settings:",
  thread_shared: "shared the thread",
};

async function loadAudit(first) {
  const org = shown();
  if (!org) return;
  const cursor = first ? "" : `&cursor=${encodeURIComponent(state.auditCursor)}`;
  const page = await request("GET", `/api/organizations/${org.id}/audit?limit=50${cursor}`);
  const rows = page.entries.map((e) => h("tr", {},
    h("td", { class: "nowrap" }, e.created_at.slice(0, 16).replace("T", " ")),
    h("td", {}, e.actor_email || "(a deleted account)"),
    h("td", {}, `${ACTIONS[e.action] || e.action} ${e.target}`),
    h("td", { class: "nowrap" }, e.ip_address)));
  if (first) $("audit-list").replaceChildren(...rows);
  else $("audit-list").append(...rows);
  state.auditCursor = page.next_cursor;
  $("audit-more").hidden = !page.next_cursor;
}

async function createOrganization() {
  const name = $("org-name").value.trim();
  if (!name) return;
  try {
    const made = await request("POST", "/api/organizations", { name });
    $("org-name").value = "";
    setOrganization(made.id);
    state.changed();
    showInfo(`Created ${made.name}; you are its owner. Invite your team below.`);
  } catch (error) {
    showError(error, "Could not create the organization");
  }
}

/** An invitation's token: join its organization and work in it from now on; `shown`
 *  (a promise) shows the page the outcome is then said on. */
export async function acceptInvitation(token, shown) {
  try {
    const { organization } = await request("POST", "/api/invitations/accept", { token });
    setOrganization(organization.id);
    await shown();
    showInfo(`You joined ${organization.name} as ${aRole(organization.role)}.`);
  } catch (error) {
    await shown();
    showError(error, "Could not accept the invitation");
  }
}
