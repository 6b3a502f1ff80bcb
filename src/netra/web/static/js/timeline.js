// One assistant turn: the live timeline of a run (agents, thinking, tool calls) and
// its answer, streamed as safe HTML chunks, then the short answer, findings and report.
import { h, announce } from "./dom.js";
import { describe } from "./errors.js";
import { renderReport } from "./report.js";

const AGENT_NAMES = {
  supervisor: "Supervisor", triage: "Triage", data: "Data analyst",
  optimization: "Optimizer", actions: "Action planner", reporting: "Report writer",
};
const agentName = (agent) => AGENT_NAMES[agent] || agent;

function ms(value) {
  if (typeof value !== "number") return "";
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`;
}

/** [the first section, the rest] of a report's HTML: split where its second <h2> starts
 *  (the whole of it first when it has no second section). */
function splitReport(html) {
  const heads = [...html.matchAll(/<h2[\s>]/g)];
  if (heads.length < 2) return [html, ""];
  // The findings' section is left out of the rest: the cards under the answer are it.
  const rest = html.slice(heads[1].index)
    .replace(/<h2>Findings, ranked by savings<\/h2>[\s\S]*?(?=<h2[\s>]|$)/, "");
  return [html.slice(0, heads[1].index), rest];
}

export class RunView {
  /** opts: {live: bool, onChange(), onFinished(view)} */
  constructor(runId, opts = {}) {
    this.runId = runId;
    this.opts = opts;
    this.finished = false;
    this.answered = false;
    this.groups = new Map();   // agent -> <ol> of its steps, while the agent works
    this.agents = new Map();   // agent -> its <li>, while the agent works
    this.chunks = 0;           // partial_result events applied (each exactly once)
    this.tools = new Map();    // tool_call_id -> <li>
    this.status = h("span", { class: "run-status" }, opts.live ? "Starting…" : "Done");
    this.list = h("ol", { class: "timeline" });
    this.steps = h("details", { class: "steps", open: !!opts.live },
      h("summary", {}, h("span", {}, "Agent steps"), " · ", this.status), this.list);
    this.text = document.createTextNode("");
    this.answer = h("div", { class: "answer streaming", "aria-busy": opts.live ? "true" : "false" },
      this.text);
    this.reportSlot = h("div", { class: "report-slot" });
    this.el = h("article", { class: "turn assistant", dataset: { runId } },
      this.steps, this.answer, this.reportSlot);
    if (!opts.live) {  // a turn from the history: its run is over
      this.finished = true;
      this.el.dataset.finished = "true";
    }
  }

  /** A finished answer, live or from the thread history. With a report of findings, the
   *  text shows its first section (the short answer: what to do, how much it saves) and the
   *  rest of the written report goes, folded, under the finding cards (report.js). */
  showAnswer(html, content, report) {
    this.answered = true;
    this.answer.setAttribute("aria-busy", "false");
    this.answer.classList.remove("draft");
    const hasReport = report && typeof report === "object";
    let rest = null;
    if (typeof html === "string" && html) {
      this.answer.classList.remove("streaming");
      const [lead, more] = hasReport && Array.isArray(report.findings) && report.findings.length
        ? splitReport(html) : [html, ""];
      this.answer.innerHTML = lead;  // server-rendered, sanitised Markdown (web/markdown.py)
      if (more) {
        rest = h("details", { class: "full-report" }, h("summary", {}, "Full written report"));
        rest.insertAdjacentHTML("beforeend", more);  // the same sanitised HTML, folded
      }
    } else {
      this.answer.replaceChildren(this.text);
      this.text.data = content || "";  // no HTML sent: the Markdown source, as plain text
    }
    if (hasReport) renderReport(this.reportSlot, report, content || "", rest);
  }

  apply(event) {
    const handler = this[`on_${event.type}`];
    if (handler) handler.call(this, event, event.payload || {});
    this.el.dataset.lastSeq = event.seq;
    this.opts.onChange?.();
  }

  group(agent) {
    return this.groups.get(agent) || this.list;
  }

  step(event, cls, ...children) {
    const li = h("li", { class: `step ${cls}`, dataset: { seq: event.seq, type: event.type } },
      ...children);
    this.group(event.agent).append(li);
    return li;
  }

  on_agent_started(event) {
    if (event.agent === "supervisor") {
      this.setStatus("Working…");
      this.step(event, "run-start", h("span", { class: "label" }, "Run started"));
      return;
    }
    const inner = h("ol", { class: "agent-steps" });
    const li = this.step(event, "agent running",
      h("div", { class: "agent-head" },
        h("span", { class: "label" }, agentName(event.agent)),
        h("span", { class: "agent-state" }, "working…")),
      inner);
    li.dataset.agent = event.agent;
    this.groups.set(event.agent, inner);
    this.agents.set(event.agent, li);
    this.setStatus(`${agentName(event.agent)} is working…`);
  }

  on_agent_thinking(event, p) {
    this.step(event, "thinking", p.text || "");
  }

  on_tool_executing(event, p) {
    const args = JSON.stringify(p.args ?? {}, null, 2);
    const li = this.step(event, "tool running",
      h("div", { class: "tool-head" },
        h("code", { class: "tool-name" }, p.tool || "tool"),
        h("span", { class: "tool-state" }, "running…")),
      h("details", { class: "tool-args" }, h("summary", {}, "arguments"), h("pre", {}, args)),
      h("p", { class: "tool-summary" }));
    this.tools.set(p.tool_call_id, li);
  }

  on_tool_completed(event, p) {
    const li = this.tools.get(p.tool_call_id) || this.step(event, "tool",
      h("div", { class: "tool-head" }, h("code", { class: "tool-name" }, p.tool),
        h("span", { class: "tool-state" })), h("p", { class: "tool-summary" }));
    li.dataset.endSeq = event.seq;
    li.classList.remove("running");
    li.classList.add(p.ok ? "ok" : "failed");
    li.querySelector(".tool-state").textContent = `${p.ok ? "done" : "failed"} · ${ms(p.duration_ms)}`;
    li.querySelector(".tool-summary").textContent = p.summary || "";
  }

  // The model's draft as it writes it (figures not yet checked), shown formatted (each
  // delta carries the whole draft rendered and sanitised by the server): replaced by the
  // checked answer when its first partial_result arrives.
  on_answer_delta(_event, p) {
    if (this.answered || this.chunks) return;
    this.answer.classList.add("draft");
    this.text.appendData(p.text || "");
    if (typeof p.html === "string") this.answer.innerHTML = p.html;
  }

  // The checked answer in chunks of whole Markdown blocks, each with its safe HTML: shown
  // formatted as it comes (the plain text when a chunk has no HTML).
  on_partial_result(_event, p) {
    if (!this.chunks) {
      this.text.data = "";
      this.answer.replaceChildren();  // drop the rendered draft
      this.answer.classList.remove("draft");
    }
    this.chunks += 1;
    this.answer.dataset.chunks = this.chunks;
    if (this.answered) return;
    if (typeof p.html === "string") this.answer.insertAdjacentHTML("beforeend", p.html);
    else this.answer.append(p.text || "");
  }

  endAgent(event, ok, text) {
    const li = this.agents.get(event.agent);
    if (!li) return;
    this.agents.delete(event.agent);
    li.dataset.endSeq = event.seq;
    li.classList.remove("running");
    li.classList.add(ok ? "ok" : "failed");
    li.querySelector(".agent-state").textContent = text;
    this.groups.delete(event.agent);
  }

  on_agent_completed(event, p) {
    if (event.agent !== "supervisor") { this.endAgent(event, true, p.summary || "done"); return; }
    this.step(event, "run-end ok", h("span", { class: "label" }, "Answer ready"));
    if (!this.answered) this.showAnswer(p.content_html || "", p.content || "", p.report);
    this.finish("Done", "Answer ready");
  }

  on_agent_error(event, p) {
    // In words, without the error's code: the server's message, else one for its code.
    const text = describe({ code: p.code, message: p.message || "" });
    if (event.agent !== "supervisor") { this.endAgent(event, false, `failed: ${text}`); return; }
    this.step(event, "run-end failed", h("span", { class: "label" }, `Failed: ${text}`));
    this.answer.after(h("p", { class: "error run-error", role: "alert" },
      `The run failed. ${text}`));
    this.finish("Failed", `The run failed. ${text}`);
  }

  on_run_cancelled(event) {
    this.step(event, "run-end cancelled", h("span", { class: "label" }, "Stopped"));
    this.answer.after(h("p", { class: "notice run-cancelled" }, "Stopped. The run was cancelled."));
    this.finish("Stopped", "The run was stopped");
  }

  setStatus(text) { this.status.textContent = text; }

  /** While the page's connection is lost: the run itself goes on on the server. */
  setReconnecting(lost) {
    const on = lost && !this.finished;
    if (!on) { this.reconnecting?.remove(); this.reconnecting = null; return; }
    if (this.reconnecting) return;
    this.reconnecting = h("p", { class: "reconnecting", role: "status" },
      "Reconnecting — the analysis continues on the server.");
    this.steps.after(this.reconnecting);
  }

  finish(status, spoken) {
    this.finished = true;
    this.setReconnecting(false);
    this.answer.classList.remove("streaming");
    this.answer.setAttribute("aria-busy", "false");
    this.el.dataset.finished = "true";
    this.setStatus(status);
    const count = this.list.querySelectorAll("li.step").length;
    this.steps.querySelector("summary > span").textContent = `Agent steps (${count})`;
    // The answer is what the reader came for; the steps stay one click away.
    if (this.answered && this.opts.live) this.steps.open = false;
    if (this.opts.live) announce(spoken);
    this.opts.onFinished?.(this);
  }
}
