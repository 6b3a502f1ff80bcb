// Boot: sign-in state, the socket, hash routes (#/chat/<id>, #/datasets, #/datasets/<id>
// (its dashboard), #/keys, #/members, #/invitations/<token>), the organization switcher,
// theme.
import { $, clearToasts, showError } from "./dom.js";
import { logout, onAuthChange, session } from "./api.js";
import { Live } from "./socket.js";
import { initAuth, showAuth } from "./auth.js";
import { connectionChanged, initChat, onConnected, onFrame, openThread, signOutChat,
         threadDeleted, threadRenamed } from "./chat.js";
import { clearThreads, initThreads, loadShared, loadThreads } from "./threads.js";
import { clearDatasets, initDatasets, loadDatasets } from "./datasets.js";
import { clearKeys, initKeys, loadKeys } from "./keys.js";
import { closeDashboard, initDashboard, openDashboard } from "./dashboard.js";
import { acceptInvitation, clearMembers, initMembers, loadMembers, loadOrganizations,
         sayIfLost } from "./members.js";

const CONNECTION_TEXT = {
  connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…", offline: "Offline",
};
const live = new Live({
  frame: onFrame,
  connected: onConnected,
  authFailed: () => signedOut("Your session has ended. Please log in again."),
  state: (state, delay) => {
    const el = $("conn");
    el.dataset.state = state;
    el.textContent = state === "reconnecting" && delay
      ? `Reconnecting in ${Math.ceil(delay / 1000)} s…` : CONNECTION_TEXT[state];
    connectionChanged(state);
  },
});
let entered = null;  // the id of the account whose screens are shown
let shownScreen = null;
const phone = matchMedia("(max-width: 720px)");

function route() {
  if (entered === null) return;
  const [, screen = "chat", id = ""] = location.hash.split("/");
  if (screen === "invitations" && id) {  // an invitation's link: join, then see its members
    // The token leaves the address bar (and the history) before anything else happens.
    history.replaceState(null, "", "#/members");
    acceptInvitation(id, organizationChanged);
    return;
  }
  const views = { chat: "chat-view", datasets: "datasets-view", keys: "keys-view",
                  members: "members-view" };
  const current = views[screen] ? screen : "chat";
  const dashboard = current === "datasets" && id !== "";  // a dataset's, under Datasets
  const place = dashboard ? `dashboard/${id.split("?")[0]}` : current;
  if (place !== shownScreen) clearToasts();  // what was said about the last screen goes
  shownScreen = place;
  const shown = dashboard ? "dashboard-view" : views[current];
  for (const view of [...Object.values(views), "dashboard-view"]) $(view).hidden = view !== shown;
  for (const link of document.querySelectorAll("[data-nav]")) {
    // An empty aria-current means "false" to assistive technology: say "page".
    if (link.dataset.nav === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  closeMenu();
  if (current === "chat") openThread(id || null);
  if (current === "keys") loadKeys().catch((e) => showError(e, "Could not load the API keys"));
  if (current === "members") {
    loadMembers().catch((e) => showError(e, "Could not load the members"));
  }
  if (dashboard) openDashboard(id);
  else closeDashboard();
  if (current === "datasets" && !dashboard) {
    loadDatasets().catch((e) => showError(e, "Could not load datasets"));
  }
}

// Another organization: its datasets (the chat's picker too), and the screen shown again
// in it; a dataset's dashboard belongs to the organization left, so back to the list.
function organizationChanged() {
  return entered ? loadInOrganization({ switched: true }) : Promise.resolve();
}

// The caller's organizations and role first (what the screens offer follows the role),
// then the organization's datasets and the screen.
function loadInOrganization({ switched = false } = {}) {
  return loadOrganizations({ notify: false })
    .catch((e) => showError(e, "Could not load your organizations"))
    .finally(() => {
      loadDatasets().catch((e) => showError(e, "Could not load datasets"));
      loadShared().catch((e) => showError(e, "Could not load the shared threads"));
      if (switched && location.hash.startsWith("#/datasets/")) location.hash = "#/datasets";
      else route();
      sayIfLost();
    });
}

function enter() {
  const who = session()?.user?.id ?? "";
  if (entered === who) return;
  // Another account signed in over this one (single sign-on, another tab): nothing of
  // the last one's stays on screen.
  if (entered !== null) signedOut();
  entered = who;
  $("auth-screen").hidden = true;
  $("app").hidden = false;
  $("who").textContent = session()?.user?.email || "";
  live.start();
  loadThreads().catch((e) => showError(e, "Could not load the threads"));
  loadInOrganization();
}

function signedOut(message = "") {
  entered = null;
  shownScreen = null;
  clearToasts();
  live.stop();
  signOutChat();
  clearThreads();
  clearDatasets();
  clearKeys();
  clearMembers();
  showAuth(message);
}

// The thread list is a drawer on a phone: ☰ opens and closes it, so do Escape and a tap
// outside it; while it is shut it is inert (out of the Tab order and of screen readers),
// and while it is open the page under it is.
function menuOpen() { return document.body.classList.contains("menu-open"); }

function setMenu(open, { focus = false } = {}) {
  if (open) {
    const below = Math.round($("app").querySelector(".topbar").getBoundingClientRect().bottom);
    $("sidebar").style.setProperty("--drawer-top", `${below}px`);
  }
  document.body.classList.toggle("menu-open", open);
  $("menu-btn").setAttribute("aria-expanded", String(open));
  const drawer = phone.matches;
  $("sidebar").inert = drawer && !open;
  $("main").inert = drawer && open;
  if (!focus) return;
  if (open) $("new-thread").focus();
  else $("menu-btn").focus();
}

function closeMenu() {
  const focusInside = $("sidebar").contains(document.activeElement);
  setMenu(false, { focus: focusInside && phone.matches });
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const next = theme === "dark" ? "light" : "dark";
  $("theme-btn").setAttribute("aria-label", `Switch to ${next} theme`);
}

function initChrome() {
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  applyTheme(document.documentElement.dataset.theme || (dark ? "dark" : "light"));
  $("theme-btn").addEventListener("click", () => {
    const theme = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem("netra.theme", theme);
    applyTheme(theme);  // charts take the theme's colours from CSS: nothing to redraw
  });
  $("menu-btn").addEventListener("click", () => setMenu(!menuOpen(), { focus: !menuOpen() }));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && menuOpen() && !$("dialog").open) {
      e.preventDefault();
      setMenu(false, { focus: true });
    }
  });
  // A tap outside the drawer closes it (captured, before anything else hears it). On the
  // veil it does nothing else; on the header it goes on to its control (☰ toggles itself).
  document.addEventListener("click", (e) => {
    const target = e.target;
    if (!menuOpen() || $("sidebar").contains(target) || $("dialog").contains(target)
        || $("menu-btn").contains(target)) return;
    setMenu(false);
    if (target instanceof Element && target.closest(".topbar")) return;
    e.preventDefault();
    e.stopPropagation();
  }, true);
  phone.addEventListener("change", () => setMenu(false));
  setMenu(false);
  $("logout-btn").addEventListener("click", () => {
    logout().catch((e) => showError(e, "Signed out here, but the server was not told"));
  });
}

initChrome();
initAuth();
initChat(live);
initThreads({ renamed: threadRenamed, deleted: threadDeleted });
initDatasets();
initDashboard();
initKeys();
initMembers({ changed: organizationChanged });
onAuthChange((auth) => (auth ? enter() : signedOut()));
window.addEventListener("hashchange", route);
if (session()) enter();
else showAuth();
