// An issue's status buttons: one PUT with the session's CSRF token, then
// the page again with the new status.

import { change, errorMessage, showResult } from "./app.js";

const issue = document.getElementById("main")?.dataset.issue;
const result = document.getElementById("action-result");

for (const button of document.querySelectorAll("[data-status]")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const response = await change(`/api/belfry/errors/issues/${encodeURIComponent(issue)}`, {
      method: "PUT",
      body: { status: button.dataset.status },
    });
    if (!response.ok) {
      showResult(result, `Not changed: ${await errorMessage(response)}`, false);
      return;
    }
    location.reload();
  });
}
