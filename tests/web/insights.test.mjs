// Browser test of the leads' insights page (/app/insights) against a running debriefd holding a
// generated history (console.sh sets it up).
//
// Environment (all required):
//   DEBRIEF_URL          where debriefd serves /app/ and /api/v1/
//   DEBRIEF_LEAD_TOKEN   an API token with the role lead
//   DEBRIEF_AGENT_TOKEN  an API token with the role agent (which may not read insights)
//   DEBRIEF_SCREENSHOTS  a directory (under the build folder) for insights-<state>.png
//
// What a lead does: signs in, reads the chart and the tables, narrows them with the filters,
// opens a cause, downloads each table as CSV. Every number the page shows or exports is checked
// against what the API answers to the same request. Browser: Debian's /usr/bin/chromium
// (CHROMIUM overrides) driven by playwright-core; accessibility by axe-core.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkAccessibility as axe, checkNarrow, launch, required as need, watch } from './lib.mjs';

const required = (name) => need(name, 'insights.test.mjs');
const baseUrl = required('DEBRIEF_URL').replace(/\/+$/, '');
const leadToken = required('DEBRIEF_LEAD_TOKEN');
const agentToken = required('DEBRIEF_AGENT_TOKEN');
const shots = required('DEBRIEF_SCREENSHOTS');
mkdirSync(shots, { recursive: true });

let browser;
let page;
const problems = [];
let session = '';

before(async () => {
  browser = await launch();
  const context = await browser.newContext({
    viewport: { width: 1280, height: 1000 },
    acceptDownloads: true,
  });
  page = await context.newPage();
  watch(page, problems);
  session = (await api('session', {}, leadToken)).token;
});

after(async () => {
  await browser?.close();
});

// The JSON API as the test's own client (the lead's session, not the page's).
async function api(path, body, bearer = session) {
  const r = await fetch(`${baseUrl}/api/v1/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bearer}` },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  assert.equal(r.status, 200, `${path}: ${text}`);
  return JSON.parse(text);
}

const num = (x) => Number(x ?? 0);

// RFC 4180 as the page writes it.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r') {
      /* CRLF */
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  return rows;
}

// Clicks a section's "Download CSV" (the n-th in it) and returns the file's rows as objects.
async function downloadCsv(sectionId, nth = 0) {
  const button = page.locator(`#${sectionId}`).getByRole('button', { name: 'Download CSV' }).nth(nth);
  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  const [header, ...rows] = parseCsv(readFileSync(await download.path(), 'utf8'));
  return { header, rows: rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))) };
}

// The request body the page sent for an insight, and the answer it got.
function nextCall(method) {
  return page.waitForResponse(
    (r) => r.url().endsWith(`/api/v1/Insights/${method}`) && r.request().method() === 'POST',
  );
}

const checkAccessibility = (state) => axe(page, state);

// How many pixels of the chart's canvas are drawn (not transparent).
async function drawnPixels() {
  return page.locator('#causes canvas').evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
    return n;
  });
}

let causesBody;

test('a lead signs in and reads the causes over 26 weeks, as the API counts them', async () => {
  const answered = nextCall('CausesOverTime');
  await page.goto(`${baseUrl}/app/insights`);
  await page.getByLabel('API token').fill(leadToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const response = await answered;
  causesBody = JSON.parse(response.request().postData());
  await page.locator('#causes-table').waitFor();
  await page.screenshot({ path: join(shots, 'insights.png'), fullPage: true });

  const want = await api('Insights/CausesOverTime', causesBody);
  assert.equal(want.weeks.length, 26);
  assert.ok(want.causes.length >= 5, `the history has many causes: ${want.causes.length}`);
  assert.ok(await drawnPixels() > 2000, 'the chart is drawn');

  const csv = await downloadCsv('causes');
  assert.equal(csv.rows.length, want.causes.length);
  const weekColumns = csv.header.slice(6);
  assert.deepEqual(weekColumns, want.weeks.map((w) => w.slice(0, 10)));
  for (const c of want.causes) {
    const row = csv.rows.find((r) => r['Category id'] === c.categoryId);
    assert.ok(row, `${c.categoryId} is in the CSV`);
    assert.equal(num(row.Tickets), num(c.tickets), c.categoryId);
    assert.equal(num(row['Repeat contacts']), num(c.repeatContacts), c.categoryId);
    assert.deepEqual(weekColumns.map((w) => num(row[w])), c.weeklyTickets.map(num), c.categoryId);
  }
  // The table on the page says the same as the CSV.
  const first = want.causes[0];
  const cells = await page.locator('#causes-table tbody tr').first().locator('th, td').allInnerTexts();
  assert.equal(cells[0].trim(), first.name);
  assert.equal(num(cells[3]), num(first.tickets));
  assert.ok(want.causes.some((c) => num(c.repeatContacts) > 0), 'some customers wrote again');
  assert.deepEqual(problems, []);
  await checkAccessibility('causes');
});

test('the filters change the numbers as the API does', async () => {
  const before = await api('Insights/CausesOverTime', causesBody);
  const answered = nextCall('CausesOverTime');
  await page.getByLabel('Kind of cause', { exact: true }).selectOption('PRAISE');
  const body = JSON.parse((await answered).request().postData());
  assert.equal(body.filter.kind, 'PRAISE');
  const want = await api('Insights/CausesOverTime', body);
  assert.ok(want.causes.length > 0 && want.causes.length < before.causes.length);
  await page.waitForFunction(
    (n) => document.querySelectorAll('#causes-table tbody tr').length === n,
    want.causes.length,
  );
  const csv = await downloadCsv('causes');
  assert.deepEqual(
    csv.rows.map((r) => [r['Category id'], num(r.Tickets)]),
    want.causes.map((c) => [c.categoryId, num(c.tickets)]),
  );
  for (const r of csv.rows) assert.equal(r.Kind, 'Praise');

  // Fewer weeks: fewer tickets.
  const narrowed = nextCall('CausesOverTime');
  await page.getByLabel('Weeks', { exact: true }).selectOption('4');
  const four = await api('Insights/CausesOverTime', JSON.parse((await narrowed).request().postData()));
  assert.equal(four.weeks.length, 4);
  const sum = (r) => r.causes.reduce((n, c) => n + num(c.tickets), 0);
  assert.ok(sum(four) < sum(want), 'four weeks hold fewer tickets than 26');

  // A helpdesk with no tickets: nothing.
  const other = nextCall('CausesOverTime');
  await page.getByLabel('Helpdesk', { exact: true }).fill('shop');
  await page.getByRole('button', { name: 'Apply' }).click();
  const none = JSON.parse((await other).request().postData());
  assert.equal(none.filter.helpdeskId, 'shop');
  await page.getByText('No tagged tickets in these weeks.').waitFor();

  // Back to every helpdesk, kind and 26 weeks.
  const back = nextCall('CausesOverTime');
  await page.getByLabel('Helpdesk', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Apply' }).click();
  await back;
  const again = nextCall('CausesOverTime');
  await page.getByLabel('Kind of cause', { exact: true }).selectOption('');
  await again;
  const all = nextCall('CausesOverTime');
  await page.getByLabel('Weeks', { exact: true }).selectOption('26');
  await all;
  await page.waitForFunction(
    (n) => document.querySelectorAll('#causes-table tbody tr').length === n,
    before.causes.length,
  );
});

test('a cause opens with its tasks', async () => {
  const tasks = await api('Insights/TasksByImpact', {});
  const cause = tasks.tasks[0].task.categoryId;
  const causes = await api('Insights/CausesOverTime', causesBody);
  const name = causes.causes.find((c) => c.categoryId === cause).name;
  await page.locator('#causes-table').getByRole('button', { name, exact: true }).click();
  const detail = page.getByRole('region', { name });
  await detail.waitFor();
  await detail.getByText(tasks.tasks[0].task.title).first().waitFor();
  await page.screenshot({ path: join(shots, 'insights-cause.png'), fullPage: true });
  await checkAccessibility('cause');
  await detail.getByRole('button', { name: 'Close' }).click();
});

test('open tasks are ranked by impact as the API ranks them, stalled ones marked', async () => {
  const want = await api('Insights/TasksByImpact', {});
  assert.ok(want.tasks.length > 0);
  const csv = await downloadCsv('tasks');
  assert.deepEqual(
    csv.rows.map((r) => [r.Task, num(r.Tickets), num(r.Customers), r.Stalled]),
    want.tasks.map((t) => [t.task.title, num(t.task.ticketCount), num(t.task.customerCount), t.stalled ? 'yes' : 'no']),
  );
  const counts = want.tasks.map((t) => num(t.task.ticketCount));
  assert.deepEqual(counts, [...counts].sort((a, b) => b - a), 'most tickets first');
});

test('what each fix did: the done task, its verdict and the loop cycle', async () => {
  const answered = await api('Insights/FixOutcomes', causesBody);
  assert.ok(answered.fixes.length >= 1, 'the task done in the tracker is a fix');
  assert.equal(answered.cycles[0].categoryId, '');
  const fixes = await downloadCsv('fixes', 1);
  assert.deepEqual(
    fixes.rows.map((r) => [r.Task, num(r['Tickets told'])]),
    answered.fixes.map((f) => [f.task.title, num(f.ticketsTold)]),
  );
  const cycle = await downloadCsv('fixes', 0);
  assert.equal(cycle.rows[0].Cause, 'Every cause');
  const stage = answered.cycles[0].stages.find((s) => s.stage === 'to_done');
  assert.equal(num(cycle.rows[0]['Task to done, median (s)']), Number(stage.median.replace('s', '')));
  // The builtin tracker ships at done: shipped the moment it was done, and the fix says when.
  const shipping = answered.cycles[0].stages.find((s) => s.stage === 'to_shipped');
  assert.equal(num(cycle.rows[0]['Done to shipped, median (s)']), Number(shipping.median.replace('s', '')));
  assert.ok(answered.fixes[0].shipped, 'the fix shipped');
  assert.equal(fixes.rows[0].Shipped, answered.fixes[0].shipped);
});

test("customers' voice: suggestions, praise with the agents credited", async () => {
  const want = await api('Insights/CustomersVoice', causesBody);
  assert.ok(want.praise.length > 0, 'the history has praise');
  const praise = await downloadCsv('voice', 1);
  assert.deepEqual(
    praise.rows.map((r) => [r['Agent credited'], r.Praise, num(r.Tickets)]),
    want.praise.map((p) => [p.agent, p.name, num(p.tickets)]),
  );
  assert.ok(praise.rows.some((r) => r['Agent credited'] === 'Ida Berg'));
  const suggestions = await downloadCsv('voice', 0);
  assert.deepEqual(
    suggestions.rows.map((r) => [r.Suggestion, num(r['Customers who asked'])]),
    want.suggestions.map((s) => [s.name, num(s.customers)]),
  );
  await page.locator('#emerging').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'insights-all.png'), fullPage: true });
  await checkAccessibility('all sections');
  assert.deepEqual(problems, []);
});

test('emerging issues: a name to start from, the closest tickets, growth per day', async () => {
  // The history ends with four tickets about a label printer, which no category names.
  const want = await api('Tagging/ListEmerging', { minSize: 2 });
  const issues = want.issues ?? [];
  assert.ok(issues.length > 0, 'the label printer tickets form a group');
  await page.locator('#emerging').scrollIntoViewIfNeeded();
  const first = issues[0];
  assert.match(first.suggestedName, /printer/i);
  const item = page.locator('#emerging .emerging-item').first();
  assert.ok(first.suggestedName, 'a group has a name to start from');
  assert.equal(await item.locator('strong').first().textContent(), first.suggestedName);
  // Over several days (the history's dates): a chart of tickets per day.
  assert.ok((first.growth ?? []).length > 1, 'the group grew over several days');
  const chart = item.getByRole('img', { name: /Tickets per day/ });
  await chart.waitFor();
  const label = await chart.getAttribute('aria-label');
  const total = label.split(':')[1].split(',').reduce((a, x) => a + Number(x), 0);
  assert.equal(total, (first.growth ?? []).reduce((a, g) => a + Number(g.tickets), 0));
  const closest = (first.representatives ?? []).map((r) => `“${r.subject}”`).filter((x) => x !== '“”');
  assert.deepEqual(await item.locator('.examples li').allTextContents(), closest.slice(0, 3));
  await item.getByRole('button', { name: 'Make it a category' }).click();
  assert.equal(await item.getByLabel('Name').inputValue(), first.suggestedName);
  await item.screenshot({ path: join(shots, 'insights-emerging.png') });
  await checkAccessibility('emerging issue');
  await item.getByRole('button', { name: 'Make it a category' }).click();
  assert.deepEqual(problems, []);
});

test('the review queue: the answers worth most first, as the API orders them', async () => {
  const want = await api('Tagging/ListReview', { limit: 50 });
  const tickets = want.tickets ?? [];
  await page.locator('#review').scrollIntoViewIfNeeded();
  if (tickets.length === 0) {
    await page.getByText('No ticket waits for review').waitFor();
    return;
  }
  const worth = tickets.map((t) => Number(t.worth ?? 0));
  assert.deepEqual(worth, [...worth].sort((a, b) => b - a), 'worth first');
  const shown = await downloadCsv('review', 0);
  assert.deepEqual(
    shown.rows.map((r) => [r.Ticket, Number(r.Worth)]),
    tickets.map((t) => [`${t.ticket.helpdeskId}/${t.ticket.ticketId}`, Number(t.worth ?? 0)]),
  );
  await page.locator('#review-table').screenshot({ path: join(shots, 'insights-review.png') });
  await checkAccessibility('review queue');
  assert.deepEqual(problems, []);
});

test('at 320 px nothing scrolls sideways but the tables, each in its own region', async () => {
  await page.locator('#praise-table').waitFor();
  await checkNarrow(page, shots, 'insights-320');
});

test("an agent's token opens no insights, on the page or through the API", async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').fill(agentToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText("this API token is an agent's").waitFor();
  await page.screenshot({ path: join(shots, 'insights-agent.png'), fullPage: true });
  const agentSession = (await api('session', {}, agentToken)).token;
  const r = await fetch(`${baseUrl}/api/v1/Insights/CausesOverTime`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${agentSession}` },
    body: '{}',
  });
  assert.equal(r.status, 403);
});
