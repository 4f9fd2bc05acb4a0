// Public API of the coupons module: definitions, issuing (first-come exact), using once, gifts and PINs.
export type { CouponsTables } from './coupons.tables.ts';
export type { TCoupon, TDefinition as TCouponDefinition, TCouponRules, TOrderContext as TCouponOrder } from './coupons.schemas.ts';
export { ZCouponRules, ZDefinitionRequest as ZCouponDefinitionRequest } from './coupons.schemas.ts';
export {
  createDefinition,
  getDefinition,
  listDefinitions,
  setDefinitionStatus,
  issueCoupon,
  downloadable,
  generatePins,
  registerPin,
  memberCoupons,
  validateCoupon,
  validateMemberCoupons,
  redeemCoupon,
  cancelRedemption,
  holdCoupons,
  releaseHold,
  giftCoupon,
  registerCouponHandlers,
} from './coupons.service.ts';
export { bulkIssue, getBulkIssue, type BulkSummary } from './coupon-bulk.service.ts';
export { runBirthdayCoupons } from './coupon-birthday.service.ts';
export { checkCoupon, discountOf, validityOf } from './coupons.rules.ts';
export { couponRoutes } from './coupons.routes.ts';
