// Every run event the page has seen, per run, delivered to views in seq order exactly
// once: duplicates (a replay overlapping live events, REST history overlapping the
// socket) are dropped, and an early event waits until the gap before it is filled.
// Runs of threads not on screen are kept too: the server does not resend events it
// already sent on this connection, so dropping them would leave holes later.

export function isTerminal(event) {
  return event.type === "run_cancelled"
    || (event.agent === "supervisor"
        && (event.type === "agent_completed" || event.type === "agent_error"));
}

class Run {
  constructor(id, threadId) {
    this.id = id;
    this.threadId = threadId;
    this.last = 0;             // highest seq delivered: 1..last are all delivered
    this.early = new Map();    // seq -> event, waiting for the gap before it
    this.events = [];
    this.terminal = null;
    this.listeners = new Set();
  }

  get finished() { return this.terminal !== null; }
}

export class RunStore {
  constructor() { this.runs = new Map(); }

  run(id, threadId) {
    let run = this.runs.get(id);
    if (!run) { run = new Run(id, threadId); this.runs.set(id, run); }
    return run;
  }

  /** Returns true when the event left a gap (the caller may ask for a replay). */
  add(event) {
    const run = this.run(event.run_id, event.thread_id);
    if (event.seq <= run.last || run.early.has(event.seq)) return false;
    run.early.set(event.seq, event);
    while (run.early.has(run.last + 1)) {
      const next = run.early.get(run.last + 1);
      run.early.delete(run.last + 1);
      run.last += 1;
      run.events.push(next);
      if (isTerminal(next)) run.terminal = next;
      for (const fn of run.listeners) fn(next);
    }
    return run.early.size > 0;
  }

  /** Replays what is stored, then every new event in order; returns an unsubscribe. */
  subscribe(id, threadId, fn) {
    const run = this.run(id, threadId);
    for (const event of run.events) fn(event);
    run.listeners.add(fn);
    return () => run.listeners.delete(fn);
  }

  unfinished() {
    return [...this.runs.values()].filter((run) => !run.finished);
  }

  /** A deleted thread's runs: nothing left to resume or show. */
  forgetThread(threadId) {
    for (const [id, run] of this.runs) if (run.threadId === threadId) this.runs.delete(id);
  }

  clear() { this.runs.clear(); }
}
