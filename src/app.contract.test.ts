// The API's contract, read from the OpenAPI document and checked against what every route does:
// who may call it (API key scopes) and which headers it requires.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { bearer, newTenant, platform, signedInOperator, type TestTenant, testApp } from '../test/helpers.ts';
import { BUILTIN_ROLES } from './modules/operators/index.ts';
import type { Deps } from './platform/deps.ts';
import {
  API_KEY_SCOPES,
  type ApiKeyScope,
  declareScopes,
  PERMISSIONS,
  type Permission,
  SCOPES,
} from './platform/request-context.ts';

type Parameter = { in: string; name: string; required?: boolean };
type Operation = {
  parameters?: Parameter[];
  responses: Record<string, unknown>;
  'x-moa-scopes'?: ApiKeyScope[];
  'x-moa-permission'?: Permission | 'none';
  description?: string;
  requestBody?: unknown;
};
type Op = { method: string; path: string; op: Operation };

let app: FastifyInstance;
let deps: Deps;
let ops: Op[];
let t: TestTenant;
before(async () => {
  ({ app, deps } = await testApp());
  await app.ready();
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, Operation>> };
  ops = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
  t = await newTenant(deps);
});
after(() => app.close());

const name = (o: Op) => `${o.method} ${o.path.replace(/^\/v1/, '')}`;
const v1 = () => ops.filter((o) => o.path.startsWith('/v1/'));
const url = (o: Op) => o.path.replace(/\{[^}]+\}/g, 'x');
const withScope = (scope: ApiKeyScope) =>
  v1()
    .filter((o) => o.op['x-moa-scopes']?.includes(scope))
    .map(name)
    .sort();

// The routes a store terminal's key reaches (everything else answers it 403): value at the counter.
const POS_ROUTES = [
  'GET /checkout/{checkoutId}',
  'GET /checkouts',
  'GET /grades',
  'GET /members/{id}/coupons',
  'GET /members/{id}/points',
  'GET /members/{id}/points/operations',
  'GET /members/{id}/prepaid/cards',
  'GET /members/{id}/stamp-cards',
  'GET /points/policy',
  'GET /prepaid/program',
  'GET /stamp-cards',
  'GET /stores',
  'GET /tenant',
  'POST /checkout/commit',
  'POST /members/identify',
  'POST /checkout/quote',
  'POST /checkout/replay',
  'POST /checkout/{checkoutId}/cancel',
  'POST /coupons/holds',
  'POST /coupons/holds/{holdId}/release',
  'POST /coupons/redeem',
  'POST /coupons/uses/{useId}/cancel',
  'POST /coupons/validate',
  'POST /grades/purchases',
  'POST /points/cancel',
  'POST /points/earn',
  'POST /points/use',
  'POST /prepaid/charges',
  'POST /prepaid/charges/cancel',
  'POST /prepaid/use',
  'POST /prepaid/use/cancel',
  'POST /stamps/cancel',
  'POST /stamps/earn',
  'POST /store-managers/stamp-approvals',
  'POST /store-managers/login',
].sort();
// The routes the app backend's key reaches besides the member's own /me routes: becoming and recovering a member.
const APP_ROUTES_OUTSIDE_ME = [
  'GET /grades',
  'GET /identity/verifications/{id}',
  'GET /points/policy',
  'GET /prepaid/program',
  'GET /stamp-cards',
  'GET /stores',
  'GET /tenant',
  'POST /identity/verifications',
  'POST /identity/verifications/{id}/complete',
  'POST /members',
  'POST /members/find-id',
  'POST /members/login',
  'POST /members/password-reset',
  'POST /members/reactivate',
  'POST /members/social/{provider}/authorize',
  'POST /members/social/{provider}/login',
  'POST /store-managers/stamp-approvals',
  'POST /store-managers/login',
].sort();

test('the scope table: every /v1 route declares its scopes, server reaches all, /me is the app’s, pos and app reach only their lists', () => {
  assert.ok(v1().length > 100, `${v1().length} operations`);
  for (const o of v1()) {
    const scopes = o.op['x-moa-scopes'];
    assert.ok(scopes?.length, `${name(o)} documents no scopes`);
    assert.ok(
      Object.values(SCOPES).some((set) => set.join() === scopes.join()),
      `${name(o)}: ${scopes} is not one of SCOPES`,
    );
    assert.ok(scopes.includes('server'), `${name(o)}: server is full access`);
    assert.match(
      o.op.description ?? '',
      new RegExp(`API key scopes: ${scopes.map((s) => `\`${s}\``).join(', ')}\\.( |$)`),
      name(o),
    );
    if (o.path === '/v1/me' || o.path.startsWith('/v1/me/'))
      assert.deepEqual(scopes, ['app', 'server'], `${name(o)} is the member’s own route`);
  }
  assert.deepEqual(withScope('pos'), POS_ROUTES);
  assert.deepEqual(
    withScope('app').filter((n) => !/^\w+ \/me(\/|$)/.test(n)),
    APP_ROUTES_OUTSIDE_ME,
  );
});

test('every /v1 route answers 403 FORBIDDEN to exactly the scopes it does not declare', async () => {
  const leaks: string[] = [];
  for (const o of v1()) {
    for (const scope of API_KEY_SCOPES) {
      const res = await app.inject({
        method: o.method as 'GET',
        url: url(o),
        headers: { ...bearer(t.keys[scope]), 'idempotency-key': `scope-${randomBytes(6).toString('hex')}` },
        ...(o.op.requestBody ? { payload: {} } : {}),
      });
      const forbidden = res.statusCode === 403 && res.json().code === 'FORBIDDEN';
      const allowed = o.op['x-moa-scopes']!.includes(scope);
      if (forbidden === allowed) leaks.push(`${name(o)} with a ${scope} key: ${res.statusCode} ${res.body.slice(0, 120)}`);
    }
  }
  assert.deepEqual(leaks, []);
});

test('the permission table: every /v1 route declares an operator permission from the closed list (or none), /me and member flows none', () => {
  const undeclared = v1()
    .filter((o) => o.op['x-moa-permission'] === undefined)
    .map(name);
  assert.deepEqual(undeclared, []);
  for (const o of v1()) {
    const p = o.op['x-moa-permission'];
    if (p !== 'none') assert.ok(PERMISSIONS.includes(p!), `${name(o)}: ${p}`);
    if (o.path === '/v1/me' || o.path.startsWith('/v1/me/')) assert.equal(p, 'none', `${name(o)} is the member's own`);
    assert.match(
      o.op.description ?? '',
      p === 'none' ? /Operators: not available\./ : new RegExp(`Operator permission: \`${p}\``),
    );
  }
});

test('every /v1 route answers 403 FORBIDDEN to an operator exactly when the role lacks its permission', async () => {
  const leaks: string[] = [];
  for (const role of ['auditor', 'cs'] as const) {
    const op = await signedInOperator(app, t, role);
    const has = new Set<string>(BUILTIN_ROLES[role].permissions);
    for (const o of v1()) {
      const res = await app.inject({
        method: o.method as 'GET',
        url: url(o),
        headers: { ...op.headers, 'idempotency-key': `perm-${randomBytes(6).toString('hex')}` },
        ...(o.op.requestBody ? { payload: {} } : {}),
      });
      const forbidden = res.statusCode === 403 && res.json().code === 'FORBIDDEN';
      const p = o.op['x-moa-permission'];
      const allowed = p !== 'none' && p !== undefined && has.has(p);
      if (forbidden === allowed) leaks.push(`${name(o)} as ${role}: ${res.statusCode} ${res.body.slice(0, 120)}`);
    }
  }
  assert.deepEqual(leaks, []);
});

test('a /v1 route without declared scopes or operator permission stops start-up', async () => {
  const bare = Fastify();
  bare.addHook('onRoute', declareScopes);
  bare.get('/declared', { config: { scopes: SCOPES.server, permission: 'members:read' } }, async () => 'ok');
  assert.throws(() => bare.get('/undeclared', async () => 'no'), /GET \/undeclared declares no API key scopes/);
  assert.throws(
    () => bare.get('/no-permission', { config: { scopes: SCOPES.server } }, async () => 'no'),
    /GET \/no-permission declares no operator permission/,
  );
  assert.throws(
    () =>
      bare.get('/unknown', { config: { scopes: SCOPES.server, permission: 'members:dance' as Permission } }, async () => 'no'),
    /declares no operator permission/,
  );
  await bare.close();
});

test('a server key has full access: GET /v1/me with a member token', async () => {
  const { newMembers, memberToken } = await import('../test/helpers.ts');
  const [m] = await newMembers(deps, t.tenant.id, 1);
  const res = await app.inject({
    url: '/v1/me',
    headers: { ...bearer(t.keys.server), 'x-member-token': await memberToken(deps, t.tenant.id, m!) },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().id, m);
  const pos = await app.inject({
    method: 'POST',
    url: '/v1/me/prepaid/transfers',
    headers: { ...bearer(t.keys.pos), 'x-member-token': 'x', 'idempotency-key': 'k' },
    payload: {},
  });
  assert.equal(pos.json().code, 'FORBIDDEN', 'a POS key cannot act as the member in the app');
});

const HEADER_CODES: Record<string, { status: number; code: string }> = {
  'idempotency-key': { status: 400, code: 'IDEMPOTENCY_KEY_REQUIRED' },
  'x-member-token': { status: 401, code: 'UNAUTHENTICATED' },
  'x-manager-token': { status: 401, code: 'UNAUTHENTICATED' },
};

test('headers are documented as enforced: a required one omitted gets its documented code, an optional one never', async () => {
  const wrong: string[] = [];
  let required = 0;
  for (const o of ops) {
    const headers = (o.op.parameters ?? []).filter((p) => p.in === 'header');
    const auth = o.path.startsWith('/platform/') ? platform : o.path.startsWith('/v1/') ? bearer(t.key) : {};
    const present = Object.fromEntries(
      headers.map((h) => [h.name, h.name === 'idempotency-key' ? `hdr-${randomBytes(6).toString('hex')}` : 'not-a-token']),
    );
    for (const h of headers) {
      const expected = HEADER_CODES[h.name];
      if (!expected) continue;
      const { [h.name]: _omitted, ...rest } = present;
      const res = await app.inject({
        method: o.method as 'GET',
        url: url(o),
        headers: { ...auth, ...rest },
        ...(o.op.requestBody ? { payload: {} } : {}),
      });
      const got = `${res.statusCode} ${res.json().code}`;
      if (h.required) {
        required++;
        if (got !== `${expected.status} ${expected.code}`)
          wrong.push(`${name(o)} without ${h.name}: ${got}, documented ${expected.code}`);
        if (!o.op.responses[expected.status]) wrong.push(`${name(o)}: ${expected.status} is not among its documented responses`);
      } else if (res.json().code === expected.code) {
        wrong.push(`${name(o)} without its optional ${h.name}: ${got}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(required > 50, `${required} required headers checked`);
});
