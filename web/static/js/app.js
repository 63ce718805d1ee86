// What every page does once scripts run: the theme switch, signing out,
// local times, keyboard shortcuts, the time picker, and refreshing a
// server-rendered page in place.

const root = document.documentElement;

// Theme: follows the system until a person picks one; the choice is a
// cookie so the server draws the next page in it (no flash).
const THEMES = ["", "light", "dark"];
const THEME_NAMES = { "": "follows the system", light: "light", dark: "dark" };

function setupTheme() {
  const button = document.getElementById("theme-switch");
  if (!button) return;
  const label = () => {
    const t = root.dataset.theme || "";
    button.setAttribute("aria-label", `Theme: ${THEME_NAMES[t]}`);
    button.title = `Theme: ${THEME_NAMES[t]} (click to change)`;
  };
  button.hidden = false;
  label();
  button.addEventListener("click", () => {
    const next = THEMES[(THEMES.indexOf(root.dataset.theme || "") + 1) % THEMES.length];
    if (next) {
      root.dataset.theme = next;
      document.cookie = `belfry_theme=${next}; path=/; max-age=31536000; samesite=lax`;
    } else {
      delete root.dataset.theme;
      document.cookie = "belfry_theme=; path=/; max-age=0; samesite=lax";
    }
    label();
    document.dispatchEvent(new CustomEvent("belfry:themechange"));
  });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (!root.dataset.theme) document.dispatchEvent(new CustomEvent("belfry:themechange"));
  });
}

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

// A change made with the session: the CSRF token goes in its header.
export async function change(url, { method = "POST", body } = {}) {
  const headers = { "X-CSRF-Token": csrfToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  return response;
}

// A change's outcome in a status line: red with the reason, or green.
export function showResult(el, text, ok) {
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("error-text", !ok);
  el.classList.toggle("ok-text", ok);
}

// The reason a refused change gives: Belfry's `error`, Alertmanager's
// `message`, else the status line.
export async function errorMessage(response) {
  try {
    const body = await response.json();
    return body.error || body.message || `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function setupSignOut() {
  const button = document.getElementById("sign-out");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await change("/api/belfry/logout");
    location.assign("/login");
  });
}

// Times are rendered in UTC by the server; show the local time on hover.
function localTimes(scope = document) {
  for (const el of scope.querySelectorAll("time[datetime]")) {
    const t = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(t.getTime())) el.title = t.toLocaleString();
  }
}

function setupKeys() {
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = e.target.closest?.("input, textarea, select, [contenteditable]");
    if (e.key === "/" && !typing) {
      const search = document.querySelector("[data-search]");
      if (search) {
        e.preventDefault();
        search.focus();
        search.select?.();
      }
    }
  });
}

// Server-rendered pages refresh by fetching themselves again and swapping
// the content, so scroll and focus stay where they were. The time picker
// (timepicker.js) ticks `belfry:refresh`; a page whose own script redraws
// in place (a dashboard, Explore, a page marked `data-redraws-itself`)
// handles the tick itself.
async function refreshInPlace() {
  const main = document.getElementById("main");
  if (!main) return;
  const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (response.redirected && new URL(response.url).pathname === "/login") {
    location.assign(response.url);
    return;
  }
  if (!response.ok) return;
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = doc.getElementById("main");
  if (!fresh) return;
  main.replaceChildren(...fresh.childNodes);
  localTimes(main);
}

function setupTimeRange() {
  if (!document.getElementById("timepicker")) return;
  const drawsItself = Boolean(document.getElementById("dashboard-model") || document.querySelector("[data-redraws-itself]"));
  if (!drawsItself) {
    // Listening once the page's modules have run, so their own listeners
    // hear the tick first: one that cancels it has redrawn already.
    const listen = () => document.addEventListener("belfry:refresh", (e) => {
      if (e.defaultPrevented) return;
      e.preventDefault();
      refreshInPlace();
    });
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", listen);
    else listen();
  }
  import("./timepicker.js");
}

setupTheme();
setupSignOut();
localTimes();
setupKeys();
setupTimeRange();
