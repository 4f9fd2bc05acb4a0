// Public API of the stores module: stores, store managers and stamp devices.
export type { StoresTables } from './stores.tables.ts';
export type { TStore, TManager } from './stores.schemas.ts';
export {
  createStore,
  listStores,
  activeStore,
  createManager,
  setManagerStores,
  managerLogin,
  authenticateManager,
  requireStoreManager,
  registerDevice,
  deviceStore,
} from './stores.service.ts';
export { storeRoutes } from './stores.routes.ts';
