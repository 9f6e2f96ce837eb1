// What the browser tests share: their environment, Debian's headless Chromium (CHROMIUM
// overrides /usr/bin/chromium; --no-sandbox because tests run as root; no browser download),
// the messages a page must never log, and axe-core.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// An environment variable the test needs; `file` names the test whose header lists them.
export function required(name, file) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (see the header of ${file})`);
  return v;
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
}

// Collects into `problems` what a page should never log: CSP refusals (a refused frame, an
// inline style) and uncaught script errors.
export function watch(page, problems, timeoutMs = 15_000) {
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|frame-ancestors|Refused to/i.test(m.text()))
      problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.setDefaultTimeout(timeoutMs);
}

// axe-core on a page or a frame: fails on serious and critical findings. It runs through the
// DevTools protocol, which the page's CSP (script-src 'self') does not govern, so the page keeps
// its real policy while it is checked.
export async function checkAccessibility(target, state) {
  await target.evaluate(axeSource);
  const result = await target.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'] }),
  );
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    );
  assert.deepEqual(bad, [], `${state}: axe-core found serious accessibility problems`);
}

// At 320 px nothing scrolls sideways but the tables (each in its own region): a full-page
// screenshot as NAME.png in DIR, then axe-core at that width; the viewport is put back.
export async function checkNarrow(page, dir, name) {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 320, height: 900 });
  // Charts follow the new width on their next resize observation.
  await page
    .waitForFunction(
      () => document.documentElement.scrollWidth <= document.documentElement.clientWidth,
      undefined,
      { timeout: 5_000 },
    )
    .catch(() => {});
  const [scrollWidth, clientWidth] = await page.evaluate(() => [
    document.documentElement.scrollWidth,
    document.documentElement.clientWidth,
  ]);
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
  if (scrollWidth > clientWidth) throw new Error(`the page is ${scrollWidth} px wide in ${clientWidth} px`);
  await checkAccessibility(page, `${name}, 320 px`);
  await page.setViewportSize(before);
}
