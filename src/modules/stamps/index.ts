// Public API of the stamps module: stamp cards, earning by policy, boards and rewards, and the OTP fallback.

export { stampRoutes } from './stamps.routes.ts';
export { stampsForOrder } from './stamps.rules.ts';
export type { TEarnResult, TStampCard } from './stamps.schemas.ts';
export { ZStampCardRequest } from './stamps.schemas.ts';
export {
  approveOtp,
  cancelOrderStamps,
  createStampCard,
  earnForEvent,
  earnForOrder,
  issueOtp,
  listStampCards,
  memberStampCards,
  previewOrderStamps,
  reduceOrderStamps,
  stampLedger,
} from './stamps.service.ts';
export type { StampsTables } from './stamps.tables.ts';
