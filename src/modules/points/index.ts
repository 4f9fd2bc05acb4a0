// Public API of the points module: the policy and every movement of a member's points (through the ledger).

export { pointRoutes } from './points.routes.ts';
export { earnAmount, expiryOf } from './points.rules.ts';
export type { TPointOperation, TPointPolicySettings } from './points.schemas.ts';
export { ZPointPolicySettings } from './points.schemas.ts';
export {
  adjustPoints,
  cancelPoints,
  earnPoints,
  /** Credits a lot (promotion rewards, stamp rewards, imports); idempotent on its id. */
  grantPoints,
  POINT,
  pointBalance,
  pointOperations,
  pointPolicyAt,
  /** For a checkout quote: balance, the most usable on an order, and what it would earn. */
  pointsQuote,
  pointWallet,
  registerPointHandlers,
  /** The job: one points.expiring event per member and first expiry within 30 days. */
  sendExpiryNotices,
  setPointPolicy,
  usePoints,
} from './points.service.ts';
export type { PointsTables } from './points.tables.ts';
