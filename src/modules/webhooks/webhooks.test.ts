import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { bearer, newMembers, newTenant, signedInOperator, type TestTenant, testApp, testConfig } from '../../../test/helpers.ts';
import { fixedClock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { enqueueEvent, WEBHOOK_EVENT_TYPES, WEBHOOK_EVENTS } from '../../platform/events.ts';
import { reportCouponExpiries } from '../coupons/index.ts';
import { deliverDue, fanOut, purgeWebhookHistory } from './index.ts';
import { RETRY_DELAYS_S, retryDelayMs } from './webhooks.rules.ts';
import { FANOUT_HANDLER } from './webhooks.service.ts';

// Deliveries to a real HTTP receiver started here, verified with the official `standardwebhooks`
// library. The worker is driven directly: fan-out of this tenant's outbox rows, then deliverDue,
// with a test clock moved past each retry delay.

type Received = { headers: IncomingHttpHeaders; body: string };
type Behaviour = 'ok' | 'fail' | 'hang' | 'gone';

let app: FastifyInstance;
let deps: Deps;
let clock: ReturnType<typeof fixedClock>;
let receiver: Server;
let base: string;
const received: Received[] = [];
/** What the receiver does with each next request (then 200 once the list is empty). */
const plan: Behaviour[] = [];

before(async () => {
  clock = fixedClock(new Date());
  ({ app, deps } = await testApp({
    clock,
    config: testConfig({ MOA_WEBHOOK_ALLOW_PRIVATE: 'true', MOA_WEBHOOK_TIMEOUT_MS: '400' }),
  }));
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const what = plan.shift() ?? 'ok';
      if (what === 'hang') return; // never answers: the client times out
      res.writeHead(what === 'ok' ? 200 : what === 'gone' ? 410 : 500, { 'content-type': 'text/plain' });
      res.end(what === 'ok' ? 'thanks' : `nope ${'x'.repeat(3000)}`);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
after(async () => {
  await app.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

const topics = WEBHOOK_EVENTS.map((e) => e.topic as string);

/** The outbox worker's part for one tenant: fan out its pending public events, oldest first. */
async function pump(d: Deps, tenantId: string): Promise<void> {
  const rows = await d.db
    .selectFrom('outbox')
    .select(['id', 'topic', 'payload', 'attempts'])
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'pending')
    .where('topic', 'in', topics)
    .where(sql<boolean>`not (${FANOUT_HANDLER} = any(handlers_done))`)
    .orderBy('id')
    .execute();
  for (const r of rows) {
    await fanOut(d, { tenantId, id: Number(r.id), topic: r.topic, payload: r.payload, attempts: r.attempts });
    await d.db
      .updateTable('outbox')
      .set({ handlers_done: sql<string[]>`array_append(handlers_done, ${FANOUT_HANDLER})` })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', r.id)
      .execute();
  }
}

async function endpoint(t: TestTenant, body: Record<string, unknown> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/webhooks/endpoints',
    headers: bearer(t.key),
    payload: { url: `${base}/hook`, ...body },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { id: string; secret: string; eventTypes: string[] | null; status: string };
}

const earned = (tenantId: string, memberId: string, operationId: string) =>
  enqueueEvent(deps.db, tenantId, {
    topic: 'points.earned',
    payload: { memberId, operationId, amount: 100, kind: 'earn', expiresAt: null },
  });

const bodies = (from = 0) =>
  received.slice(from).map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });

test('an event is delivered signed per Standard Webhooks: the official verifier accepts it; a stale timestamp is refused', async () => {
  const t = await newTenant(deps);
  const ep = await endpoint(t, { description: 'POS sync' });
  assert.match(ep.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  const stored = await deps.db
    .selectFrom('webhook_endpoint')
    .selectAll()
    .where('tenant_id', '=', t.tenant.id)
    .executeTakeFirstOrThrow();
  assert.ok(stored.secret_sealed.startsWith('v1.') && !stored.secret_sealed.includes(ep.secret.slice(6, 20)), 'sealed at rest');
  const got = await app.inject({ url: `/v1/webhooks/endpoints/${ep.id}`, headers: bearer(t.key) });
  assert.equal(got.json().secret, undefined, 'the secret is shown once');

  const from = received.length;
  await earned(t.tenant.id, 'mem_a', 'pt.1');
  await pump(deps, t.tenant.id);
  assert.equal(await deliverDue(deps), 1);
  const r = received[from]!;
  const verified = new Webhook(ep.secret).verify(r.body, r.headers as Record<string, string>) as {
    type: string;
    version: number;
    data: Record<string, unknown>;
    timestamp: string;
  };
  assert.equal(verified.type, 'points.earned');
  assert.equal(verified.version, 1);
  assert.deepEqual(verified.data, { memberId: 'mem_a', operationId: 'pt.1', amount: 100, kind: 'earn', expiresAt: null });
  assert.match(String(r.headers['webhook-id']), /^evt_\d+$/);
  assert.throws(() => new Webhook(newSecretLike()).verify(r.body, r.headers as Record<string, string>), /No matching signature/);

  // An attempt signed ten minutes ago (the sender's clock): the verifier refuses the timestamp.
  const stale = { ...deps, clock: fixedClock(new Date(Date.now() - 10 * 60_000)) };
  await earned(t.tenant.id, 'mem_a', 'pt.2');
  await pump(stale, t.tenant.id);
  assert.equal(await deliverDue(stale), 1);
  const old = received.at(-1)!;
  assert.throws(() => new Webhook(ep.secret).verify(old.body, old.headers as Record<string, string>), /too old/);

  const attempts = await app.inject({ url: `/v1/webhooks/endpoints/${ep.id}/attempts`, headers: bearer(t.key) });
  assert.equal(attempts.statusCode, 200, attempts.body);
  assert.equal(attempts.json().items.length, 2);
  assert.equal(attempts.json().items[0].responseStatus, 200);
  assert.equal(attempts.json().items[0].responseExcerpt, 'thanks');
});

const newSecretLike = () => `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

test('a rotated secret: both the old and the new one verify for 24 hours, then only the new', async () => {
  const t = await newTenant(deps);
  const ep = await endpoint(t);
  const rotated = await app.inject({
    method: 'POST',
    url: `/v1/webhooks/endpoints/${ep.id}/rotate-secret`,
    headers: bearer(t.key),
  });
  assert.equal(rotated.statusCode, 200, rotated.body);
  const fresh = rotated.json().secret as string;
  assert.notEqual(fresh, ep.secret);
  assert.ok(rotated.json().secretRotatedUntil);

  await earned(t.tenant.id, 'mem_r', 'pt.r1');
  await pump(deps, t.tenant.id);
  await deliverDue(deps);
  const r = received.at(-1)!;
  assert.equal(String(r.headers['webhook-signature']).split(' ').length, 2);
  for (const s of [ep.secret, fresh]) new Webhook(s).verify(r.body, r.headers as Record<string, string>);

  const later = { ...deps, clock: fixedClock(new Date(clock.now().getTime() + 25 * 3_600_000)) };
  await earned(t.tenant.id, 'mem_r', 'pt.r2');
  await pump(later, t.tenant.id);
  await deliverDue(later);
  const r2 = received.at(-1)!;
  assert.equal(String(r2.headers['webhook-signature']).split(' ').length, 1);
  // Verified by signature only (the verifier's clock is the real one, 25 h behind this sender).
  const h = { ...(r2.headers as Record<string, string>) };
  const wh = (s: string) => new Webhook(s).sign(h['webhook-id']!, new Date(Number(h['webhook-timestamp']) * 1000), r2.body);
  assert.equal(h['webhook-signature'], wh(fresh));
  assert.notEqual(h['webhook-signature'], wh(ep.secret));
});

test('a receiver answering 500 then 200 is retried on the schedule, with the same webhook-id', async () => {
  const t = await newTenant(deps);
  const ep = await endpoint(t);
  await earned(t.tenant.id, 'mem_b', 'pt.b1');
  await pump(deps, t.tenant.id);
  const from = received.length;
  plan.push('fail');
  assert.equal(await deliverDue(deps), 1);
  assert.equal(await deliverDue(deps), 0, 'not due before 5 s');
  clock.advance(4_000);
  assert.equal(await deliverDue(deps), 0, 'not due at 4 s (5 s ± 10 %)');
  clock.advance(2_000);
  assert.equal(await deliverDue(deps), 1);
  assert.equal(received.length - from, 2);
  assert.equal(received[from]!.headers['webhook-id'], received[from + 1]!.headers['webhook-id']);
  const items = (await app.inject({ url: `/v1/webhooks/endpoints/${ep.id}/attempts`, headers: bearer(t.key) })).json().items;
  assert.deepEqual(
    items.map((a: { attempt: number; responseStatus: number }) => [a.attempt, a.responseStatus]),
    [
      [2, 200],
      [1, 500],
    ],
  );
  assert.ok(Buffer.byteLength(items[1].responseExcerpt) <= 1024, 'the excerpt is at most 1 KB');
  assert.equal(items[0].messageStatus, 'delivered');
  const healthy = (await app.inject({ url: `/v1/webhooks/endpoints/${ep.id}`, headers: bearer(t.key) })).json();
  assert.equal(healthy.failingSince, null);
});

test('a receiver that hangs is timed out and retried', async () => {
  const t = await newTenant(deps);
  const ep = await endpoint(t);
  await earned(t.tenant.id, 'mem_h', 'pt.h1');
  await pump(deps, t.tenant.id);
  plan.push('hang');
  const started = Date.now();
  assert.equal(await deliverDue(deps), 1);
  assert.ok(Date.now() - started < 3_000, 'the timeout (400 ms here) bounds the attempt');
  clock.advance(6_000);
  assert.equal(await deliverDue(deps), 1);
  const items = (await app.inject({ url: `/v1/webhooks/endpoints/${ep.id}/attempts`, headers: bearer(t.key) })).json().items;
  assert.equal(items[1].responseStatus, null);
  assert.match(items[1].error, /timed out after 400 ms/);
  assert.equal(items[0].responseStatus, 200);
});

test('per endpoint, a member’s events go out in commit order: a later one waits until the earlier one succeeded', async () => {
  const t = await newTenant(deps);
  await endpoint(t);
  await earned(t.tenant.id, 'mem_m', 'pt.m1');
  await earned(t.tenant.id, 'mem_m', 'pt.m2');
  await earned(t.tenant.id, 'mem_n', 'pt.n1');
  await pump(deps, t.tenant.id);
  const from = received.length;
  plan.push('fail'); // the first request: m1 or n1, whichever the receiver sees first
  assert.equal(await deliverDue(deps), 2, 'the heads of the two member queues');
  assert.equal(await deliverDue(deps), 0);
  clock.advance(6_000);
  while ((await deliverDue(deps)) > 0) clock.advance(6_000);
  const seen = bodies(from).map((b) => b.data.operationId);
  const delivered = seen.filter((_, i) => i !== 0); // the first one failed
  assert.deepEqual(
    delivered.filter((op) => String(op).startsWith('pt.m')),
    ['pt.m1', 'pt.m2'],
  );
  assert.ok(seen.indexOf('pt.m2') > seen.lastIndexOf('pt.m1'), `m2 only after m1 succeeded: ${seen}`);
});

test('an event waits for earlier events of its tenant still to be fanned out', async () => {
  const t = await newTenant(deps);
  await endpoint(t);
  await earned(t.tenant.id, 'mem_w', 'pt.w1');
  await earned(t.tenant.id, 'mem_w', 'pt.w2');
  const rows = await deps.db
    .selectFrom('outbox')
    .select(['id', 'topic', 'payload'])
    .where('tenant_id', '=', t.tenant.id)
    .orderBy('id')
    .execute();
  const [first, second] = rows.filter((r) => r.topic === 'points.earned');
  // The second event is fanned out first (two workers racing): it must not go before the first.
  await fanOut(deps, {
    tenantId: t.tenant.id,
    id: Number(second!.id),
    topic: 'points.earned',
    payload: second!.payload,
    attempts: 1,
  });
  await deps.db
    .updateTable('outbox')
    .set({ handlers_done: [FANOUT_HANDLER] })
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', second!.id)
    .execute();
  assert.equal(await deliverDue(deps), 0);
  const from = received.length;
  await pump(deps, t.tenant.id);
  while ((await deliverDue(deps)) > 0);
  assert.deepEqual(
    bodies(from).map((b) => b.data.operationId),
    ['pt.w1', 'pt.w2'],
  );
  assert.ok(first);
});

test('SSRF: without the override, creation refuses http, loopback and private addresses; delivery refuses a name resolving to 127.0.0.1', async () => {
  const strict = await testApp({ clock, masterKey: deps.masterKey, config: testConfig({ MOA_WEBHOOK_TIMEOUT_MS: '400' }) });
  try {
    const t = await newTenant(strict.deps);
    for (const [url, why] of [
      ['http://hooks.example.com/x', /https/],
      ['https://localhost/hook', /127\.0\.0\.1|::1/],
      ['https://127.0.0.1/hook', /127\.0\.0\.1/],
      ['https://10.1.2.3/hook', /10\.1\.2\.3/],
      ['https://169.254.169.254/latest/meta-data', /169\.254/],
      ['https://[::1]/hook', /::1/],
      ['https://[::ffff:127.0.0.1]/hook', /not a public address/],
      ['https://user:pw@hooks.example.com/x', /credentials/],
    ] as const) {
      const res = await strict.app.inject({
        method: 'POST',
        url: '/v1/webhooks/endpoints',
        headers: bearer(t.key),
        payload: { url },
      });
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assert.equal(res.json().code, 'WEBHOOK_URL_NOT_ALLOWED');
      assert.equal(res.json().errors[0].field, 'url');
      assert.match(res.json().detail ?? res.json().errors[0].message, why);
    }
    assert.equal(
      await strict.deps.db
        .selectFrom('webhook_endpoint')
        .where('tenant_id', '=', t.tenant.id)
        .select('id')
        .execute()
        .then((r) => r.length),
      0,
    );

    // Created while the override was on (a lab), delivered by a process without it: refused at connect.
    const lab = await newTenant(deps);
    const ep = (
      await app.inject({
        method: 'POST',
        url: '/v1/webhooks/endpoints',
        headers: bearer(lab.key),
        payload: { url: base.replace('127.0.0.1', 'localhost') },
      })
    ).json();
    await earned(lab.tenant.id, 'mem_s', 'pt.s1');
    await pump(deps, lab.tenant.id);
    const from = received.length;
    assert.equal(await deliverDue(strict.deps), 1);
    assert.equal(received.length, from, 'nothing reached the receiver');
    const a = await deps.db
      .selectFrom('webhook_attempt')
      .selectAll()
      .where('tenant_id', '=', lab.tenant.id)
      .where('endpoint_id', '=', ep.id)
      .executeTakeFirstOrThrow();
    assert.equal(a.response_status, null);
    assert.match(a.error!, /localhost resolves to (127\.0\.0\.1|::1), which is not a public address/);
  } finally {
    await strict.app.close();
  }
});

test('endpoints: list, update, event filter, disable/enable, test event, replay, 410 disables, delete; operators need webhooks:admin', async () => {
  const t = await newTenant(deps);
  const ep = await endpoint(t, { eventTypes: ['coupon.issued'] });
  assert.deepEqual(ep.eventTypes, ['coupon.issued']);
  const bad = await app.inject({
    method: 'POST',
    url: '/v1/webhooks/endpoints',
    headers: bearer(t.key),
    payload: { url: `${base}/x`, eventTypes: ['points.nope'] },
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().errors[0].field, 'body.eventTypes.0');

  // Filtered out: nothing is queued.
  await earned(t.tenant.id, 'mem_f', 'pt.f1');
  await pump(deps, t.tenant.id);
  assert.equal(await deliverDue(deps), 0);

  const patched = await app.inject({
    method: 'PATCH',
    url: `/v1/webhooks/endpoints/${ep.id}`,
    headers: bearer(t.key),
    payload: { eventTypes: null, description: 'all' },
  });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json().eventTypes, null);

  const from = received.length;
  const tested = await app.inject({ method: 'POST', url: `/v1/webhooks/endpoints/${ep.id}/test`, headers: bearer(t.key) });
  assert.equal(tested.statusCode, 202, tested.body);
  await pump(deps, t.tenant.id);
  assert.equal(await deliverDue(deps), 1);
  assert.equal(bodies(from)[0]!.type, 'webhook.test');
  const testId = received.at(-1)!.headers['webhook-id'];

  // Replay one message: the same webhook-id again.
  const replayed = await app.inject({
    method: 'POST',
    url: `/v1/webhooks/endpoints/${ep.id}/replay`,
    headers: bearer(t.key),
    payload: { webhookId: testId },
  });
  assert.equal(replayed.statusCode, 200, replayed.body);
  assert.equal(await deliverDue(deps), 1);
  assert.equal(received.at(-1)!.headers['webhook-id'], testId);
  const range = await app.inject({
    method: 'POST',
    url: `/v1/webhooks/endpoints/${ep.id}/replay`,
    headers: bearer(t.key),
    payload: {
      since: new Date(Date.now() - 3_600_000).toISOString(),
      until: new Date(Date.now() + 3_600_000).toISOString(),
      failedOnly: false,
    },
  });
  assert.equal(range.json().replayed, 1);
  await deliverDue(deps);

  // Disabled: nothing goes out and nothing is queued; enabled again: back to normal.
  const off = await app.inject({ method: 'POST', url: `/v1/webhooks/endpoints/${ep.id}/disable`, headers: bearer(t.key) });
  assert.equal(off.json().status, 'disabled');
  await earned(t.tenant.id, 'mem_f', 'pt.f2');
  await pump(deps, t.tenant.id);
  assert.equal(await deliverDue(deps), 0);
  const on = await app.inject({ method: 'POST', url: `/v1/webhooks/endpoints/${ep.id}/enable`, headers: bearer(t.key) });
  assert.equal(on.json().status, 'enabled');

  // 410 Gone disables the endpoint at once, with a notice through the outbox.
  await earned(t.tenant.id, 'mem_f', 'pt.f3');
  await pump(deps, t.tenant.id);
  plan.push('gone');
  assert.equal(await deliverDue(deps), 1);
  const gone = (await app.inject({ url: `/v1/webhooks/endpoints/${ep.id}`, headers: bearer(t.key) })).json();
  assert.equal(gone.status, 'disabled');
  assert.match(gone.disabledReason, /410/);
  const notice = await deps.db
    .selectFrom('outbox')
    .select('payload')
    .where('tenant_id', '=', t.tenant.id)
    .where('topic', '=', 'webhook_endpoint.disabled')
    .executeTakeFirstOrThrow();
  assert.equal((notice.payload as { endpointId: string }).endpointId, ep.id);

  const list = await app.inject({ url: '/v1/webhooks/endpoints', headers: bearer(t.key) });
  assert.equal(list.json().items.length, 1);
  const types = await app.inject({ url: '/v1/webhooks/event-types', headers: bearer(t.key) });
  assert.deepEqual(
    types.json().items.map((i: { type: string }) => i.type),
    [...WEBHOOK_EVENT_TYPES],
  );

  // Operators: an admin may, a marketer may not.
  const adminOp = await signedInOperator(app, t, 'admin');
  assert.equal((await app.inject({ url: '/v1/webhooks/endpoints', headers: adminOp.headers })).statusCode, 200);
  const marketer = await signedInOperator(app, t, 'marketer');
  assert.equal((await app.inject({ url: '/v1/webhooks/endpoints', headers: marketer.headers })).statusCode, 403);
  assert.equal((await app.inject({ url: '/v1/webhooks/endpoints', headers: bearer(t.keys.pos) })).statusCode, 403);

  const del = await app.inject({ method: 'DELETE', url: `/v1/webhooks/endpoints/${ep.id}`, headers: bearer(t.key) });
  assert.equal(del.statusCode, 204);
  assert.equal((await app.inject({ url: `/v1/webhooks/endpoints/${ep.id}`, headers: bearer(t.key) })).statusCode, 404);
});

test('an endpoint failing every attempt for 5 days is disabled', async () => {
  const t = await newTenant(deps);
  const ep = await endpoint(t);
  const local = { ...deps, clock: fixedClock(clock.now()) };
  for (let i = 0; i < 3; i++) {
    await earned(t.tenant.id, `mem_d${i}`, `pt.d${i}`);
  }
  await pump(local, t.tenant.id);
  plan.push('fail', 'fail', 'fail');
  assert.equal(await deliverDue(local), 3);
  local.clock.advance(121 * 3_600_000);
  plan.push('fail', 'fail', 'fail');
  await deliverDue(local);
  const row = (await app.inject({ url: `/v1/webhooks/endpoints/${ep.id}`, headers: bearer(t.key) })).json();
  assert.equal(row.status, 'disabled');
  assert.match(row.disabledReason, /120 hours/);
  plan.length = 0;
});

test('the retry schedule is Svix’s, with ±10 % jitter, 8 attempts in all', () => {
  assert.deepEqual(RETRY_DELAYS_S, [5, 300, 1800, 7200, 18000, 36000, 36000]);
  assert.equal(
    retryDelayMs(1, undefined, () => 0),
    4500,
  );
  assert.equal(
    retryDelayMs(1, undefined, () => 1),
    5500,
  );
  assert.equal(
    retryDelayMs(7, undefined, () => 0.5),
    36_000_000,
  );
  assert.equal(retryDelayMs(8), null);
  assert.equal(
    retryDelayMs(1, 60, () => 0.5),
    60_000,
    'Retry-After, when longer',
  );
});

test('the OpenAPI document has a webhooks section with every public event and its schema', async () => {
  const doc = (await app.inject({ url: '/openapi.json' })).json() as {
    webhooks: Record<
      string,
      {
        post: {
          requestBody: { content: { 'application/json': { schema: { properties: Record<string, { properties?: object }> } } } };
        };
      }
    >;
  };
  assert.deepEqual(Object.keys(doc.webhooks).sort(), [...WEBHOOK_EVENT_TYPES].sort());
  for (const e of WEBHOOK_EVENTS) {
    const schema = doc.webhooks[e.type]!.post.requestBody.content['application/json'].schema;
    const data = schema.properties.data as { properties: Record<string, unknown> };
    assert.ok(data.properties, e.type);
    assert.deepEqual(
      Object.keys(data.properties).sort(),
      Object.keys((e.spec.schema as unknown as { shape: object }).shape).sort(),
      e.type,
    );
  }
});

test('a catalogued event with a wrong payload is refused and writes nothing', async () => {
  const t = await newTenant(deps);
  await assert.rejects(
    enqueueEvent(deps.db, t.tenant.id, {
      topic: 'points.earned',
      // @ts-expect-error amount must be a number: a type error, and a run-time one
      payload: { memberId: 'm', operationId: 'o', amount: '100', kind: 'earn', expiresAt: null },
    }),
    /points\.earned v1: invalid payload/,
  );
  const n = await deps.db
    .selectFrom('outbox')
    .select('id')
    .where('tenant_id', '=', t.tenant.id)
    .where('topic', '=', 'points.earned')
    .execute();
  assert.equal(n.length, 0);
});

test('retention: finished messages and attempts older than 30 days are purged, pending ones kept', async () => {
  const t = await newTenant(deps);
  await endpoint(t);
  await earned(t.tenant.id, 'mem_p', 'pt.p1');
  await pump(deps, t.tenant.id);
  assert.equal(await deliverDue(deps), 1);
  const count = async (table: 'webhook_message' | 'webhook_attempt') =>
    (await deps.db.selectFrom(table).select('tenant_id').where('tenant_id', '=', t.tenant.id).execute()).length;
  assert.equal(await purgeWebhookHistory(deps), 0);
  const later = { ...deps, clock: fixedClock(new Date(Date.now() + 31 * 86_400_000)) };
  assert.ok((await purgeWebhookHistory(later)) >= 2);
  assert.equal(await count('webhook_message'), 0);
  assert.equal(await count('webhook_attempt'), 0);
});

test('coupon.expired: a coupon whose validity ended is reported once, in the same transaction as its mark', async () => {
  const t = await newTenant(deps);
  await endpoint(t, { eventTypes: ['coupon.expired'] });
  const [member] = await newMembers(deps, t.tenant.id, 1);
  const def = await app.inject({
    method: 'POST',
    url: '/v1/coupons/definitions',
    headers: { ...bearer(t.key), 'idempotency-key': `def-${t.tenant.id}` },
    payload: { name: '3천원 할인', rules: { benefit: { kind: 'amount', amount: 3_000 }, validity: { kind: 'days', days: 30 } } },
  });
  assert.equal(def.statusCode, 201, def.body);
  const issued = await app.inject({
    method: 'POST',
    url: `/v1/coupons/definitions/${def.json().id}/issues`,
    headers: { ...bearer(t.key), 'idempotency-key': `iss-${t.tenant.id}` },
    payload: { memberId: member },
  });
  assert.equal(issued.statusCode, 201, issued.body);
  assert.equal(await reportCouponExpiries(deps, { tenantId: t.tenant.id }), 0, 'still valid');
  const later = { ...deps, clock: fixedClock(new Date(Date.now() + 31 * 86_400_000)) };
  assert.equal(await reportCouponExpiries(later, { tenantId: t.tenant.id }), 1);
  assert.equal(await reportCouponExpiries(later, { tenantId: t.tenant.id }), 0, 'once');
  const from = received.length;
  await pump(deps, t.tenant.id);
  assert.equal(await deliverDue(deps), 1);
  const b = bodies(from)[0]!;
  assert.equal(b.type, 'coupon.expired');
  assert.equal(b.data.couponId, issued.json().id);
  assert.equal(b.data.memberId, member);
});
