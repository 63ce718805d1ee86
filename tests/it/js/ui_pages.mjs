// The web UI as a person meets it, in Debian's Chromium driven by
// playwright-core: sign in through the form, follow an expired session
// back to the page one was on, import a dashboard, go through what a
// person does on the pages (flows.mjs: Explore's queries, a log search and
// a line's context, an error issue resolved and its request's logs, an
// alert silenced and the silence expired), then open every page
// and every dashboard in the light and dark themes at a laptop's and a
// phone's size, saving a screenshot of each. On every load it collects
// console errors, uncaught exceptions, Content-Security-Policy violations
// and failed requests, waits for a dashboard's panels (opening collapsed
// rows) and refuses a panel in error — and on a built-in dashboard, which
// the demo's data feeds, a panel that drew no data — and runs axe-core,
// refusing serious and critical violations.
//
// Usage: node ui_pages.mjs BASE_URL USER PASSWORD SCREENSHOT_DIR
// Prints one JSON line per page, then a report; exits 1 on any failure,
// 2 when the run itself could not go on (a timeout, a crash).
//
// The pages keep their strict CSP throughout: axe's source is evaluated
// through the DevTools protocol (page.evaluate), which the policy does not
// govern, so nothing is bypassed for the checks themselves.

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runFlows } from './flows.mjs';

const [base, user, password, shotDir] = process.argv.slice(2);
if (!base || !user || !password || !shotDir) {
  console.error('usage: node ui_pages.mjs BASE_URL USER PASSWORD SCREENSHOT_DIR');
  process.exit(2);
}
mkdirSync(shotDir, { recursive: true });

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const THEMES = ['light', 'dark'];
const VIEWPORTS = {
  laptop: { viewport: { width: 1366, height: 768 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};
// A dashboard's panels each run their queries; on a shared 2-core machine
// a slow round must not read as a failure, a stuck one must.
const PANELS_TIMEOUT_MS = 60_000;
// The whole run, so a hung browser ends the test instead of holding it.
const RUN_TIMEOUT_MS = 15 * 60_000;
// Error issue pages opened in every theme and size.
const ISSUE_PAGES = 3;
// axe's impacts that fail the run; "moderate" and "minor" are reported.
const FAILING_IMPACTS = new Set(['serious', 'critical']);

const failures = []; // { page, where, message }
const pageResults = new Map(); // page name → the JSON line's object

function fail(page, where, message) {
  failures.push({ page, where, message });
}

function resultFor(name, pathname) {
  if (!pageResults.has(name)) {
    pageResults.set(name, { page: name, path: pathname, loads: [], failures: 0 });
  }
  return pageResults.get(name);
}

const url = (p) => new URL(p, base).toString();
const sameOrigin = (u) => new URL(u).origin === new URL(base).origin;

// --- the listeners every checked page carries ----------------------------

// The page reports CSP violations to the test through a binding, which
// the DevTools protocol installs before any of the page's scripts run.
async function watch(context) {
  await context.exposeBinding('__belfryCspViolation', ({ page }, v) => {
    page.__belfry?.problems.push(
      `CSP violation: ${v.directive} blocked ${v.blocked || '(inline)'}${v.source ? ` at ${v.source}:${v.line}` : ''}${v.sample ? ` (${v.sample})` : ''}`,
    );
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      // eslint-disable-next-line no-undef
      window.__belfryCspViolation({
        directive: e.effectiveDirective || e.violatedDirective,
        blocked: e.blockedURI,
        source: e.sourceFile,
        line: e.lineNumber,
        sample: e.sample,
      });
    });
  });
}

function track(page) {
  const state = { problems: [] };
  page.__belfry = state;
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // Chromium's own line for a failed load repeats what the response
    // listener below reports with the URL; CSP refusals arrive through
    // the binding with their directive.
    if (text.startsWith('Failed to load resource')) return;
    if (text.includes('Content Security Policy')) return;
    const loc = msg.location();
    state.problems.push(`console error: ${text}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
  });
  page.on('pageerror', (err) => {
    state.problems.push(`uncaught exception: ${err.message}${err.stack ? `\n${err.stack.split('\n').slice(1, 4).join('\n')}` : ''}`);
  });
  page.on('response', (response) => {
    const status = response.status();
    if (status < 400) return;
    const req = response.request();
    state.problems.push(`${req.resourceType()} ${req.method()} ${response.url()} answered ${status}`);
  });
  page.on('requestfailed', (req) => {
    const why = req.failure()?.errorText || 'failed';
    // A request the page aborted itself (a newer round of a dashboard, a
    // navigation away) is not a failure of the server.
    if (why === 'net::ERR_ABORTED') return;
    state.problems.push(`${req.resourceType()} ${req.method()} ${req.url()} failed: ${why}`);
  });
  return state;
}

function takeProblems(page) {
  const p = page.__belfry.problems;
  page.__belfry.problems = [];
  return p;
}

// --- signing in -------------------------------------------------------------

async function submitLogin(page, name, pw) {
  await page.fill('#user', name);
  await page.fill('#password', pw);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type="submit"]')]);
}

// Signs in from nothing: the overview sends a browser without a session to
// the login page; a wrong password is refused on the page; the right one
// lands on the overview. Returns the session's storage state.
async function signIn(browser) {
  const context = await browser.newContext({ ...VIEWPORTS.laptop, colorScheme: 'light' });
  await watch(context);
  const page = await context.newPage();
  track(page);
  const where = 'sign-in';
  await page.goto(url('/'), { waitUntil: 'load' });
  const first = new URL(page.url());
  if (first.pathname !== '/login' || first.searchParams.get('next') !== '/') {
    fail('login', where, `opening / without a session landed on ${page.url()}, not /login?next=/`);
  }
  await submitLogin(page, user, `${password}-wrong`);
  const refused = await page.locator('[role="alert"]').textContent({ timeout: 5_000 }).catch(() => null);
  if (new URL(page.url()).pathname !== '/api/belfry/login' && new URL(page.url()).pathname !== '/login') {
    fail('login', where, `a wrong password went on to ${page.url()}`);
  } else if (!refused) {
    fail('login', where, 'a wrong password showed no message (role="alert")');
  }
  // The refusal is a 401 page: expected here, not a failed request;
  // anything else on the way is a failure.
  for (const p of takeProblems(page)) {
    if (!/^document POST \S*\/api\/belfry\/login answered 401$/.test(p)) fail('login', where, p);
  }
  if (new URL(page.url()).pathname !== '/login') await page.goto(url('/login?next=%2F'), { waitUntil: 'load' });
  await submitLogin(page, user, password);
  if (new URL(page.url()).pathname !== '/') {
    fail('login', where, `signing in landed on ${page.url()}, not /`);
  }
  for (const p of takeProblems(page)) fail('login', where, p);
  const state = await context.storageState();
  if (!state.cookies.length) fail('login', where, 'signing in set no cookie');
  await context.close();
  return state;
}

// An expired session: the cookie is gone, a deep page sends the browser to
// the login page with `next`, and signing in brings it back there.
async function expiredSession(browser, storageState, deepPath) {
  const where = 'expired session';
  const context = await browser.newContext({ ...VIEWPORTS.laptop, colorScheme: 'light', storageState });
  await watch(context);
  const page = await context.newPage();
  track(page);
  await page.goto(url('/'), { waitUntil: 'load' });
  await context.clearCookies();
  await page.goto(url(deepPath), { waitUntil: 'load' });
  const landed = new URL(page.url());
  if (landed.pathname !== '/login' || landed.searchParams.get('next') !== deepPath) {
    fail('login', where, `${deepPath} without a session landed on ${page.url()}, not /login?next=${encodeURIComponent(deepPath)}`);
  } else {
    await submitLogin(page, user, password);
    const back = new URL(page.url());
    if (back.pathname + back.search !== deepPath) {
      fail('login', where, `signing in again landed on ${page.url()}, not ${deepPath}`);
    }
  }
  for (const p of takeProblems(page)) fail('login', where, p);
  await context.close();
}

// --- dashboards: the API, the import form ----------------------------------

async function dashboardList(request) {
  const response = await request.get(url('/api/belfry/dashboards'));
  if (response.status() !== 200) {
    fail('dashboards', 'GET /api/belfry/dashboards', `answered ${response.status()}: ${(await response.text()).slice(0, 300)}`);
    return [];
  }
  const body = await response.json();
  if (!Array.isArray(body.data)) {
    fail('dashboards', 'GET /api/belfry/dashboards', `no data array: ${JSON.stringify(body).slice(0, 300)}`);
    return [];
  }
  return body.data;
}

// A small Grafana dashboard over series every Belfry has (its self-scrape).
function sampleDashboard(uid, title) {
  return {
    uid,
    title,
    tags: ['ui-test'],
    schemaVersion: 39,
    time: { from: 'now-15m', to: 'now' },
    panels: [
      {
        id: 1, type: 'timeseries', title: 'Targets up', gridPos: { x: 0, y: 0, w: 12, h: 8 },
        targets: [{ expr: 'up', legendFormat: '{{job}}', refId: 'A' }],
      },
      {
        id: 2, type: 'stat', title: 'Targets', gridPos: { x: 12, y: 0, w: 12, h: 8 },
        targets: [{ expr: 'count(up)', refId: 'A' }],
      },
    ],
  };
}

async function importResult(page, before) {
  await page.waitForFunction(
    (prev) => {
      const el = document.getElementById('import-result');
      return el && el.textContent.trim() && el.textContent !== prev;
    },
    before,
    { timeout: 15_000 },
  );
  return (await page.locator('#import-result').textContent()).trim();
}

// The sample of the LMS observability guide's Appendix A, as printed: a
// Grafana export wrapping the API Performance dashboard, whose uid is a
// built-in one's (Belfry keeps it beside the built-in as
// `lms-api-performance-imported`).
const APPENDIX_A = {
  dashboard: {
    id: null,
    uid: 'lms-api-performance',
    title: 'LMS API Performance',
    tags: ['lms', 'api', 'performance'],
    timezone: 'browser',
    schemaVersion: 30,
    version: 0,
    refresh: '5s',
    panels: [
      {
        title: 'Request Rate',
        type: 'timeseries',
        targets: [{ expr: 'sum(rate(http_requests_total[5m])) by (endpoint)', legendFormat: '{{endpoint}}' }],
      },
    ],
  },
};

// Pastes a dashboard, uploads the guide's sample as a file, and pastes one
// with a bad field: the first two join the list, the third is refused
// naming the field's path.
async function importDashboards(context) {
  const where = 'import';
  const page = await context.newPage();
  track(page);
  await page.goto(url('/dashboards'), { waitUntil: 'load' });
  const pasted = sampleDashboard('ui-test-pasted', 'UI test: pasted');
  const expected = [pasted.uid, 'lms-api-performance-imported'];
  const step = async (what, fill) => {
    const before = (await page.locator('#import-result').textContent()) || '';
    await fill();
    await page.click('#import-submit');
    const result = await importResult(page, before);
    return { what, result };
  };
  try {
    let r = await step('pasted', () => page.fill('#import-json', JSON.stringify(pasted, null, 2)));
    if (!r.result.startsWith('Imported')) fail('dashboards', where, `pasting a dashboard was answered "${r.result}"`);

    r = await step('uploaded', async () => {
      await page.fill('#import-json', '');
      await page.setInputFiles('#import-file', {
        name: 'lms-api-performance.json',
        mimeType: 'application/json',
        buffer: Buffer.from(JSON.stringify(APPENDIX_A, null, 2)),
      });
      // The page reads the chosen file into the text area.
      await page.waitForFunction(() => document.getElementById('import-json').value.trim() !== '', null, { timeout: 5_000 });
    });
    if (!r.result.startsWith('Imported')) fail('dashboards', where, `uploading the guide's Appendix A sample was answered "${r.result}"`);

    const bad = sampleDashboard('ui-test-bad', 'UI test: bad');
    bad.panels[1].gridPos = 'wide';
    r = await step('bad', () => page.fill('#import-json', JSON.stringify(bad)));
    if (!r.result.includes('panels[1].gridPos')) {
      fail('dashboards', where, `a panel with gridPos "wide" was answered "${r.result}", which does not name panels[1].gridPos`);
    }
  } catch (e) {
    fail('dashboards', where, `the import form did not answer: ${e.message.split('\n')[0]}`);
  }
  // The refusal of the bad dashboard is a 400 answer to the form's
  // request: that one is expected; anything else is a failure.
  let refusals = 0;
  for (const p of takeProblems(page)) {
    if (/^fetch POST \S*\/api\/belfry\/dashboards answered 400$/.test(p) && refusals++ === 0) continue;
    fail('dashboards', where, p);
  }
  await page.close();
  const listed = new Map((await dashboardList(context.request)).map((d) => [d.uid, d]));
  for (const uid of expected) {
    if (!listed.has(uid)) fail('dashboards', where, `imported dashboard ${uid} is not in /api/belfry/dashboards`);
    else if (listed.get(uid).builtin) fail('dashboards', where, `imported dashboard ${uid} is listed as built in`);
  }
  if (listed.has('ui-test-bad')) fail('dashboards', where, 'the refused dashboard ui-test-bad was stored anyway');
}

// The issue pages the Errors page links to, as paths.
async function issueLinks(context) {
  const page = await context.newPage();
  track(page);
  await page.goto(url('/errors'), { waitUntil: 'load' });
  const hrefs = await page.$$eval('a[href^="/errors/issues/"]', (as) => [...new Set(as.map((a) => new URL(a.href).pathname))]);
  for (const p of takeProblems(page)) fail('errors', 'issue links', p);
  await page.close();
  return hrefs;
}

// --- one load of one page ---------------------------------------------------

// Panels run when they come near the viewport: scroll down a screen at a
// time until every panel is done (or the dashboard failed, or time is up),
// then back to the top for the checks and the screenshot.
async function scrollThroughPanels(page) {
  const deadline = Date.now() + PANELS_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const s = await page.evaluate(() => {
      const d = document.body.dataset;
      return {
        finished: d.dashboardError !== undefined
          || (Number(d.panelsTotal) > 0 && Number(d.panelsDone) >= Number(d.panelsTotal)),
        atEnd: window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 2,
      };
    });
    if (s.finished) break;
    if (!s.atEnd) await page.evaluate(() => window.scrollBy(0, Math.round(window.innerHeight * 0.8)));
    await page.waitForTimeout(200);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
}

async function waitForPanels(page) {
  await scrollThroughPanels(page);
  try {
    await page.waitForFunction(
      () => {
        const d = document.body.dataset;
        return d.panelsTotal !== undefined && d.panelsDone !== undefined && Number(d.panelsDone) >= Number(d.panelsTotal)
          && (Number(d.panelsTotal) > 0 || d.dashboardError !== undefined);
      },
      null,
      { timeout: PANELS_TIMEOUT_MS },
    );
  } catch {
    const d = await page.evaluate(() => ({ ...document.body.dataset }));
    return { timedOut: true, done: d.panelsDone, total: d.panelsTotal };
  }
  return page.evaluate(() => {
    const d = document.body.dataset;
    const panels = [...document.querySelectorAll('[data-state]')].map((el) => ({
      state: el.dataset.state,
      title: (el.querySelector('h2, h3, .panel-title')?.textContent || el.dataset.panelId || '').trim(),
      message: (el.querySelector('.panel-message')?.textContent || '').trim(),
    }));
    const counts = {};
    for (const p of panels) counts[p.state] = (counts[p.state] || 0) + 1;
    return {
      total: Number(d.panelsTotal),
      done: Number(d.panelsDone),
      renderMs: d.renderMs ? Number(d.renderMs) : null,
      error: d.dashboardError || null,
      counts,
      errors: panels.filter((p) => p.state === 'error'),
      undrawn: panels.filter((p) => p.state !== 'data' && p.state !== 'error'),
    };
  });
}

// Opens each collapsed row of a dashboard, one click at a time (an opened
// row is no longer matched); returns how many it opened.
async function expandRows(page) {
  const collapsed = page.locator('.dash-row.collapsed .row-toggle');
  let opened = 0;
  while (opened < 50 && (await collapsed.count()) > 0) {
    await collapsed.first().click();
    opened += 1;
  }
  return opened;
}

async function runAxe(page) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    // axe's "cssom" preload copies every stylesheet into an inline
    // <style>, which the page's CSP refuses (rightly) and this test would
    // report as the page's violation; it serves css-orientation-lock
    // alone, which then stays incomplete. The media preload is kept.
    const r = await axe.run(document, { resultTypes: ['violations'], preload: { assets: ['media'] } });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 8),
      summary: v.nodes[0]?.failureSummary?.split('\n').slice(1, 2).join(' ').trim() || '',
      nodes: v.nodes.length,
    }));
  });
}

async function checkLoad(context, target, theme, size) {
  const { name, path: pathname, dashboard } = target;
  const where = `${theme}, ${size}`;
  const page = await context.newPage();
  track(page);
  const started = Date.now();
  const load = { theme, size };
  const response = await page.goto(url(pathname), { waitUntil: 'load' }).catch((e) => {
    fail(name, where, `navigation failed: ${e.message.split('\n')[0]}`);
    return null;
  });
  if (response && response.status() !== 200) fail(name, where, `${pathname} answered ${response.status()}`);
  if (response && new URL(page.url()).pathname !== new URL(url(pathname)).pathname) {
    fail(name, where, `${pathname} ended on ${page.url()}`);
  }
  if (dashboard) {
    let panels = await waitForPanels(page);
    // Panels in a collapsed row are neither drawn nor queried until it
    // opens: open every row, then wait for the panels it brought.
    if (!panels.timedOut && !panels.error) {
      load.rowsOpened = await expandRows(page);
      if (load.rowsOpened) panels = await waitForPanels(page);
    }
    load.panels = panels;
    if (panels.timedOut) {
      fail(name, where, `panels did not finish within ${PANELS_TIMEOUT_MS / 1000} s (${panels.done ?? '?'} of ${panels.total ?? '?'} done)`);
    } else {
      if (panels.error) fail(name, where, `the dashboard could not be shown: ${panels.error}`);
      for (const p of panels.errors) fail(name, where, `panel "${p.title}" is in error: ${p.message}`);
      // On the demo's data a built-in dashboard has something in every
      // panel: "no data" there is a query, a metric name or a renderer
      // that does not fit the LMS it is written for.
      if (target.requireData) {
        for (const p of panels.undrawn) fail(name, where, `panel "${p.title}" drew no data (${p.state}${p.message ? `: ${p.message}` : ''})`);
      }
    }
  }
  // Late requests (a dashboard's hints, a chart's annotations) settle
  // before the checks read what happened.
  await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
  load.ms = Date.now() - started;

  const layout = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    background: getComputedStyle(document.body).backgroundColor,
    colorScheme: matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light',
  }));
  load.hscroll = layout.scrollWidth > layout.clientWidth;
  load.background = layout.background;
  if (layout.colorScheme !== theme) fail(name, where, `the page saw prefers-color-scheme ${layout.colorScheme}`);
  if (size === 'phone' && name === 'overview' && load.hscroll) {
    fail(name, where, `scrolls sideways at phone width: scrollWidth ${layout.scrollWidth} > clientWidth ${layout.clientWidth}`);
  }

  const violations = await runAxe(page).catch((e) => {
    fail(name, where, `axe-core could not run: ${e.message.split('\n')[0]}`);
    return [];
  });
  load.axe = violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes }));
  for (const v of violations) {
    if (!FAILING_IMPACTS.has(v.impact)) continue;
    fail(name, where, `axe ${v.impact} "${v.id}" (${v.help}) on ${v.nodes} element(s): ${v.targets.join(', ')}${v.summary ? ` — ${v.summary}` : ''}`);
  }

  const shot = path.join(shotDir, `${name}-${theme}-${size}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  load.screenshot = path.basename(shot);

  for (const p of takeProblems(page)) fail(name, where, p);
  await page.close();
  return load;
}

// --- keyboard ---------------------------------------------------------------

async function keyboard(context, theme) {
  const where = `keyboard, ${theme}`;
  const page = await context.newPage();
  track(page);

  await page.goto(url('/alerts'), { waitUntil: 'load' });
  await page.locator('body').click({ position: { x: 5, y: 300 } });
  await page.keyboard.press('/');
  const focused = await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
  if (focused !== 'alerts-q') fail('alerts', where, `"/" focused ${focused}, not the search (#alerts-q)`);

  // From the top of the page, Tab walks the skip link and the brand into
  // the main navigation; the link it reaches must show where focus is.
  await page.goto(url('/'), { waitUntil: 'load' });
  let reached = null;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || !el.closest('nav.mainnav, header nav')) return null;
      const s = getComputedStyle(el);
      const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
      const shadow = s.boxShadow && s.boxShadow !== 'none';
      return {
        text: el.textContent.trim(),
        focusVisible: el.matches(':focus-visible'),
        indicator: outline ? `outline ${s.outlineWidth} ${s.outlineStyle} ${s.outlineColor}` : shadow ? `box-shadow ${s.boxShadow}` : null,
      };
    });
  }
  if (!reached) {
    fail('overview', where, 'twelve presses of Tab did not reach the main navigation');
  } else if (!reached.focusVisible || !reached.indicator) {
    fail('overview', where, `Tab reached "${reached.text}" in the navigation without a visible focus indicator`);
  }
  for (const p of takeProblems(page)) fail('overview', where, p);
  await page.close();
  return reached;
}

// --- the run ----------------------------------------------------------------

async function main() {
  const startedAt = Date.now();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const storageState = await signIn(browser);

    const contexts = {};
    for (const theme of THEMES) {
      for (const [size, opts] of Object.entries(VIEWPORTS)) {
        const context = await browser.newContext({ ...opts, colorScheme: theme, storageState });
        await watch(context);
        contexts[`${theme}-${size}`] = context;
      }
    }
    const anyContext = contexts['light-laptop'];

    await importDashboards(anyContext);
    const dashboards = await dashboardList(anyContext.request);
    const builtin = ['lms-api-performance', 'lms-user-engagement', 'lms-system-health', 'lms-security'];
    for (const uid of builtin) {
      if (!dashboards.some((d) => d.uid === uid)) fail('dashboards', 'GET /api/belfry/dashboards', `the built-in dashboard ${uid} is not listed`);
    }

    // The first few error issues the Errors page links to get their own
    // pages (the demo has more than are worth four loads each).
    const issues = (await issueLinks(anyContext)).slice(0, ISSUE_PAGES);
    if (issues.length === 0) fail('errors', 'issue links', 'the Errors page links to no issue, though the demo sends errors');

    // What a person does on the pages (flows.mjs): after the issue links
    // are read, as one flow changes an issue's status while it runs, and
    // before the loads, so every page is also seen as the flows left it.
    const flows = await runFlows({ context: anyContext, url, fail, track, takeProblems });
    Object.assign(resultFor('flows', null), flows);

    const targets = [
      { name: 'overview', path: '/' },
      { name: 'alerts', path: '/alerts' },
      { name: 'targets', path: '/targets' },
      { name: 'silences', path: '/silences' },
      { name: 'status', path: '/status' },
      { name: 'errors', path: '/errors' },
      ...issues.map((href) => ({ name: `issue-${href.split('/').pop()}`, path: href })),
      { name: 'logs', path: '/logs' },
      { name: 'explore', path: '/explore' },
      { name: 'admin', path: '/admin' },
      { name: 'runbooks', path: '/runbooks' },
      { name: 'runbook', path: '/runbooks/LMSAPIHighErrorRate' },
      { name: 'runbook-edit', path: '/runbooks/LMSAPIHighErrorRate/edit' },
      { name: 'reports', path: '/reports' },
      { name: 'report-daily', path: '/reports/daily' },
      { name: 'report-weekly', path: '/reports/weekly' },
      { name: 'dashboards', path: '/dashboards' },
      ...dashboards.map((d) => ({
        name: `d-${d.uid}`, path: `/d/${encodeURIComponent(d.uid)}`, dashboard: true, requireData: Boolean(d.builtin),
      })),
    ];
    for (const t of targets) {
      const result = resultFor(t.name, t.path);
      for (const theme of THEMES) {
        for (const size of Object.keys(VIEWPORTS)) {
          result.loads.push(await checkLoad(contexts[`${theme}-${size}`], t, theme, size));
        }
      }
    }

    // The login page, seen by someone not signed in.
    const loginResult = resultFor('login', '/login');
    for (const theme of THEMES) {
      for (const [size, opts] of Object.entries(VIEWPORTS)) {
        const context = await browser.newContext({ ...opts, colorScheme: theme });
        await watch(context);
        loginResult.loads.push(await checkLoad(context, { name: 'login', path: '/login' }, theme, size));
        await context.close();
      }
    }

    for (const theme of THEMES) {
      const reached = await keyboard(contexts[`${theme}-laptop`], theme);
      resultFor('overview', '/').keyboard = { ...(resultFor('overview', '/').keyboard || {}), [theme]: reached };
    }

    // The two themes must look different: a dark page on a light
    // background means the dark theme never applied.
    for (const r of pageResults.values()) {
      const bg = (theme) => r.loads.find((l) => l.theme === theme && l.size === 'laptop')?.background;
      if (bg('light') && bg('light') === bg('dark')) {
        fail(r.page, 'themes', `light and dark draw the same background ${bg('light')}`);
      }
    }

    await expiredSession(browser, storageState, '/targets?health=down');
    for (const c of Object.values(contexts)) await c.close();
  } finally {
    await browser.close();
  }

  for (const f of failures) {
    const r = pageResults.get(f.page) || resultFor(f.page, null);
    r.failures += 1;
  }
  for (const r of pageResults.values()) console.log(JSON.stringify(r));

  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const loads = [...pageResults.values()].reduce((n, r) => n + r.loads.length, 0);
  const flowCount = pageResults.get('flows')?.flows?.length ?? 0;
  const pages = pageResults.size - (pageResults.has('flows') ? 1 : 0);
  if (failures.length === 0) {
    console.log(`ui_pages: ${pages} pages, ${loads} loads, ${flowCount} flows, no failure, in ${seconds} s; screenshots in ${shotDir}`);
    return 0;
  }
  console.log(`\nui_pages: ${failures.length} failure(s) over ${pages} pages, ${loads} loads, ${flowCount} flows, in ${seconds} s; screenshots in ${shotDir}`);
  const byPage = new Map();
  for (const f of failures) {
    if (!byPage.has(f.page)) byPage.set(f.page, []);
    byPage.get(f.page).push(f);
  }
  for (const [page, list] of byPage) {
    console.log(`\n${page} (${pageResults.get(page)?.path ?? ''}):`);
    // The same message on several loads is said once, with where.
    const grouped = new Map();
    for (const f of list) {
      if (!grouped.has(f.message)) grouped.set(f.message, []);
      grouped.get(f.message).push(f.where);
    }
    for (const [message, wheres] of grouped) console.log(`  - [${wheres.join('; ')}] ${message}`);
  }
  return 1;
}

const timer = setTimeout(() => {
  console.error(`ui_pages: the run took longer than ${RUN_TIMEOUT_MS / 60000} minutes; stopped`);
  process.exit(2);
}, RUN_TIMEOUT_MS);
timer.unref();

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`ui_pages: the run stopped: ${e.stack || e}`);
    process.exit(2);
  },
);
