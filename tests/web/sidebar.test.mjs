// Browser test of Debrief's agent sidebar (plugin/web) against a running debriefd.
//
// Run:  cd tests/web && npm ci && node --test sidebar.test.mjs
//
// Environment (all required except DEBRIEF_TASK_QUERY):
//   DEBRIEF_URL          where debriefd serves /app/ and /api/v1/, e.g. http://127.0.0.1:PORT
//   DEBRIEF_AGENT_TOKEN  an API token with the role agent, reaching DEBRIEF_TICKET's helpdesk
//   DEBRIEF_TICKET       "helpdeskId/ticketId" of a sample ticket that is classified (with
//                        reasons, not by an agent) and linked to a task; the database should
//                        hold at least two categories
//   DEBRIEF_SCREENSHOTS  a directory (under the build folder) for sidebar-<state>.png
//   DEBRIEF_TASK_QUERY   optional: words that find the ticket's task in SearchTasks (default:
//                        the longest word of the task's title)
//
// The test changes the ticket (cause corrected, unlinked, a task requested, relinked), so give
// it a fresh database. Browser: Debian's /usr/bin/chromium (CHROMIUM overrides) driven by
// playwright-core, with --no-sandbox because tests run as root; no browser download.
// Accessibility: axe-core, failing on serious and critical findings.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkAccessibility, launch, required as need, watch as watchPage } from './lib.mjs';

const required = (name) => need(name, 'sidebar.test.mjs');

const baseUrl = required('DEBRIEF_URL').replace(/\/+$/, '');
const agentToken = required('DEBRIEF_AGENT_TOKEN');
const [helpdeskId, ticketId] = required('DEBRIEF_TICKET').split('/');
assert.ok(helpdeskId && ticketId, 'DEBRIEF_TICKET must be "helpdeskId/ticketId"');
const shots = required('DEBRIEF_SCREENSHOTS');
mkdirSync(shots, { recursive: true });
const ticketUrl = `${baseUrl}/app/ticket/${encodeURIComponent(helpdeskId)}/${encodeURIComponent(ticketId)}`;

// Zendesk's ticket sidebar is 320 px wide.
const viewport = { width: 320, height: 900 };

let browser;
let context;
let page;
// Messages the page should never log: CSP violations and uncaught errors.
const problems = [];

const watch = (p) => watchPage(p, problems);

before(async () => {
  browser = await launch();
  context = await browser.newContext({ viewport });
  page = await context.newPage();
  watch(page);
});

after(async () => {
  await browser?.close();
});

const region = (name) => page.getByRole('region', { name, exact: true });
const rootCause = () => region('Root cause');
const linkedTask = () => region('Linked task');

// What every state must satisfy: nothing wider than the sidebar, no CSP violation or script
// error; then the state is kept as a screenshot.
async function checkState(p, state) {
  const { scrollWidth, clientWidth } = await p.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  await p.screenshot({ path: join(shots, `sidebar-${state}.png`), fullPage: true });
  assert.ok(
    scrollWidth <= clientWidth,
    `${state}: the page scrolls sideways (${scrollWidth} px wide in ${clientWidth} px)`,
  );
  assert.deepEqual(problems, [], `${state}: the page logged problems`);
}


// Polls `check` until it holds (the page answers actions asynchronously), up to 15 s.
async function eventually(check, message) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(message);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A test whose page is screenshotted (sidebar-failed-<name>.png) when it fails, to see why.
function step(name, body, p = () => page) {
  test(name, async () => {
    try {
      await body();
    } catch (e) {
      const slug = name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '');
      await p()
        ?.screenshot({ path: join(shots, `sidebar-failed-${slug}.png`), fullPage: true })
        .catch(() => {});
      throw e;
    }
  });
}

// The text of a task's title heading, without the screen-reader note of its link.
async function taskTitle() {
  const text = await linkedTask().getByRole('heading', { level: 3 }).first().innerText();
  return text.replace(/\s*\(opens in a new tab\)\s*$/, '').trim();
}

let originalTitle = '';
// The category the agent chose when correcting the cause.
let corrected = '';

step('signs in with an API token and shows the root cause', async () => {
  await page.goto(ticketUrl);
  await page.getByLabel('API token').fill(agentToken);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();

  const rc = rootCause();
  await rc.getByText(/^Confidence \d{1,3}%$/).waitFor();
  await rc.getByRole('heading', { name: 'Why', exact: true }).waitFor();
  const reasons = rc.getByRole('list').first().getByRole('listitem');
  assert.ok((await reasons.count()) >= 1, 'the reasons are listed');
  await rc.getByText(/^Taxonomy /).waitFor();
  await rc.getByRole('combobox', { name: 'Correct the cause' }).waitFor();

  // Every section loaded (no section shows its error).
  await linkedTask().getByRole('button', { name: 'Unlink', exact: true }).waitFor();
  await region("This customer's journey").getByRole('listitem').first().waitFor();
  await region('Similar open tickets').getByRole('heading').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[aria-busy="true"]').length === 0);
  assert.equal(await page.getByRole('alert').count(), 0, 'no section shows an error');

  await checkAccessibility(page, 'signed-in');
  await checkState(page, 'signed-in');
});

step('shows the linked task with its trend and reads it from the tracker again', async () => {
  const lt = linkedTask();
  originalTitle = await taskTitle();
  assert.notEqual(originalTitle, '', 'the task has a title');
  const trend = lt.getByRole('img', { name: /^Tickets per week, oldest first: \d+(, \d+)*$/ });
  await trend.waitFor();
  const label = await trend.getAttribute('aria-label');
  assert.equal(label.split(':')[1].split(',').length, 8, 'eight weeks in the trend');
  await lt.getByText('Tickets', { exact: true }).waitFor();
  await lt.getByText('Customers', { exact: true }).waitFor();

  await lt.getByRole('button', { name: "Refresh the task's status from the tracker" }).click();
  await lt.getByText(/^Read from the tracker (just now|1 min ago)$/).waitFor();
  assert.equal(await lt.getByRole('alert').count(), 0, 'refreshing worked');
  await checkState(page, 'linked');
});

step('corrects the cause with the keyboard only', async () => {
  const rc = rootCause();
  const combo = rc.getByRole('combobox', { name: 'Correct the cause' });

  // Reach the picker with Tab from the top of the page.
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  let reached = false;
  for (let i = 0; i < 30 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await combo.evaluate((el) => el === document.activeElement);
  }
  assert.ok(reached, 'Tab reaches the category picker');

  await page.keyboard.press('ArrowDown');
  assert.equal(await combo.getAttribute('aria-expanded'), 'true', 'ArrowDown opens the list');
  const listbox = page.locator(`#${await combo.getAttribute('aria-controls')}`);
  assert.equal(await listbox.getAttribute('role'), 'listbox');

  // Move to the first category that is not the current one.
  let optionText = '';
  for (let i = 0; i < 10; i++) {
    const activeId = await combo.getAttribute('aria-activedescendant');
    assert.ok(activeId, 'an option is highlighted');
    const option = page.locator(`#${activeId}`);
    assert.equal(await option.getAttribute('role'), 'option');
    assert.equal(await option.getAttribute('aria-selected'), 'true');
    optionText = await option.innerText();
    if (!/\bcurrent\b/.test(optionText.split('\n').slice(1).join(' '))) break;
    await page.keyboard.press('ArrowDown');
  }
  const chosen = optionText.split('\n')[0].trim();
  await checkState(page, 'picker-open');
  await checkAccessibility(page, 'picker-open');

  // Escape closes without choosing; ArrowDown opens again on the first option.
  await page.keyboard.press('Escape');
  assert.equal(await combo.getAttribute('aria-expanded'), 'false', 'Escape closes the list');
  await page.keyboard.type(chosen);
  await page.keyboard.press('ArrowDown');
  // Typing filters the list; another category's name may hold the same words, so move on
  // to the chosen one.
  let found = false;
  for (let i = 0; i < 10 && !found; i++) {
    const option = page.locator(`#${await combo.getAttribute('aria-activedescendant')}`);
    found = (await option.innerText()).split('\n')[0].trim() === chosen;
    if (!found) await page.keyboard.press('ArrowDown');
  }
  assert.ok(found, 'typing the name finds the category');
  await page.keyboard.press('Enter');
  assert.equal(await combo.inputValue(), chosen, 'Enter chooses the option');
  assert.equal(await combo.getAttribute('aria-expanded'), 'false');

  await page.keyboard.press('Tab');
  const save = rc.getByRole('button', { name: 'Save correction' });
  assert.ok(await save.evaluate((el) => el === document.activeElement), 'Tab goes to Save');
  await page.keyboard.press('Enter');

  await rc.getByRole('status').getByText(`Saved. The cause is now ${chosen}.`).waitFor();
  await rc.getByText(chosen, { exact: true }).waitFor();
  corrected = chosen;
  await checkState(page, 'corrected');
});

step('unlinks the ticket from its task', async () => {
  const lt = linkedTask();
  await lt.getByRole('button', { name: 'Unlink', exact: true }).click();
  await lt.getByText('Not linked to a task', { exact: true }).waitFor();
  await lt
    .getByRole('status')
    .getByText(/^Unlinked from /)
    .waitFor();
  await checkAccessibility(page, 'unlinked');
  await checkState(page, 'unlinked');
});

step('asks for a task with an edited title', async () => {
  const lt = linkedTask();
  await lt.getByRole('button', { name: 'Ask for a task now', exact: true }).click();
  const title = lt.getByLabel('Task title');
  const suggested = await title.inputValue();
  assert.match(suggested, /^Root cause: \S/, 'the title is prefilled from the cause');
  const edited = `${suggested} (asked from the sidebar test)`;
  await title.fill(edited);
  await checkAccessibility(page, 'request-form');
  await lt.getByRole('button', { name: 'Ask for a task', exact: true }).click();

  const status = lt.getByRole('status');
  await status.getByText(/^(Asked for a task|This cause already had an active task)/).waitFor();
  await lt.getByRole('button', { name: 'Unlink', exact: true }).waitFor();
  if ((await status.innerText()).startsWith('Asked for a task')) {
    assert.equal(await taskTitle(), edited, 'the new task has the edited title');
  }
  await checkState(page, 'requested');
});

step('finds a task by its words and links the ticket to it', async () => {
  const lt = linkedTask();
  await lt.getByRole('button', { name: /^Link to (another|a) task$/ }).click();
  const search = lt.getByRole('search', { name: 'Search tasks' });
  // The cause was corrected above: look among every cause's tasks.
  await search.getByLabel(/^Only tasks for this ticket's cause/).uncheck();
  const words =
    process.env.DEBRIEF_TASK_QUERY ||
    (originalTitle.match(/[\p{L}\p{N}]{3,}/gu) ?? [originalTitle]).sort(
      (a, b) => b.length - a.length,
    )[0];
  await search.getByLabel("Words in the task's title").fill(words);
  await search.getByRole('button', { name: 'Search', exact: true }).click();

  const results = lt.getByRole('list', { name: 'Matching tasks' });
  const link = results.getByRole('button', { name: `Link to ${originalTitle}`, exact: true });
  await link.waitFor();
  await checkAccessibility(page, 'search');
  await checkState(page, 'search');
  await link.click();

  await lt.getByRole('status').getByText(`Linked to “${originalTitle}”.`).waitFor();
  await eventually(
    async () => (await taskTitle()) === originalTitle,
    `the linked task becomes “${originalTitle}”`,
  );
  await checkState(page, 'relinked');
});

step("shows the customer's journey and similar tickets", async () => {
  const journey = region("This customer's journey");
  const current = journey.getByRole('listitem').filter({ hasText: 'This ticket' });
  await current.waitFor();
  assert.equal(await current.count(), 1, 'the current ticket is marked once');
  assert.equal(await current.getAttribute('aria-current'), 'true');
  await current.getByText(/^Cause: /).waitFor();
  await current.getByText(/ · Status: /).waitFor();
  if (process.env.DEBRIEF_OTHER_HELPDESK) {
    // The same customer wrote to another helpdesk too: their journey shows it.
    const other = journey
      .getByRole('listitem')
      .filter({ hasText: process.env.DEBRIEF_OTHER_HELPDESK });
    assert.ok((await other.count()) >= 1, "the journey holds the other helpdesk's ticket");
  }
  const similar = region('Similar open tickets');
  await similar.getByRole('heading', { name: 'Similar open tickets' }).waitFor();
  assert.equal(await similar.getByRole('alert').count(), 0, 'similar tickets loaded');
  await journey.scrollIntoViewIfNeeded();
  await checkState(page, 'journey');
});

// Sends a ticket through the helpdesk's signed webhook, as the helpdesk does.
async function deliver(delivery) {
  const body = JSON.stringify(delivery);
  const ts = String(Math.floor(Date.now() / 1000));
  const secret = readFileSync(required('DEBRIEF_WEBHOOK_SECRET_FILE'), 'utf8').replace(/\n+$/, '');
  const signature = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
  const res = await fetch(`${baseUrl}/webhooks/${encodeURIComponent(helpdeskId)}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Debrief-Timestamp': ts,
      'X-Debrief-Signature': signature,
      'X-Debrief-Delivery': `web-test-${delivery.ticket.id}`,
    },
    body,
  });
  assert.equal(res.status, 202, `the webhook is accepted: ${await res.text()}`);
}

async function signIn(url) {
  await page.goto(url);
  await page.getByLabel('API token').fill(agentToken);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

// The correction taught the classifier: the same words from another customer, sent now as a
// new ticket through the helpdesk's signed webhook, get the corrected cause.
step('a similar ticket after the correction gets the corrected cause', async () => {
  const secretFile = process.env.DEBRIEF_WEBHOOK_SECRET_FILE;
  const sample = process.env.DEBRIEF_SIMILAR_SAMPLE;
  if (!secretFile || !sample) return;
  assert.ok(corrected, 'the cause was corrected above');
  const delivery = JSON.parse(readFileSync(sample, 'utf8'));
  const id = `${delivery.ticket.id}-again`;
  delivery.ticket.id = id;
  delivery.ticket.requester = { id: 'cust-other', email: 'someone.else@example.com' };
  await deliver(delivery);
  const url = `${baseUrl}/app/ticket/${encodeURIComponent(helpdeskId)}/${encodeURIComponent(id)}`;
  await eventually(async () => {
    await signIn(url);
    const rc = rootCause();
    await rc.getByText(/^Confidence /).or(rc.getByRole('alert')).first().waitFor();
    return (await rc.getByText(corrected, { exact: true }).count()) > 0;
  }, `the new ticket ${id} is classified as ${corrected}`);
  await checkState(page, 'similar-after-correction');
});

// debriefctl talking to this debriefd, as an engineer working the builtin tracker uses it.
function debriefctl(...args) {
  const [cmd, ...rest] = JSON.parse(required('DEBRIEF_CTL_JSON'));
  execFileSync(cmd, [...rest, ...args], { stdio: 'ignore' });
}

step('a fixed task waits for its release, then says it shipped', async () => {
  const lt = linkedTask();
  const href = await lt.getByRole('heading', { level: 3 }).first().getByRole('link').getAttribute('href');
  const external = href.split('/').pop();
  const refresh = lt.getByRole('button', { name: "Refresh the task's status from the tracker" });
  debriefctl('tracker', 'set-status', external, 'done');
  await refresh.click();
  await lt.getByText('Fixed, not yet shipped: the customer hears when the release is out.').waitFor();
  await lt.getByText('Fixed, not shipped', { exact: true }).waitFor();
  await checkAccessibility(page, 'fixed-not-shipped');
  await checkState(page, 'fixed-not-shipped');
  debriefctl('tracker', 'set-status', external, 'shipped');
  await refresh.click();
  await lt.getByText('The fix shipped; too soon to tell whether it worked.', { exact: false }).waitFor();
  await lt.getByText(/^Shipped on /).waitFor();
  await lt.getByText('Shipped', { exact: true }).waitFor();
  await checkAccessibility(page, 'shipped');
  await checkState(page, 'shipped');
});

// Tickets the classifier is unsure of wait for an agent, the one worth most first; one click
// answers with one of the two best guesses, and the ticket leaves the list.
step('answers a ticket waiting for a cause in one click', async () => {
  const sample = required('DEBRIEF_SIMILAR_SAMPLE');
  const unsure = [
    ['web-review-1', 'Broken parcel', 'The parcel arrived broken and the refund has not come back'],
    ['web-review-2', 'A question', 'Hello, a question about something, please call me back'],
  ];
  for (const [id, subject, description] of unsure) {
    const delivery = JSON.parse(readFileSync(sample, 'utf8'));
    Object.assign(delivery.ticket, { id, subject, description, url: `https://support.example/${id}` });
    delivery.ticket.requester = { id: `cust-${id}`, email: `${id}@example.com` };
    await deliver(delivery);
  }
  const queue = region('Tickets waiting for a cause');
  const ours = () => queue.getByRole('listitem').filter({ hasText: '#web-review-' });
  await eventually(async () => {
    await signIn(ticketUrl);
    await queue.getByText(/^No other ticket|^Debrief is unsure/).or(queue.getByRole('alert')).first().waitFor();
    return (await ours().count()) >= 1;
  }, 'an unsure ticket waits in the sidebar');
  assert.equal(await queue.getByRole('alert').count(), 0, 'the queue loaded');
  const id = /#(web-review-\d)/.exec(await ours().first().innerText())[1];
  const entry = () => queue.getByRole('listitem').filter({ hasText: `#${id}` });
  const link = entry().getByRole('link');
  assert.equal(await link.getAttribute('href'), `https://support.example/${id}`);
  await entry().getByText(/^Best guesses: .+ \(\d{1,3}%\)( or .+ \(\d{1,3}%\))?$/).waitFor();
  await queue.scrollIntoViewIfNeeded();
  await checkAccessibility(page, 'review-queue');
  await checkState(page, 'review-queue');
  // The open ticket is not among them.
  assert.equal(await queue.getByText(`#${ticketId}`, { exact: true }).count(), 0);
  const answer = entry().getByRole('button', { name: new RegExp(`^Ticket #${id} is `) }).first();
  const chosen = (await answer.innerText()).trim();
  const chosenId = await answer.getAttribute('data-category');
  await answer.focus();
  await page.keyboard.press('Enter');
  await queue.getByRole('status').getByText(`Thank you: ticket #${id} is ${chosen} now.`).waitFor();
  await eventually(async () => (await entry().count()) === 0, 'the answered ticket leaves the list');
  assert.equal(
    await page.evaluate(() => document.activeElement?.id),
    'review-next-heading',
    'the keyboard is back on the section, not lost to the page',
  );
  const [cmd, ...rest] = JSON.parse(required('DEBRIEF_CTL_JSON'));
  const shown = JSON.parse(
    execFileSync(cmd, [...rest, 'tickets', 'show', helpdeskId, id], { encoding: 'utf8' }),
  );
  assert.equal(shown.classification?.model, 'agent', 'the answer is the cause now');
  const c = shown.classification ?? {};
  assert.equal(c.categoryId ?? c.category_id, chosenId, 'the cause is the one chosen');
  await checkState(page, 'review-answered');
});

test('a wrong API token gets a readable error', async () => {
  const other = await browser.newContext({ viewport });
  try {
    const p = await other.newPage();
    watch(p);
    await p.goto(ticketUrl);
    await p.getByLabel('API token').fill('not-a-debrief-token');
    await p.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = p.getByRole('alert');
    await alert
      .getByText('Debrief did not accept that API token. Check it and try again.')
      .waitFor();
    assert.doesNotMatch(await alert.innerText(), /\b401\b|unauthenticated/i, 'no raw status');
    await checkAccessibility(p, 'bad-token');
    await checkState(p, 'bad-token');
  } finally {
    await other.close();
  }
});
