// What a person does on the pages, beyond opening them: a PromQL and a
// LogQL query on Explore (graph, table, a shared address, the history), a
// log search with a line's fields and the lines around it, an error issue
// opened, resolved and unresolved again, a request id followed from an
// error to its logs, and an alert silenced and the silence expired
// again. Each flow checks what came of its clicks — on the page and
// through the API — and ends on its own: a failure names the flow and its
// step, and the next flow still runs.
//
// The flows read what they act on from the server instead of assuming
// one data set: on `serve --demo` they query the synthetic LMS's
// `http_requests_total`; on a server with only its own scrape they query
// `up`. Either way the same outcomes are required.
//
// Used by ui_pages.mjs: `runFlows({ context, url, fail, track,
// takeProblems })` returns a summary for the report.

// How long a query's answer, a page's script or a reload may take on a
// shared 2-core machine before it counts as stuck.
const WAIT_MS = 30_000;
// The demo's incident makes LMS alerts pending within a rule evaluation
// or two of start; a server given a down target does the same.
const ALERT_WAIT_MS = 3 * 60_000;
const ALERT_POLL_MS = 2_000;

const PAGE = 'flows';

// --- the frame of a flow ----------------------------------------------------

/**
 * Runs `body` as the flow `name`: every page it opens is tracked, the
 * problems the pages report are failures of the step they happened in,
 * and an exception ends the flow (not the run) naming its step.
 */
async function runFlow(name, env, body) {
  const { context, fail, track, takeProblems } = env;
  const started = Date.now();
  const record = { flow: name, steps: [], failures: 0 };
  const pages = [];
  let step = 'start';
  const failStep = (where, message) => {
    record.failures += 1;
    fail(PAGE, `${name}: ${where}`, message);
  };
  const drain = () => {
    for (const p of pages) {
      if (p.isClosed()) continue;
      for (const problem of takeProblems(p)) failStep(step, problem);
    }
  };
  const f = {
    name,
    record,
    step(next) {
      drain();
      step = next;
      record.steps.push(next);
    },
    fail(message) {
      failStep(step, message);
    },
    check(ok, message) {
      if (!ok) failStep(step, message);
      return ok;
    },
    async newPage() {
      const page = await context.newPage();
      track(page);
      pages.push(page);
      return page;
    },
  };
  try {
    await body(f);
  } catch (e) {
    failStep(step, `stopped: ${e.message.split('\n')[0]}`);
  }
  drain();
  for (const p of pages) if (!p.isClosed()) await p.close();
  record.ms = Date.now() - started;
  record.ok = record.failures === 0;
  return record;
}

async function getJson(request, url, what) {
  const response = await request.get(url);
  const text = await response.text();
  if (response.status() !== 200) throw new Error(`${what}: GET ${url} answered ${response.status()}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what}: GET ${url} answered no JSON: ${text.slice(0, 200)}`);
  }
}

async function gotoOk(page, target, what) {
  const response = await page.goto(target, { waitUntil: 'load' });
  if (!response || response.status() !== 200) {
    throw new Error(`${what}: ${target} answered ${response ? response.status() : 'nothing'}`);
  }
}

// --- Explore ------------------------------------------------------------

/** A PromQL query over a metric the server has: the demo's requests, else `up`. */
async function promqlSubject(env) {
  const api = (q) => env.url(`/api/v1/query?${new URLSearchParams({ query: q })}`);
  const demo = await getJson(env.context.request, api('count(http_requests_total)'), 'is there http_requests_total');
  if (demo.data?.result?.length) {
    return { query: 'sum by (handler) (rate(http_requests_total[5m]))', label: 'handler' };
  }
  return { query: 'sum by (job) (up)', label: 'job' };
}

/** Waits until `predicate` holds on the Explore page; a timeout names what the page said instead. */
async function waitExplore(page, predicate, what) {
  try {
    await page.waitForFunction(predicate, null, { timeout: WAIT_MS });
  } catch {
    const said = await page.evaluate(() => ({
      state: document.getElementById('main')?.dataset.state,
      status: document.getElementById('explore-status')?.textContent.trim(),
      errors: [...document.querySelectorAll('[data-error]')].map((e) => e.textContent.trim()).filter(Boolean),
    }));
    throw new Error(`${what} did not happen within ${WAIT_MS / 1000} s (state ${said.state}, status "${said.status}"${said.errors.length ? `, errors: ${said.errors.join(' | ')}` : ''})`);
  }
}

const graphDrawn = () => {
  const main = document.getElementById('main');
  const graph = document.getElementById('explore-graph');
  return main.dataset.state === 'done' && !graph.hidden && graph.querySelector('.uplot canvas')
    && graph.querySelectorAll('.u-legend .u-series').length > 0;
};
const tableShown = () => {
  const main = document.getElementById('main');
  const table = document.getElementById('explore-table');
  return main.dataset.state === 'done' && !table.hidden && table.querySelector('table tbody tr');
};
const logsShown = () => {
  const main = document.getElementById('main');
  const logs = document.getElementById('explore-logs');
  return main.dataset.state === 'done' && !logs.hidden && logs.querySelector('.logs-list > li');
};

async function legendNames(page) {
  return page.$$eval('#explore-graph .u-legend .u-series', (rows) => rows.map((r) => r.textContent.trim()));
}

function editor(page) {
  return page.locator('#explore-queries [data-editor]').first();
}

async function explorePromql(env) {
  return runFlow('explore-promql', env, async (f) => {
    f.step('choose the query');
    const subject = await promqlSubject(env);
    f.record.query = subject.query;

    f.step('run it from the editor');
    const page = await f.newPage();
    await gotoOk(page, env.url('/explore'), 'Explore');
    f.check(await page.isChecked('#lang-promql'), 'Explore opened without PromQL chosen');
    await editor(page).fill(subject.query);
    await editor(page).press('Control+Enter');
    await waitExplore(page, graphDrawn, 'the graph');
    const legend = await legendNames(page);
    f.record.series = legend.length;
    // A `sum by (label)` draws one series per value, each named by it.
    f.check(legend.every((n) => n.includes(`${subject.label}=`)),
      `the legend's series are not named by ${subject.label}: ${legend.slice(0, 5).join(', ')}`);

    f.step('the address holds the query');
    const shared = new URL(page.url());
    f.check(shared.searchParams.get('lang') === 'promql', `the address ${shared} does not say lang=promql`);
    f.check(shared.searchParams.getAll('q').includes(subject.query), `the address ${shared} does not carry the query`);
    f.check(shared.searchParams.get('view') === 'graph', `the address ${shared} does not say view=graph`);

    f.step('the history lists it');
    await page.click('#explore-history summary');
    const history = await page.locator('#explore-history-list [data-history] code').allTextContents();
    f.check(history[0] === subject.query, `the history's newest entry is "${history[0] ?? '(none)'}", not the query`);
    f.check(await page.locator('#explore-history-list [data-history]').first().isVisible(), 'the opened history does not show its entries');

    f.step('the table view');
    const api = await getJson(env.context.request,
      env.url(`/api/v1/query?${new URLSearchParams({ query: subject.query })}`), 'the instant answer');
    await page.click('label[for="view-table"]');
    await waitExplore(page, tableShown, 'the table');
    const rows = await page.locator('#explore-table table tbody tr').count();
    f.record.tableRows = rows;
    f.check(rows === api.data.result.length, `the table has ${rows} rows; the API answers ${api.data.result.length} series`);
    f.check(await page.locator('#explore-graph').isHidden(), 'the graph is still shown in the table view');
    f.check(new URL(page.url()).searchParams.get('view') === 'table', `the address ${page.url()} does not say view=table`);

    f.step('the shared address reopens the view');
    const again = await f.newPage();
    await gotoOk(again, shared.toString(), 'the shared address');
    await waitExplore(again, graphDrawn, 'the graph on the shared address');
    const restored = await editor(again).inputValue();
    f.check(restored === subject.query, `the shared address restored the query "${restored}"`);
    const legendAgain = await legendNames(again);
    f.check(legendAgain.length === legend.length,
      `the shared address draws ${legendAgain.length} series; the first page drew ${legend.length}`);
  });
}

async function exploreLogql(env) {
  return runFlow('explore-logql', env, async (f) => {
    const page = await f.newPage();
    f.step('switch to LogQL');
    await gotoOk(page, env.url('/explore'), 'Explore');
    await page.click('label[for="lang-logql"]');
    f.check(await page.isChecked('#lang-logql'), 'LogQL is not chosen after clicking it');
    f.check(new URL(page.url()).searchParams.get('lang') === 'logql', `the address ${page.url()} does not say lang=logql`);

    f.step('a stream selector with a line filter');
    // The store keeps a JSON line's message as the line and its level and
    // service as labels: the filter is a word of an error message.
    const word = await errorWord(env, 'lms-api');
    const logQuery = `{service="lms-api", level="error"} |= ${JSON.stringify(word)}`;
    f.record.logQuery = logQuery;
    await editor(page).fill(logQuery);
    await page.click('#explore-run');
    await waitExplore(page, logsShown, 'the log lines');
    const lines = await page.locator('#explore-logs .logs-list > li').evaluateAll((ls) => ls.map((l) => ({
      level: l.querySelector('.log-level')?.textContent.trim(),
      text: l.querySelector('.log-text')?.textContent ?? '',
    })));
    f.record.lines = lines.length;
    const unfiltered = lines.filter((l) => !l.text.includes(word));
    f.check(unfiltered.length === 0, `${unfiltered.length} shown line(s) lack "${word}": ${unfiltered[0]?.text.slice(0, 160)}`);
    const otherLevel = lines.filter((l) => l.level !== 'error');
    f.check(otherLevel.length === 0, `${otherLevel.length} shown line(s) are not at level error: ${otherLevel[0]?.level}`);
    f.check(new URL(page.url()).searchParams.getAll('q').includes(logQuery), `the address ${page.url()} does not carry the query`);

    f.step('a metric query');
    const metricQuery = 'sum by (level) (count_over_time({service="lms-api"}[5m]))';
    f.record.metricQuery = metricQuery;
    await editor(page).fill(metricQuery);
    await page.click('#explore-run');
    await waitExplore(page, graphDrawn, 'the graph');
    f.record.series = (await legendNames(page)).length;
    f.check(await page.locator('#explore-logs').isHidden(), 'the log lines of the previous query are still shown');
  });
}

// --- Logs -----------------------------------------------------------------

/**
 * A word of the newest error line's message (of `service` when given),
 * the longest, as someone would search it: the flows search what the
 * server holds rather than a word of one data set.
 */
async function errorWord(env, service) {
  const p = new URLSearchParams({ level: 'error', limit: '1' });
  if (service) p.set('service', service);
  const body = await getJson(env.context.request, env.url(`/api/belfry/logs/search?${p}`), 'the newest error line');
  const line = body.data?.lines?.[0];
  if (!line) throw new Error(`no error line${service ? ` of ${service}` : ''} to search for`);
  const words = String(line.message || '').match(/[A-Za-z]{4,}/g) || [];
  const word = words.sort((a, b) => b.length - a.length)[0];
  if (!word) throw new Error(`the newest error line's message "${line.message}" has no word to search`);
  return word;
}

async function logsSearch(env) {
  return runFlow('logs-search', env, async (f) => {
    f.step('choose a word');
    const word = await errorWord(env);
    f.record.word = word;

    f.step('search it');
    const page = await f.newPage();
    await gotoOk(page, env.url('/logs'), 'Logs');
    await page.fill('#logs-q', word);
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#logs-submit')]);
    f.check(new URL(page.url()).searchParams.get('q') === word, `the search landed on ${page.url()}`);
    const lines = page.locator('#logs-lines > li.log-line');
    const count = await lines.count();
    f.record.lines = count;
    if (!f.check(count > 0, `searching "${word}" shows no line (${(await page.locator('#logs-count').textContent())?.trim()})`)) return;
    const texts = await lines.evaluateAll((ls) => ls.map((l) => l.textContent.toLowerCase()));
    const without = texts.filter((t) => !t.includes(word.toLowerCase()));
    f.check(without.length === 0, `${without.length} of ${count} lines found do not contain "${word}"`);
    f.check(await page.locator('#logs-histogram-box').isVisible(), 'the level histogram is not shown');
    const bars = await page.locator('#logs-histogram rect').count();
    f.record.histogramBars = bars;
    f.check(bars > 0, 'the level histogram has no bar');
    f.check(((await page.locator('#logs-legend').textContent()) || '').trim() !== '', 'the histogram has no legend');

    f.step("expand a line");
    const first = lines.first();
    const lineId = await first.getAttribute('data-id');
    await first.locator('summary').click();
    const fields = first.locator('.log-fields');
    await fields.waitFor({ state: 'visible', timeout: WAIT_MS });
    const names = await fields.locator('dt').allTextContents();
    f.record.fields = names;
    f.check(names.includes('service') && names.length >= 3, `the expanded line shows the fields [${names.join(', ')}]`);

    f.step('the lines around it');
    const button = first.locator('[data-context]');
    if (!f.check(lineId !== null, 'the line has no id, so no context')) return;
    await button.click();
    const around = first.locator('.log-context');
    await around.locator('.context-lines > li, [role="alert"]').first().waitFor({ timeout: WAIT_MS });
    const refused = around.locator('[role="alert"]');
    if (await refused.count()) throw new Error((await refused.textContent()).trim());
    const ctx = await around.locator('.context-lines > li').evaluateAll((ls) => ls.map((l) => ({
      id: l.dataset.id, current: l.getAttribute('aria-current') === 'true',
    })));
    f.record.contextLines = ctx.length;
    f.check(ctx.length > 1, `the context lists ${ctx.length} line(s), none around the chosen one`);
    const marked = ctx.filter((l) => l.current);
    f.check(marked.length === 1 && marked[0].id === lineId,
      `the context marks ${marked.map((l) => l.id).join(', ') || 'no line'} as the chosen one, not ${lineId}`);
    f.check((await button.getAttribute('aria-expanded')) === 'true', 'the context button does not say it is expanded');
  });
}

// --- Errors -------------------------------------------------------------

/**
 * The issue to resolve: of the unresolved ones the Errors page links to,
 * the one seen last the longest ago — a new event of a resolved issue
 * reopens it, and the quietest issue is the least likely to get one
 * while the flow looks.
 */
async function quietIssue(env, page) {
  const linked = new Set(await page.$$eval('a[href^="/errors/issues/"]', (as) => as.map((a) => new URL(a.href).pathname.split('/').pop())));
  const body = await getJson(env.context.request, env.url('/api/belfry/errors/issues'), 'the issues');
  const candidates = (body.data || [])
    .filter((i) => i.status === 'unresolved' && linked.has(String(i.id)))
    .sort((a, b) => Date.parse(a.last_seen) - Date.parse(b.last_seen));
  if (!candidates.length) throw new Error(`the Errors page links to no unresolved issue (links: ${[...linked].join(', ') || 'none'})`);
  return candidates[0];
}

async function issueDetail(env, id) {
  return (await getJson(env.context.request, env.url(`/api/belfry/errors/issues/${encodeURIComponent(id)}`), 'the issue')).data;
}

async function errorsResolve(env) {
  let resolved = null;
  const record = await runFlow('errors-resolve', env, async (f) => {
    f.step('open an issue from the list');
    const page = await f.newPage();
    await gotoOk(page, env.url('/errors'), 'Errors');
    const issue = await quietIssue(env, page);
    const id = String(issue.id);
    f.record.issue = id;
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.locator(`a[href="/errors/issues/${id}"]`).first().click(),
    ]);
    f.check(new URL(page.url()).pathname === `/errors/issues/${id}`, `the issue's link led to ${page.url()}`);
    const title = (await page.locator('h1').textContent()).trim();
    f.check(title === issue.title, `the issue page is titled "${title}", the API "${issue.title}"`);

    f.step('the latest event');
    const event = (await issueDetail(env, id)).latest_event;
    if (!event) throw new Error('the API has no latest event for the issue');
    const section = page.locator('section[aria-labelledby="event-h"]');
    const frames = (event.exception?.values || []).reduce((n, x) => n + (x.stacktrace?.frames?.length || 0), 0);
    const shownFrames = await section.locator('.frames > li.frame').count();
    f.record.frames = shownFrames;
    f.check(frames > 0 && shownFrames === frames, `the page shows ${shownFrames} stack frames; the event has ${frames}`);
    const innermost = event.exception?.values?.at(-1)?.stacktrace?.frames?.at(-1)?.function;
    if (innermost) f.check(((await section.locator('.frames').last().textContent()) || '').includes(innermost), `the frames do not name the function ${innermost}`);
    const has = async (heading) => (await section.locator('h3', { hasText: new RegExp(`^${heading}$`) }).count()) > 0;
    const sections = {
      Breadcrumbs: (event.breadcrumbs?.values || event.breadcrumbs || []).length > 0,
      Request: Boolean(event.request && Object.keys(event.request).length),
      'Event tags': Boolean(event.tags && Object.keys(event.tags).length),
    };
    f.record.sections = [];
    for (const [heading, carried] of Object.entries(sections)) {
      const shown = await has(heading);
      if (shown) f.record.sections.push(heading);
      f.check(shown === carried, `the event ${carried ? 'carries' : 'has no'} ${heading.toLowerCase()} but the page ${shown ? 'shows' : 'does not show'} that section`);
    }
    if (sections.Breadcrumbs) {
      const crumbs = (event.breadcrumbs?.values || event.breadcrumbs).length;
      const rows = await section.locator('table tbody tr').count();
      f.check(rows === crumbs, `the breadcrumbs table has ${rows} rows; the event ${crumbs} breadcrumbs`);
    }

    f.step('resolve it');
    await page.locator('button[data-status="resolved"]').waitFor({ state: 'visible', timeout: WAIT_MS });
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[data-status="resolved"]')]);
    const badge = (await page.locator('.facts .badge[class*="issue-"]').first().textContent()).trim();
    f.check(badge === 'resolved', `after Resolve the page says the issue is "${badge}"`);
    f.check((await page.locator('button[data-status="resolved"]').count()) === 0, 'the page still offers Resolve');
    f.check(await page.locator('button[data-status="unresolved"]').isVisible(), 'the page does not offer Unresolve');
    const after = await issueDetail(env, id);
    f.record.apiStatus = after.status;
    f.check(after.status === 'resolved', `GET /api/belfry/errors/issues/${id} says "${after.status}"`);
    resolved = id;

    // Back to unresolved, so the server is left as the flow found it and
    // a run again on the same data still finds an issue to resolve.
    f.step('unresolve it');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[data-status="unresolved"]')]);
    const again = (await page.locator('.facts .badge[class*="issue-"]').first().textContent()).trim();
    f.check(again === 'unresolved', `after Unresolve the page says the issue is "${again}"`);
    const restored = await issueDetail(env, id);
    f.check(restored.status === 'unresolved', `after Unresolve GET /api/belfry/errors/issues/${id} says "${restored.status}"`);
  });
  return { record, resolved };
}

async function requestToLogs(env, issueId) {
  return runFlow('request-to-logs', env, async (f) => {
    f.step('an issue whose latest event has a request id');
    let id = issueId;
    if (!id || !(await issueDetail(env, id)).latest_event?.request_id) {
      const body = await getJson(env.context.request, env.url('/api/belfry/errors/issues'), 'the issues');
      id = null;
      for (const i of body.data || []) {
        if ((await issueDetail(env, i.id)).latest_event?.request_id) {
          id = String(i.id);
          break;
        }
      }
      if (!id) throw new Error("no issue's latest event carries a request id");
    }
    f.record.issue = id;
    const page = await f.newPage();
    await gotoOk(page, env.url(`/errors/issues/${encodeURIComponent(id)}`), 'the issue');
    const link = page.locator('section[aria-labelledby="event-h"] a[href^="/logs?request_id="]').first();
    const requestId = (await page.locator('section[aria-labelledby="event-h"] p:has(a[href^="/logs?request_id="]) code').first().textContent()).trim();
    f.record.requestId = requestId;

    f.step("follow the request id's link");
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), link.click()]);
    const landed = new URL(page.url());
    f.check(landed.pathname === '/logs' && landed.searchParams.get('request_id') === requestId, `the link led to ${page.url()}`);
    const lines = page.locator('#logs-lines > li.log-line');
    const count = await lines.count();
    f.record.lines = count;
    if (f.check(count > 0, `the logs of request ${requestId} show no line`)) {
      const ids = await lines.evaluateAll((ls) => ls.map((l) => [...l.querySelectorAll('.log-fields dt')]
        .find((dt) => dt.textContent.trim() === 'request_id')?.nextElementSibling?.textContent.trim() ?? null));
      const other = ids.filter((r) => r !== requestId);
      f.check(other.length === 0, `${other.length} of ${count} lines carry request_id ${other[0] ?? '(none)'}, not ${requestId}`);
    }

    f.step("the request's error events");
    await page.waitForFunction(() => {
      const s = document.getElementById('events-status');
      return s && s.textContent.trim() && !s.textContent.startsWith('Looking');
    }, null, { timeout: WAIT_MS });
    const status = (await page.locator('#events-status').textContent()).trim();
    const links = await page.$$eval('#events-list a[href^="/errors/issues/"]', (as) => as.map((a) => new URL(a.href).pathname));
    f.record.events = links.length;
    f.check(links.includes(`/errors/issues/${id}`), `the logs page does not list the issue's event (status "${status}", links ${links.join(', ') || 'none'})`);
  });
}

// --- Alerts and silences --------------------------------------------------

async function waitForAlert(env) {
  const until = Date.now() + ALERT_WAIT_MS;
  for (;;) {
    const body = await getJson(env.context.request, env.url('/api/v1/alerts'), 'the alerts');
    const active = (body.data?.alerts || []).filter((a) => a.state === 'pending' || a.state === 'firing');
    if (active.length) return active;
    if (Date.now() > until) throw new Error(`no alert went pending or firing within ${ALERT_WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, ALERT_POLL_MS));
  }
}

async function silencesFor(env) {
  const body = await getJson(env.context.request, env.url('/api/v2/silences'), 'the silences');
  if (!Array.isArray(body)) throw new Error(`GET /api/v2/silences answered no list: ${JSON.stringify(body).slice(0, 200)}`);
  return body;
}

async function silenceAlert(env) {
  return runFlow('silence-alert', env, async (f) => {
    f.step('wait for an alert');
    const waited = Date.now();
    await waitForAlert(env);
    f.record.waitedMs = Date.now() - waited;

    f.step("follow an alert's Silence link");
    const page = await f.newPage();
    await gotoOk(page, env.url('/alerts'), 'Alerts');
    const row = page.locator('section[aria-labelledby="active-h"] tbody tr', { has: page.getByRole('link', { name: 'Silence', exact: true }) }).first();
    await row.waitFor({ timeout: WAIT_MS });
    const alertname = (await row.locator('strong').first().textContent()).trim();
    const labels = (await row.locator('td.labels .label').allTextContents()).map((l) => l.trim());
    f.record.alert = alertname;
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), row.getByRole('link', { name: 'Silence', exact: true }).click()]);
    f.check(new URL(page.url()).pathname === '/silences', `the Silence link led to ${page.url()}`);

    f.step('the form is prefilled');
    const matchers = (await page.inputValue('#silence-matchers')).split('\n').map((l) => l.trim()).filter(Boolean);
    f.record.matchers = matchers;
    f.check(matchers.includes(`alertname="${alertname}"`), `the matchers [${matchers.join('; ')}] do not hold alertname="${alertname}"`);
    const missing = labels.filter((l) => !matchers.includes(l));
    f.check(missing.length === 0, `the matchers lack the alert's labels ${missing.join(', ')}`);

    f.step('create the silence');
    const comment = `UI flow: silencing ${alertname} at ${new Date().toISOString()}`;
    await page.fill('#silence-comment', comment);
    await page.selectOption('#silence-duration', '3600');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#silence-submit')]);
    const created = (await silencesFor(env)).filter((s) => s.comment === comment);
    if (created.length !== 1) throw new Error(`GET /api/v2/silences lists ${created.length} silences with the flow's comment`);
    const silence = created[0];
    f.record.silence = silence.id;
    f.check(silence.status?.state === 'active', `the API says the new silence is "${silence.status?.state}"`);
    const apiMatchers = (silence.matchers || []).map((m) => `${m.name}${m.isEqual === false ? '!' : '='}${m.isRegex ? '~' : ''}"${m.value}"`);
    f.check(apiMatchers.includes(`alertname="${alertname}"`), `the stored silence matches [${apiMatchers.join(', ')}]`);
    const listed = page.locator(`tr[data-silence="${silence.id}"]`);
    f.check(await listed.count() === 1, `/silences does not list the silence ${silence.id}`);
    f.check((await listed.locator('.badge').textContent()).trim() === 'active', '/silences does not show the silence as active');

    f.step('expire it from the page');
    await listed.locator('button[data-expire]').waitFor({ state: 'visible', timeout: WAIT_MS });
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), listed.locator('button[data-expire]').click()]);
    const state = (await page.locator(`tr[data-silence="${silence.id}"] .badge`).textContent()).trim();
    f.check(state === 'expired', `after Expire the page shows the silence as "${state}"`);
    f.check((await page.locator(`tr[data-silence="${silence.id}"] button[data-expire]`).count()) === 0, 'the expired silence still offers Expire');
    const after = (await silencesFor(env)).find((s) => s.id === silence.id);
    f.record.apiState = after?.status?.state;
    f.check(after?.status?.state === 'expired', `the API says the expired silence is "${after?.status?.state}"`);
  });
}

// --- all of them ------------------------------------------------------------

/**
 * Runs every flow in `context` (signed in, watched); failures go to
 * `fail(page, where, message)`. Returns the summary for the report.
 */
export async function runFlows(env) {
  const started = Date.now();
  const flows = [];
  flows.push(await explorePromql(env));
  flows.push(await exploreLogql(env));
  flows.push(await logsSearch(env));
  const errors = await errorsResolve(env);
  flows.push(errors.record);
  flows.push(await requestToLogs(env, errors.resolved));
  flows.push(await silenceAlert(env));
  return {
    flows,
    ok: flows.every((f) => f.ok),
    ms: Date.now() - started,
  };
}
