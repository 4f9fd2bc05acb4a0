// Public API of the points module: the policy and every movement of a member's points (through the ledger).
export type { PointsTables } from './points.tables.ts';
export type { TPointOperation, TPointPolicySettings } from './points.schemas.ts';
export { ZPointPolicySettings } from './points.schemas.ts';
export {
  POINT,
  pointPolicyAt,
  setPointPolicy,
  pointWallet,
  earnPoints,
  usePoints,
  cancelPoints,
  adjustPoints,
  /** Credits a lot (promotion rewards, stamp rewards, imports); idempotent on its id. */
  grantPoints,
  pointBalance,
  /** For a checkout quote: balance, the most usable on an order, and what it would earn. */
  pointsQuote,
  pointOperations,
  /** The job: one points.expiring event per member and first expiry within 30 days. */
  sendExpiryNotices,
  registerPointHandlers,
} from './points.service.ts';
export { earnAmount, expiryOf } from './points.rules.ts';
export { pointRoutes } from './points.routes.ts';
