import { randomInt } from 'node:crypto';
import { cancel, commit } from './modules/checkout/index.ts';
import { createDefinition, issueCoupon, memberCoupons, redeemCoupon, ZCouponDefinitionRequest } from './modules/coupons/index.ts';
import { completeVerification, grantVerificationUnits, startVerification, submitSandbox } from './modules/identity/index.ts';
import { purgeWithdrawn, runDormancy, signUp, type TMember, withdraw } from './modules/members/index.ts';
import { type BuiltinRole, createOperatorDirectly, enrolTotpDirectly, passwordProblem } from './modules/operators/index.ts';
import {
  adjustPoints,
  cancelPoints,
  earnPoints,
  pointWallet,
  setPointPolicy,
  usePoints,
  ZPointPolicySettings,
} from './modules/points/index.ts';
import {
  chargeCard,
  createPromotion,
  gift,
  listCards,
  openCard,
  setAutoCharge,
  setProgramSettings,
  useCard,
  ZPrepaidSettings,
} from './modules/prepaid/index.ts';
import {
  approveOtp,
  cancelOrderStamps,
  createStampCard,
  earnForEvent,
  earnForOrder,
  issueOtp,
  ZStampCardRequest,
} from './modules/stamps/index.ts';
import { createManager, createStore, registerDevice, type TManager } from './modules/stores/index.ts';
import { createApiKey, createTenant, findTenantByBrn, type TTenant } from './modules/tenants/index.ts';
import { fixedClock } from './platform/clock.ts';
import type { Deps } from './platform/deps.ts';

// The demo brand that a first `npm start` shows. Each module adds its part here so the demo always
// exercises every feature. Running it again changes nothing.

export const DEMO_TENANT = { name: 'Moa Cafe', businessRegistrationNumber: '3148701234' } as const;

/** Identity verification units the demo tenant starts with. */
export const DEMO_VERIFICATION_UNITS = 100;

export type DemoSeed = {
  tenant: TTenant;
  created: boolean;
  apiKey?: string;
  sampleAccountId?: string;
  members?: DemoMembers;
  operators?: DemoOperator[];
};
/** A console operator of the demo brand, with the secrets shown once: the password and the TOTP secret. */
export type DemoOperator = {
  id: string;
  email: string;
  name: string;
  role: BuiltinRole;
  password: string;
  totpSecret: string;
  totpUri: string;
};
type DemoMembers = { active: string; active2: string; dormant: string; withdrawn: string; purged: string };
type DemoStores = { gangnam: string; jamsil: string; manager: TManager };

export type SeedDeps = Pick<Deps, 'db' | 'config' | 'clock' | 'masterKey' | 'log' | 'providers'>;

export async function seedDemo(deps: SeedDeps): Promise<DemoSeed> {
  const existing = await findTenantByBrn(deps, DEMO_TENANT.businessRegistrationNumber);
  if (existing) return { tenant: existing, created: false };

  const tenant = await createTenant(deps, { ...DEMO_TENANT, locale: 'ko-KR' });
  const key = await createApiKey(deps, tenant.id, { name: 'Demo server key', scope: 'server' });
  await grantVerificationUnits(deps, tenant.id, {
    id: 'demo-verification-grant',
    units: DEMO_VERIFICATION_UNITS,
    memo: 'Demo: a starter pack',
  });
  const operators = await seedOperators(deps, tenant);
  const members = await seedMembers(deps, tenant.id);
  const stores = await seedStores(deps, tenant.id);
  await seedPoints(deps, tenant.id, members, stores);
  await seedPrepaid(deps, tenant.id, members, stores);
  await seedStamps(deps, tenant.id, members, stores);
  await seedCoupons(deps, tenant.id, members, stores);
  await seedCheckout(deps, tenant.id, members, stores);
  const sampleAccountId = (await pointWallet(deps, tenant.id, members.active)).id;
  return { tenant, created: true, apiKey: key.key, sampleAccountId, members, operators };
}

/** The demo brand's console operators: its owner and a CS agent with fewer permissions. */
export const DEMO_OPERATORS = [
  { email: 'owner@moacafe.kr', name: '김모아', role: 'owner' },
  { email: 'cs@moacafe.kr', name: '이상담', role: 'cs' },
] as const satisfies readonly { email: string; name: string; role: BuiltinRole }[];

const PASSWORD_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
/** Four groups of four characters of 32 (80 bits), such as the password policy accepts. */
function demoPassword(email: string): string {
  for (;;) {
    const groups = Array.from({ length: 4 }, () =>
      Array.from({ length: 4 }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join(''),
    );
    const password = groups.join('-');
    if (passwordProblem(password, email) === null) return password;
  }
}

/**
 * The owner and the CS agent, each with a generated password and an authenticator (TOTP) enrolled:
 * both are printed once, at the first start, like the API key.
 */
async function seedOperators(deps: SeedDeps, tenant: TTenant): Promise<DemoOperator[]> {
  const made: DemoOperator[] = [];
  for (const o of DEMO_OPERATORS) {
    const password = demoPassword(o.email);
    const row = await createOperatorDirectly(deps, tenant.id, { ...o, password });
    const totp = await enrolTotpDirectly(deps, row, { account: o.email, brand: tenant.name });
    made.push({ id: row.id, ...o, password, totpSecret: totp.secret, totpUri: totp.uri });
  }
  return made;
}

/** The demo password of every demo member. */
export const DEMO_MEMBER_PASSWORD = 'moa-demo-1234';
/** The demo store manager (강남점): login gangnam.kim. */
export const DEMO_MANAGER = { loginId: 'gangnam.kim', password: 'moa-store-1234' } as const;

/**
 * Demo members in every state, each signed up through the sandbox verification (one unit each):
 * active (hong.gd, kim.mj), withdrawn and purged, withdrawn and blocked from re-sign-up (smith.j),
 * and dormant (park.sy). The jobs run for this tenant only, "as of" a later day.
 */
async function seedMembers(deps: SeedDeps, tenantId: string): Promise<DemoMembers> {
  const join = async (loginId: string, person: string): Promise<TMember> => {
    const v = await startVerification(deps, tenantId, {
      purpose: 'signup',
      method: 'phone',
      returnUrl: 'https://demo.moa.local/joined',
      minAge: 14,
      preview: false,
    });
    await submitSandbox(deps, v.requestNo, { outcome: 'success', person });
    await completeVerification(deps, tenantId, v.id);
    return signUp(deps, tenantId, {
      loginId,
      password: DEMO_MEMBER_PASSWORD,
      verificationId: v.id,
      consents: { terms: true, privacy: true, age14: true, marketing: { sms: true, email: loginId === 'hong.gd', push: false } },
    });
  };
  const later = (days: number) => ({ ...deps, clock: fixedClock(new Date(deps.clock.now().getTime() + days * 86_400_000)) });

  const purged = await join('gone.user', 'choi');
  await withdraw(deps, tenantId, purged.id, 'Demo: left long ago');
  await purgeWithdrawn(later(31), { tenantId });
  const dormant = await join('park.sy', 'park');
  await runDormancy(later(400), { tenantId });
  const withdrawn = await join('smith.j', 'smith');
  await withdraw(deps, tenantId, withdrawn.id, 'Demo: moving abroad');
  const hong = await join('hong.gd', 'hong');
  const kim = await join('kim.mj', 'kim');
  return { active: hong.id, active2: kim.id, dormant: dormant.id, withdrawn: withdrawn.id, purged: purged.id };
}

/** Two stores, a manager of the first, and a stamp device there. */
async function seedStores(deps: SeedDeps, tenantId: string): Promise<DemoStores> {
  const gangnam = await createStore(deps, tenantId, {
    code: 'GN01',
    name: '모아카페 강남점',
    address: '서울 강남구 테헤란로 152',
    region: '서울',
    status: 'active',
  });
  const jamsil = await createStore(deps, tenantId, {
    code: 'JS01',
    name: '모아카페 잠실점',
    address: '서울 송파구 올림픽로 300',
    region: '서울',
    status: 'active',
  });
  const manager = await createManager(deps, tenantId, { ...DEMO_MANAGER, name: '김강남', storeIds: [gangnam.id] });
  await registerDevice(deps, tenantId, gangnam.id, 'C1706066');
  return { gangnam: gangnam.id, jamsil: jamsil.id, manager };
}

/** A point policy (1 %, used from 1,000 in tens, 12 months to the end of the month) and a member's history. */
async function seedPoints(deps: SeedDeps, tenantId: string, m: DemoMembers, s: DemoStores): Promise<void> {
  await setPointPolicy(deps, tenantId, {
    settings: ZPointPolicySettings.parse({ baseRateBp: 100, minBalanceToUse: 1_000, useUnit: 10, maxUseRatioBp: 5_000 }),
  });
  await adjustPoints(deps, tenantId, {
    adjustmentId: 'demo-welcome',
    memberId: m.active,
    amount: 3_000,
    reason: 'Demo: welcome points',
    actor: 'demo',
  });
  await earnPoints(deps, tenantId, {
    memberId: m.active,
    orderId: 'demo-order-1001',
    paidAmount: 48_000,
    channel: 'offline',
    storeId: s.gangnam,
  });
  await earnPoints(deps, tenantId, { memberId: m.active, orderId: 'demo-order-1002', paidAmount: 12_500, channel: 'app' });
  await usePoints(deps, tenantId, {
    memberId: m.active,
    orderId: 'demo-order-1003',
    amount: 2_000,
    orderAmount: 9_000,
    channel: 'offline',
    storeId: s.jamsil,
  });
  await cancelPoints(deps, tenantId, { cancelId: 'demo-order-1003-return', operationId: 'pt.use.demo-order-1003', amount: 500 });
  await earnPoints(deps, tenantId, { memberId: m.active2, orderId: 'demo-order-2001', paidAmount: 31_000, channel: 'web' });
}

/** The prepaid program, a charge promotion, cards with charges, a use, a gift and a threshold auto-charge. */
async function seedPrepaid(deps: SeedDeps, tenantId: string, m: DemoMembers, s: DemoStores): Promise<void> {
  await setProgramSettings(deps, tenantId, ZPrepaidSettings.parse({}));
  await createPromotion(deps, tenantId, {
    id: 'demo-charge-50k',
    name: '5만원 충전하면 2,000P',
    minCharge: 50_000,
    rewardPoints: 2_000,
    perMemberLimit: 1,
  });
  const payment = { method: 'card' as const, token: 'demo-billing-key-4242' };
  const card = await openCard(deps, tenantId, m.active, '내 모아카드');
  await chargeCard(deps, tenantId, {
    chargeId: 'demo-charge-1',
    cardId: card.id,
    amount: 50_000,
    channel: 'app',
    memberId: m.active,
    payment,
  });
  await useCard(deps, tenantId, {
    orderId: 'demo-order-1004',
    cardId: card.id,
    amount: 6_500,
    channel: 'offline',
    storeId: s.gangnam,
  });
  await gift(deps, tenantId, m.active, card.id, { giftId: 'demo-gift-1', toMemberId: m.active2, amount: 10_000 });
  await setAutoCharge(deps, tenantId, m.active, card.id, { kind: 'threshold', threshold: 10_000, amount: 30_000, payment });
  const second = await openCard(deps, tenantId, m.active2, '출근길 카드');
  await chargeCard(deps, tenantId, {
    chargeId: 'demo-charge-2',
    cardId: second.id,
    amount: 20_000,
    channel: 'offline',
    storeId: s.jamsil,
    payment: { method: 'cash', token: 'pos' },
  });
  await setAutoCharge(deps, tenantId, m.active2, second.id, { kind: 'monthly', dayOfMonth: 25, amount: 30_000, payment });
}

/** Two stamp cards (on payment, with a points reward; on event, with a coupon reward) and their history, an OTP approval included. */
async function seedStamps(deps: SeedDeps, tenantId: string, m: DemoMembers, s: DemoStores): Promise<void> {
  const now = deps.clock.now().getTime();
  const period = {
    issueFrom: new Date(now - 30 * 86_400_000).toISOString(),
    issueUntil: new Date(now + 335 * 86_400_000).toISOString(),
  };
  const coffee = await createStampCard(
    deps,
    tenantId,
    ZStampCardRequest.parse({
      name: '아메리카노 10잔 스탬프',
      ...period,
      stampsPerBoard: 10,
      stampValidityDays: 180,
      reward: { type: 'points', points: 4_500 },
      policy: { basis: 'per_condition_item', conditionProducts: ['americano-hot', 'americano-iced'], maxPerDay: 10 },
    }),
  );
  const event = await createStampCard(
    deps,
    tenantId,
    ZStampCardRequest.parse({
      name: '여름 신메뉴 이벤트',
      type: 'event',
      ...period,
      stampsPerBoard: 3,
      maxBoards: 1,
      reward: { type: 'coupon', couponDefinitionId: 'demo-summer-drink', name: '여름 음료 1잔' },
      policy: { stores: [s.gangnam, s.jamsil] },
    }),
  );
  const order = (orderId: string, quantity: number) =>
    earnForOrder(deps, tenantId, {
      memberId: m.active,
      orderId,
      channel: 'offline',
      storeId: s.gangnam,
      amount: quantity * 4_500,
      items: [{ productId: 'americano-iced', quantity, unitPrice: 4_500 }],
      paymentMethods: ['card'],
      couponUsed: false,
    });
  await order('demo-stamp-order-1', 4);
  await order('demo-stamp-order-2', 3);
  await order('demo-stamp-order-3', 2);
  await cancelOrderStamps(deps, tenantId, { cancelId: 'demo-stamp-cancel-3', orderId: 'demo-stamp-order-3' });
  await earnForEvent(deps, tenantId, { cardId: event.id, memberId: m.active2, eventId: 'demo-event-visit-1', count: 2 });
  // The store's tablet is offline: the member shows a one-time code and the manager approves it.
  const otp = await issueOtp(deps, tenantId, m.active, coffee.id);
  await approveOtp(deps, tenantId, s.manager, { storeId: s.gangnam, code: otp.code, count: 1 });
}

/** Coupon definitions covering every benefit and rule, with coupons issued, downloaded and used. */
async function seedCoupons(deps: SeedDeps, tenantId: string, m: DemoMembers, s: DemoStores): Promise<void> {
  const days = (n: number) => ({ kind: 'days', days: n });
  const now = deps.clock.now().getTime();
  const definitions: Record<string, unknown>[] = [
    {
      id: 'demo-welcome',
      name: '웰컴 3,000원 할인',
      autoIssue: 'signup',
      rules: { benefit: { kind: 'amount', amount: 3_000 }, minOrderAmount: 10_000, validity: days(30) },
    },
    {
      id: 'demo-birthday',
      name: '생일 축하 음료 1잔 (생일 7일 전 발급)',
      autoIssue: 'birthday',
      autoIssueDaysBefore: 7,
      perMemberLimit: 100,
      rules: { benefit: { kind: 'free_item', productId: 'americano-iced' }, validity: days(14) },
    },
    {
      id: 'demo-summer-drink',
      name: '여름 음료 1잔',
      rules: { benefit: { kind: 'free_item', productId: 'summer-ade' }, validity: days(60) },
    },
    {
      id: 'demo-first-order',
      name: '첫 주문 1만원 할인',
      autoIssue: 'first_order',
      rules: { benefit: { kind: 'amount', amount: 10_000 }, minOrderAmount: 30_000, validity: days(14), stacking: 'exclusive' },
    },
    {
      id: 'demo-gold-20',
      name: 'GOLD 20% 할인 (최대 5,000원)',
      autoIssue: 'grade_up',
      autoIssueGrade: 'GOLD',
      rules: { benefit: { kind: 'percent', percentBp: 2_000, maxDiscount: 5_000 }, grades: ['GOLD', 'VIP'], validity: days(30) },
    },
    {
      id: 'demo-vip-30',
      name: 'VIP 30% 할인',
      autoIssue: 'grade_up',
      autoIssueGrade: 'VIP',
      rules: { benefit: { kind: 'percent', percentBp: 3_000, maxDiscount: 10_000 }, grades: ['VIP'], validity: days(30) },
    },
    {
      id: 'demo-rush-2000',
      name: '선착순 2,000명 아메리카노',
      downloadable: true,
      totalQuantity: 2_000,
      rules: { benefit: { kind: 'free_item', productId: 'americano-iced' }, validity: days(7) },
    },
    {
      id: 'demo-morning',
      name: '모닝 커피 1,000원 (평일 7–10시)',
      downloadable: true,
      perMemberLimit: 3,
      rules: {
        benefit: { kind: 'amount', amount: 1_000 },
        weekdays: [1, 2, 3, 4, 5],
        hours: [{ from: '07:00', to: '10:00' }],
        conditionProducts: ['americano-hot', 'americano-iced'],
        validity: days(30),
      },
    },
    {
      id: 'demo-weekend-cake',
      name: '주말 케이크 15%',
      downloadable: true,
      rules: {
        benefit: { kind: 'percent', percentBp: 1_500 },
        target: 'products',
        targetProducts: ['cake-cheese', 'cake-choco'],
        weekdays: [0, 6],
        validity: days(30),
      },
    },
    {
      id: 'demo-delivery-free',
      name: '배달비 무료',
      downloadable: true,
      rules: {
        benefit: { kind: 'delivery' },
        serviceTypes: ['delivery'],
        channels: ['app', 'web'],
        minOrderAmount: 15_000,
        validity: days(14),
      },
    },
    {
      id: 'demo-delivery-2000',
      name: '배달비 2,000원 할인',
      rules: { benefit: { kind: 'delivery', amount: 2_000 }, serviceTypes: ['delivery'], validity: days(14) },
    },
    {
      id: 'demo-parcel',
      name: '택배 원두 10% 할인',
      rules: {
        benefit: { kind: 'percent', percentBp: 1_000 },
        serviceTypes: ['parcel'],
        channels: ['web'],
        target: 'products',
        targetProducts: ['beans-house', 'beans-decaf'],
        validity: days(30),
      },
    },
    {
      id: 'demo-pickup',
      name: '픽업 주문 500원',
      downloadable: true,
      perMemberLimit: 5,
      rules: { benefit: { kind: 'amount', amount: 500 }, serviceTypes: ['pickup'], channels: ['app'], validity: days(30) },
    },
    {
      id: 'demo-gangnam-open',
      name: '강남점 오픈 기념 2,000원',
      downloadable: true,
      rules: { benefit: { kind: 'amount', amount: 2_000 }, stores: [s.gangnam], validity: days(30), hqShareBp: 0 },
    },
    {
      id: 'demo-seoul-region',
      name: '서울 매장 1,500원',
      rules: { benefit: { kind: 'amount', amount: 1_500 }, regions: ['서울'], validity: days(30) },
    },
    {
      id: 'demo-busan-region',
      name: '부산 매장 1,500원',
      rules: { benefit: { kind: 'amount', amount: 1_500 }, regions: ['부산'], validity: days(30) },
    },
    {
      id: 'demo-offline-only',
      name: '매장 전용 10%',
      rules: {
        benefit: { kind: 'percent', percentBp: 1_000, maxDiscount: 3_000 },
        channels: ['offline'],
        validity: days(30),
        hqShareBp: 5_000,
      },
    },
    {
      id: 'demo-app-only',
      name: '앱 전용 2,500원',
      rules: { benefit: { kind: 'amount', amount: 2_500 }, channels: ['app'], minOrderAmount: 12_000, validity: days(30) },
    },
    {
      id: 'demo-bundle',
      name: '케이크와 함께 음료 1,000원',
      rules: { benefit: { kind: 'amount', amount: 1_000 }, conditionProducts: ['cake-cheese', 'cake-choco'], validity: days(30) },
    },
    {
      id: 'demo-once',
      name: '1인 1회 5,000원',
      rules: { benefit: { kind: 'amount', amount: 5_000 }, usesPerMember: 1, minOrderAmount: 25_000, validity: days(30) },
    },
    {
      id: 'demo-no-gift',
      name: '양도 불가 20%',
      rules: { benefit: { kind: 'percent', percentBp: 2_000, maxDiscount: 4_000 }, giftable: false, validity: days(30) },
    },
    {
      id: 'demo-event-pin',
      name: '제휴 이벤트 PIN 쿠폰',
      rules: { benefit: { kind: 'free_item', productId: 'americano-hot' }, validity: days(90) },
    },
    {
      id: 'demo-holiday',
      name: '연말 한정 3,000원',
      downloadable: true,
      issueFrom: new Date(now - 86_400_000).toISOString(),
      issueUntil: new Date(now + 30 * 86_400_000).toISOString(),
      rules: {
        benefit: { kind: 'amount', amount: 3_000 },
        validity: {
          kind: 'fixed',
          from: new Date(now - 86_400_000).toISOString(),
          until: new Date(now + 45 * 86_400_000).toISOString(),
        },
      },
    },
  ];
  for (const d of definitions) await createDefinition(deps, tenantId, ZCouponDefinitionRequest.parse(d));
  for (const id of ['demo-welcome', 'demo-first-order', 'demo-once', 'demo-no-gift'])
    await issueCoupon(deps, tenantId, { definitionId: id, memberId: m.active, source: 'operator', sourceRef: `demo.${id}` });
  await issueCoupon(deps, tenantId, {
    definitionId: 'demo-welcome',
    memberId: m.active2,
    source: 'operator',
    sourceRef: 'demo.welcome.kim',
  });
  const pickup = await issueCoupon(deps, tenantId, { definitionId: 'demo-pickup', memberId: m.active, source: 'download' });
  await redeemCoupon(deps, tenantId, {
    memberId: m.active,
    couponId: pickup.id,
    order: {
      orderId: 'demo-order-3001',
      channel: 'app',
      storeId: s.gangnam,
      serviceType: 'pickup',
      items: [{ productId: 'latte', quantity: 2, unitPrice: 5_000 }],
      deliveryFee: 0,
    },
  });
}

/** Scripted checkouts at the store: kim.mj's welcome coupon and main prepaid card, with points and stamps earned on the rest; then a takeout partly returned. */
async function seedCheckout(deps: SeedDeps, tenantId: string, m: DemoMembers, s: DemoStores): Promise<void> {
  const [coupon] = await memberCoupons(deps, tenantId, m.active2);
  const [card] = await listCards(deps, tenantId, m.active2);
  // kim.mj at 강남점, paying the rest by card.
  const atGangnam = (
    checkoutId: string,
    serviceType: 'in_store' | 'pickup',
    items: [string, number, number][],
    extra: { couponIds?: string[]; prepaid?: { cardId: string; amount: number } } = {},
  ) =>
    commit(deps, tenantId, {
      checkoutId,
      memberId: m.active2,
      storeId: s.gangnam,
      channel: 'offline',
      serviceType,
      items: items.map(([productId, quantity, unitPrice]) => ({ productId, quantity, unitPrice })),
      deliveryFee: 0,
      paymentMethods: ['card'],
      couponIds: [],
      points: 0,
      ...extra,
    });
  await atGangnam(
    'demo-checkout-1',
    'in_store',
    [
      ['americano-iced', 2, 4_500],
      ['cake-cheese', 1, 6_500],
    ],
    { couponIds: [coupon!.id], prepaid: { cardId: card!.id, amount: 10_000 } },
  );
  // A takeout; one of the two cookies comes back: its share is refunded and its points taken back.
  await atGangnam('demo-checkout-2', 'pickup', [
    ['latte', 1, 5_000],
    ['cookie', 2, 2_000],
  ]);
  await cancel(deps, tenantId, {
    checkoutId: 'demo-checkout-2',
    cancelId: 'demo-checkout-2-return-1',
    lines: [{ line: 1, quantity: 1 }],
  });
}
