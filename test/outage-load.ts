// A bounded load of point earnings for the database-outage tests (db-outage, db-restart): every
// request has its own Idempotency-Key and order, so a 503 can be retried with the same key until it
// is acknowledged, and the balances then say whether anything was lost or applied twice.
import assert from 'node:assert/strict';

export type Answer = { status: number; contentType: string; retryAfter: string | undefined; body: string };
export type EarnRequest = { key: string; memberId: string; orderId: string; paidAmount: number };
/** Sends one earning (POST /v1/points/earn with the key as Idempotency-Key). */
export type SendEarn = (req: EarnRequest) => Promise<Answer>;

/** The policy the load runs under: 5 % of the paid amount, no rounding question (1,000 → 50). */
export const EARN_POLICY = { settings: { baseRateBp: 500, gradeRates: false } };
export const PAID = 1_000;
export const EARNED = 50;

export type LoadResult = { requests: EarnRequest[]; first: Answer[]; counts: Record<string, number> };

/**
 * Sends `total` earnings spread over the members, `concurrency` at a time. After each answer,
 * `afterAnswer(n)` runs (n answers so far) without holding up the load: the tests cut the database
 * there. Every first answer must be a 2xx or a 503 problem+json with Retry-After.
 */
export async function earnUnderLoad(
  send: SendEarn,
  memberIds: string[],
  options: { total: number; concurrency: number; tag: string; afterAnswer?: (n: number) => Promise<void> },
): Promise<LoadResult> {
  const requests = Array.from({ length: options.total }, (_, i) => ({
    key: `${options.tag}-k${i}`,
    memberId: memberIds[i % memberIds.length]!,
    orderId: `${options.tag}-o${i}`,
    paidAmount: PAID,
  }));
  const first: Answer[] = new Array(requests.length);
  const side: Promise<void>[] = [];
  let next = 0;
  let answered = 0;
  const worker = async () => {
    while (next < requests.length) {
      const i = next++;
      first[i] = await send(requests[i]!);
      answered++;
      if (options.afterAnswer) side.push(options.afterAnswer(answered));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  await Promise.all(side);

  const counts: Record<string, number> = {};
  for (const [i, a] of first.entries()) {
    counts[a.status] = (counts[a.status] ?? 0) + 1;
    assertAcceptable(a, `request ${requests[i]!.key}`);
  }
  return { requests, first, counts };
}

/** A 2xx, or a 503 problem+json with Retry-After: what a client may see while the database is away. */
export function assertAcceptable(a: Answer, what: string): void {
  if (a.status >= 200 && a.status < 300) return;
  assert.equal(a.status, 503, `${what}: ${a.status} ${a.body}`);
  assert.match(a.contentType, /^application\/problem\+json/, `${what}: ${a.contentType}`);
  assert.ok(a.retryAfter && Number(a.retryAfter) > 0, `${what}: Retry-After ${a.retryAfter}`);
  assert.equal(JSON.parse(a.body).code, 'SERVICE_UNAVAILABLE', `${what}: ${a.body}`);
}

/**
 * Retries every request not acknowledged with its own key until it is (a bounded number of tries,
 * waiting as Retry-After says), and checks each acknowledged earning earned EARNED points.
 */
export async function settle(send: SendEarn, load: LoadResult, maxTries = 60): Promise<number> {
  let retried = 0;
  for (const [i, req] of load.requests.entries()) {
    let a = load.first[i]!;
    for (let tries = 0; a.status === 503; tries++) {
      assert.ok(tries < maxTries, `${req.key} still unanswered after ${maxTries} retries: ${a.body}`);
      await new Promise((r) => setTimeout(r, 200));
      a = await send(req);
      retried++;
      assertAcceptable(a, `retry of ${req.key}`);
    }
    assert.equal(a.status, 200, a.body);
    assert.equal(JSON.parse(a.body).amount, EARNED, a.body);
  }
  return retried;
}

/** What the acknowledged earnings imply for each member. */
export function expectedBalances(load: LoadResult): Map<string, number> {
  const expected = new Map<string, number>();
  for (const r of load.requests) expected.set(r.memberId, (expected.get(r.memberId) ?? 0) + EARNED);
  return expected;
}
