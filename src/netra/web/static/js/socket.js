// The one WebSocket of the page: a fresh ticket per connection, reconnect with
// exponential backoff and jitter, and a watchdog for connections that die silently.
import { request } from "./api.js";

const BASE_MS = 500;
const CAP_MS = 30_000;
const WATCHDOG_MS = 20_000;  // app-level ping; no pong in this long means a dead link

export class Live {
  /** handlers: {frame(f), connected(), state(name, detail), authFailed(error)} */
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.state = "offline";
    window.addEventListener("online", () => this.now());
    window.addEventListener("offline", () => this.ws || this.setState("offline"));
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, "signed out");
    this.setState("offline");
  }

  /** Reconnect at once (the network is back), forgetting the backoff. */
  now() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  }

  setState(state, detail = "") {
    this.state = state;
    this.handlers.state(state, detail);
  }

  async connect() {
    this.setState(this.attempt ? "reconnecting" : "connecting");
    let ticket;
    try {
      ticket = (await request("POST", "/api/auth/ws-ticket")).ticket;
    } catch (error) {
      if (error.status === 401) { this.stop(); this.handlers.authFailed(error); return; }
      this.retry();
      return;
    }
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws?ticket=${encodeURIComponent(ticket)}`);
    this.ws = ws;
    ws.addEventListener("message", (e) => this.receive(ws, e.data));
    // "error" is always followed by "close", where the reconnect happens.
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pinger);
      if (!this.stopped) this.retry();
    });
  }

  receive(ws, data) {
    const frame = JSON.parse(data);
    this.lastHeard = Date.now();
    if (frame.type === "connected") {
      this.attempt = 0;
      this.setState("connected");
      this.watch(ws);
      this.handlers.connected();
    } else if (frame.type !== "pong") {
      this.handlers.frame(frame);
    }
  }

  watch(ws) {
    clearInterval(this.pinger);
    this.pinger = setInterval(() => {
      if (Date.now() - this.lastHeard > 2 * WATCHDOG_MS) { ws.close(4000, "no answer"); return; }
      if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
    }, WATCHDOG_MS);
  }

  retry() {
    // Exponential backoff with "equal jitter": never hammer a server that is coming back,
    // and never have every tab of every user reconnect in the same instant.
    const cap = Math.min(CAP_MS, BASE_MS * 2 ** this.attempt);
    const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
    this.attempt += 1;
    this.setState(navigator.onLine === false ? "offline" : "reconnecting", delay);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Sends when connected; false means "not sent" (the caller falls back to REST). */
  send(frame) {
    if (this.state !== "connected" || !this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return false;
    }
    this.ws.send(JSON.stringify(frame));
    return true;
  }
}
