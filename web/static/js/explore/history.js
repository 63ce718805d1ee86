// The queries run on this browser, newest first, the last 50 per language,
// in localStorage (nothing about them goes to the server). A browser that
// refuses storage (private modes, a full quota) simply keeps no history.

export const HISTORY_SIZE = 50;

const key = (lang) => `belfry.explore.history.${lang}`;

/** `[{q, at}]`, newest first. */
export function loadHistory(lang) {
  try {
    const list = JSON.parse(localStorage.getItem(key(lang)) || '[]');
    return Array.isArray(list) ? list.filter((e) => e && typeof e.q === 'string') : [];
  } catch {
    return [];
  }
}

/** Puts `queries` first (a query run again moves up rather than repeating). */
export function addToHistory(lang, queries, now = Date.now()) {
  const fresh = queries.map((q) => q.trim()).filter(Boolean);
  if (!fresh.length) return loadHistory(lang);
  const seen = new Set(fresh);
  const list = [...new Set(fresh)].map((q) => ({ q, at: now }))
    .concat(loadHistory(lang).filter((e) => !seen.has(e.q)))
    .slice(0, HISTORY_SIZE);
  try {
    localStorage.setItem(key(lang), JSON.stringify(list));
  } catch {
    // No room or no storage: the history is a convenience.
  }
  return list;
}

export function clearHistory(lang) {
  try {
    localStorage.removeItem(key(lang));
  } catch {
    // As above.
  }
}
