// Public API of the prepaid module: members' prepaid cards, their charges and uses (through the ledger).

/** The PortOne V2 payment adapter (PAYMENT_PROVIDER=portone). */
export { billingKeyPaymentId, type PortOnePaymentsOptions, portoneCustomData, portonePayments } from './prepaid.portone.ts';
export type {
  PaymentApproval,
  PaymentCancellation,
  PaymentMethodName,
  PaymentOutcome,
  PaymentProvider,
} from './prepaid.provider.ts';
export { OFFLINE_PAYMENT_METHODS, PAYMENT_METHODS, sandboxPayments } from './prepaid.provider.ts';
export { prepaidRoutes } from './prepaid.routes.ts';
export { nextMonthlyDue, refundPreview } from './prepaid.rules.ts';
export type { TAutoCharge, TCard, TOperation as TPrepaidOperation, TPromotion as TPrepaidPromotion } from './prepaid.schemas.ts';
export { ZPrepaidSettings } from './prepaid.schemas.ts';
export {
  type ChargeInput,
  type ChargePayment,
  cancelCharge,
  cancelUse,
  cardOperations,
  chargeCard,
  gift,
  issuePhysicalCard,
  /** Outstanding prepaid value as of a time (exact to the ledger). */
  liability,
  listCards,
  openCard,
  PREPAID,
  payForCharge,
  /** The member a registered, active physical card belongs to (by the number's keyed hash), for the counter. */
  physicalCardHolder,
  postCharge,
  previewRefund,
  programSettings,
  refund,
  registerPhysicalCard,
  setProgramSettings,
  transfer,
  updateCard,
  useCard,
} from './prepaid.service.ts';
export type { PrepaidTables } from './prepaid.tables.ts';
export {
  autoChargeOf,
  PREPAID_SEALED_COLUMNS,
  registerPrepaidHandlers,
  runAutoCharge,
  /** The job: runs the auto-charges that are due (monthly dates, retries). */
  runDueAutoCharges,
  setAutoCharge,
  turnOffAutoCharge,
} from './prepaid-auto-charge.service.ts';
export { createPromotion, endPromotion, listPromotions, memberPromotions } from './prepaid-promotions.service.ts';
