// Browser test: an admin adds a Redmine tracker from the console against a real Redmine
// (console_redmine.sh, with the e2e suite's peers).
//
// Environment (all required):
//   DEBRIEF_URL           where debriefd serves /app/ and /api/v1/
//   DEBRIEF_ADMIN_TOKEN   an API token with the role admin
//   DEBRIEF_SCREENSHOTS   a directory (under the build folder) for the screenshots
//   DEBRIEF_DATA_DIR      debriefd's data_dir (conf.d and secrets/ in it)
//   REDMINE_URL, REDMINE_PROJECT, REDMINE_DEBRIEF_KEY   the real Redmine, a project, a key
//
// What an admin does: fills the Redmine form with a wrong API key, tests the connection and
// reads Redmine's refusal; saves, and is refused with the same reason, nothing written; types
// the right key, tests (OK), saves: the tracker is in its own conf.d file with the key in a
// 0600 file, running at once (its check in the table passes); removes it.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkAccessibility, launch, required as need, watch } from './lib.mjs';

const required = (name) => need(name, 'adapters_redmine.test.mjs');
const baseUrl = required('DEBRIEF_URL').replace(/\/+$/, '');
const adminToken = required('DEBRIEF_ADMIN_TOKEN');
const shots = required('DEBRIEF_SCREENSHOTS');
const dataDir = required('DEBRIEF_DATA_DIR');
const redmineUrl = required('REDMINE_URL');
const project = required('REDMINE_PROJECT');
const rightKey = required('REDMINE_DEBRIEF_KEY');
const wrongKey = '0123456789abcdef0123456789abcdef01234567';

let browser;
let page;
const problems = [];

before(async () => {
  browser = await launch();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  watch(page, problems);
  await page.goto(`${baseUrl}/app/admin`);
  await page.getByLabel('API token').fill(adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Debrief admin', level: 1 }).waitFor();
});

after(async () => {
  await browser?.close();
});

const file = () => join(dataDir, 'conf.d', 'redmine2.yaml');

test("a wrong Redmine key fails the test with Redmine's answer, and is not saved", async () => {
  await page.locator('#adapters').getByRole('button', { name: 'Add an adapter' }).click();
  const form = page.locator('#adapter-form-panel');
  await form.getByLabel('Helpdesk or tracker').selectOption('tracker/redmine');
  await form.getByLabel('Id', { exact: true }).fill('redmine2');
  await form.locator('#adapter-field-url').fill(redmineUrl);
  await form.locator('#adapter-field-project').fill(project);
  await form.locator('#adapter-field-api_key').fill(wrongKey);
  await form.getByRole('button', { name: 'Test connection' }).click();
  const outcome = form.locator('#adapter-form-outcome');
  await outcome.getByText(/^The connection test failed: /).waitFor();
  const reason = await outcome.innerText();
  assert.match(reason, /401/, `Redmine's refusal, as it answered: ${reason}`);
  assert.ok(!reason.includes(wrongKey), 'never the key');
  await page.screenshot({ path: join(shots, 'admin-redmine-wrong-key.png'), fullPage: true });

  await form.getByRole('button', { name: 'Save', exact: true }).click();
  await outcome.getByText(/^Debrief could not save redmine2\. /).waitFor();
  assert.match(await outcome.innerText(), /401/);
  assert.ok(!existsSync(file()), 'nothing saved');
  assert.ok(!existsSync(join(dataDir, 'secrets', 'redmine2.api_key')), 'no secret written');
  assert.deepEqual(problems, []);
});

test('the right key passes the test, is saved into conf.d and runs at once', async () => {
  const form = page.locator('#adapter-form-panel');
  await form.locator('#adapter-field-api_key').fill(rightKey);
  await form.getByRole('button', { name: 'Test connection' }).click();
  const outcome = form.locator('#adapter-form-outcome');
  await outcome.getByText(/^Connection OK/).waitFor();
  await form.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('#adapters-table').getByRole('rowheader', { name: 'redmine2', exact: true }).waitFor();

  const yaml = readFileSync(file(), 'utf8');
  assert.match(yaml, /^trackers:\n  - id: redmine2\n    type: redmine\n/m);
  assert.match(yaml, /api_key: \{file: secrets\/redmine2\.api_key\}/);
  assert.ok(yaml.includes(`project: ${project}`), yaml);
  assert.ok(!yaml.includes(rightKey), 'the key is not in the YAML');
  const secret = join(dataDir, 'secrets', 'redmine2.api_key');
  assert.equal(readFileSync(secret, 'utf8').trim(), rightKey);
  assert.equal(statSync(secret).mode & 0o777, 0o600);

  await page.getByRole('button', { name: 'Check redmine2' }).click();
  await page.locator('#adapters-table').getByRole('row').filter({ hasText: 'redmine2' }).getByText('OK', { exact: true }).waitFor();
  await page.screenshot({ path: join(shots, 'admin-redmine-saved.png'), fullPage: true });
  await checkAccessibility(page, 'admin, a Redmine tracker added');
  assert.deepEqual(problems, []);
});

test('the Redmine tracker is removed again', async () => {
  const section = page.locator('#adapters');
  await section.getByRole('button', { name: 'Remove redmine2' }).click();
  await section.getByRole('button', { name: 'Yes, remove' }).click();
  await section.getByText(/^redmine2 is removed/).waitFor();
  assert.ok(!existsSync(file()));
  assert.deepEqual(problems, []);
});
