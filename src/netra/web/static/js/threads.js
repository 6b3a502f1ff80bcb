// The thread list: newest first; open, rename, delete, share into the organization; and
// the threads colleagues shared into it (read only).
import { $, h, ask, showError, showInfo } from "./dom.js";
import { request, session } from "./api.js";
import { workingIn } from "./members.js";

export const threads = { list: [], current: null };
// Drawn as SVG paths: emoji glyphs are missing from many systems' fonts.
const PENCIL = "M3 17.2V21h3.8l11-11-3.8-3.8zM20.7 7a1 1 0 0 0 0-1.4l-2.3-2.3a1 1 0 0 0-1.4 0l-1.8 1.8 3.8 3.8z";
const BIN = "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6zM19 4h-3.5l-1-1h-5l-1 1H5v2h14z";
const PEOPLE = "M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 2c-2.3 0-7 1.2-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13zm8 0h-.9A4.5 4.5 0 0 1 17 16.5V19h6v-2.5c0-2.3-4.7-3.5-7-3.5z";
const SVG = "http://www.w3.org/2000/svg";

function icon(path) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "glyph");
  const shape = document.createElementNS(SVG, "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}
const hooks = { renamed: () => {}, deleted: () => {} };

export function initThreads({ renamed, deleted }) {
  Object.assign(hooks, { renamed, deleted });
  $("new-thread").addEventListener("click", () => {
    if (location.hash === "#/chat") location.hash = "#/chat/";  // still a fresh chat
    else location.hash = "#/chat";
  });
}

export async function loadThreads() {
  threads.list = await request("GET", "/api/threads");
  render();
}

export function setCurrentThread(id) {
  threads.current = id;
  render();
}

export function upsertThread(thread) {
  const at = threads.list.findIndex((t) => t.id === thread.id);
  if (at >= 0) threads.list[at] = thread;
  else threads.list.unshift(thread);
  render();
}

/** A thread just used moves to the top, as the server will order it on the next load. */
export function touchThread(id) {
  const at = threads.list.findIndex((t) => t.id === id);
  if (at <= 0) return;
  const [thread] = threads.list.splice(at, 1);
  threads.list.unshift({ ...thread, updated_at: new Date().toISOString() });
  render();
}

export function clearThreads() {
  threads.list = [];
  threads.current = null;
  render();
  $("shared-list").replaceChildren();
  $("shared").hidden = true;
}

/** The threads colleagues shared into the organization worked in. */
export async function loadShared() {
  const org = workingIn();
  const mine = session()?.user?.id;
  const shared = org ? await request("GET", `/api/organizations/${org.id}/threads`) : [];
  const theirs = shared.filter((t) => t.user_id !== mine);
  $("shared-title").textContent = `Shared in ${org?.name || "the organization"}`;
  $("shared-list").replaceChildren(...theirs.map((t) => h("li", { dataset: { threadId: t.id } },
    h("a", { href: `#/chat/${t.id}`, class: "thread-link" }, t.title || "Untitled"))));
  $("shared").hidden = !theirs.length;
  render();  // the share buttons name the organization
}

function render() {
  $("thread-list").replaceChildren(...threads.list.map((t) => {
    const title = t.title || "Untitled";
    return h("li", { dataset: { threadId: t.id } },
      h("a", { href: `#/chat/${t.id}`, class: "thread-link",
               "aria-current": t.id === threads.current ? "page" : null }, title),
      h("button", { type: "button", class: "icon", "aria-label": `Rename thread ${title}`,
                    title: "Rename", onclick: () => rename(t) }, icon(PENCIL)),
      shareButton(t, title),
      h("button", { type: "button", class: "icon", "aria-label": `Delete thread ${title}`,
                    title: "Delete", onclick: () => remove(t) }, icon(BIN)));
  }));
}

function shareButton(thread, title) {
  const org = workingIn();
  if (!org || org.personal) return null;  // sharing is into a team's organization
  const shared = thread.organization_id === org.id;
  const label = shared ? `Stop sharing thread ${title} with ${org.name}`
                       : `Share thread ${title} with ${org.name}`;
  return h("button", { type: "button", class: shared ? "icon on" : "icon", "aria-label": label,
                       "aria-pressed": String(shared), title: label,
                       onclick: () => share(thread, shared ? null : org) }, icon(PEOPLE));
}

async function share(thread, org) {
  try {
    const updated = await request("PUT", `/api/threads/${thread.id}/organization`,
                                  { organization_id: org ? org.id : null });
    upsertThread(updated);
    showInfo(org ? `Members of ${org.name} can now read “${updated.title}”.`
                 : `“${updated.title}” is yours alone again.`);
  } catch (error) {
    showError(error, "Could not share the thread");
  }
}

async function rename(thread) {
  const title = await ask("Rename the thread", { value: thread.title, ok: "Rename" });
  if (!title || title === thread.title) return;
  try {
    const updated = await request("PATCH", `/api/threads/${thread.id}`, { title });
    upsertThread(updated);
    hooks.renamed(updated);
  } catch (error) {
    showError(error, "Could not rename the thread");
  }
}

async function remove(thread) {
  if (!await ask(`Delete “${thread.title}” and all its messages?`, { ok: "Delete" })) return;
  try {
    await request("DELETE", `/api/threads/${thread.id}`);
    threads.list = threads.list.filter((t) => t.id !== thread.id);
    render();
    hooks.deleted(thread.id);
  } catch (error) {
    showError(error, "Could not delete the thread");
  }
}
