import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { example } from '../sdk/example.ts';
import { generateTypes, SDK_TYPES } from '../sdk/generate.ts';
import { createMoaClient, pages } from '../sdk/index.ts';
import type { Deps } from '../src/platform/deps.ts';
import { newTenant, testApp } from './helpers.ts';

// The TypeScript SDK (sdk/): its types are the server's document of now, and its example works
// against a running server over real HTTP.

let app: FastifyInstance;
let deps: Deps;
let base: string;
before(async () => {
  ({ app, deps } = await testApp());
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});
after(() => app.close());

test('sdk/moa-api.d.ts is generated from the current OpenAPI document (npm run sdk:generate)', async () => {
  assert.equal(readFileSync(SDK_TYPES, 'utf8') === (await generateTypes()), true, 'stale: run npm run sdk:generate');
});

test('the example: a typed write with an Idempotency-Key, every page of a list, a refusal with its code and field', async () => {
  const t = await newTenant(deps, 'SDK Brand');
  const moa = createMoaClient({ baseUrl: base, apiKey: t.keys.server });
  const result = await example(moa);
  assert.equal(result.store.name, '강남역점');
  assert.deepEqual(result.names, ['강남역점']);
  assert.deepEqual(result.refusal, { status: 400, code: 'VALIDATION_FAILED', field: 'body.code' });

  // The same Idempotency-Key again: the first answer, no second store.
  const key = { params: { header: { 'idempotency-key': 'sdk-once' } } };
  const first = await moa.POST('/v1/stores', { body: { code: 'jamsil', name: '잠실점' }, ...key });
  const again = await moa.POST('/v1/stores', { body: { code: 'jamsil', name: '잠실점' }, ...key });
  assert.equal(again.response.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.data?.id, first.data?.id);
  const all = [];
  for await (const s of pages((cursor) => moa.GET('/v1/stores', { params: { query: { limit: 1, cursor } } }))) all.push(s.code);
  assert.equal(all.length, 2);

  // A pos key is refused a server route, with the scopes it would need.
  const pos = createMoaClient({ baseUrl: base, apiKey: t.keys.pos });
  const denied = await pos.POST('/v1/stores', { body: { code: 'hongdae', name: '홍대점' } });
  assert.equal(denied.response.status, 403);
  assert.equal(denied.error?.code, 'FORBIDDEN');
});
