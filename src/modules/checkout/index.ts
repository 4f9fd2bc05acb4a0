// Public API of the checkout module: quote, commit and cancel across coupons, points, prepaid and stamps.
export type { CheckoutTables } from './checkout.tables.ts';
export type { TCheckout, TQuote } from './checkout.schemas.ts';
export { quote, commit, cancel, replay, getCheckout } from './checkout.service.ts';
export { bestCombination, combinationProblem } from './checkout.rules.ts';
export { checkoutRoutes } from './checkout.routes.ts';
