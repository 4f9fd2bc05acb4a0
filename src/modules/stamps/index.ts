// Public API of the stamps module: stamp cards, earning by policy, boards and rewards, and the OTP fallback.
export type { StampsTables } from './stamps.tables.ts';
export type { TStampCard, TEarnResult } from './stamps.schemas.ts';
export { ZStampCardRequest } from './stamps.schemas.ts';
export {
  stampLedger,
  createStampCard,
  listStampCards,
  earnForOrder,
  previewOrderStamps,
  earnForEvent,
  cancelOrderStamps,
  reduceOrderStamps,
  memberStampCards,
  issueOtp,
  approveOtp,
} from './stamps.service.ts';
export { stampsForOrder } from './stamps.rules.ts';
export { stampRoutes } from './stamps.routes.ts';
