import type { CancelPaymentResponse, Payment } from '@portone/server-sdk/payment';
import { AppError } from '../../platform/errors.ts';
import { portoneApi, PortOneUnreachable, storeQuery, type PortOneOptions } from '../../platform/portone-api.ts';
import type { PaymentAdapter, PaymentRequest, PaymentResult } from './prepaid.payments.ts';

// PortOne V2 payments (https://developers.portone.io/api/rest-v2/payment). The member pays in the
// brand's app through PortOne's browser SDK (`PortOne.requestPayment({ storeId, channelKey,
// paymentId, orderName, totalAmount, currency: 'KRW', customData })`); the app then sends the
// `paymentId` to Moa as the charge's payment token. Moa never trusts the app's word that it paid:
// it looks the payment up, server to server (`GET /payments/{paymentId}`), and credits the card
// only for a PAID payment of exactly the charge's amount in KRW that was made for this charge.
// A cancelled charge is refunded with `POST /payments/{paymentId}/cancel`.

export type PortOnePaymentsOptions = PortOneOptions;

/**
 * What the app puts in `customData` when it requests the payment: the tenant and the charge's
 * operation id (`pp.charge.<chargeId>`). It binds one PortOne payment to one charge of one brand:
 * a payment made for one charge (or another brand on the same PortOne store) cannot pay another.
 */
export const portoneCustomData = (tenantId: string, reference: string) => JSON.stringify({ tenantId, reference });

const declined = (reason: string): PaymentResult => ({ approved: false, reason });

function unavailable(what: string, details: Record<string, unknown>): AppError {
  return new AppError('PAYMENT_PROVIDER_ERROR', `PortOne ${what}.`, { provider: 'portone', ...details });
}

function boundTo(customData: string | undefined, tenantId: string, reference: string): boolean {
  try {
    const data = JSON.parse(customData ?? '') as { tenantId?: unknown; reference?: unknown };
    return data.tenantId === tenantId && data.reference === reference;
  } catch {
    return false;
  }
}

/** The payment adapter backed by PortOne V2. */
export function portonePayments(options: PortOnePaymentsOptions): PaymentAdapter {
  const api = portoneApi(options);
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: Record<string, unknown>) => {
    try {
      return await api.request<T>(method, path, body);
    } catch (err) {
      if (err instanceof PortOneUnreachable) throw unavailable('could not be reached', { path });
      throw err;
    }
  };

  return {
    /** Confirms a payment the app completed with PortOne; `token` is its paymentId. */
    async pay(r: PaymentRequest): Promise<PaymentResult> {
      const paymentId = r.token;
      const res = await call<Payment>('GET', `/payments/${encodeURIComponent(paymentId)}${storeQuery(api.storeId)}`);
      if (!res.ok) {
        if (res.error.type === 'PAYMENT_NOT_FOUND') return declined('PAYMENT_NOT_FOUND');
        // INVALID_REQUEST: a paymentId PortOne cannot read; the app sent something wrong.
        if (res.error.type === 'INVALID_REQUEST') return declined('INVALID_REQUEST');
        // UNAUTHORIZED / FORBIDDEN: our secret or store is wrong, for an operator to fix.
        throw unavailable(`refused the payment lookup (${res.error.type})`, { providerError: res.error.type, providerStatus: res.status });
      }
      const p = res.data;
      if (!('id' in p) || p.id !== paymentId) throw unavailable('answered for another payment', { paymentId });
      if (api.storeId && 'storeId' in p && p.storeId !== api.storeId) return declined('STORE_MISMATCH');
      if (p.status !== 'PAID') return declined(p.status === 'CANCELLED' || p.status === 'PARTIAL_CANCELLED' ? 'PAYMENT_CANCELLED' : 'PAYMENT_NOT_PAID');
      if (p.currency !== 'KRW') return declined('CURRENCY_MISMATCH');
      // A payment whose amount differs from the charge was tampered with (or is another order's):
      // it is not credited, and stays for the brand to look into and cancel on PortOne.
      if (p.amount.total !== r.amount) return declined('AMOUNT_MISMATCH');
      if (!boundTo(p.customData, r.tenantId, r.reference)) return declined('PAYMENT_NOT_FOR_THIS_CHARGE');
      return { approved: true, paymentId };
    },

    /**
     * Cancels a payment in full (a cancelled charge). Delivered at least once by the outbox: a
     * repeat after success finds PAYMENT_ALREADY_CANCELLED, which is success. `currentCancellableAmount`
     * makes PortOne refuse rather than cancel a payment someone changed meanwhile.
     */
    async refund(r: { tenantId: string; paymentId: string; amount: number }): Promise<void> {
      const res = await call<CancelPaymentResponse>('POST', `/payments/${encodeURIComponent(r.paymentId)}/cancel`, {
        ...(api.storeId ? { storeId: api.storeId } : {}),
        amount: r.amount,
        currentCancellableAmount: r.amount,
        reason: 'Prepaid charge cancelled',
        requester: 'ADMIN',
      });
      if (res.ok) {
        if (res.data.cancellation.status === 'FAILED') throw unavailable('failed to cancel the payment', { paymentId: r.paymentId });
        return; // SUCCEEDED, or REQUESTED (PortOne completes it on its side)
      }
      if (res.error.type === 'PAYMENT_ALREADY_CANCELLED') return;
      // PAYMENT_NOT_FOUND, CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT, CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN,
      // PG_PROVIDER, UNAUTHORIZED, …: the outbox retries, then dead-letters it for an operator.
      throw unavailable(`refused to cancel the payment (${res.error.type})`, { paymentId: r.paymentId, providerError: res.error.type, providerStatus: res.status });
    },
  };
}
