import type { Generated, Selectable } from 'kysely';

export type StoreStatus = 'active' | 'paused' | 'closed';
export type StoreTable = {
  tenant_id: string;
  id: string;
  code: string;
  name: string;
  address: Generated<string>;
  region: Generated<string>;
  status: Generated<StoreStatus>;
  created_at: Generated<Date>;
};
export type StoreManagerTable = {
  tenant_id: string;
  id: string;
  login_id: string;
  name: string;
  password_hash: string;
  failed_logins: Generated<number>;
  locked_until: Date | null;
  status: Generated<'active' | 'disabled'>;
  created_at: Generated<Date>;
};
export type StoreManagerStoreTable = { tenant_id: string; manager_id: string; store_id: string };
export type StoreManagerSessionTable = {
  token_hash: Buffer;
  tenant_id: string;
  manager_id: string;
  expires_at: Date;
  created_at: Generated<Date>;
};
export type StampDeviceTable = { tenant_id: string; serial: string; store_id: string; registered_at: Generated<Date> };

export type StoreRow = Selectable<StoreTable>;
export type StoreManagerRow = Selectable<StoreManagerTable>;

export type StoresTables = {
  store: StoreTable;
  store_manager: StoreManagerTable;
  store_manager_store: StoreManagerStoreTable;
  store_manager_session: StoreManagerSessionTable;
  stamp_device: StampDeviceTable;
};
