// Alert flood mode's controls on the Alerts page: turning it on (or
// changing it) and off through /api/belfry/flood, with the session's
// CSRF token.

import { change, errorMessage as message, showResult as show } from "./app.js";

function setup() {
  const form = document.getElementById("flood-form");
  if (!form) return;
  const result = document.getElementById("flood-result");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {
      duration: document.getElementById("flood-duration").value.trim(),
      reason: document.getElementById("flood-reason").value.trim(),
      overrides: [...form.querySelectorAll("input[name=override]:checked")].map((i) => i.value),
    };
    const response = await change("/api/belfry/flood", { body });
    if (!response.ok) {
      show(result, `Not turned on: ${await message(response)}`, false);
      return;
    }
    location.reload();
  });
  const off = document.getElementById("flood-off");
  if (off) {
    off.addEventListener("click", async () => {
      const response = await change("/api/belfry/flood", { method: "DELETE" });
      if (!response.ok) {
        show(result, `Not turned off: ${await message(response)}`, false);
        return;
      }
      location.reload();
    });
  }
}

setup();
