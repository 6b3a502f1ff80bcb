// REST client for PROTOCOL.md: tokens, silent refresh, errors as ApiError in words.
//
// Tokens live in localStorage rather than sessionStorage: a second tab, or a tab the
// browser restored, must stay signed in and resume its runs. Refresh tokens rotate with
// reuse detection (a reused one revokes the whole login), so tabs never refresh at the
// same time: a Web Lock serialises refreshes and, inside it, a tab first re-reads
// storage and adopts a pair another tab already rotated. The XSS exposure that comes
// with localStorage is contained by the page never inserting server strings as HTML.

const KEY = "netra.auth";
// The organization every request acts in (the X-Netra-Organization header); none: the
// user's personal one. Kept per tab and across reloads; forgotten on signing out.
const ORG_KEY = "netra.organization";
const ORG_HEADER = "X-Netra-Organization";
let organization = sessionStorage.getItem(ORG_KEY) || localStorage.getItem(ORG_KEY);
const REFRESH_MARGIN_MS = 60_000;  // refresh this long before the access token expires
const listeners = new Set();
let auth = read();
let refreshing = null;
let timer = null;

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function read() {
  try { return JSON.parse(localStorage.getItem(KEY)); } catch { return null; }
}

function save(next) {
  auth = next;
  if (next) localStorage.setItem(KEY, JSON.stringify(next));
  else {
    localStorage.removeItem(KEY);
    setOrganization(null);  // the next user of this browser starts in their own
  }
  schedule();
  for (const fn of listeners) fn(auth);
}

export const session = () => auth;
export const currentOrganization = () => organization;

/** Act in this organization from now on (null: the personal one). */
export function setOrganization(id) {
  organization = id || null;
  for (const store of [sessionStorage, localStorage]) {
    if (organization) store.setItem(ORG_KEY, organization);
    else store.removeItem(ORG_KEY);
  }
}
export function onAuthChange(fn) { listeners.add(fn); }

// Another tab signed in, out, or rotated the pair.
window.addEventListener("storage", (event) => {
  if (event.key !== KEY) return;
  const before = auth;
  auth = read();
  schedule();
  // Signed in or out there, or as someone else: this tab follows. A rotated pair of the
  // same account changes nothing on screen.
  if (before?.user?.id !== auth?.user?.id) for (const fn of listeners) fn(auth);
});

function adopt(body) {
  save({
    access_token: body.access_token,
    refresh_token: body.refresh_token,
    expires_at: Date.now() + body.expires_in * 1000,
    user: body.user || auth?.user,
  });
}

function schedule() {
  clearTimeout(timer);
  if (!auth) return;
  const wait = Math.max(5_000, auth.expires_at - Date.now() - REFRESH_MARGIN_MS);
  timer = setTimeout(() => refresh().catch(() => {
    if (auth) timer = setTimeout(schedule, 15_000);  // offline: try again soon
  }), wait);
}

export function refresh() {
  refreshing ??= rotate().finally(() => { refreshing = null; });
  return refreshing;
}

async function rotate() {
  const used = auth?.refresh_token;
  const work = async () => {
    const current = read();
    if (!current || !used) {
      save(null);
      throw new ApiError(401, "unauthorized", "You have been signed out. Please log in again.");
    }
    if (current.refresh_token !== used) { auth = current; schedule(); return; }
    try {
      adopt(await request("POST", "/api/auth/refresh", { refresh_token: used }, { auth: false }));
    } catch (error) {
      if (error.status === 401) save(null);
      throw error;
    }
  };
  return navigator.locks ? navigator.locks.request("netra.refresh", work) : work();
}

export async function login(email, password) {
  adopt(await request("POST", "/api/auth/login", { email, password }, { auth: false }));
}

export async function signup(email, password, name) {
  const body = { email, password };
  if (name) body.name = name;
  adopt(await request("POST", "/api/auth/signup", body, { auth: false }));
}

/** The single sign-on providers, for the sign-in screen's buttons. */
export function signOnProviders() {
  return request("GET", "/api/auth/oidc/providers", undefined, { auth: false });
}

/** Trade the one-time code a single sign-on left in the URL for a login. The browser
 *  sends its sign-on cookie with it: the code is good only in the browser that signed in. */
export async function finishSignOn(code) {
  adopt(await request("POST", "/api/auth/oidc/exchange", { code }, { auth: false }));
}

export async function logout() {
  const token = auth?.refresh_token;
  save(null);
  if (token) await request("POST", "/api/auth/logout", { refresh_token: token }, { auth: false });
}

async function fresh() {
  if (auth && auth.expires_at - Date.now() < 10_000) await refresh();
}

/** A REST call; `body` goes as JSON, or as itself when it is FormData (multipart). A
 *  failure is an ApiError whose `details` are the server's (e.g. an upload's rejects). */
export async function request(method, path, body, { auth: useAuth = true, retry = true } = {}) {
  if (useAuth) await fresh();
  const headers = {};
  const form = body instanceof FormData;  // the browser writes its multipart boundary
  if (body !== undefined && !form) headers["Content-Type"] = "application/json";
  const sentWith = useAuth ? auth?.access_token : undefined;
  if (sentWith) headers.Authorization = `Bearer ${sentWith}`;
  if (sentWith && organization) headers[ORG_HEADER] = organization;
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined || form ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The server could not be reached; check the connection.");
  }
  if (response.status === 401 && useAuth && retry && auth) {
    // Another request may have refreshed meanwhile: then a retry is all it takes.
    if (auth.access_token === sentWith) await refresh();
    return request(method, path, body, { retry: false });
  }
  if (!response.ok) throw errorOf(response.status, await response.text(),
                                  response.headers.get("Retry-After"));
  return response.status === 204 ? null : response.json();
}

function errorOf(status, text, retryAfter) {
  let code = `http_${status}`;
  let message = `The server answered ${status}.`;
  let details;
  try {
    const body = JSON.parse(text);
    if (body && body.error) ({ code, message, details } = body.error);
  } catch { /* not JSON: keep the status line */ }
  if (retryAfter) message += ` Try again in ${retryAfter} s.`;
  const error = new ApiError(status, code, message, details);
  if (retryAfter) error.retryAfter = Number(retryAfter);
  return error;
}

/** POST /api/datasets with upload progress (fetch cannot report upload progress). */
export async function upload(form, onProgress) {
  await fresh();
  const send = () => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/datasets");
    xhr.setRequestHeader("Authorization", `Bearer ${auth?.access_token}`);
    if (organization) xhr.setRequestHeader(ORG_HEADER, organization);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText));
      else reject(errorOf(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After")));
    });
    xhr.addEventListener("error", () => reject(
      new ApiError(0, "network", "The upload was interrupted; check the connection.")));
    xhr.send(form);
  });
  try {
    return await send();
  } catch (error) {
    if (error.status !== 401 || !auth) throw error;
    await refresh();
    return send();
  }
}

schedule();
