// /docs in a real browser (Debian's chromium): it renders the API, and every request the page makes
// goes to this server. Brand networks and these machines have no internet; a CDN link would break it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { testApp } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

let app: FastifyInstance;
let browser: Browser;
let base: string;

before(async () => {
  if (!hasChromium) return;
  ({ app } = await testApp());
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
after(async () => {
  await browser?.close();
  await app?.close();
});

test('/docs renders the API reference with no external requests', {
  skip: hasChromium ? false : `needs ${CHROMIUM} (apt-get install chromium)`,
}, async () => {
  const page = await browser.newPage();
  const requested: string[] = [];
  const failed: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  page.on('requestfailed', (r) => failed.push(r.url()));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto(`${base}/docs`);
  await page.getByText('/v1/tenant', { exact: true }).first().waitFor({ timeout: 15_000 });
  assert.equal(await page.title(), 'Moa API');
  assert.ok(await page.getByText('The tenant (brand) the API key belongs to').first().isVisible());

  const origin = new URL(base).origin;
  const external = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'));
  assert.deepEqual(external, [], 'every request goes to this server');
  assert.deepEqual(failed, []);
  assert.deepEqual(errors, []);
  assert.ok(
    requested.some((u) => u.endsWith('/docs/json')),
    'the spec is loaded from this server',
  );
  await page.close();
});
