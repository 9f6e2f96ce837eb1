// Browser test of the admins' console (/app/admin) against the running debriefd of console.sh.
//
// Environment (all required):
//   DEBRIEF_URL                 where debriefd serves /app/ and /api/v1/
//   DEBRIEF_ADMIN_TOKEN         an API token with the role admin
//   DEBRIEF_LEAD_TOKEN          an API token with the role lead (which may not administer)
//   DEBRIEF_WEBHOOK_SECRET_FILE the file holding the helpdesks' webhook secret (never shown)
//   DEBRIEF_SCREENSHOTS         a directory (under the build folder) for admin-<state>.png
//
// What an admin does: signs in, checks an adapter, reads the dead letters, makes an API token
// (its secret shown once, working at once) and revokes it, reads the taxonomy and the running
// configuration, in which no secret appears. A lead's token opens no admin page and no Admin
// call. Browser: Debian's /usr/bin/chromium driven by playwright-core; axe-core.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkAccessibility as axe, launch, required as need, watch } from './lib.mjs';

const required = (name) => need(name, 'admin.test.mjs');

const baseUrl = required('DEBRIEF_URL').replace(/\/+$/, '');
const adminToken = required('DEBRIEF_ADMIN_TOKEN');
const leadToken = required('DEBRIEF_LEAD_TOKEN');
const webhookSecret = readFileSync(required('DEBRIEF_WEBHOOK_SECRET_FILE'), 'utf8').trim();
const shots = required('DEBRIEF_SCREENSHOTS');
mkdirSync(shots, { recursive: true });

let browser;
let page;
const problems = [];

before(async () => {
  browser = await launch();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  watch(page, problems);
});

after(async () => {
  await browser?.close();
});

async function signIn(token) {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const checkAccessibility = (state) => axe(page, state);

async function post(path, body, bearer) {
  return fetch(`${baseUrl}/api/v1/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bearer}` },
    body: JSON.stringify(body),
  });
}

test('an admin signs in, checks an adapter and reads the dead letters', async () => {
  await page.goto(`${baseUrl}/app/admin`);
  await signIn(adminToken);
  await page.getByRole('heading', { name: 'Debrief admin', level: 1 }).waitFor();
  const adapters = page.locator('#adapters-table');
  await adapters.waitFor();
  for (const id of ['support', 'shop', 'tasks']) {
    await adapters.getByRole('rowheader', { name: id, exact: true }).waitFor();
  }
  await page.getByRole('button', { name: 'Check tasks' }).click();
  await adapters.getByText('OK', { exact: true }).waitFor();
  await page.locator('#dead-letters').getByText('No dead letters').waitFor();
  await page.screenshot({ path: join(shots, 'admin.png'), fullPage: true });
  await checkAccessibility('admin');
  assert.deepEqual(problems, []);
});

test('an admin makes a token, shown once and working at once, and revokes it', async () => {
  await page.getByLabel('Name', { exact: true }).fill('grafana');
  await page.getByLabel('Role', { exact: true }).selectOption('lead');
  await page.getByRole('button', { name: 'Make token' }).click();
  const secret = (await page.locator('code.secret').innerText()).trim();
  assert.match(secret, /^dbt_/);
  const session = await post('session', {}, secret);
  assert.equal(session.status, 200, 'the new token signs in');
  const row = page.locator('#tokens-table tr', { hasText: 'grafana' });
  await row.waitFor();
  await page.getByRole('button', { name: 'I have copied it' }).click();
  assert.equal(await page.locator('code.secret').count(), 0, 'the secret is shown once');
  assert.ok(!(await page.content()).includes(secret), 'the secret is gone from the page');
  await page.getByRole('button', { name: 'Revoke grafana' }).click();
  await row.getByText('Revoked').waitFor();
  assert.equal((await post('session', {}, secret)).status, 401, 'a revoked token is refused');
});

test('the taxonomy and the running configuration, with no secret in it', async () => {
  const taxonomy = page.locator('#taxonomy-table');
  await taxonomy.getByRole('rowheader', { name: 'Wrong or unexpected charge' }).waitFor();
  const config = page.locator('pre.config');
  await config.waitFor();
  const text = await config.innerText();
  assert.ok(text.includes('webhook-secret'), 'a secret shows where it comes from');
  assert.ok(webhookSecret.length >= 16 && !text.includes(webhookSecret), 'never its value');
  assert.ok(!(await page.content()).includes(webhookSecret));
  await page.screenshot({ path: join(shots, 'admin-all.png'), fullPage: true });
  await checkAccessibility('admin, all sections');
  // Back to the insights without signing in again.
  await page.getByRole('link', { name: 'Insights' }).click();
  await page.locator('#causes-table').waitFor();
  assert.equal(new URL(page.url()).pathname, '/app/insights');
  assert.deepEqual(problems, []);
});

test("a lead's token opens no admin page and no Admin call", async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto(`${baseUrl}/app/admin`);
  await signIn(leadToken);
  await page.getByText("The admin console is for admins; this API token is a lead's.").waitFor();
  assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0);
  const session = await (await post('session', {}, leadToken)).json();
  for (const method of ['Admin/ListAdapters', 'Admin/GetConfig', 'Admin/ListDeadLetters']) {
    assert.equal((await post(method, {}, session.token)).status, 403, method);
  }
});
