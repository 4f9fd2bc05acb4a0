import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { bearer, grantUnits, newTenant, sandboxVerified, type TestTenant, testApp } from '../../../test/helpers.ts';
import { fixedClock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { piiFor } from '../../platform/pii.ts';
import type { VerificationPurpose } from '../identity/index.ts';
import { openAccount, postOrThrow, systemAccount } from '../ledger/index.ts';
import { purgeWithdrawn, runDormancy } from './index.ts';

let app: FastifyInstance;
let deps: Deps;

before(async () => {
  ({ app, deps } = await testApp());
});
after(() => app.close());

const CONSENTS = { terms: true, privacy: true, age14: true };
const PASSWORD = 'green-tea-2026';

async function brand(): Promise<TestTenant> {
  const t = await newTenant(deps, 'Lifecycle Brand');
  await grantUnits(app, t.tenant.id, 50);
  return t;
}

const verified = (t: TestTenant, purpose: VerificationPurpose, person = 'hong') =>
  sandboxVerified(app, deps, t.tenant.id, purpose, { person });

async function member(t: TestTenant, loginId: string, person: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/members',
    headers: bearer(t.keys.app),
    payload: { loginId, password: PASSWORD, consents: CONSENTS, verificationId: await verified(t, 'signup', person) },
  });
  assert.equal(res.statusCode, 201, res.body);
  const token = (
    await app.inject({
      method: 'POST',
      url: '/v1/members/login',
      headers: bearer(t.keys.app),
      payload: { loginId, password: PASSWORD },
    })
  ).json().token;
  return { id: res.json().id as string, token: token as string };
}

const asMember = (t: TestTenant, token: string) => ({ ...bearer(t.keys.app), 'x-member-token': token });
const rowText = async (t: TestTenant, id: string) =>
  (
    await sql<{ row: string }>`select m::text as row from member m where tenant_id = ${t.tenant.id} and id = ${id}`.execute(
      deps.db,
    )
  ).rows[0]!.row;

test('withdrawal: shows what is lost, deactivates at once, blocks re-sign-up for the policy days, then the purge removes personal data', async () => {
  const t = await brand();
  const m = await member(t, 'leaving1', 'kim');
  const issuance = await systemAccount(deps, t.tenant.id, 'POINT', 'issuance');
  const wallet = await openAccount(deps, t.tenant.id, {
    ledger: 'POINT',
    ownerType: 'member',
    ownerId: m.id,
    kind: 'wallet',
    debitsMustNotExceedCredits: true,
  });
  await postOrThrow(deps, {
    tenantId: t.tenant.id,
    id: `earn-${m.id}`,
    code: 'EARN',
    legs: [{ debit: issuance.id, credit: wallet.id, amount: 1_500, ledger: 'POINT' }],
  });

  const preview = (await app.inject({ url: '/v1/me/withdrawal', headers: asMember(t, m.token) })).json();
  assert.deepEqual(preview.lost, [{ accountId: wallet.id, ledger: 'POINT', kind: 'wallet', balance: 1_500 }]);
  assert.ok(Date.parse(preview.rejoinBlockedUntil) > Date.now() + 29 * 86_400_000);

  const unconfirmed = await app.inject({
    method: 'POST',
    url: '/v1/me/withdrawal',
    headers: asMember(t, m.token),
    payload: { confirm: false },
  });
  assert.equal(unconfirmed.statusCode, 400);
  const done = await app.inject({
    method: 'POST',
    url: '/v1/me/withdrawal',
    headers: asMember(t, m.token),
    payload: { confirm: true, reason: 'moving away' },
  });
  assert.deepEqual([done.statusCode, done.json().status], [200, 'withdrawn']);
  assert.equal((await app.inject({ url: '/v1/me', headers: asMember(t, m.token) })).statusCode, 401, 'sessions ended at once');
  const relogin = await app.inject({
    method: 'POST',
    url: '/v1/members/login',
    headers: bearer(t.keys.app),
    payload: { loginId: 'leaving1', password: PASSWORD },
  });
  assert.equal(relogin.json().code, 'INVALID_CREDENTIALS');
  const events = await deps.db
    .selectFrom('outbox')
    .select('payload')
    .where('tenant_id', '=', t.tenant.id)
    .where('topic', '=', 'member.withdrawn')
    .execute();
  assert.equal(events.length, 1);

  const again = await app.inject({
    method: 'POST',
    url: '/v1/members',
    headers: bearer(t.keys.app),
    payload: { loginId: 'back1', password: PASSWORD, consents: CONSENTS, verificationId: await verified(t, 'signup', 'kim') },
  });
  assert.equal(again.json().code, 'REJOIN_BLOCKED');
  const block = await deps.db
    .selectFrom('member_rejoin_block')
    .selectAll()
    .where('tenant_id', '=', t.tenant.id)
    .executeTakeFirstOrThrow();
  assert.equal(Math.round((block.blocked_until.getTime() - block.withdrawn_at.getTime()) / 86_400_000), 30);

  // 30 days on: the purge removes what is personal; the block lifts and the person may join again.
  const later = { ...deps, clock: fixedClock(new Date(Date.now() + 31 * 86_400_000)) };
  assert.ok((await purgeWithdrawn(later)) >= 1);
  const purged = await deps.db
    .selectFrom('member')
    .selectAll()
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', m.id)
    .executeTakeFirstOrThrow();
  assert.deepEqual(
    [
      purged.profile_sealed,
      purged.login_id,
      purged.password_hash,
      purged.ci_hash,
      purged.phone_hash,
      purged.name_phone_hash,
      purged.birth_md,
      purged.status,
    ],
    [null, null, null, null, null, null, 0, 'withdrawn'],
  );
  assert.ok(purged.purged_at);
  await sql`update member_rejoin_block set blocked_until = now() - interval '1 second' where tenant_id = ${t.tenant.id}`.execute(
    deps.db,
  );
  const rejoined = await app.inject({
    method: 'POST',
    url: '/v1/members',
    headers: bearer(t.keys.app),
    payload: { loginId: 'leaving1', password: PASSWORD, consents: CONSENTS, verificationId: await verified(t, 'signup', 'kim') },
  });
  assert.equal(rejoined.statusCode, 201, 'after the block, with the login ID freed by the purge');
  assert.notEqual(rejoined.json().id, m.id);
});

test('dormancy: a notice 30 days before (once), then the profile moves to the dormant store; reactivation by verification restores it', async () => {
  const t = await brand();
  const m = await member(t, 'sleepy1', 'park');
  const other = await member(t, 'other1', 'smith');
  const birthMd = async () =>
    (
      await deps.db
        .selectFrom('member')
        .select('birth_md')
        .where('tenant_id', '=', t.tenant.id)
        .where('id', '=', m.id)
        .executeTakeFirstOrThrow()
    ).birth_md;
  assert.equal(await birthMd(), 309, 'park, born 2001-03-09: the birthday index');
  await sql`update member set last_active_at = now() - interval '340 days' where tenant_id = ${t.tenant.id} and id = ${m.id}`.execute(
    deps.db,
  );

  assert.ok((await runDormancy(deps)).noticed >= 1);
  await runDormancy(deps);
  const notices = await deps.db
    .selectFrom('outbox')
    .select('payload')
    .where('tenant_id', '=', t.tenant.id)
    .where('topic', '=', 'member.dormancy_notice')
    .execute();
  assert.equal(notices.length, 1, 'one notice, however often the job runs');

  await sql`update member set last_active_at = now() - interval '366 days' where tenant_id = ${t.tenant.id} and id = ${m.id}`.execute(
    deps.db,
  );
  assert.ok((await runDormancy(deps)).dormant >= 1);
  const row = await deps.db
    .selectFrom('member')
    .selectAll()
    .where('tenant_id', '=', t.tenant.id)
    .where('id', '=', m.id)
    .executeTakeFirstOrThrow();
  assert.deepEqual([row.status, row.profile_sealed, row.birth_md], ['dormant', null, 0]);
  const stored = await deps.db
    .selectFrom('member_dormant')
    .select('profile_sealed')
    .where('tenant_id', '=', t.tenant.id)
    .where('member_id', '=', m.id)
    .executeTakeFirstOrThrow();
  assert.throws(() => piiFor(deps.masterKey).open(stored.profile_sealed), 'sealed under the dormant store’s own key');
  assert.ok(!(await rowText(t, m.id)).includes('박서연'));
  assert.equal((await app.inject({ url: '/v1/me', headers: asMember(t, m.token) })).statusCode, 401, 'sessions ended');
  assert.equal(
    (await app.inject({ url: '/v1/me', headers: asMember(t, other.token) })).statusCode,
    200,
    'an active member is untouched',
  );

  const login = await app.inject({
    method: 'POST',
    url: '/v1/members/login',
    headers: bearer(t.keys.app),
    payload: { loginId: 'sleepy1', password: PASSWORD },
  });
  assert.equal(login.json().code, 'MEMBER_DORMANT');
  const reactivate = (verificationId: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/members/reactivate',
      headers: bearer(t.keys.app),
      payload: { loginId: 'sleepy1', password: PASSWORD, verificationId },
    });
  const stranger = await reactivate(await verified(t, 'reactivate', 'hong'));
  assert.deepEqual([stranger.json().code, stranger.json().details?.why], ['VERIFICATION_NOT_USABLE', 'other_person']);
  const back = await reactivate(await verified(t, 'reactivate', 'park'));
  assert.equal(back.statusCode, 200, back.body);
  assert.deepEqual([back.json().member.status, back.json().member.name], ['active', '박*연']);
  assert.equal((await app.inject({ url: '/v1/me', headers: asMember(t, back.json().token) })).statusCode, 200);
  assert.equal(await birthMd(), 309, 'restored with the profile');
  assert.equal(
    (await deps.db.selectFrom('member_dormant').select('member_id').where('tenant_id', '=', t.tenant.id).execute()).length,
    0,
  );
});
