// Public API of the prepaid module: members' prepaid cards, their charges and uses (through the ledger).
export type { PrepaidTables } from './prepaid.tables.ts';
export type { TCard, TOperation as TPrepaidOperation } from './prepaid.schemas.ts';
export type { PaymentAdapter } from './prepaid.payments.ts';
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
  registerPrepaidHandlers,
} from './prepaid.service.ts';
export { refundPreview } from './prepaid.rules.ts';
export { prepaidRoutes } from './prepaid.routes.ts';

/** The columns of this module that hold sealed personal data (for key rotation). */
export const PREPAID_SEALED_COLUMNS = [{ table: 'prepaid_operation', keys: ['tenant_id', 'id'], column: 'bank_sealed', domain: 'pii' }] as const;
