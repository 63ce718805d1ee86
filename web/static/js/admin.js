// Account changes from the admin page, through the accounts API with the
// session's CSRF token. A new token's secret is shown here once.

import { change, errorMessage, showResult } from "./app.js";

const result = document.getElementById("action-result");

function buttons(attr, url, verb) {
  for (const b of document.querySelectorAll(`[${attr}]`)) {
    b.hidden = false;
    b.addEventListener("click", async () => {
      const name = b.getAttribute(attr);
      if (verb === "DELETE" && !confirm(`Remove ${name}?`)) return;
      const response = await change(url(name), { method: verb });
      if (!response.ok) {
        showResult(result, `Not done: ${await errorMessage(response)}`, false);
        return;
      }
      location.reload();
    });
  }
}

buttons("data-unlock", (n) => `/api/belfry/users/${encodeURIComponent(n)}/unlock`, "POST");
buttons("data-remove-user", (n) => `/api/belfry/users/${encodeURIComponent(n)}`, "DELETE");
buttons("data-remove-token", (n) => `/api/belfry/tokens/${encodeURIComponent(n)}`, "DELETE");

document.getElementById("user-form")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = document.getElementById("user-result");
  const body = {
    name: document.getElementById("user-name").value.trim(),
    role: document.getElementById("user-role").value,
    password: document.getElementById("user-password").value,
  };
  const response = await change("/api/belfry/users", { body });
  if (!response.ok) {
    showResult(out, `Not added: ${await errorMessage(response)}`, false);
    return;
  }
  location.reload();
});

document.getElementById("token-form")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = document.getElementById("token-result");
  const scopes = [...document.querySelectorAll('input[name="scope"]:checked')].map((c) => c.value);
  const expires = document.getElementById("token-expires").value.trim();
  const body = { name: document.getElementById("token-name").value.trim(), scopes };
  if (expires) body.expires_in = expires;
  const response = await change("/api/belfry/tokens", { body });
  if (!response.ok) {
    showResult(out, `Not added: ${await errorMessage(response)}`, false);
    return;
  }
  const { data } = await response.json();
  out.replaceChildren(
    "Copy the token now; it is not shown again: ",
    Object.assign(document.createElement("code"), { textContent: data.secret }),
  );
  out.classList.add("ok-text");
  out.classList.remove("error-text");
});
