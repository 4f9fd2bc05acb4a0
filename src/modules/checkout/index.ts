// Public API of the checkout module: quote, commit and cancel across coupons, points, prepaid and stamps.

export { checkoutRoutes } from './checkout.routes.ts';
export { bestCombination, combinationProblem } from './checkout.rules.ts';
export type { TCheckout, TQuote } from './checkout.schemas.ts';
export { cancel, commit, getCheckout, quote, replay } from './checkout.service.ts';
export type { CheckoutTables } from './checkout.tables.ts';
export { identifyRoutes } from './checkout-identify.routes.ts';
export type { TIdentified } from './checkout-identify.schemas.ts';
export { identify } from './checkout-identify.service.ts';
