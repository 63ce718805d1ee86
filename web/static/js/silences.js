// Creating and expiring silences through Alertmanager's API, with the
// session's CSRF token. Matchers are typed as Alertmanager prints them.

import { change, errorMessage as message, showResult as show } from "./app.js";

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|(\S*))\s*$/;

// One line → {name, value, isRegex, isEqual}; throws naming the line.
export function parseMatcher(line) {
  const m = MATCHER.exec(line);
  if (!m) throw new Error(`"${line.trim()}" is not name="value" (or =~, !=, !~)`);
  const [, name, op, quoted, bare] = m;
  const value = quoted !== undefined ? JSON.parse(`"${quoted}"`) : bare;
  return { name, value, isRegex: op.includes("~"), isEqual: !op.startsWith("!") };
}

function setupForm() {
  const form = document.getElementById("silence-form");
  if (!form) return;
  const result = document.getElementById("silence-result");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let matchers;
    try {
      matchers = document
        .getElementById("silence-matchers")
        .value.split("\n")
        .filter((l) => l.trim())
        .map(parseMatcher);
    } catch (err) {
      show(result, `Not created: ${err.message}`, false);
      return;
    }
    if (!matchers.length) {
      show(result, "Not created: give at least one matcher.", false);
      return;
    }
    const seconds = Number(document.getElementById("silence-duration").value);
    const now = new Date();
    const body = {
      matchers,
      startsAt: now.toISOString(),
      endsAt: new Date(now.getTime() + seconds * 1000).toISOString(),
      createdBy: document.getElementById("silence-author").value.trim(),
      comment: document.getElementById("silence-comment").value.trim(),
    };
    const response = await change("/api/v2/silences", { body });
    if (!response.ok) {
      show(result, `Not created: ${await message(response)}`, false);
      return;
    }
    location.assign("/silences");
  });
}

function setupExpire() {
  const result = document.getElementById("action-result");
  for (const button of document.querySelectorAll("[data-expire]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const response = await change(`/api/v2/silence/${encodeURIComponent(button.dataset.expire)}`, { method: "DELETE" });
      if (!response.ok) {
        show(result, `Not expired: ${await message(response)}`, false);
        return;
      }
      location.reload();
    });
  }
}

setupForm();
setupExpire();
