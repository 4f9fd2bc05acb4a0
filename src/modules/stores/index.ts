// Public API of the stores module: stores, store managers and stamp devices.
export type { StoresTables } from './stores.tables.ts';
export type { TStore, TManager } from './stores.schemas.ts';
export {
  createStore,
  listStores,
  activeStore,
  /** The store a write names must be the tenant's (NOT_FOUND): one primary-key lookup per transaction. */
  requireStore,
  createManager,
  setManagerStores,
  managerLogin,
  authenticateManager,
  requireStoreManager,
  registerDevice,
  deviceStore,
} from './stores.service.ts';
export { storeRoutes } from './stores.routes.ts';
