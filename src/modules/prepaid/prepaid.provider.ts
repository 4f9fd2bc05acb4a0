// The payment provider a charge goes through (PAYMENT_PROVIDER), built once in src/providers.ts and
// passed in deps.providers.payment. A charge becomes spendable only once its payment is approved; a
// cancelled charge is refunded through the same provider. The shape follows PortOne's payment API
// (@portone/server-sdk, V2): a payment has our id (`paymentId`), an order name, a total amount in
// KRW; it is approved either by paying with a billing key server to server (payWithBillingKey) or
// by looking up a payment the person completed in the browser SDK (getPayment: status PAID, same
// amount and currency); it is cancelled by paymentId with an amount and a reason (cancelPayment).

export const PAYMENT_METHODS = ['card', 'easy_pay', 'bank_transfer', 'cash'] as const;
export type PaymentMethodName = (typeof PAYMENT_METHODS)[number];
/** Methods a store collects itself at its POS: a charge paid so is recorded, never sent to a payment provider. */
export const OFFLINE_PAYMENT_METHODS: readonly PaymentMethodName[] = ['cash'];
export const isOfflinePaymentMethod = (method: string): boolean =>
  (OFFLINE_PAYMENT_METHODS as readonly string[]).includes(method);

export type PaymentApproval = {
  tenantId: string;
  /** Our id for the payment, unique per tenant (the charge's ledger id): PortOne's `paymentId` for a billing-key payment. */
  paymentId: string;
  /** PortOne's `orderName`. */
  orderName: string;
  /** The total, in won (PortOne's `amount.total`; `totalAmount` when checking a completed payment). */
  amount: number;
  currency: 'KRW';
  method: PaymentMethodName;
  /**
   * What the client sent. `billing_key`: a billing key, charged server to server. `payment`: the
   * provider's id of a payment the person already completed (PortOne `paymentId`), checked by lookup.
   */
  token: { kind: 'billing_key' | 'payment'; value: string };
  /** Member (PortOne `customer.id`), when there is one. */
  customerId?: string | undefined;
};

export type PaymentOutcome =
  /** `paymentId` is the provider's payment id to cancel later; `transactionId` PortOne's own number (its `transactionId`/`pgTxId`). */
  | { approved: true; paymentId: string; transactionId?: string | undefined; paidAt: Date }
  /** `reason` is a stable code (PortOne's error `type` or failure `pgCode`, e.g. CARD_DECLINED, PAYMENT_NOT_PAID, AMOUNT_MISMATCH). */
  | { approved: false; reason: string; message?: string | undefined };

export type PaymentCancellation = {
  tenantId: string;
  /** The provider's payment id (PaymentOutcome.paymentId). */
  paymentId: string;
  /** The amount to cancel, in won (PortOne's `amount`; the whole payment when equal to it). */
  amount: number;
  /** PortOne's `reason`. */
  reason: string;
  /** Our id for this cancellation, unique per tenant: a retried cancel must not cancel twice. */
  cancellationId: string;
};

export type PaymentProvider = {
  /** 'sandbox' or 'portone' (PAYMENT_PROVIDER). */
  readonly name: string;
  approve(request: PaymentApproval): Promise<PaymentOutcome>;
  /**
   * Cancels (refunds) a payment. Called at least once by the outbox: an already cancelled payment
   * counts as done; any other failure throws, and the outbox retries.
   */
  cancel(request: PaymentCancellation): Promise<void>;
};

/**
 * The sandbox provider (PAYMENT_PROVIDER=sandbox, never with DATABASE_URL unless
 * MOA_ALLOW_SANDBOX=true): it approves every token except those starting with "decline" (the rest
 * of such a token is the reason), and records nothing.
 */
export const sandboxPayments: PaymentProvider = {
  name: 'sandbox',
  async approve(r) {
    const token = r.token.value;
    if (token.startsWith('decline'))
      return { approved: false, reason: token.slice('decline'.length).replace(/^[-_:]/, '') || 'CARD_DECLINED' };
    return { approved: true, paymentId: `sandbox_${r.paymentId}`, paidAt: new Date() };
  },
  async cancel() {},
};
