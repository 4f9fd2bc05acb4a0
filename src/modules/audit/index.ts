// Public API of the audit module: the personal-data access log.

export { auditRoutes } from './audit.routes.ts';
export { MIN_REASON_LENGTH, MIN_RETENTION_MONTHS, REASON_ACTIONS } from './audit.rules.ts';
export type { TAccessEntry, TAccessLogEntry, TMonthlyReport, TRecordedAccess, TVerifyResult } from './audit.schemas.ts';
export { PERSONAL_FIELDS } from './audit.schemas.ts';
export {
  /** The log (or a period of it) as CSV lines (moa audit export). */
  accessLogCsv,
  monthlyReport,
  /** The retention job (audit.retention). */
  purgeAccessLogs,
  /** Records one access to personal data; joins the caller's transaction (call it last there). */
  recordAccess,
  searchAccessLog,
  verifyAccessLog,
  /** Every tenant's log, or one tenant's (moa audit verify). */
  verifyAccessLogs,
} from './audit.service.ts';
export type { AccessAction, AuditTables } from './audit.tables.ts';
export { ACCESS_ACTIONS } from './audit.tables.ts';
