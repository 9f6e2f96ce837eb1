// Browser test of the admins' console (/app/admin) against the running debriefd of console.sh.
//
// Environment (all required):
//   DEBRIEF_URL                 where debriefd serves /app/ and /api/v1/
//   DEBRIEF_ADMIN_TOKEN         an API token with the role admin
//   DEBRIEF_LEAD_TOKEN          an API token with the role lead (which may not administer)
//   DEBRIEF_WEBHOOK_SECRET_FILE the file holding the helpdesks' webhook secret (never shown)
//   DEBRIEF_SCREENSHOTS         a directory (under the build folder) for admin-<state>.png
//
//   DEBRIEF_NOTES_PEER          notes_peer.py: the shop helpdesk's write-back endpoint, refusing
//                               until told otherwise
//   DEBRIEF_CONFIG_FILE         debriefd's configuration file, which the reload test edits
//   DEBRIEF_DATA_DIR            debriefd's data_dir: the adapters saved from the console are
//                               in its conf.d, their secrets in files beside them
//
// What an admin does: signs in, checks an adapter, reads the dead letters; sees the shop
// helpdesk's write-backs refused (its last error and refusals in the adapters' table, the
// refused actions listed), retries them once the peer is fixed (each note written once) and
// discards one; makes an API token (its secret shown once, working at once) and revokes it;
// reads the taxonomy, the running configuration, in which no secret appears, and the audit
// log of all this; reloads the configuration: a broken file is refused with its reason and
// changes nothing, a valid one changes a threshold while webhooks keep arriving, every one
// acknowledged and processed; adds a generic helpdesk through the form (its signing secret
// generated, tested, saved into its own conf.d file with the secret in a 0600 file, shown once in
// the setup steps), sees its first webhook verified and a forged one refused; a tracker that
// cannot be reached fails its test and is not saved, with the reason; changes the helpdesk
// (its secret kept) and removes it. A lead's token opens no admin page and no Admin call. Browser: Debian's
// /usr/bin/chromium driven by playwright-core; axe-core.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkAccessibility as axe, checkNarrow, launch, required as need, watch } from './lib.mjs';

const required = (name) => need(name, 'admin.test.mjs');

const baseUrl = required('DEBRIEF_URL').replace(/\/+$/, '');
const adminToken = required('DEBRIEF_ADMIN_TOKEN');
const leadToken = required('DEBRIEF_LEAD_TOKEN');
const webhookSecret = readFileSync(required('DEBRIEF_WEBHOOK_SECRET_FILE'), 'utf8').trim();
const shots = required('DEBRIEF_SCREENSHOTS');
const notesPeer = required('DEBRIEF_NOTES_PEER').replace(/\/+$/, '');
const configFile = required('DEBRIEF_CONFIG_FILE');
const dataDir = required('DEBRIEF_DATA_DIR');
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
  // A new taxonomy version, as `debriefctl taxonomy apply` makes one: a category renamed.
  const taxonomyFile = readFileSync(new URL('../../deploy/taxonomy/default.yaml', import.meta.url), 'utf8');
  const renamed = taxonomyFile.replace('name: Late or missing delivery', 'name: Late, lost or missing delivery');
  assert.notEqual(renamed, taxonomyFile);
  const applied = await (await post('Admin/ApplyTaxonomy', { yaml: renamed }, adminToken)).json();
  assert.equal(applied.applied, true, JSON.stringify(applied));
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

// A ticket to the shop helpdesk, signed as the generic webhook wants (or not).
async function shopTicket(id, signed = true) {
  const body = JSON.stringify({
    event: 'ticket.created',
    ticket: {
      id,
      subject: 'Charged twice this month',
      description: 'I was charged twice for my subscription this month, please refund one.',
      status: 'open',
      requester: { id: `cust-${id}`, email: `${id}@example.com`, name: 'A customer' },
    },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', webhookSecret).update(`${ts}.${body}`).digest('hex');
  return fetch(`${baseUrl}/webhooks/shop`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Debrief-Timestamp': ts,
      'X-Debrief-Signature': signed ? signature : '0'.repeat(64),
      'X-Debrief-Delivery': `admin-test-${id}`,
    },
    body,
  });
}

async function eventually(check, what, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const peerStats = async () => (await fetch(`${notesPeer}/stats`)).json();
const setPeer = async (mode) => assert.equal((await fetch(`${notesPeer}/mode/${mode}`, { method: 'POST' })).status, 200);

async function deadActions() {
  const session = await (await post('session', {}, adminToken)).json();
  const r = await (await post('Admin/ListDeadActions', {}, session.token)).json();
  return r.deadActions ?? [];
}

test("a helpdesk that refuses its write-backs: its error, its failed actions retried once it is fixed", async () => {
  const tickets = ['w1', 'w2', 'w3'];
  for (const id of tickets) assert.equal((await shopTicket(id)).status, 202);
  assert.equal((await shopTicket('forged', false)).status, 401);
  // Each ticket's write-back (one per ticket, cause and task) fails for good at once.
  const perTicket = {};
  await eventually(async () => {
    const dead = (await deadActions()).filter((a) => a.adapterId === 'shop');
    for (const id of tickets) perTicket[id] = dead.filter((a) => a.ticket?.ticketId === id).length;
    return tickets.every((id) => perTicket[id] >= 1);
  }, "the shop's write-backs failed for good");
  await new Promise((r) => setTimeout(r, 1000)); // nothing more is coming
  const dead = (await deadActions()).filter((a) => a.adapterId === 'shop');
  for (const id of tickets) perTicket[id] = dead.filter((a) => a.ticket?.ticketId === id).length;
  const total = dead.length;
  assert.equal((await peerStats()).refused, total, 'a revoked credential is not retried');

  const adapters = page.locator('#adapters-table');
  await page.locator('#adapters').getByRole('button', { name: 'Refresh' }).click();
  const shop = adapters.locator('tr', { has: page.getByRole('rowheader', { name: 'shop', exact: true }) });
  await shop.getByText(/HTTP 401 from POST http:\/\/127\.0\.0\.1:\d+\/notes\/w\d/).waitFor();
  await shop.getByText('bad_signature 1').waitFor();
  await shop.getByRole('link', { name: `${total} failed` }).waitFor();
  assert.match(await shop.innerText(), /just now/, 'the last webhook was accepted just now');

  const failed = page.locator('#dead-actions');
  await failed.getByRole('button', { name: 'Refresh' }).click();
  await failed.getByRole('button', { name: 'Retry all' }).waitFor();
  for (const id of tickets) await failed.getByText(`ticket shop/${id}`).waitFor();
  await failed.getByText('Write the cause back').first().waitFor();
  await page.screenshot({ path: join(shots, 'admin-failed.png'), fullPage: true });
  await checkAccessibility('admin, failed actions');

  // The credential is fixed: every refused note is written, once.
  await setPeer('up');
  await failed.getByRole('button', { name: 'Retry all' }).click();
  await failed.getByText(`${total} back in the outbox, due now.`).waitFor();
  await eventually(async () => {
    const notes = (await peerStats()).notes;
    return tickets.every((id) => notes[id] === perTicket[id]);
  }, 'each refused note is written');
  await failed.getByText(/^No failed actions/).waitFor();
  await new Promise((r) => setTimeout(r, 1500));
  const notes = (await peerStats()).notes;
  assert.deepEqual(
    tickets.map((id) => notes[id]),
    tickets.map((id) => perTicket[id]),
    'each note is written once, never twice',
  );

  // One more refused and given up on: discarded, it is never written.
  await setPeer('down');
  assert.equal((await shopTicket('w4')).status, 202);
  await eventually(async () => (await deadActions()).length >= 1, 'the fourth write-back failed');
  await new Promise((r) => setTimeout(r, 1000));
  const w4 = await deadActions();
  await failed.getByRole('button', { name: 'Refresh' }).click();
  for (const a of w4) {
    await failed.getByRole('button', { name: `Discard action ${a.id}` }).click();
    await failed.getByText('1 discarded: never carried out.').waitFor();
  }
  await failed.getByText(/^No failed actions/).waitFor();
  await setPeer('up');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await peerStats()).notes.w4, undefined, 'a discarded action never runs');
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
  await taxonomy.getByRole('rowheader', { name: 'Late, lost or missing delivery' }).waitFor();
  assert.match(await taxonomy.locator('tr', { hasText: 'delivery-delay' }).innerText(), /Takes tickets/);
  const versions = page.locator('#taxonomy-versions');
  await versions.locator('tr', { hasText: 'delivery-delay renamed from' }).waitFor();
  assert.match(await versions.locator('tr', { hasText: 'config file' }).innerText(), /\d+ categories/);
  await page.locator('#taxonomy').screenshot({ path: join(shots, 'admin-taxonomy.png') });
  const config = page.locator('pre.config');
  await config.waitFor();
  const text = await config.innerText();
  assert.ok(text.includes('webhook-secret'), 'a secret shows where it comes from');
  assert.ok(webhookSecret.length >= 16 && !text.includes(webhookSecret), 'never its value');
  assert.ok(!(await page.content()).includes(webhookSecret));
  // Every change above is in the audit log, under the admin token's name.
  const audit = page.locator('#audit-table');
  for (const action of ['Admin.RetryDeadAction', 'Admin.DiscardDeadAction', 'Admin.CreateApiToken', 'Admin.RevokeApiToken']) {
    await audit.locator('tr', { hasText: action }).first().waitFor();
  }
  const retried = audit.locator('tr', { hasText: 'Admin.RetryDeadAction' }).first();
  assert.match(await retried.innerText(), /web-admin[\s\S]*all: true[\s\S]*ok/);
  await page.getByLabel('Who').fill('nobody-at-all');
  await page.getByRole('button', { name: 'Show', exact: true }).click();
  await page.locator('#audit').getByText('Nothing recorded yet.').waitFor();
  await page.getByLabel('Who').fill('');
  await page.getByRole('button', { name: 'Show', exact: true }).click();
  await audit.locator('tr', { hasText: 'Admin.RevokeApiToken' }).first().waitFor();
  await page.screenshot({ path: join(shots, 'admin-all.png'), fullPage: true });
  await checkAccessibility('admin, all sections');
  // Back to the insights without signing in again.
  await page.getByRole('link', { name: 'Insights' }).click();
  await page.locator('#causes-table').waitFor();
  assert.equal(new URL(page.url()).pathname, '/app/insights');
  assert.deepEqual(problems, []);
});

test('at 320 px nothing scrolls sideways but the tables, each in its own region', async () => {
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.locator('#audit-table').waitFor();
  await checkNarrow(page, shots, 'admin-320');
  assert.deepEqual(problems, []);
});

test('a reload: a broken file changes nothing and says why; a valid one applies while webhooks keep coming', async () => {
  const original = readFileSync(configFile, 'utf8');
  assert.ok(original.includes('open_after_tickets: 3'));
  const section = page.locator('#configuration');
  const outcome = section.locator('#reload-outcome');
  const config = section.locator('pre.config');
  const reload = async () => {
    await section.getByRole('button', { name: 'Reload', exact: true }).click();
    await section.getByRole('button', { name: 'Yes, reload' }).click();
  };
  try {
    writeFileSync(configFile, `${original}link_polcy: {open_after_tickets: 1}\n`);
    await reload();
    await outcome.getByText(/link_polcy/).waitFor();
    assert.match(await outcome.innerText(), /running configuration is unchanged/);
    assert.equal(await outcome.getAttribute('role'), 'alert');
    await page.screenshot({ path: join(shots, 'admin-reload-refused.png'), fullPage: true });
    assert.match(await config.innerText(), /"openAfterTickets": 3/);

    writeFileSync(configFile, original.replace('open_after_tickets: 3', 'open_after_tickets: 4'));
    await section.getByRole('button', { name: 'Check the file' }).click();
    const changes = section.locator('#reload-changes');
    await changes.getByRole('rowheader', { name: 'link_policy.open_after_tickets' }).waitFor();
    assert.match(await outcome.innerText(), /reloading would change 1 setting\./);
    assert.match(await config.innerText(), /"openAfterTickets": 3/, 'a check applies nothing');

    // Webhooks keep coming while the reload runs, and until after it.
    let sending = true;
    const sent = [];
    const load = (async () => {
      for (let i = 0; sending || i < 20; i++) {
        const id = `reload-${i}`;
        sent.push([id, (await shopTicket(id)).status]);
      }
    })();
    await reload();
    await outcome.getByText('Applied: 1 setting changed.').waitFor();
    await config.getByText('"openAfterTickets": 4').waitFor();
    sending = false;
    await load;
    assert.ok(sent.length >= 20);
    assert.deepEqual(sent.filter(([, status]) => status !== 202), [], 'every delivery acknowledged');
    const session = await (await post('session', {}, adminToken)).json();
    await eventually(async () => {
      for (const [id] of sent) {
        const r = await post('Tickets/GetTicket', { ticket: { helpdeskId: 'shop', ticketId: id } }, session.token);
        if (r.status !== 200) return false;
        if (!(await r.json()).classification?.categoryId) return false;
      }
      return true;
    }, 'every delivery sent during the reload is a tagged ticket');
    await page.screenshot({ path: join(shots, 'admin-reload.png'), fullPage: true });
    await checkAccessibility('admin, reloaded');
    // The changes table fits a narrow screen too (scrolling in its own region only).
    await checkNarrow(page, shots, 'admin-reload-320');
    // Both attempts are in the audit log.
    const audit = page.locator('#audit-table');
    await audit.locator('tr', { hasText: 'Admin.Reload' }).first().waitFor();
    assert.ok((await audit.locator('tr', { hasText: 'Admin.Reload' }).count()) >= 3);
  } finally {
    writeFileSync(configFile, original);
  }
  assert.deepEqual(problems, []);
});

// ---- Adding, changing and removing adapters ----

const sample = readFileSync(new URL('../../deploy/samples/01-created-1001.json', import.meta.url), 'utf8');

// A delivery to the generic helpdesk ID, signed with SECRET as its defaults want (HMAC-SHA256 of
// the body, hex, in X-Debrief-Signature; no timestamp).
async function genericTicket(id, ticketId, secret) {
  const delivery = JSON.parse(sample);
  delivery.ticket.id = ticketId;
  delivery.ticket.url = `https://helpdesk.example/tickets/${ticketId}`;
  const body = JSON.stringify(delivery);
  return fetch(`${baseUrl}/webhooks/${id}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Debrief-Signature': createHmac('sha256', secret).update(body).digest('hex'),
    },
    body,
  });
}

async function listAdapters() {
  const session = await (await post('session', {}, adminToken)).json();
  const r = await post('Admin/ListAdapters', {}, session.token);
  assert.equal(r.status, 200);
  return (await r.json()).adapters ?? [];
}

const focusedId = () => page.evaluate(() => document.activeElement?.id ?? '');
// The focus moves in an effect after the element renders: wait for it (a few frames at most).
async function focusMovesTo(id, what) {
  await eventually(async () => (await focusedId()) === id, what, 5000);
}

// Where the adapter's YAML says its secret is: {file: PATH} (flow or block style), resolved
// against data_dir.
function secretFileOf(yaml, name) {
  const m = new RegExp(`${name}:\\s*(?:\\{\\s*)?file:\\s*["']?([^\\s"',}]+)`).exec(yaml);
  assert.ok(m, `${name} is a file reference:\n${yaml}`);
  return isAbsolute(m[1]) ? m[1] : join(dataDir, m[1]);
}

const shop2File = join(dataDir, 'conf.d', 'shop2.yaml');
let shop2Secret = '';
let shop2SecretFile = '';

test('an admin adds a helpdesk: the form, its test, the file it is saved in, its first webhook', async () => {
  const section = page.locator('#adapters');
  await section.getByRole('button', { name: 'Refresh' }).click();
  const adapters = page.locator('#adapters-table');
  // Adapters of the main file are changed there: no Edit, no Remove.
  const support = adapters.locator('tr', { has: page.getByRole('rowheader', { name: 'support', exact: true }) });
  await support.getByText('In debrief.yaml').waitFor();
  assert.equal(await section.getByRole('button', { name: 'Edit support' }).count(), 0);
  assert.equal(await section.getByRole('button', { name: 'Remove support' }).count(), 0);

  await section.getByRole('button', { name: 'Add an adapter' }).click();
  const form = page.locator('#adapter-form-panel');
  await form.getByRole('heading', { name: 'Add an adapter' }).waitFor();
  await focusMovesTo('adapter-form-heading', 'the focus moves to the form');
  const type = form.getByLabel('Helpdesk or tracker');
  await type.locator('optgroup[label="Helpdesks"] option[value="helpdesk/generic"]').waitFor({ state: 'attached' });
  await type.locator('optgroup[label="Trackers"] option[value="tracker/redmine"]').waitFor({ state: 'attached' });
  await type.selectOption('helpdesk/generic');
  await form.getByLabel('Id', { exact: true }).fill('shop 2');
  await form.getByRole('button', { name: 'Test connection' }).click();
  await form.getByRole('alert').getByText('The id takes letters, digits, - and _ only.').first().waitFor();
  await form.getByLabel('Id', { exact: true }).fill('shop2');

  // The settings, from the type's settings message: labelled, described, typed.
  const secret = form.locator('#adapter-field-secret');
  assert.equal(await secret.getAttribute('type'), 'password');
  assert.equal(await secret.getAttribute('autocomplete'), 'new-password');
  assert.match(await form.locator('label[for="adapter-field-secret"]').innerText(), /^Secret \(required\)/);
  assert.match(await form.locator(`#${await secret.getAttribute('aria-describedby').then((d) => d.split(' ')[0])}`).innerText(), /HMAC-SHA256/);
  assert.equal(await form.locator('#adapter-field-replay_window').getAttribute('placeholder'), 'Default: 5m');
  assert.equal(await form.locator('#adapter-field-events').evaluate((e) => e.tagName), 'TEXTAREA');
  const writeBack = form.locator('details', { has: page.getByText('Write back', { exact: true }) });
  assert.equal(await writeBack.evaluate((d) => d.open), false, 'an optional group starts closed');
  assert.equal(await form.getByRole('button', { name: 'Generate secret' }).count(), 1);
  assert.equal(await form.getByRole('button', { name: /^Generate/ }).count(), 1, 'no Generate for a token the helpdesk issues');
  await form.getByRole('button', { name: 'Generate secret' }).click();
  assert.match(await secret.inputValue(), /^[0-9a-f]{64}$/);
  await form.getByText('A new random secret is in the field.').waitFor();
  await form.locator('#adapter-field-delivery_id_header').fill('X-Debrief-Delivery');

  await form.getByRole('button', { name: 'Test connection' }).click();
  const outcome = form.locator('#adapter-form-outcome');
  await outcome.getByText(/^Connection OK/).waitFor();
  assert.equal(await outcome.getAttribute('role'), 'status');
  await page.screenshot({ path: join(shots, 'admin-adapter-form.png'), fullPage: true });
  await checkAccessibility('admin, adding an adapter');
  await checkNarrow(page, shots, 'admin-adapter-form-320');

  await form.getByRole('button', { name: 'Save', exact: true }).click();
  const setup = page.locator('#adapter-setup');
  await setup.getByRole('heading', { name: 'shop2 is saved: set up its webhooks' }).waitFor();
  await focusMovesTo('adapter-setup-heading', 'the focus moves to the setup panel');
  assert.equal(await form.count(), 0, 'the form closes');
  await setup.getByText(`${baseUrl}/webhooks/shop2`, { exact: true }).waitFor();
  await setup.getByText(/^Saved to .*shop2\.yaml/).waitFor();
  const once = setup.locator('li', { hasText: 'Signing secret to paste (shown once)' });
  shop2Secret = (await once.locator('code').innerText()).trim();
  assert.match(shop2Secret, /^[0-9a-f]{64}$/);
  await once.getByRole('button', { name: 'Copy the signing secret' }).waitFor();
  await setup.getByText('Waiting for the first webhook…').waitFor();
  assert.ok(
    !(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + location.href)).includes(shop2Secret),
    'the secret is kept in no storage and no URL',
  );
  await adapters.getByRole('rowheader', { name: 'shop2', exact: true }).waitFor();
  await section.getByRole('button', { name: 'Edit shop2' }).waitFor();

  // Its own file, as a person would write it, with the secret as a file reference only.
  const yaml = readFileSync(shop2File, 'utf8');
  assert.match(yaml, /^helpdesks:\s*$/m, yaml);
  assert.match(yaml, /^\s*- id: shop2\s*$/m, yaml);
  assert.match(yaml, /^\s*type: generic\s*$/m, yaml);
  assert.match(yaml, /^\s*delivery_id_header: "?X-Debrief-Delivery"?\s*$/m, yaml);
  assert.ok(!yaml.trimStart().startsWith('{'), 'YAML, not JSON');
  assert.ok(!yaml.includes(shop2Secret), 'never the secret itself');
  shop2SecretFile = secretFileOf(yaml, 'secret');
  assert.equal(readFileSync(shop2SecretFile, 'utf8').trim(), shop2Secret);
  assert.equal(statSync(shop2SecretFile).mode & 0o777, 0o600, 'the secret file is readable by debriefd only');

  // The first webhook, signed with the secret: accepted and verified, said in the panel.
  assert.equal((await genericTicket('shop2', 'shop2-1', shop2Secret)).status, 202);
  const wait = setup.locator('#adapter-webhook-wait');
  await wait.getByText(/^First webhook arrived at .+ and its signature verified\.$/).waitFor();
  // A forged one is refused, with the reason.
  assert.equal((await genericTicket('shop2', 'shop2-forged', '0'.repeat(64))).status, 401);
  await wait.getByText('A webhook arrived but was refused: bad_signature (1 in the last hour).').waitFor();
  await page.screenshot({ path: join(shots, 'admin-adapter-setup.png'), fullPage: true });
  await checkAccessibility('admin, setting up an adapter');

  // Closed, the panel stops asking and the secret is gone from the page.
  const asked = [];
  const onRequest = (r) => r.url().endsWith('/api/v1/Admin/ListAdapters') && asked.push(r.url());
  await setup.getByRole('button', { name: 'Close' }).click();
  page.on('request', onRequest);
  await new Promise((r) => setTimeout(r, 4500));
  page.off('request', onRequest);
  assert.deepEqual(asked, [], 'no polling once the panel is closed');
  assert.ok(!(await page.content()).includes(shop2Secret), 'the secret was shown once');
  // From the row, the same steps, without the secret.
  await section.getByRole('button', { name: 'Set up webhooks of shop2' }).click();
  await setup.getByRole('heading', { name: 'Set up the webhooks of shop2' }).waitFor();
  await setup.getByText(`${baseUrl}/webhooks/shop2`, { exact: true }).waitFor();
  await setup.getByText(/^(First|A new) webhook arrived|^The last webhook arrived/).waitFor();
  assert.equal(await setup.getByText('Signing secret to paste (shown once)').count(), 0);
  await setup.getByRole('button', { name: 'Close' }).click();
  assert.deepEqual(problems, []);
});

test('a tracker that cannot be reached fails its test and is not saved, with the reason', async () => {
  const section = page.locator('#adapters');
  await section.getByRole('button', { name: 'Add an adapter' }).click();
  const form = page.locator('#adapter-form-panel');
  await form.getByLabel('Helpdesk or tracker').selectOption('tracker/redmine');
  await form.getByLabel('Id', { exact: true }).fill('bugs');
  await form.locator('#adapter-field-url').fill('http://127.0.0.1:1');
  await form.locator('#adapter-field-api_key').fill('0123456789abcdef0123456789abcdef01234567');
  await form.locator('#adapter-field-project').fill('web');
  assert.equal(await form.getByRole('button', { name: /^Generate/ }).count(), 0, "a tracker's API key is not made up");
  await form.getByRole('button', { name: 'Test connection' }).click();
  const outcome = form.locator('#adapter-form-outcome');
  await outcome.getByText(/^The connection test failed: /).waitFor();
  assert.equal(await outcome.getAttribute('role'), 'alert');
  const reason = (await outcome.innerText()).replace(/^The connection test failed: /, '').trim();
  assert.ok(reason.length > 5, 'it says why');
  await page.screenshot({ path: join(shots, 'admin-adapter-failure.png'), fullPage: true });
  await checkAccessibility('admin, a failed connection test');

  await form.getByRole('button', { name: 'Save', exact: true }).click();
  await outcome.getByText(/^Debrief could not save bugs\. /).waitFor();
  assert.equal(await outcome.getAttribute('role'), 'alert');
  const words = (t) => t.toLowerCase().replace(/[.\s]+$/, '');
  assert.ok(
    words(await outcome.innerText()).includes(words(reason).slice(0, 40)),
    `the save says the check's reason: ${await outcome.innerText()} / ${reason}`,
  );
  await form.getByRole('heading', { name: 'Add an adapter' }).waitFor();
  assert.equal(await form.locator('#adapter-field-url').inputValue(), 'http://127.0.0.1:1', 'the form stays as filled');
  assert.ok(!existsSync(join(dataDir, 'conf.d', 'bugs.yaml')), 'nothing saved');
  assert.ok(!(await listAdapters()).some((a) => a.id === 'bugs'), 'nothing running');
  await page.screenshot({ path: join(shots, 'admin-adapter-refused.png'), fullPage: true });
  await form.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await form.count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Add an adapter');
  assert.deepEqual(problems, []);
});

test('an admin changes the helpdesk, its secret kept, and removes it', async () => {
  const section = page.locator('#adapters');
  await section.getByRole('button', { name: 'Edit shop2' }).click();
  const form = page.locator('#adapter-form-panel');
  await form.getByRole('heading', { name: 'Change shop2' }).waitFor();
  await focusMovesTo('adapter-form-heading', 'the focus moves to the form');
  const id = form.getByLabel('Id', { exact: true });
  assert.equal(await id.inputValue(), 'shop2');
  assert.equal(await id.getAttribute('readonly'), '');
  assert.equal(await form.locator('#adapter-field-delivery_id_header').inputValue(), 'X-Debrief-Delivery');
  assert.equal(await form.locator('#adapter-field-secret').inputValue(), '', 'a secret is never sent back');
  await form.locator('#adapter-field-delivery_id_header').fill('X-Shop2-Delivery');
  await form.getByRole('button', { name: 'Save', exact: true }).click();
  const setup = page.locator('#adapter-setup');
  await setup.getByRole('heading', { name: 'shop2 is saved: set up its webhooks' }).waitFor();
  assert.equal(await setup.getByText('Signing secret to paste (shown once)').count(), 0);
  const yaml = readFileSync(shop2File, 'utf8');
  assert.match(yaml, /^\s*delivery_id_header: "?X-Shop2-Delivery"?\s*$/m, yaml);
  assert.equal(secretFileOf(yaml, 'secret'), shop2SecretFile, 'the secret is kept where it was');
  assert.equal(readFileSync(shop2SecretFile, 'utf8').trim(), shop2Secret);
  assert.equal((await genericTicket('shop2', 'shop2-2', shop2Secret)).status, 202, 'the secret still signs');
  await setup.getByRole('button', { name: 'Close' }).click();

  await section.getByRole('button', { name: 'Remove shop2' }).click();
  await section.getByText('Remove shop2? Its file and secrets are deleted and it stops at once.').waitFor();
  await section.getByRole('button', { name: 'Yes, remove' }).click();
  await section.getByText(/^shop2 is removed/).waitFor();
  const adapters = page.locator('#adapters-table');
  await adapters.getByRole('rowheader', { name: 'shop2', exact: true }).waitFor({ state: 'detached' });
  assert.ok(!existsSync(shop2File), 'its file is gone');
  assert.ok(!(await listAdapters()).some((a) => a.id === 'shop2'));
  assert.equal((await genericTicket('shop2', 'shop2-3', shop2Secret)).status, 404, 'it takes no more webhooks');
  await checkAccessibility('admin, an adapter removed');
  assert.deepEqual(problems, []);
});

test("a lead's token opens no admin page and no Admin call", async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto(`${baseUrl}/app/admin`);
  await signIn(leadToken);
  await page.getByText("The admin console is for admins; this API token is a lead's.").waitFor();
  assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0);
  const session = await (await post('session', {}, leadToken)).json();
  for (const method of [
    'Admin/ListAdapters',
    'Admin/GetConfig',
    'Admin/ListDeadLetters',
    'Admin/ListDeadActions',
    'Admin/RetryDeadAction',
    'Admin/ListAudit',
    'Admin/ListAdapterTypes',
    'Admin/SaveAdapter',
    'Admin/RemoveAdapter',
    'Admin/GetAdapterSetup',
    'Admin/DiffTaxonomy',
    'Admin/ApplyTaxonomy',
    'Admin/TaxonomyHistory',
  ]) {
    assert.equal((await post(method, {}, session.token)).status, 403, method);
  }
});
