import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { platform, testApp, testConfig } from '../../test/helpers.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp({ config: testConfig({ BODY_LIMIT_BYTES: '2048' }) }));
  // A route that fails the way a bug does, added by the test only.
  app.get('/test/boom', async () => {
    throw new Error('connection string postgres://secret@db leaked');
  });
  await app.ready();
});
after(() => app.close());

test('/health and /ready answer', async () => {
  const health = await app.inject({ url: '/health' });
  assert.equal(health.statusCode, 200);
  assert.deepEqual(health.json(), { status: 'ok' });
  const ready = await app.inject({ url: '/ready' });
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.json().status, 'ready');
});

test('/openapi.json is a valid OpenAPI 3.1 document describing the routes', async () => {
  const res = await app.inject({ url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json();
  assert.equal(doc.openapi, '3.1.0');
  const result = await new Validator().validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.ok(doc.paths['/v1/tenant'].get);
  assert.ok(doc.paths['/v1/tenant'].patch.parameters.some((p: { name: string }) => p.name === 'idempotency-key'));
  assert.deepEqual(doc.paths['/v1/tenant'].get.security, [{ apiKey: [] }, { operatorSession: [] }]);
  assert.deepEqual(doc.paths['/platform/v1/tenants'].post.security, [{ platformToken: [] }]);
  assert.ok(doc.components.schemas.Tenant && doc.components.schemas.Problem);
});

test('/docs is served from local files only', async () => {
  const page = await app.inject({ url: '/docs/' });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /text\/html/);
  const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.length >= 3);
  for (const ref of refs) {
    assert.doesNotMatch(ref, /^(https?:)?\/\//, `external reference ${ref}`);
    const asset = await app.inject({ url: new URL(ref, 'http://x/docs/').pathname });
    assert.equal(asset.statusCode, 200, ref);
  }
  const init = await app.inject({ url: '/docs/static/swagger-initializer.js' });
  assert.equal(init.statusCode, 200);
  const code = init.body.replace(/^\s*\/\/.*$/gm, ''); // comments may cite web pages; code may not load them
  assert.doesNotMatch(code, /https?:\/\//, 'the initializer loads the spec from this server');
  assert.match(code, /resolveUrl\('\.\/json'\)/);
  const csp = page.headers['content-security-policy'] as string;
  assert.doesNotMatch(csp, /upgrade-insecure-requests/);
  assert.doesNotMatch(csp, /validator\.swagger\.io/);
});

test('errors are problem+json with type, title, status, code and detail', async () => {
  const missing = await app.inject({ url: '/nothing-here' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8');
  const body = missing.json();
  assert.deepEqual(Object.keys(body).sort(), ['code', 'detail', 'instance', 'requestId', 'status', 'title', 'type']);
  assert.equal(body.code, 'NOT_FOUND');

  const catalogue = await app.inject({ url: '/problems' });
  const codes = catalogue.json().items.map((i: { code: string }) => i.code);
  assert.ok(codes.includes('IDEMPOTENCY_KEY_REUSED'));
  const one = await app.inject({ url: body.type });
  assert.equal(one.json().status, 404, 'a problem type resolves to its description');
  assert.equal((await app.inject({ url: '/problems/toString' })).statusCode, 404);
});

test('malformed JSON, the wrong media type and an oversized body are 4xx problems', async () => {
  const post = (payload: string, type: string) =>
    app.inject({ method: 'POST', url: '/platform/v1/tenants', headers: { ...platform, 'content-type': type }, payload });
  const malformed = await post('{"name": ', 'application/json');
  assert.equal(malformed.statusCode, 400);
  assert.equal(malformed.json().code, 'BAD_REQUEST');
  const xml = await post('<tenant/>', 'application/xml');
  assert.equal(xml.statusCode, 415);
  assert.equal(xml.json().code, 'UNSUPPORTED_MEDIA_TYPE');
  const big = await post(JSON.stringify({ name: 'x'.repeat(4096) }), 'application/json');
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().code, 'PAYLOAD_TOO_LARGE');
});

test('an unexpected error is a 500 whose message is hidden', async () => {
  const res = await app.inject({ url: '/test/boom' });
  assert.equal(res.statusCode, 500);
  assert.equal(res.json().code, 'INTERNAL');
  assert.doesNotMatch(res.body, /secret|postgres/);
  assert.equal(res.json().requestId, res.headers['x-request-id']);
});

test('request ids: a well-formed X-Request-Id is kept, anything else replaced', async () => {
  const kept = await app.inject({ url: '/health', headers: { 'x-request-id': 'pos-42.abc' } });
  assert.equal(kept.headers['x-request-id'], 'pos-42.abc');
  const replaced = await app.inject({ url: '/health', headers: { 'x-request-id': 'bad id\nwith newline' } });
  assert.match(replaced.headers['x-request-id'] as string, /^req_[0-9a-z]{26}$/);
});

test('security headers are set', async () => {
  const res = await app.inject({ url: '/health' });
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
  assert.match(res.headers['content-security-policy'] as string, /default-src 'self'/);
  assert.match(res.headers['strict-transport-security'] as string, /max-age=/);
});
