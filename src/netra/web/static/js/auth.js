// The sign-in screen: log in or sign up; errors from the server in the form, in words.
import { $ } from "./dom.js";
import { login, signup } from "./api.js";

let mode = "login";

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
}

export function showAuth(message = "") {
  setMode("login");  // whoever signed out has an account
  $("auth-password").value = "";
  $("app").hidden = true;
  $("auth-screen").hidden = false;
  const error = $("auth-error");
  error.textContent = message;
  error.hidden = !message;
  $("auth-email").focus();
}
