// The whole database as Kysely sees it: the platform's tables and each module's, by type only.
// It imports the modules' *.tables.ts files (plain types, importing nothing of ours), not their
// index.ts: an index pulls in the module's services, which import platform/db.ts, which imports
// this file — one cycle through every module.
import type { AuditTables } from '../modules/audit/audit.tables.ts';
import type { CheckoutTables } from '../modules/checkout/checkout.tables.ts';
import type { CouponsTables } from '../modules/coupons/coupons.tables.ts';
import type { GradesTables } from '../modules/grades/grades.tables.ts';
import type { IdentityTables } from '../modules/identity/identity.tables.ts';
import type { LedgerTables } from '../modules/ledger/ledger.tables.ts';
import type { MembersTables } from '../modules/members/members.tables.ts';
import type { MessagesTables } from '../modules/messages/messages.tables.ts';
import type { OperatorsTables } from '../modules/operators/operators.tables.ts';
import type { PointsTables } from '../modules/points/points.tables.ts';
import type { PrepaidTables } from '../modules/prepaid/prepaid.tables.ts';
import type { StampsTables } from '../modules/stamps/stamps.tables.ts';
import type { StoresTables } from '../modules/stores/stores.tables.ts';
import type { TenantsTables } from '../modules/tenants/tenants.tables.ts';
import type { WebhooksTables } from '../modules/webhooks/webhooks.tables.ts';
import type { PlatformTables } from './platform.tables.ts';

export type DB = PlatformTables &
  TenantsTables &
  LedgerTables &
  IdentityTables &
  MembersTables &
  MessagesTables &
  GradesTables &
  PointsTables &
  PrepaidTables &
  StoresTables &
  StampsTables &
  CouponsTables &
  CheckoutTables &
  OperatorsTables &
  AuditTables &
  WebhooksTables;
