// Public API of the stores module: stores, store managers and stamp devices.

export { storeRoutes } from './stores.routes.ts';
export type { TManager, TStore } from './stores.schemas.ts';
export {
  activeStore,
  authenticateManager,
  createManager,
  createStore,
  deviceStore,
  listStores,
  managerLogin,
  registerDevice,
  /** The store a write names must be the tenant's (NOT_FOUND): one primary-key lookup per transaction. */
  requireStore,
  requireStoreManager,
  /** Every one of the stores must be the tenant's (NOT_FOUND naming the others): one statement. */
  requireStores,
  setManagerStores,
} from './stores.service.ts';
export type { StoresTables } from './stores.tables.ts';
