import type { Generated, Selectable } from 'kysely';

export type TenantStatus = 'active' | 'suspended' | 'closed';
export type Locale = 'ko-KR' | 'en-US';

export type TenantTable = {
  id: string;
  name: string;
  business_registration_number: string;
  time_zone: string;
  operator_idle_minutes: Generated<number>;
  locale: Locale;
  currency: Generated<'KRW'>;
  status: Generated<TenantStatus>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
};

export type ApiKeyTable = {
  tenant_id: string;
  id: string;
  name: string;
  scope: 'pos' | 'app' | 'server';
  prefix: string;
  secret_hash: Buffer;
  created_at: Generated<Date>;
  last_used_at: Date | null;
  revoked_at: Date | null;
  /** A key bound to a store acts for that store only (a POS terminal); null: the whole brand. */
  store_id: Generated<string | null>;
};

export type TenantRow = Selectable<TenantTable>;
export type ApiKeyRow = Selectable<ApiKeyTable>;

export type TenantsTables = {
  tenant: TenantTable;
  api_key: ApiKeyTable;
};
