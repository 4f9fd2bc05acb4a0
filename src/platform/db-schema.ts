// The whole database as Kysely sees it: the platform's tables and each module's, by type only.
import type { GradesTables } from '../modules/grades/index.ts';
import type { IdentityTables } from '../modules/identity/index.ts';
import type { LedgerTables } from '../modules/ledger/index.ts';
import type { MembersTables } from '../modules/members/index.ts';
import type { PointsTables } from '../modules/points/index.ts';
import type { CheckoutTables } from '../modules/checkout/index.ts';
import type { CouponsTables } from '../modules/coupons/index.ts';
import type { PrepaidTables } from '../modules/prepaid/index.ts';
import type { StampsTables } from '../modules/stamps/index.ts';
import type { StoresTables } from '../modules/stores/index.ts';
import type { TenantsTables } from '../modules/tenants/index.ts';
import type { PlatformTables } from './platform.tables.ts';

export type DB = PlatformTables & TenantsTables & LedgerTables & IdentityTables & MembersTables & GradesTables & PointsTables & PrepaidTables & StoresTables & StampsTables & CouponsTables & CheckoutTables;
