import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testApp } from '../test/helpers.ts';
import { getCheckout } from './modules/checkout/index.ts';
import { listDefinitions, memberCoupons } from './modules/coupons/index.ts';
import { trialBalance } from './modules/ledger/index.ts';
import { passwordProblem, totpCode } from './modules/operators/index.ts';
import { pointBalance } from './modules/points/index.ts';
import { autoChargeOf, listCards } from './modules/prepaid/index.ts';
import { memberStampCards } from './modules/stamps/index.ts';
import { seedDemo } from './seed.ts';

test('the demo tenant: console operators, members, a point policy and history, prepaid cards with auto-charge and a promotion, two stamp cards with history, coupon definitions with coupons; a second run changes nothing', async () => {
  const { app, deps } = await testApp();
  const seeded = await seedDemo(deps);
  assert.equal(seeded.created, true);
  const tenantId = seeded.tenant.id;
  const m = seeded.members!;

  // hong.gd: 3,000 welcome + 480 + 125 earned − 2,000 used + 500 returned + 2,000 charge promotion.
  const hong = await pointBalance(deps, tenantId, m.active);
  assert.equal(hong.balance, 4_105);
  assert.equal(hong.accountId, seeded.sampleAccountId);
  assert.equal((await pointBalance(deps, tenantId, m.active2)).balance, 505); // 310, 125 on the scripted checkout, 90 on the takeout less 20 for the returned cookie

  const [card] = await listCards(deps, tenantId, m.active);
  assert.deepEqual([card!.balance, card!.main], [33_500, true]); // 50,000 − 6,500 used − 10,000 given
  assert.deepEqual((await autoChargeOf(deps, tenantId, m.active, card!.id)).threshold, 10_000);
  assert.deepEqual(
    (await listCards(deps, tenantId, m.active2)).map((c) => [c.balance, c.main]),
    [
      [0, true],
      [20_000, false],
    ],
  ); // the gift went into the checkout

  const stamps = (await memberStampCards(deps, tenantId, m.active)).items;
  assert.deepEqual(
    stamps.map((c) => [c.card.name, c.stamps]),
    [
      ['아메리카노 10잔 스탬프', 8],
      ['여름 신메뉴 이벤트', 0],
    ],
  ); // 4 + 3 + 2 − 2 cancelled + 1 by OTP
  assert.deepEqual(
    (await memberStampCards(deps, tenantId, m.active2)).items.map((c) => [c.card.type, c.stamps]),
    [
      ['payment', 2],
      ['event', 2],
    ],
  );
  assert.ok((await trialBalance(deps, tenantId)).every((l) => l.total === 0));

  // Coupon definitions covering every benefit and rule; hong.gd holds four and used one.
  const definitions = (await listDefinitions(deps, tenantId, { limit: 200 })).items;
  assert.ok(definitions.length >= 20);
  assert.deepEqual(
    new Set(definitions.map((d) => d.rules.benefit.kind)),
    new Set(['amount', 'percent', 'free_item', 'delivery']),
  );
  const hongCoupons = await memberCoupons(deps, tenantId, m.active);
  assert.deepEqual(hongCoupons.map((c) => c.status).sort(), ['active', 'active', 'active', 'active', 'used']);
  // The scripted checkout: 15,500 − 3,000 (welcome coupon) − 10,000 (prepaid) = 2,500 left to pay.
  const checkout = await getCheckout(deps, tenantId, 'demo-checkout-1');
  assert.deepEqual(
    [checkout.discount, checkout.prepaidUsed, checkout.paidAmount, checkout.pointsEarned],
    [3_000, 10_000, 2_500, 125],
  );
  // The takeout: one of two cookies returned, 2,000 refunded to the card and 20 of 90 points taken back.
  const takeout = await getCheckout(deps, tenantId, 'demo-checkout-2');
  assert.equal(takeout.status, 'partially_cancelled');
  assert.deepEqual([takeout.cancels[0]!.paidRefund, takeout.cancels[0]!.pointsTakenBack], [2_000, 20]);

  // The owner and a CS agent sign in with their generated password and a code of their TOTP secret.
  const operators = seeded.operators!;
  assert.deepEqual(
    operators.map((o) => [o.email, o.role]),
    [
      ['owner@moacafe.kr', 'owner'],
      ['cs@moacafe.kr', 'cs'],
    ],
  );
  const origin = 'http://localhost:80';
  const session = async (o: (typeof operators)[number]) => {
    assert.equal(passwordProblem(o.password, o.email), null);
    assert.match(o.totpUri, new RegExp(`^otpauth://totp/.*secret=${o.totpSecret}`));
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { origin },
      payload: { email: o.email, password: o.password },
    });
    assert.equal(login.json().stage, 'password', 'the authenticator is enrolled already');
    const cookie = (res: { headers: Record<string, unknown> }) => String(res.headers['set-cookie']).split(';')[0]!;
    const second = await app.inject({
      method: 'POST',
      url: '/auth/second-factor',
      headers: { origin, cookie: cookie(login) },
      payload: { method: 'totp', code: totpCode(o.totpSecret, new Date()) },
    });
    assert.equal(second.json().stage, 'full', second.body);
    return cookie(second);
  };
  const [owner, cs] = [await session(operators[0]!), await session(operators[1]!)];
  const team = await app.inject({ url: '/v1/operators', headers: { cookie: owner } });
  assert.deepEqual(
    team.json().items.map((o: { email: string; status: string }) => [o.email, o.status]),
    [
      ['owner@moacafe.kr', 'active'],
      ['cs@moacafe.kr', 'active'],
    ],
  );
  assert.equal((await app.inject({ url: '/v1/operators', headers: { cookie: cs } })).statusCode, 403, 'fewer permissions');

  assert.equal((await seedDemo(deps)).created, false);
  await app.close();
});
