// A local PortOne V2 API for tests: a real HTTP server on a loopback port that answers
// GET /identity-verifications/{id}, GET /payments/{id} and POST /payments/{id}/cancel with the field
// names, statuses and error types of PortOne's documentation and @portone/server-sdk's types
// (https://developers.portone.io/api/rest-v2). What the person does in the browser (verify, pay) is
// done by the test through `verified`, `paid`, … as PortOne's own side would record it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IdentityVerification, IdentityVerificationVerifiedCustomer } from '@portone/server-sdk/identityVerification';
import type { Payment, PaymentCancellation } from '@portone/server-sdk/payment';

type Json = Record<string, unknown>;
type Request = { method: string; path: string; authorization: string | undefined; body: Json | undefined };

const now = () => new Date().toISOString();
const version = 'V2' as const;

export type PortOneFake = Awaited<ReturnType<typeof startPortOneFake>>;

export async function startPortOneFake(opts: { secret: string; storeId: string }) {
  const identities = new Map<string, IdentityVerification>();
  const payments = new Map<string, Payment & Json>();
  const billingKeys = new Map<string, { deleted: boolean; declineWith?: { pgCode: string; pgMessage: string } | undefined }>();
  const requests: Request[] = [];
  let failNext: { status: number; body: string } | undefined;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, type: string, message: string) => send(res, status, { type, message });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = raw ? (JSON.parse(raw) as Json) : undefined;
    requests.push({ method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, body });
    if (failNext) {
      const f = failNext;
      failNext = undefined;
      res.writeHead(f.status, { 'content-type': 'text/html' });
      res.end(f.body);
      return;
    }
    if (req.headers.authorization !== `PortOne ${opts.secret}`)
      return error(res, 401, 'UNAUTHORIZED', '인증 정보가 올바르지 않습니다.');
    const storeId = url.searchParams.get('storeId') ?? (body?.storeId as string | undefined);
    if (storeId !== undefined && storeId !== opts.storeId) return error(res, 403, 'FORBIDDEN', '요청이 거절되었습니다.');

    let m = /^\/identity-verifications\/([^/]+)$/.exec(url.pathname);
    if (m && req.method === 'GET') {
      const v = identities.get(decodeURIComponent(m[1]!));
      if (!v) return error(res, 404, 'IDENTITY_VERIFICATION_NOT_FOUND', '요청된 본인인증 건이 존재하지 않습니다.');
      return send(res, 200, v);
    }
    m = /^\/payments\/([^/]+)$/.exec(url.pathname);
    if (m && req.method === 'GET') {
      const p = payments.get(decodeURIComponent(m[1]!));
      if (!p) return error(res, 404, 'PAYMENT_NOT_FOUND', '결제 건이 존재하지 않습니다.');
      return send(res, 200, p);
    }
    m = /^\/payments\/([^/]+)\/billing-key$/.exec(url.pathname);
    if (m && req.method === 'POST') return payWithBillingKey(res, decodeURIComponent(m[1]!), body ?? {});
    m = /^\/payments\/([^/]+)\/cancel$/.exec(url.pathname);
    if (m && req.method === 'POST') return cancel(res, decodeURIComponent(m[1]!), body ?? {});
    return error(res, 404, 'INVALID_REQUEST', `No route ${req.method} ${url.pathname}.`);
  }

  function payWithBillingKey(res: ServerResponse, id: string, body: Json) {
    const total = (body.amount as { total?: unknown } | undefined)?.total;
    if (
      typeof body.billingKey !== 'string' ||
      typeof body.orderName !== 'string' ||
      !Number.isInteger(total) ||
      typeof body.currency !== 'string'
    ) {
      return error(res, 400, 'INVALID_REQUEST', 'billingKey, orderName, amount.total and currency are required.');
    }
    if (payments.get(id)?.status === 'PAID') return error(res, 409, 'ALREADY_PAID', '이미 결제가 완료되었습니다.');
    const key = billingKeys.get(body.billingKey);
    if (!key) return error(res, 404, 'BILLING_KEY_NOT_FOUND', '빌링키가 존재하지 않습니다.');
    if (key.deleted) return error(res, 409, 'BILLING_KEY_ALREADY_DELETED', '빌링키가 이미 삭제되었습니다.');
    if (key.declineWith) return send(res, 502, { type: 'PG_PROVIDER', message: key.declineWith.pgMessage, ...key.declineWith });
    record(id, {
      total: total as number,
      currency: body.currency,
      billingKey: body.billingKey,
      ...(body.customer ? { customer: body.customer } : {}),
    });
    const p = payments.get(id)!;
    return send(res, 200, { payment: { pgTxId: `pg-${id}`, paidAt: p.paidAt } });
  }

  function record(
    id: string,
    p: { total: number; currency?: string; customData?: string; storeId?: string; billingKey?: string; customer?: unknown },
  ) {
    payments.set(id, {
      status: 'PAID',
      id,
      transactionId: `tx-${id}`,
      merchantId: 'merchant-fake',
      storeId: p.storeId ?? opts.storeId,
      channel: { type: 'TEST', pgProvider: 'TOSSPAYMENTS', pgMerchantId: 'fake' },
      version,
      requestedAt: now(),
      updatedAt: now(),
      statusChangedAt: now(),
      orderName: '선불카드 충전',
      amount: {
        total: p.total,
        taxFree: 0,
        vat: Math.round(p.total / 11),
        supply: p.total - Math.round(p.total / 11),
        discount: 0,
        paid: p.total,
        cancelled: 0,
        cancelledTaxFree: 0,
      },
      currency: p.currency ?? 'KRW',
      customer: p.customer ?? {},
      ...(p.customData !== undefined ? { customData: p.customData } : {}),
      ...(p.billingKey ? { billingKey: p.billingKey } : {}),
      paidAt: now(),
      disputes: [],
    } as unknown as Payment & Json);
  }

  function cancel(res: ServerResponse, id: string, body: Json) {
    if (typeof body.reason !== 'string' || !body.reason) return error(res, 400, 'INVALID_REQUEST', 'reason is required.');
    if (body.amount !== undefined && (!Number.isInteger(body.amount) || (body.amount as number) <= 0)) {
      return error(res, 400, 'INVALID_REQUEST', 'amount must be a positive integer.');
    }
    const p = payments.get(id);
    if (!p) return error(res, 404, 'PAYMENT_NOT_FOUND', '결제 건이 존재하지 않습니다.');
    if (p.status === 'CANCELLED') return error(res, 409, 'PAYMENT_ALREADY_CANCELLED', '결제가 이미 취소되었습니다.');
    if (p.status !== 'PAID' && p.status !== 'PARTIAL_CANCELLED')
      return error(res, 409, 'PAYMENT_NOT_PAID', '결제가 완료되지 않았습니다.');
    const amount = p.amount as { total: number; cancelled: number };
    const cancellable = amount.total - amount.cancelled;
    if (body.currentCancellableAmount !== undefined && body.currentCancellableAmount !== cancellable) {
      return error(res, 409, 'CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN', '취소 가능 잔액 검증에 실패했습니다.');
    }
    const total = (body.amount as number | undefined) ?? cancellable;
    if (total > cancellable)
      return error(res, 409, 'CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT', '결제 취소 금액이 취소 가능 금액을 초과했습니다.');
    const cancellation: PaymentCancellation = {
      status: 'SUCCEEDED',
      id: `cancel-${id}-${amount.cancelled + total}`,
      totalAmount: total,
      taxFreeAmount: 0,
      vatAmount: Math.round(total / 11),
      reason: body.reason,
      cancelledAt: now(),
      requestedAt: now(),
    };
    amount.cancelled += total;
    const cancelledAll = amount.cancelled === amount.total;
    payments.set(id, {
      ...p,
      status: cancelledAll ? 'CANCELLED' : 'PARTIAL_CANCELLED',
      cancellations: [...((p.cancellations as PaymentCancellation[] | undefined) ?? []), cancellation],
      ...(cancelledAll ? { cancelledAt: now() } : {}),
    } as Payment & Json);
    return send(res, 200, { cancellation });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => error(res, 500, 'INTERNAL', err.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const requestedCustomer = {};
  return {
    baseUrl,
    requests,
    /** The next request gets this non-PortOne answer (a proxy's 502 page, …). */
    failNextWith(status: number, body = '<html>Bad Gateway</html>') {
      failNext = { status, body };
    },
    /** The person opened PortOne's window and has not finished. */
    ready(id: string) {
      identities.set(id, {
        status: 'READY',
        id,
        requestedCustomer,
        requestedAt: now(),
        updatedAt: now(),
        statusChangedAt: now(),
        version,
      });
    },
    /** The person finished with the carrier: PortOne holds their verified details. */
    verified(id: string, verifiedCustomer: IdentityVerificationVerifiedCustomer) {
      identities.set(id, {
        status: 'VERIFIED',
        id,
        verifiedCustomer,
        requestedAt: now(),
        updatedAt: now(),
        statusChangedAt: now(),
        verifiedAt: now(),
        pgTxId: `pg-${id}`,
        pgRawResponse: '{}',
        version,
      });
    },
    failed(id: string, failure: { reason?: string; pgCode?: string; pgMessage?: string }) {
      identities.set(id, {
        status: 'FAILED',
        id,
        requestedCustomer,
        failure,
        requestedAt: now(),
        updatedAt: now(),
        statusChangedAt: now(),
        version,
      });
    },
    /** A payment the person completed in PortOne's window. */
    paid(id: string, p: { total: number; currency?: string; customData?: string; storeId?: string }) {
      record(id, p);
    },
    /** A billing key issued to a member's card (빌링키 발급); `declineWith` is the card company's refusal. */
    billingKey(key: string, o: { deleted?: boolean; declineWith?: { pgCode: string; pgMessage: string } } = {}) {
      billingKeys.set(key, { deleted: o.deleted ?? false, declineWith: o.declineWith });
    },
    /** Someone cancels on PortOne's console (not through Moa). */
    cancelElsewhere(id: string) {
      const p = payments.get(id)!;
      (p.amount as { cancelled: number; total: number }).cancelled = (p.amount as { total: number }).total;
      payments.set(id, { ...p, status: 'CANCELLED' } as Payment & Json);
    },
    /** A payment that is not (yet) paid: READY (window opened) or FAILED. */
    unpaid(id: string, status: 'READY' | 'FAILED', total: number) {
      this.paid(id, { total });
      payments.set(id, { ...payments.get(id)!, status } as Payment & Json);
    },
    payment: (id: string) => payments.get(id) as (Payment & { amount: { total: number; cancelled: number } }) | undefined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
