import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bearer, memberToken, newMembers, newTenant, type TestTenant, testApp } from '../../../test/helpers.ts';
import { fixedClock } from '../../platform/clock.ts';
import type { Deps } from '../../platform/deps.ts';
import { enqueueOutbox } from '../../platform/outbox.ts';
import { importMembers } from '../members/index.ts';
import { bulkIssue, registerCouponHandlers, runBirthdayCoupons } from './index.ts';

let app: FastifyInstance;
let deps: Deps;
let seq = 0;

before(async () => {
  ({ app, deps } = await testApp());
  registerCouponHandlers(deps);
});
after(() => app.close());

const key = () => ({ 'idempotency-key': `k-${++seq}` });
const call = (t: TestTenant, scope: 'pos' | 'server', url: string, payload?: object) =>
  app.inject({
    method: payload ? 'POST' : 'GET',
    url,
    headers: { ...bearer(t.keys[scope]), ...(payload ? key() : {}) },
    ...(payload ? { payload } : {}),
  });

async function brand(members = 2) {
  const t = await newTenant(deps, 'Coupon Brand');
  const ids = await newMembers(deps, t.tenant.id, members);
  const tokens = new Map<string, string>();
  const me = async (memberId: string, method: 'GET' | 'POST', url: string, payload?: object) => {
    if (!tokens.has(memberId)) tokens.set(memberId, await memberToken(deps, t.tenant.id, memberId));
    return app.inject({
      method,
      url,
      headers: { ...bearer(t.keys.app), 'x-member-token': tokens.get(memberId)!, ...(method === 'POST' ? key() : {}) },
      ...(payload ? { payload } : {}),
    });
  };
  const define = async (body: object) => {
    const res = await call(t, 'server', '/v1/coupons/definitions', {
      name: '3천원 할인',
      rules: { benefit: { kind: 'amount', amount: 3_000 }, validity: { kind: 'days', days: 30 } },
      ...body,
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  return { t, members: ids, me, define };
}

const order = (orderId: string, extra: object = {}) => ({
  orderId,
  channel: 'offline',
  items: [{ productId: 'americano', quantity: 3, unitPrice: 4_500 }],
  ...extra,
});
const drain = async () => {
  while ((await deps.outbox.runOnce()) > 0);
};

test('first-come: 40 members each trying 3 times at once for 25 coupons: exactly 25 issued, none twice to a member', async () => {
  const { t, members, me, define } = await brand(40);
  const id = await define({ downloadable: true, totalQuantity: 25, perMemberLimit: 1 });
  const tries = await Promise.all(
    members.flatMap((m) => [0, 1, 2].map(() => me(m, 'POST', '/v1/me/coupons/downloads', { definitionId: id }))),
  );
  const issued = tries.filter((r) => r.statusCode === 201);
  assert.equal(issued.length, 25);
  assert.equal(new Set(issued.map((r) => r.json().memberId)).size, 25);
  assert.ok(
    tries.filter((r) => r.statusCode !== 201).every((r) => ['COUPON_EXHAUSTED', 'COUPON_MEMBER_LIMIT'].includes(r.json().code)),
  );
  assert.equal((await call(t, 'server', `/v1/coupons/definitions/${id}`)).json().issued, 25);
  const stored = await deps.db
    .selectFrom('coupon')
    .select(({ fn }) => fn.countAll<number>().as('n'))
    .where('tenant_id', '=', t.tenant.id)
    .executeTakeFirstOrThrow();
  assert.equal(Number(stored.n), 25);
  const sold = (await me(members[0]!, 'POST', '/v1/me/coupons/downloads', { definitionId: id })).json();
  assert.ok(['COUPON_EXHAUSTED', 'COUPON_MEMBER_LIMIT'].includes(sold.code));
});

test('a coupon is used once under 20 concurrent redemptions; a cancelled use makes it usable again; every rule names itself', async () => {
  const { t, members, define } = await brand();
  const id = await define({
    rules: {
      benefit: { kind: 'percent', percentBp: 2_000, maxDiscount: 2_000 },
      minOrderAmount: 10_000,
      validity: { kind: 'days', days: 7 },
      hqShareBp: 6_000,
    },
  });
  const coupon = (await call(t, 'server', `/v1/coupons/definitions/${id}/issues`, { memberId: members[0] })).json();
  assert.equal(coupon.status, 'active');

  const low = (
    await call(t, 'pos', '/v1/coupons/redeem', {
      memberId: members[0],
      couponId: coupon.id,
      order: order('low', { items: [{ productId: 'americano', quantity: 1, unitPrice: 4_500 }] }),
    })
  ).json();
  assert.deepEqual([low.code, low.details.missing], ['COUPON_MIN_ORDER', 5_500]);
  const validation = (
    await call(t, 'pos', '/v1/coupons/validate', { memberId: members[0], couponId: coupon.id, order: order('v1') })
  ).json();
  assert.deepEqual(validation, { applicable: true, discount: 2_000 });

  const uses = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      call(t, 'pos', '/v1/coupons/redeem', { memberId: members[0], couponId: coupon.id, order: order(`o${i}`) }),
    ),
  );
  const ok = uses.filter((r) => r.statusCode === 200);
  assert.equal(ok.length, 1);
  assert.ok(uses.filter((r) => r.statusCode !== 200).every((r) => r.json().code === 'COUPON_ALREADY_USED'));
  assert.deepEqual([ok[0]!.json().discount, ok[0]!.json().hqShare, ok[0]!.json().storeShare], [2_000, 1_200, 800]);

  const cancelled = await call(t, 'pos', `/v1/coupons/uses/${ok[0]!.json().id}/cancel`, {});
  assert.equal(cancelled.statusCode, 200, cancelled.body);
  assert.equal((await call(t, 'pos', `/v1/members/${members[0]}/coupons`)).json().items[0].status, 'active');
  assert.equal(
    (await call(t, 'pos', '/v1/coupons/redeem', { memberId: members[0], couponId: coupon.id, order: order('again') })).statusCode,
    200,
  );
  // Another member cannot use it.
  assert.equal(
    (await call(t, 'pos', '/v1/coupons/redeem', { memberId: members[1], couponId: coupon.id, order: order('other') })).statusCode,
    404,
  );
});

test('PIN codes work once; gifts move a coupon to another member; event rewards issue once and are revoked', async () => {
  const { t, members, me, define } = await brand(3);
  const id = await define({ perMemberLimit: 5 });
  const batch = (await call(t, 'server', `/v1/coupons/definitions/${id}/pins`, { count: 3 })).json();
  assert.equal(batch.pins.length, 3);
  assert.match(batch.pins[0], /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
  const registered = await me(members[0]!, 'POST', '/v1/me/coupons/pins', {
    pin: batch.pins[0].toLowerCase().replaceAll('-', ''),
  });
  assert.equal(registered.statusCode, 201, registered.body);
  assert.equal((await me(members[1]!, 'POST', '/v1/me/coupons/pins', { pin: batch.pins[0] })).json().code, 'COUPON_PIN_INVALID');

  const gift = await me(members[0]!, 'POST', `/v1/me/coupons/${registered.json().id}/gift`, {
    giftId: 'g1',
    toMemberId: members[1],
  });
  assert.equal(gift.statusCode, 200, gift.body);
  assert.deepEqual(
    (await me(members[1]!, 'GET', '/v1/me/coupons')).json().items.map((c: { id: string }) => c.id),
    [registered.json().id],
  );
  assert.deepEqual((await me(members[0]!, 'GET', '/v1/me/coupons')).json().items, []);

  // A charge promotion's coupon: delivered twice, issued once; revoked when the charge is cancelled.
  const request = { definitionId: id, memberId: members[0], source: 'prepaid_promotion', reference: 'pp.charge.c1.promo' };
  await enqueueOutbox(deps.db, t.tenant.id, { topic: 'coupons.issue_requested', payload: request });
  await enqueueOutbox(deps.db, t.tenant.id, { topic: 'coupons.issue_requested', payload: request });
  await drain();
  const mine = (await me(members[0]!, 'GET', '/v1/me/coupons')).json().items;
  assert.deepEqual(
    mine.map((c: { source: string }) => c.source),
    ['promotion'],
  );
  await enqueueOutbox(deps.db, t.tenant.id, { topic: 'coupons.revoke_requested', payload: request });
  await drain();
  assert.deepEqual(
    (await me(members[0]!, 'GET', '/v1/me/coupons?all=true')).json().items.map((c: { status: string }) => c.status),
    ['revoked'],
  );

  const welcome = await define({ name: '웰컴 쿠폰', autoIssue: 'signup' });
  // Sign-up coupons are issued from member.joined: one to each member, however often the event comes.
  for (const m of [members[1], members[2], members[1]])
    await enqueueOutbox(deps.db, t.tenant.id, { topic: 'member.joined', payload: { memberId: m } });
  await drain();
  for (const m of [members[1]!, members[2]!]) {
    assert.equal(
      (await me(m, 'GET', '/v1/me/coupons')).json().items.filter((c: { definitionId: string }) => c.definitionId === welcome)
        .length,
      1,
    );
  }
});

test('bulk issue to a list: streamed in chunks, resumable after an interruption, never past the total or a member’s limit', async () => {
  const { t, members, define } = await brand(3_000);
  const id = await define({ totalQuantity: 2_500, perMemberLimit: 1 });
  await call(t, 'server', `/v1/coupons/definitions/${id}/issues`, { memberId: members[10] });
  const list = ['member_id', ...members, members[5]!, 'mbr_nobody'];
  const put = (rows: string[]) =>
    app.inject({
      method: 'PUT',
      url: `/v1/coupons/definitions/${id}/bulk-issues/b1`,
      headers: { ...bearer(t.keys.server), 'content-type': 'text/csv' },
      payload: rows.join('\n'),
    });
  // Interrupted after 1,500 rows: the first chunk of 1,000 is committed with its checkpoint.
  await assert.rejects(
    bulkIssue(
      deps,
      t.tenant.id,
      id,
      'b1',
      (function* () {
        yield `${list.slice(0, 1_501).join('\n')}\n`;
        throw new Error('connection lost');
      })(),
    ),
    /connection lost/,
  );
  assert.equal((await call(t, 'server', `/v1/coupons/definitions/${id}/bulk-issues/b1`)).json().rowsDone, 1_000);
  const done = await put(list);
  assert.equal(done.statusCode, 200, done.body);
  const s = done.json();
  // 2,500 in all, one of them issued before: m0…m2499 but m10 (already holding one); the rest are out of stock.
  assert.deepEqual([s.status, s.rowsDone, s.issued], ['done', 3_002, 2_499]);
  assert.deepEqual(s.rejected, { COUPON_MEMBER_LIMIT: 1, COUPON_EXHAUSTED: 501, MEMBER_NOT_ACTIVE: 1 });
  const counts = await deps.db
    .selectFrom('coupon')
    .select(({ fn }) => [fn.countAll<number>().as('n'), fn.count<number>('member_id').distinct().as('members')])
    .where('tenant_id', '=', t.tenant.id)
    .where('definition_id', '=', id)
    .executeTakeFirstOrThrow();
  assert.deepEqual([Number(counts.n), Number(counts.members)], [2_500, 2_500]);
  assert.equal((await call(t, 'server', `/v1/coupons/definitions/${id}`)).json().issued, 2_500);
  // Sent again: the summary, nothing more.
  assert.equal((await put(list)).json().issued, 2_499);
});

test('birthday coupons: once a year, the set days before, in the tenant’s zone; 29 February on the 28th; a rerun issues nothing', async () => {
  const { t, define } = await brand(0);
  const tenantId = t.tenant.id;
  const born = { mar9: '1990-03-09', mar10: '1988-03-10', feb29: '1992-02-29', dec25: '1985-12-25', unknown: '' };
  const rows = Object.entries(born).map(
    ([name, date], i) => `bday${seq}${name.toLowerCase()},${name},0105555${String(1000 + i + seq * 10).slice(-4)},${date},Y,Y`,
  );
  await importMembers(deps, tenantId, `bday-${seq}`, [
    ['login_id,name,phone,birth_date,consent_terms,consent_privacy', ...rows].join('\n'),
  ]);
  const ids = Object.fromEntries(
    (await deps.db.selectFrom('member').select(['id', 'login_id']).where('tenant_id', '=', tenantId).execute()).map((r) => [
      r.login_id!.replace(/^bday\d+/, ''),
      r.id,
    ]),
  );
  // A member from before the birthday index: the job fills it in first.
  await deps.db
    .updateTable('member')
    .set({ birth_md: null })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', ids.mar10!)
    .execute();

  const dayBefore = await define({
    name: '생일 하루 전 쿠폰',
    autoIssue: 'birthday',
    autoIssueDaysBefore: 1,
    perMemberLimit: 10,
  });
  const holders = async (definitionId: string) =>
    (
      await deps.db
        .selectFrom('coupon')
        .select(['member_id', 'source_ref'])
        .where('tenant_id', '=', tenantId)
        .where('definition_id', '=', definitionId)
        .orderBy('source_ref')
        .execute()
    ).map((c) => c.source_ref);
  // 00:30 on 9 March 2027 in Seoul (still the 8th in UTC): 10 March is tomorrow; 9 March's was due yesterday, caught up.
  const at = (iso: string) => ({ ...deps, clock: fixedClock(new Date(iso)) });
  assert.equal(await runBirthdayCoupons(at('2027-03-08T15:30:00Z'), { tenantId }), 2);
  assert.deepEqual(await holders(dayBefore), [`birthday.2027.${ids.mar10}`, `birthday.2027.${ids.mar9}`].sort());
  assert.equal(await runBirthdayCoupons(at('2027-03-08T16:30:00Z'), { tenantId }), 0);
  // A year later, again once.
  assert.equal(await runBirthdayCoupons(at('2028-03-08T15:30:00Z'), { tenantId }), 2);

  // On the day: born on 29 February, celebrated on the 28th in 2027, on the 29th in 2028.
  const onTheDay = await define({ name: '생일 축하 쿠폰', autoIssue: 'birthday', perMemberLimit: 10 });
  await runBirthdayCoupons(at('2027-02-28T01:00:00Z'), { tenantId });
  assert.deepEqual(await holders(onTheDay), [`birthday.2027.${ids.feb29}`]);
  await runBirthdayCoupons(at('2028-02-28T01:00:00Z'), { tenantId });
  assert.deepEqual(await holders(onTheDay), [`birthday.2027.${ids.feb29}`]);
  await runBirthdayCoupons(at('2028-02-29T01:00:00Z'), { tenantId });
  assert.deepEqual(await holders(onTheDay), [`birthday.2027.${ids.feb29}`, `birthday.2028.${ids.feb29}`]);
  // Nobody else had a birthday coupon: not the 25 December member, not the one without a birth date.
  const all = await deps.db.selectFrom('coupon').select('member_id').distinct().where('tenant_id', '=', tenantId).execute();
  assert.deepEqual(all.map((c) => c.member_id).sort(), [ids.mar9, ids.mar10, ids.feb29].sort());
});

test('definitions, and the ones a member may download, list a page at a time, newest first; a bad cursor is a 400', async () => {
  const { t, members, me, define } = await brand(2);
  const ids: string[] = [];
  // Even ones downloadable; the last of them first-come 1.
  for (let i = 0; i < 7; i++)
    ids.push(
      await define({ name: `쿠폰 ${i}`, downloadable: i % 2 === 0, perMemberLimit: 2, ...(i === 6 ? { totalQuantity: 1 } : {}) }),
    );
  await call(t, 'server', `/v1/coupons/definitions/${ids[1]}/status`, { status: 'paused' });
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; nextCursor: string | null } = (
      await call(t, 'server', `/v1/coupons/definitions?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
    ).json();
    assert.ok(page.items.length <= 3);
    seen.push(...page.items.map((d) => d.id));
    cursor = page.nextCursor;
  } while (cursor);
  assert.deepEqual(seen, [...ids].reverse());
  assert.deepEqual(
    (await call(t, 'server', '/v1/coupons/definitions?status=paused')).json().items.map((d: { id: string }) => d.id),
    [ids[1]],
  );
  const bad = await call(t, 'server', '/v1/coupons/definitions?cursor=nonsense');
  assert.deepEqual([bad.statusCode, bad.json().code], [400, 'VALIDATION_FAILED']);

  // The other member takes the first-come one and one of another kind: gone for everyone, one fewer for them.
  assert.equal((await me(members[1]!, 'POST', '/v1/me/coupons/downloads', { definitionId: ids[6] })).statusCode, 201);
  assert.equal((await me(members[1]!, 'POST', '/v1/me/coupons/downloads', { definitionId: ids[4] })).statusCode, 201);
  const first = (await me(members[1]!, 'GET', '/v1/me/coupons/downloadable?limit=2')).json();
  assert.deepEqual(
    first.items.map((d: { id: string; remaining: number }) => [d.id, d.remaining]),
    [
      [ids[4], 1],
      [ids[2], 2],
    ],
  );
  const rest = (await me(members[1]!, 'GET', `/v1/me/coupons/downloadable?limit=2&cursor=${first.nextCursor}`)).json();
  assert.deepEqual([rest.items.map((d: { id: string }) => d.id), rest.nextCursor], [[ids[0]], null]);
});
