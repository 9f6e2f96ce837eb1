// Debrief's panel where Request Tracker's agents meet it: inside RT's own ticket page, in
// Debian's headless Chromium. The agent signs in through RT's login form, opens the ticket, and
// the panel (RT-Extension-Debrief's frame, signed in by the form RT signed) shows the ticket's
// root cause. Run by the e2e suite against the real RT it starts (tests/e2e), through
// rt_page.sh.
//
// Environment (all required):
//   RT_URL               RT's web address, e.g. http://127.0.0.1:PORT
//   RT_USER              an RT agent who may see the ticket
//   RT_PASSWORD_FILE     a file holding that agent's password
//   RT_TICKET            the ticket's id
//   DEBRIEF_CAUSE        the name of the ticket's root cause, as the panel shows it
//   DEBRIEF_SCREENSHOTS  a directory (under the build folder) for rt-<state>.png

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkAccessibility, launch, required as need, watch } from './lib.mjs';

const required = (name) => need(name, 'rt_page.test.mjs');

const rtUrl = required('RT_URL').replace(/\/+$/, '');
const user = required('RT_USER');
const password = readFileSync(required('RT_PASSWORD_FILE'), 'utf8').trim();
const ticket = required('RT_TICKET');
const cause = required('DEBRIEF_CAUSE');
const shots = required('DEBRIEF_SCREENSHOTS');
mkdirSync(shots, { recursive: true });

let browser;
let page;
const problems = [];

before(async () => {
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  page = await context.newPage();
  watch(page, problems, 20_000);
});

after(async () => {
  await browser?.close();
});

test('an RT agent signs in, opens a ticket and sees its root cause in the Debrief panel', async () => {
  try {
    await page.goto(`${rtUrl}/NoAuth/Login.html`);
    await page.locator('input[name="user"]').fill(user);
    await page.locator('input[name="pass"]').fill(password);
    await Promise.all([page.waitForNavigation(), page.locator('input[name="pass"]').press('Enter')]);
    await page.goto(`${rtUrl}/Ticket/Display.html?id=${encodeURIComponent(ticket)}`);
    await page.getByText(`#${ticket}:`, { exact: false }).first().waitFor();

    // The box RT draws like its own, and in it the frame the signed form posted into.
    const frameName = `debrief-panel-${ticket}`;
    await page.locator(`iframe[name="${frameName}"]`).waitFor();
    const panel = page.frameLocator(`iframe[name="${frameName}"]`);
    const rootCause = panel.getByRole('region', { name: 'Root cause', exact: true });
    await rootCause.locator('.cause-name').waitFor();
    assert.equal((await rootCause.locator('.cause-name').textContent()).trim(), cause);
    await rootCause.getByText(/^Confidence \d{1,3}%$/).waitFor();
    await panel.getByRole('region', { name: "This customer's journey", exact: true })
      .getByRole('listitem').first().waitFor();
    const frame = page.frame({ name: frameName });
    assert.ok(frame, 'the panel frame is on the page');
    assert.equal(await frame.locator('[role="alert"]').count(), 0, 'no section shows an error');
    assert.ok(frame.url().endsWith('/app/signin/rt'), `signed in by RT's form: ${frame.url()}`);

    // axe-core inside the panel's frame.
    await checkAccessibility(frame, 'the panel in RT');
    assert.deepEqual(problems, [], 'the page logged problems (a refused frame?)');
    await page.screenshot({ path: join(shots, 'rt-ticket-page.png'), fullPage: true });
  } catch (e) {
    await page?.screenshot({ path: join(shots, 'rt-failed.png'), fullPage: true }).catch(() => {});
    throw e;
  }
});
