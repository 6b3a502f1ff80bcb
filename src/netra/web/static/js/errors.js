// Errors in words a person can act on. The server's messages are written for API
// clients ("content is 17408 bytes; the limit is 16384", "pass one of: a, b"): the page
// says what happened and what to do, and never shows an error code.

export const MESSAGE_LIMIT_BYTES = 16 * 1024;  // the server's default content limit

const count = (n) => Number(n).toLocaleString("en-US");

/** Bytes as a person reads them: "900 bytes", "16 KiB", "2.5 MiB". */
export function size(bytes) {
  const n = Number(bytes);
  if (n < 1024) return `${count(n)} bytes`;
  if (n < 1024 * 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${+(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** "the file is empty" -> "The file is empty." */
export function sentence(text) {
  const t = String(text || "").trim();
  if (!t) return "";
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(s) ? s : `${s}.`;
}

const retryIn = (error) => {
  const wait = Number(error.retryAfter ?? error.retry_after ?? error.details?.retry_after);
  if (wait > 0) return ` Try again in ${wait} s.`;
  const said = /(?:retry|try again) in (\d+) ?s/i.exec(error.message || "");
  return said ? ` Try again in ${said[1]} s.` : " Try again in a moment.";
};

// Patterns of server messages (tried first, whatever the code), then codes.
const PATTERNS = [
  [/content is (\d+) bytes; the limit is (\d+)/i, (m) =>
    `Your message is ${count(m[1])} bytes; the limit is ${count(m[2])} bytes (${size(m[2])}). `
    + "Shorten it, or split it into several questions."],
  [/frame is over (\d+) bytes/i, () =>
    "Your message is too long to send. Shorten it, or split it into several questions."],
  [/(?:file|upload) exceeds the (?:upload )?limit of (\d+) bytes/i, (m) =>
    `The file is larger than the upload limit of ${size(m[1])}. Split it into smaller files, `
    + "or send its records through the ingest API (see API keys)."],
  [/could not recognise the file's format/i, () =>
    "The file's format could not be recognised. Pick it in the Format list "
    + "(for example records CSV, or Langfuse observations) and upload the file again."],
  [/unknown format/i, () =>
    "That format is not one the page knows. Pick one from the Format list and upload again."],
  // An upload with no usable row: the server says what to do; the page lists the lines.
  [/no valid rows in '(.*)' \(([\d,]+) rejected\)(?::\s*(.+))?/i, (m) =>
    `None of the ${count(m[2])} rows of ${m[1]} could be imported. `
    + `${m[3] ? sentence(m[3]) + " " : ""}The rejected lines are listed below with their reasons.`],
  [/the file is empty/i, () =>
    "The file is empty. Choose a file with a header line and data rows."],
  [/you have ([\d,]+) datasets; the limit is ([\d,]+)/i, (m) =>
    `You have ${m[1]} datasets, the most an account can hold. Delete one, then try again.`],
  [/your datasets hold ([\d,]+) rows; adding ([\d,]+) would pass the limit of ([\d,]+) rows/i,
    (m) => `Your datasets hold ${m[1]} rows and this would add ${m[2]}, over the limit of `
      + `${m[3]} rows per account. Delete a dataset, then try again.`],
  [/you already have (\d+) active runs \(limit (\d+)\)/i, (m) =>
    `You already have ${m[1]} analyses running, the most allowed at once. `
    + "Wait for one to finish, or stop one, then send again."],
  [/^thread not found/i, () =>
    "This thread no longer exists: it may have been deleted in another tab."],
  [/^dataset not found/i, () =>
    "That dataset no longer exists: it may have been deleted. Pick another one."],
  [/^run not found/i, () => "That analysis no longer exists: its thread may have been deleted."],
  [/^API key not found/i, () => "That key no longer exists: it may have been revoked already."],
  [/WebSocket tickets are unavailable/i, () =>
    "Live updates are unavailable for a moment. The page keeps trying to reconnect."],
];

const BY_CODE = {
  network: (e) => sentence(e.message) || "The server could not be reached; check the connection.",
  rate_limited: (e) => `You are sending requests faster than the server allows.${retryIn(e)}`,
  too_many_runs: () => "You have as many analyses running as allowed at once. "
    + "Wait for one to finish, or stop one, then send again.",
  too_large: () => "That is larger than the server accepts. Make it smaller and try again.",
  unauthorized: () => "Your session has ended. Please log in again.",
  forbidden: () => "You are not allowed to do that with this account.",
  not_found: () => "It no longer exists: it may have been deleted in another tab.",
  internal_error: () => "Something went wrong on the server (it has been logged). "
    + "Try again in a moment.",
  unavailable: () => "The server is busy or restarting. Try again in a moment.",
  // A run's end (agent_error): the server's message already says what to do.
  timeout: () => "The analysis took too long and was stopped. Try a narrower question.",
  interrupted: () => "The analysis was interrupted. Ask again to start it afresh.",
  agent_failed: () => "The analysis failed. Try again, or ask a narrower question.",
  tool_failed: () => "A step of the analysis failed. Try again, or ask a narrower question.",
};

// Phrasings of exceptions that must not reach the page as they are.
const TECHNICAL = /(;\s*(pass|use) one of:|;\s*supported:|NETRA_[A-Z_]+|Traceback|\bhttp_\d+\b)/;

/** One sentence (or two) for an error: ApiError, an error frame, a run's error payload. */
export function describe(error) {
  if (!error) return "Something went wrong. Try again.";
  const message = typeof error === "string" ? error : String(error.message || "");
  for (const [pattern, say] of PATTERNS) {
    const match = pattern.exec(message);
    if (match) return say(match);
  }
  const code = error.code || "";
  const status = Number(error.status) || 0;
  if (code === "rate_limited" || code === "network" || code === "unauthorized"
      || code === "internal_error" || code === "unavailable") return BY_CODE[code](error);
  if (status >= 500 || /^http_5/.test(code)) return BY_CODE.internal_error(error);
  if (message && !TECHNICAL.test(message)) {
    return sentence(message.replace(/^\w+Error: /, ""));
  }
  if (message) return sentence(message.replace(TECHNICAL, "").split(/[;(]/)[0]);
  const byCode = BY_CODE[code];
  return byCode ? byCode(error) : "Something went wrong. Try again.";
}
