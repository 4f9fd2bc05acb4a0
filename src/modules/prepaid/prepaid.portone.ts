import type { CancelPaymentResponse, Payment, PayWithBillingKeyResponse } from '@portone/server-sdk/payment';
import { AppError } from '../../platform/errors.ts';
import {
  type PortOneOptions,
  type PortOneResponse,
  PortOneUnreachable,
  portoneApi,
  storeQuery,
} from '../../platform/portone-api.ts';
import type { PaymentApproval, PaymentCancellation, PaymentOutcome, PaymentProvider } from './prepaid.provider.ts';

// PortOne V2 payments (https://developers.portone.io/api/rest-v2/payment), with the field names and
// error types of @portone/server-sdk's types.
// - A charge in the app: the member pays through PortOne's browser SDK (`PortOne.requestPayment({
//   storeId, channelKey, paymentId, orderName, totalAmount, currency: 'KRW', customData })`) and the
//   app sends that paymentId as the charge's payment token. Moa never trusts the app's word that it
//   paid: it looks the payment up (`GET /payments/{paymentId}`) and approves only a PAID payment of
//   exactly the charge's amount in KRW, on our store, made for this charge of this tenant.
// - An auto-charge: Moa pays with the stored billing key, server to server
//   (`POST /payments/{paymentId}/billing-key`), under a paymentId derived from the tenant and the
//   charge, so a retry after a crash finds ALREADY_PAID and confirms instead of paying twice.
// - A cancelled charge: `POST /payments/{paymentId}/cancel`, made idempotent by our cancellation id.

export type PortOnePaymentsOptions = PortOneOptions;

/**
 * What the app puts in `customData` when it requests the payment: the tenant and the charge's
 * operation id (`pp.charge.<chargeId>`). It binds one PortOne payment to one charge of one brand:
 * a payment made for one charge (or for another brand on the same PortOne store) cannot pay another.
 */
export const portoneCustomData = (tenantId: string, reference: string) => JSON.stringify({ tenantId, reference });

/** The PortOne paymentId of a billing-key payment: unique per store across tenants, the same on a retry. */
export const billingKeyPaymentId = (tenantId: string, paymentId: string) => `${tenantId}.${paymentId}`;

const declined = (reason: string, message?: string): PaymentOutcome => ({
  approved: false,
  reason,
  ...(message ? { message } : {}),
});

const providerError = (what: string, details: Record<string, unknown>) =>
  new AppError('PAYMENT_PROVIDER_ERROR', `PortOne ${what}.`, { provider: 'portone', ...details });

function boundTo(customData: string | undefined, tenantId: string, reference: string): boolean {
  try {
    const data = JSON.parse(customData ?? '') as { tenantId?: unknown; reference?: unknown };
    return data.tenantId === tenantId && data.reference === reference;
  } catch {
    return false;
  }
}

// Our mark in a cancellation's reason, by which a repeated delivery recognises its own earlier cancel.
const cancellationMark = (id: string) => `[moa:${id}]`;

/** The payment provider backed by PortOne V2. */
export function portonePayments(options: PortOnePaymentsOptions): PaymentProvider {
  const api = portoneApi(options);
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<PortOneResponse<T>> => {
    try {
      return await api.request<T>(method, path, body);
    } catch (err) {
      if (err instanceof PortOneUnreachable) throw providerError('could not be reached', { path });
      throw err;
    }
  };
  /** UNAUTHORIZED / FORBIDDEN / CHANNEL_NOT_FOUND …: our secret, store or channel is wrong, for an operator to fix. */
  const refused = (what: string, res: { status: number; error: { type: string } }, details: Record<string, unknown> = {}) =>
    providerError(`refused ${what} (${res.error.type})`, {
      providerError: res.error.type,
      providerStatus: res.status,
      ...details,
    });
  const getPayment = (paymentId: string) =>
    call<Payment>('GET', `/payments/${encodeURIComponent(paymentId)}${storeQuery(api.storeId)}`);

  /** A payment PortOne holds, judged against what we expect of it. */
  function judge(
    p: Payment,
    expected: { paymentId: string; amount: number; binding?: { tenantId: string; reference: string } },
  ): PaymentOutcome {
    if (!('id' in p) || p.id !== expected.paymentId)
      throw providerError('answered for another payment', { paymentId: expected.paymentId });
    if (api.storeId && 'storeId' in p && p.storeId !== api.storeId) return declined('STORE_MISMATCH');
    if (p.status === 'CANCELLED' || p.status === 'PARTIAL_CANCELLED') return declined('PAYMENT_CANCELLED');
    if (p.status !== 'PAID') return declined('PAYMENT_NOT_PAID', `The payment is ${p.status}.`);
    if (p.currency !== 'KRW') return declined('CURRENCY_MISMATCH');
    // A payment of another amount was tampered with (or is another order's): it is not credited, and
    // stays on PortOne for the brand to look into and cancel.
    if (p.amount.total !== expected.amount)
      return declined('AMOUNT_MISMATCH', `PortOne holds ${p.amount.total}, the charge is ${expected.amount}.`);
    if (expected.binding && !boundTo(p.customData, expected.binding.tenantId, expected.binding.reference))
      return declined('PAYMENT_NOT_FOR_THIS_CHARGE');
    return { approved: true, paymentId: p.id, transactionId: p.transactionId, paidAt: new Date(p.paidAt) };
  }

  async function confirm(r: PaymentApproval): Promise<PaymentOutcome> {
    const res = await getPayment(r.token.value);
    if (!res.ok) {
      if (res.error.type === 'PAYMENT_NOT_FOUND') return declined('PAYMENT_NOT_FOUND');
      if (res.error.type === 'INVALID_REQUEST') return declined('INVALID_REQUEST', res.error.message);
      throw refused('the payment lookup', res);
    }
    return judge(res.data, {
      paymentId: r.token.value,
      amount: r.amount,
      binding: { tenantId: r.tenantId, reference: r.paymentId },
    });
  }

  async function payWithBillingKey(r: PaymentApproval): Promise<PaymentOutcome> {
    const paymentId = billingKeyPaymentId(r.tenantId, r.paymentId);
    const res = await call<PayWithBillingKeyResponse>('POST', `/payments/${encodeURIComponent(paymentId)}/billing-key`, {
      ...(api.storeId ? { storeId: api.storeId } : {}),
      billingKey: r.token.value,
      orderName: r.orderName,
      ...(r.customerId ? { customer: { id: r.customerId } } : {}),
      amount: { total: r.amount },
      currency: r.currency,
    });
    if (res.ok)
      return { approved: true, paymentId, transactionId: res.data.payment.pgTxId, paidAt: new Date(res.data.payment.paidAt) };
    switch (res.error.type) {
      case 'ALREADY_PAID': {
        // Paid by an earlier attempt whose answer we lost: confirm that payment rather than pay again.
        const again = await getPayment(paymentId);
        if (!again.ok) throw refused('the payment lookup', again);
        return judge(again.data, { paymentId, amount: r.amount });
      }
      case 'PG_PROVIDER': {
        // The card company's refusal (limit, suspended card, …): PortOne passes its code on.
        const pg = res.error as { pgCode?: string; pgMessage?: string };
        return declined(pg.pgCode ? `PG_${pg.pgCode}` : 'PG_PROVIDER', pg.pgMessage ?? res.error.message);
      }
      case 'BILLING_KEY_NOT_FOUND':
      case 'BILLING_KEY_ALREADY_DELETED':
      case 'INVALID_REQUEST':
      case 'MAX_TRANSACTION_COUNT_REACHED':
        return declined(res.error.type, res.error.message);
      default:
        throw refused('the billing-key payment', res);
    }
  }

  return {
    name: 'portone',
    approve: (r) => (r.token.kind === 'billing_key' ? payWithBillingKey(r) : confirm(r)),

    /**
     * Cancels `amount` of a payment, once per cancellation id. The outbox delivers at least once,
     * and PortOne's cancel has no idempotency key: our id goes into the reason, a repeat finds it in
     * the payment's cancellations, and `currentCancellableAmount` makes PortOne refuse a cancel
     * computed on a payment that changed meanwhile (a concurrent duplicate), which is then retried.
     */
    async cancel(c: PaymentCancellation): Promise<void> {
      const before = await getPayment(c.paymentId);
      if (!before.ok) throw refused('the payment lookup', before, { paymentId: c.paymentId });
      const p = before.data;
      const cancellations = 'cancellations' in p ? (p.cancellations ?? []) : [];
      if (
        cancellations.some((x) => x.status !== 'FAILED' && 'reason' in x && x.reason.includes(cancellationMark(c.cancellationId)))
      )
        return;
      if (p.status === 'CANCELLED')
        throw providerError('holds the payment as cancelled by someone else', { paymentId: c.paymentId });
      if (!('amount' in p)) throw providerError('holds no amount for the payment', { paymentId: c.paymentId });
      const res = await call<CancelPaymentResponse>('POST', `/payments/${encodeURIComponent(c.paymentId)}/cancel`, {
        ...(api.storeId ? { storeId: api.storeId } : {}),
        amount: c.amount,
        currentCancellableAmount: p.amount.total - p.amount.cancelled,
        reason: `${c.reason} ${cancellationMark(c.cancellationId)}`,
        requester: 'ADMIN',
      });
      if (res.ok) {
        if (res.data.cancellation.status === 'FAILED')
          throw providerError('failed to cancel the payment', { paymentId: c.paymentId });
        return; // SUCCEEDED, or REQUESTED (PortOne completes it on its side)
      }
      // PAYMENT_NOT_FOUND, CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT, CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN,
      // PAYMENT_ALREADY_CANCELLED (by someone else), PG_PROVIDER, UNAUTHORIZED, …: the outbox retries,
      // then dead-letters it for an operator.
      throw refused('to cancel the payment', res, { paymentId: c.paymentId });
    },
  };
}
