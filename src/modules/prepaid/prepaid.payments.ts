// The payment adapter a charge goes through. A charge becomes spendable only once its payment is
// approved; a cancelled charge is refunded through the same adapter. The sandbox adapter (the
// default) approves every payment except those whose token starts with "decline".

export type PaymentRequest = { tenantId: string; reference: string; amount: number; method: string; token: string };
export type PaymentResult = { approved: true; paymentId: string } | { approved: false; reason: string };

export type PaymentAdapter = {
  pay(request: PaymentRequest): Promise<PaymentResult>;
  refund(request: { tenantId: string; paymentId: string; amount: number }): Promise<void>;
};

export const PAYMENT_METHODS = ['card', 'easy_pay', 'bank_transfer', 'cash'] as const;

export const sandboxPayments: PaymentAdapter = {
  async pay(r) {
    if (r.token.startsWith('decline')) return { approved: false, reason: r.token.slice('decline'.length).replace(/^[-_:]/, '') || 'CARD_DECLINED' };
    return { approved: true, paymentId: `sandbox_${r.reference}` };
  },
  async refund() {},
};
