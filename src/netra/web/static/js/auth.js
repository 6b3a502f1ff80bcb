// The sign-in screen: log in or sign up, or sign in with a single sign-on provider;
// errors from the server in the form, in words.
import { $, h } from "./dom.js";
import { finishSignOn, login, signOnProviders, signup } from "./api.js";

const SSO_PATH = "/api/auth/oidc/";
// A refused single sign-on comes back as a reason only: the page words it, so no link
// can make it show a text of someone else's.
const REFUSALS = {
  invalid_state: "That sign-in expired or was already used. Please try again.",
  denied: "The sign-in was cancelled at {provider}.",
  invalid_token: "{provider}'s answer could not be verified. Please try again.",
  email_unverified: "{provider} has not verified your email address. Verify it there, then try again.",
  email_missing: "{provider} did not share your email address, which signing in needs.",
  provider_unavailable: "{provider} could not be reached. Please try again later.",
  provider_error: "Signing in with {provider} is not set up correctly. Please tell your administrator.",
};

let mode = "login";
let exchanging = false;  // a single sign-on's code is being traded for the login
const labels = new Map();  // provider name -> label
let providersLoaded = Promise.resolve();

function setMode(next) {
  mode = next;
  const signingUp = mode === "signup";
  $("auth-login-tab").setAttribute("aria-pressed", String(!signingUp));
  $("auth-signup-tab").setAttribute("aria-pressed", String(signingUp));
  $("auth-name-row").hidden = !signingUp;
  $("auth-submit").textContent = signingUp ? "Create account" : "Log in";
  $("auth-password").autocomplete = signingUp ? "new-password" : "current-password";
  $("auth-error").hidden = true;
}

function sayError(text) {
  const error = $("auth-error");
  error.textContent = text;
  error.hidden = !text;
}

function renderProviders(providers) {
  labels.clear();
  const buttons = [];
  for (const provider of providers) {
    if (!String(provider.login_url).startsWith(SSO_PATH)) continue;  // only our own routes
    labels.set(provider.name, provider.label);
    buttons.push(h("a", { class: "sso-button", href: provider.login_url },
                   `Sign in with ${provider.label}`));
  }
  $("auth-sso-list").replaceChildren(...buttons);
  $("auth-sso").hidden = buttons.length === 0;
}

/** What the provider's redirect left in the fragment (`#sso=` or `#sso_error=`), taken
 *  out of the address bar at once: the code is for one use, and not for the history. */
function takeSignOnResult() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has("sso") && !params.has("sso_error")) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return params;
}

async function completeSignOn(code) {
  exchanging = true;
  $("auth-status").hidden = false;
  try {
    await finishSignOn(code);
  } catch (failure) {
    sayError(`Signing in failed: ${failure.message}`);
  } finally {
    exchanging = false;
    $("auth-status").hidden = true;
  }
}

function explainRefusal(reason, provider) {
  const text = REFUSALS[reason] || "Signing in with {provider} failed. Please try again.";
  sayError(text.replaceAll("{provider}", labels.get(provider) || "the provider"));
}

export function initAuth() {
  $("auth-login-tab").addEventListener("click", () => setMode("login"));
  $("auth-signup-tab").addEventListener("click", () => setMode("signup"));
  $("auth-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const email = $("auth-email").value.trim();
    const password = $("auth-password").value;
    const error = $("auth-error");
    error.hidden = true;
    if (!email || !password) {
      error.textContent = "Enter your email and password.";
      error.hidden = false;
      return;
    }
    $("auth-submit").disabled = true;
    try {
      if (mode === "signup") await signup(email, password, $("auth-name").value.trim());
      else await login(email, password);
      $("auth-password").value = "";
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      $("auth-submit").disabled = false;
    }
  });
  // No providers (or no answer): the screen is the password form alone.
  providersLoaded = signOnProviders().then(renderProviders).catch(() => renderProviders([]));
  const result = takeSignOnResult();
  if (result?.get("sso")) completeSignOn(result.get("sso"));
  else if (result?.get("sso_error")) {
    // After showAuth has drawn the screen, and once the provider's label is known.
    providersLoaded.then(() => explainRefusal(result.get("sso_error"), result.get("provider")));
  }
}

export function showAuth(message = "") {
  setMode("login");  // whoever signed out has an account
  $("auth-password").value = "";
  $("app").hidden = true;
  $("auth-screen").hidden = false;
  $("auth-status").hidden = !exchanging;
  sayError(message);
  $("auth-email").focus();
}
