import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, newTenant, type TestTenant, tenantRows, testApp } from '../../../test/helpers.ts';
import type { Deps } from '../../platform/deps.ts';

// A CSV import refused before its first row is committed writes nothing, not even its member_import row.

let app: FastifyInstance;
let deps: Deps;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const put = (t: TestTenant, id: string, csv: string) =>
  app.inject({
    method: 'PUT',
    url: `/v1/members/imports/${id}`,
    headers: { ...bearer(t.keys.server), 'content-type': 'text/csv' },
    payload: csv,
  });

test('an import refused for its header or an empty file writes nothing; the same id then imports', async () => {
  const t = await newTenant(deps, 'Import Input Brand');
  const before = await tenantRows(deps, t.tenant.id);
  for (const csv of ['name,phone\n홍길동,01012345678\n', '', 'login_id\nhonggd\n']) {
    const res = await put(t, 'imp-1', csv);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    assert.deepEqual(await tenantRows(deps, t.tenant.id), before, JSON.stringify(csv));
    assert.equal((await app.inject({ url: '/v1/members/imports/imp-1', headers: bearer(t.keys.server) })).statusCode, 404);
  }
  const ok = await put(t, 'imp-1', 'login_id,name,phone,consent_terms,consent_privacy\nhonggd,홍길동,01012345678,Y,Y\n');
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual([ok.json().status, ok.json().imported], ['done', 1]);
  // A header-only file is an import of nothing, recorded as done.
  const none = await put(t, 'imp-2', 'login_id,name,phone\n');
  assert.deepEqual([none.statusCode, none.json().status, none.json().rowsDone], [200, 'done', 0]);
});
