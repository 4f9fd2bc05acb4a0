import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newMembers, newTenant, platform, randomBrn, type TestTenant, testApp } from '../../test/helpers.ts';
import type { Deps } from './deps.ts';

let app: FastifyInstance;
let deps: Deps;
let port: number;
let t: TestTenant;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
  t = await newTenant(deps);
});
after(() => app.close());

const key = () => ({ 'idempotency-key': `input-${process.pid}-${++seq}` });
const PROBLEM = 'application/problem+json; charset=utf-8';

async function tenantCount(brn: string): Promise<number> {
  return (await deps.db.selectFrom('tenant').select('id').where('business_registration_number', '=', brn).execute()).length;
}

/**
 * Writes raw bytes to the listening server and reads until the connection closes or `done` says
 * enough was read. Bounded: rejects after 10 s (an answer that never comes, e.g. a hung keep-alive).
 */
function raw(data: string | Buffer, done: (text: string) => boolean = () => false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within 10 s; got: ${text.slice(0, 300)}`));
    }, 10_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (done(text)) finish();
    });
    socket.on('close', finish);
    socket.on('error', () => finish());
    socket.write(data);
  });
}

/** Status line, headers and parsed body of the first response in a raw answer. */
function firstResponse(text: string): { status: number; headers: Record<string, string>; body: unknown } {
  const [head = '', rest = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  const length = Number(headers['content-length']);
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(rest.slice(0, length)) };
}

test('a NUL character in a body string or key, a query or a path parameter is a 400 naming the field', async () => {
  const brn = randomBrn();
  const body = await app.inject({
    method: 'POST',
    url: '/platform/v1/tenants',
    headers: platform,
    payload: { name: 'Brand\u0000', businessRegistrationNumber: brn },
  });
  assert.equal(body.statusCode, 400, body.body);
  assert.equal(body.headers['content-type'], PROBLEM);
  assert.equal(body.json().code, 'VALIDATION_FAILED');
  assert.deepEqual(body.json().errors, [
    { field: 'body.name', message: 'must not contain a NUL character (U+0000)', code: 'nul_character' },
  ]);
  assert.equal(await tenantCount(brn), 0);

  const nested = await app.inject({
    method: 'POST',
    url: '/v1/coupons/definitions',
    headers: { ...bearer(t.key), ...key() },
    payload: {
      name: 'x',
      rules: { benefit: { kind: 'amount', amount: 1_000 }, validity: { kind: 'days', days: 30 } },
      description: ['ok', 'a\u0000'],
    },
  });
  assert.equal(nested.statusCode, 400);
  assert.equal(nested.json().errors[0].field, 'body.description.1');

  const query = await app.inject({ url: '/platform/v1/tenants?cursor=%00', headers: platform });
  assert.equal(query.statusCode, 400, query.body);
  assert.equal(query.json().errors[0].field, 'querystring.cursor');

  const param = await app.inject({
    method: 'DELETE',
    url: `/platform/v1/tenants/${t.tenant.id}/api-keys/key_%00`,
    headers: platform,
  });
  assert.equal(param.statusCode, 400, param.body);
  assert.equal(param.json().errors[0].field, 'params.keyId');
});

test('instants and dates outside years 1-9999 are a 400 naming the field, never a 500', async () => {
  const [memberId] = await newMembers(deps, t.tenant.id, 1);
  for (const expiresAt of [
    '0000-01-01T00:00:00Z',
    '10000-01-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '-000001-01-01T00:00:00Z',
  ]) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/points/adjustments',
      headers: { ...bearer(t.key), ...key() },
      payload: { adjustmentId: `adj-${++seq}`, memberId, amount: 10, reason: 'range', expiresAt },
    });
    assert.equal(res.statusCode, 400, `${expiresAt}: ${res.body}`);
    assert.equal(res.json().errors[0].field, 'body.expiresAt');
  }
  const at = await app.inject({ url: '/v1/prepaid/liability?at=0000-06-01T00:00:00Z', headers: bearer(t.key) });
  assert.equal(at.statusCode, 400, at.body);
  assert.equal(at.json().errors[0].field, 'querystring.at');
  const asOf = await app.inject({ url: '/v1/prepaid/liability?at=9999-12-31T23:59:59Z', headers: bearer(t.key) });
  assert.equal(asOf.statusCode, 200, 'the last instant of year 9999 is fine');
});

test('text/plain is a 415, and so is a body in any charset other than UTF-8', async () => {
  const post = (type: string, payload: string | Buffer) =>
    app.inject({ method: 'POST', url: '/platform/v1/tenants', headers: { ...platform, 'content-type': type }, payload });
  const text = await post('text/plain', 'hello');
  assert.equal(text.statusCode, 415, text.body);
  assert.equal(text.headers['content-type'], PROBLEM);
  assert.equal(text.json().code, 'UNSUPPORTED_MEDIA_TYPE');

  const brn = randomBrn();
  const json = JSON.stringify({ name: 'UTF-16 Brand', businessRegistrationNumber: brn });
  const utf16 = await post('application/json; charset=utf-16', Buffer.from(`\ufeff${json}`, 'utf16le'));
  assert.equal(utf16.statusCode, 415, utf16.body);
  assert.equal(utf16.json().code, 'UNSUPPORTED_MEDIA_TYPE');
  assert.equal((await post('application/json; charset=latin1', json)).statusCode, 415);
  assert.equal(await tenantCount(brn), 0);
  assert.equal((await post('application/json; charset=UTF-8', json)).statusCode, 201, 'UTF-8 named explicitly is fine');
});

test('framework rejections are problem+json with stable codes: URL, path parameter, JSON body', async () => {
  const badUrl = await app.inject({ url: '/v1/members/%E0%A4%A', headers: bearer(t.key) });
  assert.equal(badUrl.statusCode, 400);
  assert.equal(badUrl.headers['content-type'], PROBLEM);
  assert.equal(badUrl.json().code, 'BAD_REQUEST');
  assert.match(badUrl.headers['x-request-id'] as string, /^req_/);

  const long = await app.inject({ url: `/v1/members/${'a'.repeat(500)}`, headers: bearer(t.key) });
  assert.equal(long.statusCode, 414);
  assert.equal(long.headers['content-type'], PROBLEM);
  assert.equal(long.json().code, 'URI_TOO_LONG');

  const post = (payload: string) =>
    app.inject({
      method: 'POST',
      url: '/platform/v1/tenants',
      headers: { ...platform, 'content-type': 'application/json' },
      payload,
    });
  for (const payload of ['', '{"name": ', '{"__proto__": {"x": 1}}']) {
    const res = await post(payload);
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    assert.equal(res.headers['content-type'], PROBLEM);
    assert.equal(res.json().code, 'BAD_REQUEST');
  }
});

test("Node's HTTP parser rejections are problem+json on a real socket: 414, 431, Content-Length with Transfer-Encoding", async () => {
  const uri = firstResponse(await raw(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
  assert.equal(uri.status, 414);
  assert.equal(uri.headers['content-type'], PROBLEM);
  assert.equal((uri.body as { code: string }).code, 'URI_TOO_LONG');

  const headers = firstResponse(await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
  assert.equal(headers.status, 431);
  assert.equal((headers.body as { code: string }).code, 'HEADERS_TOO_LARGE');

  const smuggle = firstResponse(
    await raw(
      'POST /platform/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ),
  );
  assert.equal(smuggle.status, 400);
  assert.equal(smuggle.headers['content-type'], PROBLEM);
  assert.equal((smuggle.body as { code: string }).code, 'BAD_REQUEST');
  assert.match((smuggle.body as { requestId: string }).requestId, /^req_/);
});

test('a CSV rejected at its header leaves the keep-alive connection usable: the next request is answered', async () => {
  const csv = `nickname,shoe_size\n${'kim,270\n'.repeat(40_000)}`;
  const first =
    `PUT /v1/members/imports/imp-keepalive-${process.pid} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.key}\r\n` +
    `Content-Type: text/csv\r\nContent-Length: ${Buffer.byteLength(csv)}\r\n\r\n${csv}`;
  const second = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';
  const text = await raw(first + second, (s) => s.includes('{"status":"ok"}'));
  assert.match(text, /^HTTP\/1\.1 400 /);
  assert.match(text, /"code":"VALIDATION_FAILED"/);
  assert.match(text, /HTTP\/1\.1 200 [\s\S]*\{"status":"ok"\}/, 'the second request got its answer on the same connection');
});

test('a chunked CSV rejected at its header is answered with Connection: close, and the connection closes', async () => {
  const chunk = `nickname,shoe_size\n${'kim,270\n'.repeat(20_000)}`;
  const request =
    `PUT /v1/members/imports/imp-chunked-${process.pid} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.key}\r\n` +
    `Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`;
  const text = await raw(request); // resolves when the server closes the connection (the last chunk is never sent)
  const answer = firstResponse(text);
  assert.equal(answer.status, 400);
  assert.equal(answer.headers.connection, 'close');
});

test('unknown body fields are a 400 naming each, at any depth; known ones still pass', async () => {
  const brn = randomBrn();
  const typo = await app.inject({
    method: 'POST',
    url: '/platform/v1/tenants',
    headers: platform,
    payload: { name: 'Typo Brand', businessRegistrationNumber: brn, timezone: 'Asia/Seoul' },
  });
  assert.equal(typo.statusCode, 400, typo.body);
  assert.equal(typo.json().code, 'VALIDATION_FAILED');
  assert.deepEqual(typo.json().errors, [
    { field: 'body.timezone', message: 'is not a field of this request', code: 'unrecognized_keys' },
  ]);
  assert.equal(await tenantCount(brn), 0);

  const [memberId] = await newMembers(deps, t.tenant.id, 1);
  const earn = await app.inject({
    method: 'POST',
    url: '/v1/points/earn',
    headers: { ...bearer(t.key), ...key() },
    payload: { orderId: `o-${++seq}`, memberId, channel: 'offline', paidAmount: 5_000, storeID: 'st_1' },
  });
  assert.equal(earn.statusCode, 400, earn.body);
  assert.deepEqual(
    earn.json().errors.map((e: { field: string }) => e.field),
    ['body.storeID'],
  );
  const operations = await app.inject({ url: `/v1/members/${memberId}/points/operations`, headers: bearer(t.key) });
  assert.deepEqual(operations.json().items, [], 'nothing earned');

  const nested = await app.inject({
    method: 'POST',
    url: '/v1/coupons/definitions',
    headers: { ...bearer(t.key), ...key() },
    payload: {
      name: 'x',
      rules: { benefit: { kind: 'amount', amount: 1_000, colour: 'red' }, validity: { kind: 'days', days: 30 } },
    },
  });
  assert.equal(nested.statusCode, 400, nested.body);
  assert.deepEqual(
    nested.json().errors.map((e: { field: string }) => e.field),
    ['body.rules.benefit.colour'],
  );

  const ok = await app.inject({
    method: 'POST',
    url: '/platform/v1/tenants',
    headers: platform,
    payload: { name: 'Exact Brand', businessRegistrationNumber: brn },
  });
  assert.equal(ok.statusCode, 201, ok.body);
});

test('modules take instants and dates through the shared schemas only (ZInstant, ZCalendarDate)', () => {
  const root = new URL('../modules/', import.meta.url);
  const offenders = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .filter((f) => /z\.iso\.(datetime|date)\(|z\.coerce\.date\(/.test(readFileSync(new URL(f, root), 'utf8')));
  assert.deepEqual(offenders, [], 'use ZInstant / ZInstantWithOffset / ZCalendarDate from platform/http-schemas.ts');
});
