// Public API of the coupons module: definitions, issuing (first-come exact), using once, gifts and PINs.

export { runBirthdayCoupons } from './coupon-birthday.service.ts';
export { type BulkSummary, bulkIssue, getBulkIssue } from './coupon-bulk.service.ts';
export { reportCouponExpiries } from './coupon-expiry.service.ts';
export { couponRoutes } from './coupons.routes.ts';
export { checkCoupon, discountOf, validityOf } from './coupons.rules.ts';
export type {
  TCoupon,
  TCouponRules,
  TDefinition as TCouponDefinition,
  TOrderContext as TCouponOrder,
} from './coupons.schemas.ts';
export { ZCouponRules, ZDefinitionRequest as ZCouponDefinitionRequest } from './coupons.schemas.ts';
export {
  cancelRedemption,
  createDefinition,
  downloadable,
  generatePins,
  getDefinition,
  giftCoupon,
  holdCoupons,
  issueCoupon,
  listDefinitions,
  memberCoupons,
  redeemCoupon,
  registerCouponHandlers,
  registerPin,
  releaseHold,
  setDefinitionStatus,
  validateCoupon,
  validateMemberCoupons,
} from './coupons.service.ts';
export type { CouponsTables } from './coupons.tables.ts';
