// The web view in a real browser: Debian's chromium driven by playwright-core (never a downloaded browser), against
// a live `serve --http`. The page shows the mdev bus; creating an mdev (confirmed) makes it appear; unregistering it
// (confirmed) draws its timeline lanes through register ... unregister, release, free. Skips, saying why, only when
// /usr/bin/chromium is absent (`.ci/run` installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startWebServe } from './web.test-kit.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium; .ci/run does it)`;

test('the page against a live server: create an mdev, see it, unregister it, see its timeline lanes', { skip, timeout: 120_000 }, async (t) => {
  const { server, url } = await startWebServe(t, { runDir: 'run', requestIntervalMs: 50, devices: [{ driver: 'mtty', type: '2' }] });
  const profile = mkdtempSync(join(tmpdir(), 'vfio-ts-chromium-'));
  t.after(() => rmSync(profile, { recursive: true, force: true }));
  // A fresh profile (playwright passes it as --user-data-dir) in a temp dir.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  const page = browser.pages()[0] ?? (await browser.newPage());
  // No request leaves this server: the page works without a network.
  const foreign: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(url)) foreign.push(r.url());
  });
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.accept();
  });

  await page.goto(url);
  await page.locator('details[data-bus="mdev"] li').first().waitFor();
  await page.locator('#devices tr[data-device="vfio0"]').waitFor();
  assert.equal(await page.locator('#conn').textContent(), 'live');

  // Create an mdev of mtty-1 (confirmed), and see it in the tree and the device table.
  await page.selectOption('#mdev-type', 'mtty/mtty-1');
  await page.click('#create-btn');
  await page.locator('#status', { hasText: /created mdev .* as vfio1/ }).waitFor();
  await page.locator('#devices tr[data-device="vfio1"]').waitFor();
  assert.equal(await page.locator('details[data-bus="mdev"] li').count(), 2);
  assert.match((await page.locator('#devices tr[data-device="vfio1"]').textContent()) ?? '', /registered/);

  // Unregister it (confirmed): the lane shows its whole life.
  await page.click('button[data-action="unregister"][data-device="vfio1"]');
  await page.locator('#status', { hasText: 'unregistered vfio1' }).waitFor();
  const lane = page.locator('#timeline g.lane[data-device="vfio1"]');
  await lane.locator('circle[data-event="free"]').waitFor();
  const steps = await lane.locator('circle.ev').evaluateAll((cs) => cs.map((c) => c.getAttribute('data-event')));
  assert.deepEqual(steps, ['alloc', 'init', 'register', 'unregister', 'release', 'free']);
  assert.ok((await page.locator('#timeline g.lane').count()) >= 2, 'one lane per device');
  // Hover shows the time and the detail.
  await lane.locator('circle[data-event="register"]').hover();
  assert.match((await page.locator('#tip').textContent()) ?? '', /^\d{4}-\d\d-\d\dT.* register vfio1 \(vfio-mtty\)/);
  assert.ok(dialogs.some((d) => /Create an mdev of type mtty-1/.test(d)) && dialogs.some((d) => /Unregister vfio1/.test(d)), dialogs.join('\n'));
  assert.deepEqual(foreign, []);

  await browser.close();
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.match(server.stderr, /sanitizer: no leaks, no findings/);
});
