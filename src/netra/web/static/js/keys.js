// API keys for the ingestion API: create (shown once), list, revoke.
import { $, h, ask, day, showError, showInfo, toast } from "./dom.js";
import { request } from "./api.js";
import { manages } from "./members.js";

export function initKeys() {
  $("key-form").addEventListener("submit", (e) => { e.preventDefault(); create(); });
  $("key-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("key-value").textContent);
      $("key-copy").textContent = "Copied";
    } catch {
      toast("The browser did not let the page copy the key. Select it and copy it by hand.");
    }
  });
}

export async function loadKeys() {
  if (!manages()) {  // keys are the organization's admins' to see
    $("key-list").replaceChildren();
    return;
  }
  const keys = await request("GET", "/api/api-keys");
  $("key-list").replaceChildren(...keys.map((k) => h("tr", { dataset: { keyId: k.id } },
    h("td", {}, k.name),
    h("td", { class: "nowrap" }, day(k.created_at)),
    h("td", {}, h("button", { type: "button", "aria-label": `Revoke key ${k.name}`,
                               onclick: () => revoke(k) }, "Revoke")))));
}

export function clearKeys() {
  $("key-list").replaceChildren();
  $("key-created").hidden = true;
  $("key-value").textContent = "";
}

async function create() {
  const name = $("key-name").value.trim();
  if (!name) return;
  try {
    const key = await request("POST", "/api/api-keys", { name });
    $("key-value").textContent = key.key;
    $("key-copy").textContent = "Copy";
    $("key-created").hidden = false;
    $("key-name").value = "";
    await loadKeys();
  } catch (error) {
    showError(error, "Could not create the key");
  }
}

async function revoke(key) {
  if (!await ask(`Revoke the key “${key.name}”? Clients using it stop working.`, { ok: "Revoke" })) {
    return;
  }
  try {
    await request("DELETE", `/api/api-keys/${key.id}`);
    $("key-created").hidden = true;
    await loadKeys();
    showInfo(`Revoked the key “${key.name}”.`);
  } catch (error) {
    showError(error, "Could not revoke the key");
  }
}
