// Runbook changes, an admin's: saving the editor's Markdown (PUT) and its
// preview, the restore of the built-in text or the removal of a runbook
// written for another alert (DELETE), and opening the editor of a new one. Each is one
// request carrying the session's CSRF token; a refusal shows the server's
// message (the 64 KiB limit, a name that cannot be an alert's).

import { change, errorMessage as message, showResult as show } from "./app.js";

const api = (name) => `/api/belfry/runbooks/${encodeURIComponent(name)}`;
const page = (name) => `/runbooks/${encodeURIComponent(name)}`;

function setupEditor() {
  const form = document.getElementById("runbook-form");
  if (!form) return;
  const text = document.getElementById("runbook-markdown");
  const result = document.getElementById("runbook-result");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const markdown = text.value;
    if (!markdown.trim()) {
      show(result, "The runbook is empty: write its text, or restore the built-in text from its page.", false);
      text.focus();
      return;
    }
    const response = await change(api(form.dataset.name), { method: "PUT", body: { markdown } });
    if (!response.ok) {
      show(result, `Not saved: ${await message(response)}`, false);
      return;
    }
    location.assign(page(form.dataset.name));
  });
  // The preview is the server's rendering, which shows raw HTML as text.
  const previewButton = document.getElementById("runbook-preview-button");
  const preview = document.getElementById("runbook-preview");
  previewButton.hidden = false;
  previewButton.addEventListener("click", async () => {
    const response = await change(`${api(form.dataset.name)}/preview`, { method: "POST", body: { markdown: text.value } });
    if (!response.ok) {
      show(result, `No preview: ${await message(response)}`, false);
      return;
    }
    const { data } = await response.json();
    preview.innerHTML = data.html;
    preview.hidden = false;
    show(result, "Preview below; not saved yet.", true);
  });
}

function setupRestore() {
  const button = document.getElementById("runbook-restore");
  if (!button) return;
  const result = document.getElementById("runbook-result");
  const builtin = button.dataset.builtin === "true";
  button.hidden = false;
  button.addEventListener("click", async () => {
    const question = builtin
      ? `Replace the edited runbook of ${button.dataset.name} with the built-in text?`
      : `Delete the runbook of ${button.dataset.name}?`;
    if (!confirm(question)) return;
    const response = await change(api(button.dataset.name), { method: "DELETE" });
    if (!response.ok) {
      show(result, `Not ${builtin ? "restored" : "deleted"}: ${await message(response)}`, false);
      return;
    }
    location.assign(builtin ? page(button.dataset.name) : "/runbooks");
  });
}

function setupNew() {
  const form = document.getElementById("runbook-new");
  if (!form) return;
  const input = document.getElementById("runbook-new-name");
  const result = document.getElementById("runbook-new-result");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const name = input.value.trim();
    if (!name || name.includes("/")) {
      show(result, "An alert's name: not empty, without '/', at most 200 characters.", false);
      input.focus();
      return;
    }
    location.assign(`${page(name)}/edit`);
  });
}

setupEditor();
setupRestore();
setupNew();
