// The staff console in headless Chromium: sign in as the demo receptionist, see a guest message
// sent with `lobbybee guest say` arrive live, reply, watch the delivery ticks move while the
// guest simulator receives the reply, then lose the socket and see the console come back with
// what was sent meanwhile. Every wait is for an element or an answer, with a timeout.
//
// Run by infra/scripts/browser.sh, which provides:
//   LOBBYBEE_LOCAL  the lobbybee-local binary (this test starts its own gateway on a free port,
//                   on the emulator at AWS_ENDPOINT_URL, with a tenant of its own), or
//   LOBBYBEE_URL    the base of a running local gateway to use instead (http://127.0.0.1:8080);
//   LOBBYBEE_CLI    the lobbybee binary;
//   BROWSER_OUT     where screenshots go (.local/browser).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const OUT = process.env.BROWSER_OUT || join(ROOT, '.local/browser');
const CLI = process.env.LOBBYBEE_CLI;
const WAIT = 15_000; // the longest any step may take
const GUEST = '+919876543210'; // the demo guest Asha Rao, room 204
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

let gateway = null; // the child process, when this test started the gateway
let base = process.env.LOBBYBEE_URL || null;
let browser = null;
let shot = 0;

/** Starts `lobbybee-local up --port 0` and resolves with its console's base URL. */
function startGateway() {
  const tenant = `browser-${process.pid}`;
  gateway = spawn(process.env.LOBBYBEE_LOCAL, ['up', '--port', '0', '--template', join(ROOT, 'template.yaml'), '--tenant', tenant], {
    cwd: ROOT,
    env: { ...process.env, LOBBYBEE_METRICS: 'off', RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the gateway printed no console URL within 120 s')), 120_000);
    let seen = '';
    gateway.stdout.on('data', (chunk) => {
      seen += chunk;
      const found = seen.match(/Staff console\s+(http:\/\/127\.0\.0\.1:\d+)\/console\//);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    gateway.on('exit', (code) => reject(new Error(`the gateway exited with ${code} before it was ready`)));
  });
}

async function cli(...args) {
  const { stdout } = await run(CLI, ['--api', `${base}/api/chat/`, ...args], { timeout: WAIT });
  return stdout;
}

async function local(path, body) {
  const response = await fetch(`${base}${path}`, { method: 'POST', body: body ? JSON.stringify(body) : undefined });
  const text = await response.text();
  assert.equal(response.status, 200, `${path}: ${text}`);
  return JSON.parse(text);
}

async function screenshot(page, name) {
  shot += 1;
  await page.screenshot({ path: join(OUT, `${String(shot).padStart(2, '0')}-${name}.png`) });
}

before(async () => {
  mkdirSync(OUT, { recursive: true });
  assert.ok(CLI, 'LOBBYBEE_CLI names the lobbybee binary');
  if (!base) base = await startGateway();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS, // playwright adds a fresh temporary --user-data-dir of its own
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close();
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway.on('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
});

test('the staff console, end to end', { timeout: 300_000 }, async (t) => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 820 } });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  await page.clock.install(); // time flows as usual; the Reopen step moves it on
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  // A gateway of this test's own has a fresh table; on a shared one the texts are made unique.
  const mark = process.env.LOBBYBEE_URL ? ` (${Date.now().toString(36)})` : '';
  const first = `Could I have a late checkout?${mark}`;
  const reply = `Of course, until 2 pm. Enjoy your stay!${mark}`;
  const whileAway = `And a taxi to the airport at 3, please${mark}`;
  const thanks = `Thank you!${mark}`;
  const guestFrame = page.frameLocator('#guest-frame');
  const pill = page.locator('#connection');

  await t.test('signs in as the demo receptionist', async () => {
    await page.goto(`${base}/console/`);
    await page.locator('#demo-staff').selectOption('101');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('#connection[data-state="open"]').waitFor();
    assert.equal(await page.locator('#me').textContent(), 'Rita Reception');
    await page.getByRole('button', { name: 'Guest simulator' }).click();
    await guestFrame.locator('#guest option').first().waitFor({ state: 'attached' });
    await screenshot(page, 'signed-in');
  });

  await t.test('a guest message sent with the CLI arrives live', async () => {
    const started = Date.now();
    const said = await cli('--output', 'json', 'guest', 'say', GUEST, first);
    assert.equal(JSON.parse(said).success, true);
    const item = page.locator('#conversations .conversation', { hasText: first });
    await item.waitFor();
    t.diagnostic(`the message was in the list ${Date.now() - started} ms after the CLI started`);
    assert.match(await item.textContent(), /Room 204/);
    assert.match(await item.textContent(), /Reception/);
    await item.click();
    await page.locator('#messages .message.guest', { hasText: first }).waitFor();
    await screenshot(page, 'guest-message');
  });

  await t.test('a reply moves queued → sent → delivered → read, and the guest sees it', async () => {
    // Every status a rendered reply shows, in order (the page replaces a message's element when
    // its status changes).
    await page.evaluate(() => {
      window.seenStatuses = [];
      new MutationObserver((changes) => {
        for (const change of changes) {
          for (const node of change.addedNodes) {
            if (node.classList?.contains('staff')) window.seenStatuses.push(node.dataset.status);
          }
        }
      }).observe(document.getElementById('messages'), { childList: true });
    });
    await guestFrame.locator('#auto-read').uncheck(); // the guest's phone gets it, reads it later
    await page.locator('#composer-text').fill(reply);
    await guestFrame.locator('#guest-typing', { hasText: 'Rita Reception is typing' }).waitFor(); // typing reaches the guest
    await page.locator('#composer-text').press('Enter');
    const mine = page.locator('#messages .message.staff', { hasText: reply });
    await mine.and(page.locator('[data-status="delivered"]')).waitFor();
    await guestFrame.locator('#thread .message.staff', { hasText: reply }).waitFor();
    await screenshot(page, 'delivered');
    await guestFrame.locator('#auto-read').check(); // now the phone reads it
    await mine.and(page.locator('[data-status="read"]')).waitFor();
    await guestFrame.locator('#thread .message.staff[data-status="read"]', { hasText: reply }).waitFor();
    const seen = await page.evaluate(() => window.seenStatuses);
    t.diagnostic(`statuses shown: ${seen.join(' → ')}`);
    const order = ['sending', 'queued', 'sent', 'delivered', 'read'];
    const ranks = seen.map((s) => order.indexOf(s));
    assert.ok(ranks.every((r, i) => r >= 0 && (i === 0 || r >= ranks[i - 1])), `statuses out of order: ${seen}`);
    for (const status of ['sending', 'delivered', 'read']) assert.ok(seen.includes(status), `${status} never shown: ${seen}`);
    assert.equal(await mine.locator('.ticks').getAttribute('aria-label'), 'Delivery: read');
    await screenshot(page, 'read');
  });

  await t.test('after the socket drops, it reconnects and shows what came meanwhile', async () => {
    const dropped = await local('/_local/sockets/drop', { hold: true });
    assert.ok(dropped.dropped >= 1, 'the console had a socket open');
    await page.locator('#connection[data-state="waiting"]').waitFor();
    await screenshot(page, 'reconnecting');
    await cli('guest', 'say', GUEST, whileAway);
    assert.notEqual(await pill.getAttribute('data-state'), 'open', 'the message must be sent while the console is away');
    await local('/_local/sockets/resume');
    await page.locator('#connection[data-state="open"]').waitFor({ timeout: 40_000 });
    await page.locator('#messages .message.guest', { hasText: whileAway }).waitFor();
    await page.locator('#conversations .conversation', { hasText: whileAway }).waitFor();
    // And the socket is live again: the next message arrives without a reload.
    await cli('guest', 'say', GUEST, thanks);
    await page.locator('#messages .message.guest', { hasText: thanks }).waitFor();
    await screenshot(page, 'reconnected');
    await page.screenshot({ path: join(OUT, 'console.png') }); // the README's picture (docs/console.png)
  });

  await t.test('it is usable on a phone-sized screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    phone.setDefaultTimeout(WAIT);
    const small = await phone.newPage();
    await small.goto(`${base}/console/`);
    await small.locator('#demo-staff').selectOption('101');
    await small.getByRole('button', { name: 'Sign in', exact: true }).click();
    const item = small.locator('#conversations .conversation', { hasText: thanks });
    await item.click();
    await small.locator('#composer-text').waitFor();
    assert.equal(await small.locator('#inbox').isVisible(), false, 'one pane at a time');
    await screenshot(small, 'phone-conversation');
    await small.getByRole('button', { name: 'Back to the conversations' }).click();
    await small.locator('#inbox').waitFor();
    await phone.close();
  });

  await t.test('sends an image: uploaded over REST, then a media frame', async () => {
    // A 1×1 PNG.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    await page.locator('#composer-file').setInputFiles({ name: 'towels.png', mimeType: 'image/png', buffer: png });
    const sent = page.locator('#messages .message.staff', { has: page.locator('img.image') }).last();
    await sent.and(page.locator('[data-status="read"]')).waitFor();
    await guestFrame.locator('#thread .message.staff', { hasText: '[image]' }).waitFor();
    // Reopened, the stored image is fetched with the staff token (the link answers with a redirect).
    await page.locator('#conversations .conversation').first().click();
    const stored = page.locator('#messages .message.staff img.image').last();
    await stored.and(page.locator('[src^="blob:"]')).waitFor();
  });

  await t.test('pages back through a long history', async () => {
    for (let i = 1; i <= 35; i += 1) await cli('guest', 'say', GUEST, `Line ${i}${mark}`);
    await page.locator('#messages .message.guest', { hasText: `Line 35${mark}` }).waitFor();
    await page.locator('#conversations .conversation').first().click();
    await page.locator('#messages .message.guest', { hasText: `Line 35${mark}` }).waitFor();
    const before = await page.locator('#messages .message').count();
    assert.equal(before, 30, 'the first page holds 30 messages');
    await page.locator('#messages').evaluate((list) => { list.scrollTop = 0; });
    await page.locator('#messages .message', { hasText: first }).waitFor();
    assert.ok(await page.locator('#messages .message').count() > before);
  });

  await t.test('reopens a quiet conversation, and the guest continues', async () => {
    await page.clock.fastForward('03:00'); // two quiet minutes make "Reopen" appear
    await page.getByRole('button', { name: 'Reopen' }).click();
    const question = page.locator('#messages .message.staff', { hasText: 'There is an update to your Reception conversation' });
    await question.waitFor();
    await guestFrame.getByRole('button', { name: 'Continue' }).click();
    await page.locator('#messages .message.guest', { hasText: 'Asha has reopened the conversation' }).waitFor();
    await guestFrame.locator('#thread .message.staff', { hasText: 'You are connected' }).waitFor();
    await screenshot(page, 'reopened');
  });

  await t.test('assigns and closes', async () => {
    await page.locator('#assign-box summary').click();
    await page.getByRole('button', { name: 'Assign to me' }).click();
    await page.locator('#chat-subtitle', { hasText: 'assigned to 101' }).waitFor();
    await page.getByRole('button', { name: 'Close', exact: true }).click();
    await page.locator('#closed-note').waitFor();
    await page.locator('#conversations .conversation').first().waitFor({ state: 'detached' });
    await page.locator('#status-filter').selectOption('closed');
    await page.locator('#conversations .conversation[data-status="closed"]').first().waitFor();
    await screenshot(page, 'closed');
  });

  assert.deepEqual(problems, [], 'no script errors on the page');
  await context.close();
});
