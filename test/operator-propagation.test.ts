// Suspending an operator and "log out everywhere" hold in every server process within a second:
// two `moa serve` processes on one PostgreSQL database; the operator signs in through A, the change
// is made through B, and A is polled until it refuses the session. The bound is the product's
// promise (issue 16), so it is asserted here; every request reads the session from the database,
// so the delay is one poll.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { totpCode } from '../src/modules/operators/index.ts';
import { PLATFORM_TOKEN, randomBrn } from './helpers.ts';
import { runCli, type Server, startServer } from './moa-process.ts';
import { type ConsoleBrowser, consoleBrowser, signIn } from './operator-client.ts';
import { createScratchDatabase } from './scratch-database.ts';

const serverUrl = process.env.TEST_DATABASE_URL;
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const PASSWORD = 'moa-console-장미-2026';
const POLL_MS = 50;
const BOUND_MS = 1_000;

async function api(base: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** An operator invited by the brand's key, who accepts and enrols TOTP through `server`: signed in there. */
async function enrolledOperator(server: Server, key: string, role: string) {
  const email = `op.${randomBytes(4).toString('hex')}@moacafe.kr`;
  const invitation = await api(server.base, '/v1/operators/invitations', key, { email, name: '김민지', role });
  const b = consoleBrowser(server.base);
  assert.equal((await b.send('POST', `/auth/invitations/${invitation.token}/accept`, { password: PASSWORD })).status, 200);
  const { secret } = (await b.send('POST', '/auth/enrol/totp')).body as { secret: string };
  const confirmed = await b.send('POST', '/auth/enrol/totp/confirm', { code: totpCode(secret, new Date()) });
  assert.equal(confirmed.body.stage, 'full', JSON.stringify(confirmed.body));
  const me = await b.send('GET', '/auth/session');
  return {
    email,
    id: (me.body.operator as { id: string }).id,
    browser: b,
    recoveryCodes: confirmed.body.recoveryCodes as string[],
  };
}

/**
 * Polls `browser`'s session every 50 ms while `change` runs, until the server refuses it. Returns
 * the delay from the moment the change was sent (an upper bound of the propagation) and from its
 * answer, with the polls that were still accepted.
 */
async function refusalDelay(browser: ConsoleBrowser, change: () => Promise<void>) {
  let sentAt = 0;
  let answeredAt = 0;
  let accepted = 0;
  const poll = (async () => {
    for (;;) {
      const { status } = await browser.send('GET', '/auth/session');
      const at = performance.now();
      if (status === 401) return at;
      assert.equal(status, 200);
      accepted++;
      if (sentAt && at - sentAt > 10_000) throw new Error('the session was still accepted 10 s after the change');
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();
  // A few accepted polls first: the session is live on A before the change.
  while (accepted < 3) await new Promise((r) => setTimeout(r, POLL_MS));
  sentAt = performance.now();
  await change();
  answeredAt = performance.now();
  const refusedAt = await poll;
  return {
    sinceSentMs: Math.round(refusedAt - sentAt),
    sinceAnsweredMs: Math.max(0, Math.round(refusedAt - answeredAt)),
    acceptedPolls: accepted,
  };
}

test('PostgreSQL, two processes: a suspension through B and a log-out-everywhere through B end the session on A within a second', {
  skip: serverUrl ? false : 'needs TEST_DATABASE_URL',
}, async (t) => {
  const scratch = await createScratchDatabase(serverUrl!, 'moa_test_oprop');
  cleanups.push(scratch.drop);
  const env = { DATABASE_URL: scratch.url, MOA_ALLOW_SANDBOX: 'true', MOA_MASTER_KEY: randomBytes(32).toString('base64') };
  const a = await startServer(env, cleanups);
  const b = await startServer(env, cleanups);

  const tenant = await api(a.base, '/platform/v1/tenants', PLATFORM_TOKEN, {
    name: 'Two Servers',
    businessRegistrationNumber: randomBrn(),
  });
  const { key } = (await api(a.base, `/platform/v1/tenants/${tenant.id}/api-keys`, PLATFORM_TOKEN, {
    name: 'server',
    scope: 'server',
  })) as { key: string };

  // Suspension: the brand's server suspends the agent through B.
  const agent = await enrolledOperator(a, key, 'cs');
  const suspension = await refusalDelay(agent.browser, async () => {
    const operator = await api(b.base, `/v1/operators/${agent.id}/suspend`, key, {});
    assert.equal(operator.status, 'suspended');
  });
  t.diagnostic(`suspension through B, refused by A after ${JSON.stringify(suspension)}`);
  assert.ok(suspension.sinceSentMs < BOUND_MS, `A refused the suspended operator's session after ${suspension.sinceSentMs} ms`);

  // With DATABASE_URL the CLI works on the database beside the servers.
  const listed = await runCli(['operator', 'list', '--tenant', String(tenant.id)], env);
  assert.equal(listed.code, 0, listed.out);
  const { operators } = JSON.parse(listed.out) as { operators: { id: string; status: string }[] };
  assert.deepEqual(
    operators.map((o) => [o.id, o.status]),
    [[agent.id, 'suspended']],
  );

  // Log out everywhere: the operator signs in again through B (with a recovery code: the TOTP code
  // of this 30-second step was used) and logs out everywhere there.
  const person = await enrolledOperator(a, key, 'marketer');
  const elsewhere = await signIn(b.base, person.email, PASSWORD, { method: 'recovery_code', code: person.recoveryCodes[0]! });
  const logout = await refusalDelay(person.browser, async () => {
    assert.equal((await elsewhere.send('POST', '/auth/logout-everywhere')).status, 204);
  });
  t.diagnostic(`log out everywhere through B, refused by A after ${JSON.stringify(logout)}`);
  assert.ok(logout.sinceSentMs < BOUND_MS, `A refused the session after ${logout.sinceSentMs} ms`);
  assert.equal((await elsewhere.send('GET', '/auth/session')).status, 401);

  for (const s of [a, b]) s.proc.kill('SIGTERM');
  assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
});
