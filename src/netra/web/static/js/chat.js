// The chat screen: a thread's history, the composer, live runs and their recovery.
import { $, h, announce, showError } from "./dom.js";
import { ApiError, currentOrganization, request, session } from "./api.js";
import { MESSAGE_LIMIT_BYTES, describe } from "./errors.js";
import { RunStore } from "./store.js";
import { RunView } from "./timeline.js";
import { loadThreads, setCurrentThread, threads, touchThread, upsertThread } from "./threads.js";
import { selectDataset, selectedDataset } from "./datasets.js";

export const EXAMPLE = "Where is our LLM spend going, and how can we cut it?";
export const store = new RunStore();
const state = {
  threadId: null,
  views: new Map(),     // run_id -> RunView of the thread on screen
  unsubscribe: [],
  // client_msg_id -> {bubble, threadId, content, frame, runId, via}: sent and not yet
  // accepted. `via` is "socket" (sent again on every reconnect until accepted: the
  // server answers a repeated client_msg_id with the first acceptance), "rest" (a POST
  // in flight) or "queued" (no way to the server yet: sent when the socket is back).
  pending: new Map(),
  resumeAsked: new Map(),
  stick: true,          // keep the newest output in view unless the reader scrolled up
  pinnedTop: 0,         // where follow() last scrolled to
  loaded: false,        // the thread on screen has its history rendered
  navigation: 0,
  connection: "connecting",
};
let live = null;

const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(12)),
  (b) => b.toString(16).padStart(2, "0")).join("");

export function initChat(connection) {
  live = connection;
  const input = $("composer-input");
  $("composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  input.addEventListener("input", updateCount);
  $("stop-btn").addEventListener("click", stop);
  const log = $("log");
  log.addEventListener("scroll", () => {
    // A scroll event also follows our own scrolling, after more output may have grown
    // the log: only a move up from where we pinned it means the reader is looking back.
    if (log.scrollHeight - log.scrollTop - log.clientHeight < 80) state.stick = true;
    else if (log.scrollTop < state.pinnedTop - 4) state.stick = false;
  }, { passive: true });
}

// The composer's size against the server's limit on a message (16 KiB by default),
// shown once a message grows past half of it, in warning colours near and over it.
const encoder = new TextEncoder();
let countLevel = "";

export function messageBytes(text) { return encoder.encode(text).length; }

function updateCount() {
  const el = $("composer-count");
  const bytes = messageBytes($("composer-input").value.trim());
  const level = bytes > MESSAGE_LIMIT_BYTES ? "over"
    : bytes >= MESSAGE_LIMIT_BYTES * 0.85 ? "near" : bytes >= MESSAGE_LIMIT_BYTES / 2 ? "long" : "";
  el.hidden = !level;
  el.dataset.level = level;
  const figures = `${bytes.toLocaleString("en-US")} / ${MESSAGE_LIMIT_BYTES.toLocaleString("en-US")} bytes`;
  el.textContent = level === "over" ? `${figures}: too long to send. Shorten it.`
    : level === "near" ? `${figures}: close to the limit` : figures;
  if (level !== countLevel && (level === "near" || level === "over")) {
    announce(level === "over" ? "Your message is over the size limit."
                              : "Your message is close to the size limit.");
  }
  countLevel = level;
}

let scrollQueued = false;
function follow() {
  if (!state.stick || scrollQueued) return;
  scrollQueued = true;
  requestAnimationFrame(() => {
    scrollQueued = false;
    const log = $("log");
    log.scrollTop = log.scrollHeight;
    state.pinnedTop = log.scrollTop;
  });
}

/** A finished answer is read from its start: bring its turn's top into view. */
function showFinished(view) {
  updateStop();
  if (!state.stick || !view.el.isConnected) return;
  state.stick = false;  // the reader reads from here: follow() must not pull them down
  requestAnimationFrame(() => {
    const log = $("log");
    const offset = view.el.getBoundingClientRect().top - log.getBoundingClientRect().top;
    if (offset >= 0 && offset < log.clientHeight / 2) return;  // its start is in view
    log.scrollTop += offset - 8;
    state.pinnedTop = log.scrollTop;
  });
}

const SUGGESTIONS = [
  EXAMPLE,
  "What does our traffic cost by model and by feature?",
  "Which features could move to a cheaper model?",
  "How much would caching save us?",
];

/** An empty thread: an example question ready to send, and a few more to pick from. */
function prefill() {
  const input = $("composer-input");
  input.value = EXAMPLE;
  updateCount();
  input.focus();
  input.select();
  const log = $("log");
  if (log.children.length) return;
  log.append(h("section", { class: "intro", "aria-labelledby": "intro-title" },
    h("h2", { id: "intro-title" }, "Ask about your LLM spend"),
    h("p", { class: "muted" }, "The agents read your telemetry, find savings and show their "
      + "work as they go. Press Enter to send the example below, or pick another question."),
    h("div", { class: "suggestions" }, SUGGESTIONS.map((text) => h("button", {
      type: "button", class: "suggestion",
      onclick: () => { input.value = text; updateCount(); input.focus(); },
    }, text)))));
}

function userBubble(content) {
  return h("article", { class: "turn user" }, h("p", { class: "bubble" }, content));
}

function reset(threadId) {
  for (const off of state.unsubscribe) off();
  state.unsubscribe = [];
  state.views.clear();
  state.threadId = threadId;
  state.stick = true;
  state.loaded = false;
  $("log").replaceChildren();
  setCurrentThread(threadId);
  updateStop();
}

/** Show a run of this thread live: subscribe its view to the store (replays what is held). */
function liveView(runId, place) {
  let view = state.views.get(runId);
  if (view) return view;
  $("log").querySelector(".intro")?.remove();
  view = new RunView(runId, { live: true, onChange: follow, onFinished: showFinished });
  state.views.set(runId, view);
  view.setReconnecting(lostConnection());
  place(view.el);
  state.unsubscribe.push(store.subscribe(runId, state.threadId, (e) => view.apply(e)));
  updateStop();
  return view;
}

function historyView(message) {
  const view = new RunView(message.run_id, { live: false });
  view.showAnswer(message.content_html, message.content, message.report);
  // The steps of a finished run are fetched only if the reader opens them.
  view.steps.addEventListener("toggle", () => {
    if (!view.steps.open || view.loaded) return;
    view.loaded = true;
    state.unsubscribe.push(store.subscribe(message.run_id, message.thread_id,
                                           (e) => view.apply(e)));
    catchUp(message.run_id, message.thread_id);
  });
  return view;
}

export async function openThread(threadId) {
  if (threadId && threadId === state.threadId) return;
  const navigation = ++state.navigation;  // a newer navigation wins over a slower load
  reset(threadId);
  readOnly(false);
  if (!threadId) {
    $("thread-title").textContent = "New chat";
    selectDataset(null);
    prefill();
    ready();
    return;
  }
  let thread, messages;
  try {
    [thread, messages] = await Promise.all([
      request("GET", `/api/threads/${threadId}`),
      request("GET", `/api/threads/${threadId}/messages`),
    ]);
  } catch (error) {
    if (navigation !== state.navigation) return;
    if (error.status === 404) {
      // Said once the page has moved to a new chat (moving clears the screen's toasts).
      window.addEventListener("hashchange", () => showError(error, "Could not open the thread"),
                              { once: true });
      location.hash = "#/chat";
    } else {
      showError(error, "Could not open the thread");
    }
    return;
  }
  if (navigation !== state.navigation) return;
  $("thread-title").textContent = thread.title;
  readOnly(thread.user_id !== session()?.user?.id);
  selectDataset(thread.dataset_id);
  renderHistory(messages);
  ready();
}

/** A colleague's thread shared into the organization is read, not written to. */
function readOnly(shared) {
  $("composer-input").disabled = shared;
  $("send-btn").disabled = shared;
  $("composer-input").placeholder = shared
    ? "A colleague's thread, shared with the organization: you can read it, not ask in it." : "";
}

/** The chat is on screen and usable (a performance mark the web benchmark reads). */
function ready() {
  state.loaded = true;
  if (!performance.getEntriesByName("netra:chat-ready").length) {
    performance.mark("netra:chat-ready");
  }
}

function renderHistory(messages) {
  const log = $("log");
  const answered = new Set(messages.filter((m) => m.role === "assistant").map((m) => m.run_id));
  const open = [];
  for (const message of messages) {
    if (message.role === "user") {
      log.append(userBubble(message.content));
      if (message.run_id && !answered.has(message.run_id)) {
        liveView(message.run_id, (el) => log.append(el));
        open.push(message.run_id);
      }
    } else {
      const view = historyView(message);
      log.append(view.el);
    }
  }
  const input = $("composer-input");
  if (!messages.length) prefill();
  else { input.value = ""; updateCount(); input.focus(); }
  follow();
  for (const runId of open) catchUp(runId, state.threadId);
}

/** Fetch what the page lacks of a run, then follow it live unless it already ended. */
async function catchUp(runId, threadId) {
  const run = store.run(runId, threadId);
  if (run.finished) return;
  try {
    const events = await request("GET", `/api/runs/${runId}/events?after_seq=${run.last}`);
    for (const event of events) store.add(event);
  } catch (error) {
    showError(error, "Could not load the run's progress");
  }
  if (!run.finished) live.send({ type: "resume", run_id: runId, after_seq: run.last });
}

/** On every (re)connect: resume each unfinished run and re-send unacknowledged messages. */
export function onConnected() {
  state.resumeAsked.clear();
  for (const run of store.unfinished()) {
    live.send({ type: "resume", run_id: run.id, after_seq: run.last });
  }
  // Messages not yet accepted, each under its own client_msg_id: one the server already
  // has is answered with its first acceptance, never stored twice.
  for (const pending of state.pending.values()) {
    if (pending.via !== "rest") sendOverSocket(pending);
  }
}

const lostConnection = () => state.connection === "reconnecting" || state.connection === "offline";

/** The socket's state: while it is lost, a running turn says its run goes on. */
export function connectionChanged(connection) {
  state.connection = connection;
  for (const view of state.views.values()) view.setReconnecting(lostConnection());
}

function sendOverSocket(pending) {
  if (!live.send(pending.frame)) return false;
  pending.via = "socket";
  pending.bubble.querySelector(".pending-note")?.remove();
  return true;
}

export function onFrame(frame) {
  if (frame.run_id && typeof frame.seq === "number") onEvent(frame);
  else if (frame.type === "message_accepted") onAccepted(frame);
  else if (frame.type === "error") {
    const pending = frame.client_msg_id && state.pending.get(frame.client_msg_id);
    const error = new ApiError(0, frame.code, frame.message || "");
    if (frame.retry_after) error.retryAfter = frame.retry_after;
    if (pending) failPending(pending, error);
    else showError(error, "The server refused a request");
  }
}

function onEvent(event) {
  const known = store.runs.has(event.run_id);
  const gap = store.add(event);
  const run = store.run(event.run_id);
  if (gap && state.resumeAsked.get(run.id) !== run.last) {
    state.resumeAsked.set(run.id, run.last);  // at most one replay request per hole
    live.send({ type: "resume", run_id: run.id, after_seq: run.last });
  }
  if (!known && !threads.list.some((t) => t.id === event.thread_id)) {
    loadThreads().catch((error) => showError(error, "Could not refresh the threads"));
  }
  // While the thread's history loads, its runs are left to renderHistory (no view twice).
  if (event.thread_id !== state.threadId || !state.loaded || state.views.has(event.run_id)) {
    return;
  }
  // A run of the thread on screen that has no view yet: ours, arriving before its
  // message_accepted, or one started in another tab.
  const ours = [...state.pending.values()].find((p) => p.threadId === state.threadId && !p.runId);
  if (ours) ours.runId = event.run_id;
  const view = liveView(event.run_id, (el) => (ours && ours.bubble.isConnected
    ? ours.bubble.after(el) : $("log").append(el)));
  if (!ours) {
    const bubble = userBubble("…");
    view.el.before(bubble);
    fillForeignQuestion(bubble, event.thread_id, event.run_id);
  }
  if (event.seq > 1) catchUp(event.run_id, event.thread_id);
}

async function fillForeignQuestion(bubble, threadId, runId) {
  try {
    const messages = await request("GET", `/api/threads/${threadId}/messages`);
    const question = messages.find((m) => m.role === "user" && m.run_id === runId);
    bubble.querySelector(".bubble").textContent = question ? question.content : "";
  } catch (error) {
    showError(error, "Could not load the question");
  }
}

function onAccepted(frame) {
  const pending = state.pending.get(frame.client_msg_id);
  if (!pending) return;
  state.pending.delete(frame.client_msg_id);
  delete pending.bubble.dataset.pending;
  pending.bubble.querySelector(".pending-note")?.remove();
  pending.bubble.dataset.runId = frame.run_id;
  if (pending.threadId === state.threadId) liveView(frame.run_id, (el) => pending.bubble.after(el));
  updateStop();
}

/** Said once: under the message when it is on screen, else as a toast. */
function failPending(pending, error) {
  state.pending.delete(pending.frame.client_msg_id);
  const { bubble } = pending;
  delete bubble.dataset.pending;
  bubble.dataset.failed = "true";
  bubble.querySelector(".pending-note")?.remove();
  bubble.append(h("p", { class: "error", role: "alert" }, `Not sent: ${describe(error)}`));
  const input = $("composer-input");
  if (pending.threadId === state.threadId && !input.value) {
    input.value = pending.content;  // the text is not lost
    updateCount();
  }
  if (!bubble.isConnected || pending.threadId !== state.threadId) {
    showError(error, "Your message was not sent");
  }
  updateStop();
}

/** No way to the server now: the message waits, and goes when the socket is back. */
function queuePending(pending) {
  pending.via = "queued";
  if (!pending.bubble.querySelector(".pending-note")) {
    pending.bubble.append(h("p", { class: "pending-note muted", role: "status" },
      "Waiting for the connection: it will be sent when the page is back online."));
  }
}

async function ensureThread(content) {
  if (state.threadId) return state.threadId;
  const thread = await request("POST", "/api/threads", { title: content.slice(0, 80) });
  upsertThread(thread);
  state.threadId = thread.id;
  setCurrentThread(thread.id);
  $("thread-title").textContent = thread.title;
  location.hash = `#/chat/${thread.id}`;  // openThread() ignores the thread already shown
  return thread.id;
}

async function send() {
  const input = $("composer-input");
  const content = input.value.trim();
  if (!content) return;
  let threadId;
  try {
    threadId = await ensureThread(content);
  } catch (error) {
    showError(error, "Could not start a thread");
    return;
  }
  const clientMsgId = randomId();
  const frame = { type: "user_message", thread_id: threadId, content, client_msg_id: clientMsgId };
  const datasetId = selectedDataset();
  if (datasetId) frame.dataset_id = datasetId;
  const organizationId = currentOrganization();  // REST sends it as a header
  if (organizationId) frame.organization_id = organizationId;
  $("log").querySelector(".intro")?.remove();
  const bubble = userBubble(content);
  bubble.dataset.pending = "true";
  $("log").append(bubble);
  state.stick = true;
  follow();
  input.value = "";
  updateCount();
  touchThread(threadId);
  const pending = { bubble, threadId, content, frame, runId: null, via: "socket" };
  state.pending.set(clientMsgId, pending);
  updateStop();
  // A message over the limit goes over REST: the refusal then answers this very request
  // (a frame too large for the socket could not even be matched to its message).
  const oversized = messageBytes(content) > MESSAGE_LIMIT_BYTES;
  if (!oversized && sendOverSocket(pending)) return;
  pending.via = "rest";
  try {  // the socket is down: the same message over REST (client_msg_id keeps it single)
    const body = { content, client_msg_id: clientMsgId };
    if (datasetId) body.dataset_id = datasetId;
    const accepted = await request("POST", `/api/threads/${threadId}/messages`, body);
    onAccepted({ client_msg_id: clientMsgId, run_id: accepted.run.id });
    catchUp(accepted.run.id, threadId);
  } catch (error) {
    if (!state.pending.has(clientMsgId)) return;  // accepted over the socket meanwhile
    if (error.code !== "network" || oversized) { failPending(pending, error); return; }
    // Offline: sent when the socket is back (now, if it came back meanwhile).
    queuePending(pending);
    sendOverSocket(pending);
  }
}

function stop() {
  // Messages still waiting for the connection are never sent.
  for (const pending of [...state.pending.values()]) {
    if (pending.via !== "queued" || pending.threadId !== state.threadId) continue;
    failPending(pending, new Error("you stopped it before it went"));
  }
  for (const view of state.views.values()) {
    if (view.finished) continue;
    view.setStatus("Stopping…");
    if (!live.send({ type: "cancel_run", run_id: view.runId })) {
      request("POST", `/api/runs/${view.runId}/cancel`)
        .catch((error) => showError(error, "Could not stop the run"));
    }
  }
}

function updateStop() {
  const running = [...state.views.values()].some((v) => !v.finished)
    || [...state.pending.values()].some((p) => p.threadId === state.threadId);
  $("stop-btn").hidden = !running;
}

export function threadRenamed(thread) {
  if (thread.id === state.threadId) $("thread-title").textContent = thread.title;
}

export function threadDeleted(threadId) {
  store.forgetThread(threadId);
  if (threadId === state.threadId) location.hash = "#/chat";
}

export function signOutChat() {
  state.pending.clear();
  store.clear();
  reset(null);
  state.threadId = undefined;  // the next openThread(null) after sign-in renders afresh
}
