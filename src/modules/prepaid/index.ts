// Public API of the prepaid module: members' prepaid cards, their charges and uses (through the ledger).
export type { PrepaidTables } from './prepaid.tables.ts';
export type { TCard, TOperation as TPrepaidOperation, TAutoCharge, TPromotion as TPrepaidPromotion } from './prepaid.schemas.ts';
export type { PaymentApproval, PaymentCancellation, PaymentMethodName, PaymentOutcome, PaymentProvider } from './prepaid.provider.ts';
export { PAYMENT_METHODS, sandboxPayments } from './prepaid.provider.ts';
/** The PortOne V2 payment adapter (PAYMENT_PROVIDER=portone). */
export { portonePayments, portoneCustomData, billingKeyPaymentId, type PortOnePaymentsOptions } from './prepaid.portone.ts';
export { ZPrepaidSettings } from './prepaid.schemas.ts';
export {
  PREPAID,
  programSettings,
  setProgramSettings,
  openCard,
  listCards,
  updateCard,
  issuePhysicalCard,
  registerPhysicalCard,
  chargeCard,
  useCard,
  cancelUse,
  cancelCharge,
  gift,
  transfer,
  previewRefund,
  refund,
  cardOperations,
  /** Outstanding prepaid value as of a time (exact to the ledger). */
  liability,
} from './prepaid.service.ts';
export {
  setAutoCharge,
  autoChargeOf,
  turnOffAutoCharge,
  runAutoCharge,
  /** The job: runs the auto-charges that are due (monthly dates, retries). */
  runDueAutoCharges,
  registerPrepaidHandlers,
  PREPAID_SEALED_COLUMNS,
} from './prepaid-auto-charge.service.ts';
export { createPromotion, listPromotions, endPromotion } from './prepaid-promotions.service.ts';
export { refundPreview, nextMonthlyDue } from './prepaid.rules.ts';
export { prepaidRoutes } from './prepaid.routes.ts';

