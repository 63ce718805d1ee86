// Dashboard changes from the list and from a dashboard's page: import
// (pasted or a file), duplicate, delete. Each is one request carrying the
// session's CSRF token; a refusal shows the server's message, which names
// the bad field (`panels[3].gridPos.w`).

import { change, errorMessage as message, showResult as show } from "./app.js";

function setupImport() {
  const form = document.getElementById("import-form");
  if (!form) return;
  const text = document.getElementById("import-json");
  const file = document.getElementById("import-file");
  const result = document.getElementById("import-result");
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (f) text.value = await f.text();
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const json = text.value.trim();
    if (!json) {
      show(result, "Paste a dashboard's JSON or choose a file first.", false);
      text.focus();
      return;
    }
    const overwrite = document.getElementById("import-overwrite")?.checked;
    const response = await fetch(`/api/belfry/dashboards${overwrite ? "?overwrite=true" : ""}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]')?.content || "" },
      body: json,
      credentials: "same-origin",
    });
    if (!response.ok) {
      show(result, `Not imported: ${await message(response)}`, false);
      return;
    }
    const { data } = await response.json();
    result.replaceChildren("Imported: ");
    const link = document.createElement("a");
    link.href = data.url;
    link.textContent = data.title;
    result.append(link);
    result.classList.add("ok-text");
    result.classList.remove("error-text");
    text.value = "";
  });
}

function setupButtons() {
  const result = document.getElementById("action-result");
  for (const button of document.querySelectorAll("[data-duplicate]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const response = await change(`/api/belfry/dashboards/${encodeURIComponent(button.dataset.duplicate)}/duplicate`);
      if (!response.ok) {
        show(result, `Not duplicated: ${await message(response)}`, false);
        return;
      }
      const { data } = await response.json();
      location.assign(data.url);
    });
  }
  for (const button of document.querySelectorAll("[data-delete]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      if (!confirm(`Delete the dashboard "${button.dataset.title}"?`)) return;
      const response = await change(`/api/belfry/dashboards/${encodeURIComponent(button.dataset.delete)}`, { method: "DELETE" });
      if (!response.ok) {
        show(result, `Not deleted: ${await message(response)}`, false);
        return;
      }
      location.assign("/dashboards");
    });
  }
}

setupImport();
setupButtons();
