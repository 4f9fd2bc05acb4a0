import { createHash, timingSafeEqual } from 'node:crypto';
import { API_KEY_SCOPES, type ApiKeyScope } from '../../platform/request-context.ts';

// Korean business registration number (사업자등록번호): 10 digits, the last a check digit.
// Weights 1,3,7,1,3,7,1,3,5; add the tens digit of d9×5 once more; C = (10 − S mod 10) mod 10.
const BRN_WEIGHTS = [1, 3, 7, 1, 3, 7, 1, 3, 5] as const;

export const normalizeBrn = (raw: string): string => raw.replace(/[\s-]/g, '');

export function isValidBrn(raw: string): boolean {
  const s = normalizeBrn(raw);
  if (!/^\d{10}$/.test(s)) return false;
  // Tax office code starts at 101; the type code and serial are never all zeros.
  if (s.slice(0, 3) < '101' || s.slice(3, 5) === '00' || s.slice(5, 9) === '0000') return false;
  const d = Array.from(s, Number);
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += d[i]! * BRN_WEIGHTS[i]!;
  sum += Math.floor((d[8]! * 5) / 10);
  return (10 - (sum % 10)) % 10 === d[9];
}

export const formatBrn = (s: string): string => `${s.slice(0, 3)}-${s.slice(3, 5)}-${s.slice(5)}`;

// API keys: moa_<scope>_<tenant>_<key>_<secret>. The tenant and key ids are in the key so a lookup
// is by primary key (tenant_id first, like every tenant-owned row); only a SHA-256 of the secret is
// stored (the secret is 160 random bits, so a slow hash adds nothing).

export type ParsedApiKey = { scope: ApiKeyScope; tenantId: string; keyId: string; secret: string };

const KEY_FORMAT = /^moa_(pos|app|server)_([0-9a-z]{26})_([0-9a-z]{12})_([0-9a-z]{32})$/;

export function parseApiKey(raw: string): ParsedApiKey | undefined {
  const m = KEY_FORMAT.exec(raw);
  if (!m) return undefined;
  return { scope: m[1] as ApiKeyScope, tenantId: `tnt_${m[2]}`, keyId: `key_${m[3]}`, secret: m[4]! };
}

/** The key without its secret: safe to show in lists and logs. */
export function apiKeyPrefix(scope: ApiKeyScope, tenantId: string, keyId: string): string {
  return `moa_${scope}_${tenantId.slice(4)}_${keyId.slice(4)}`;
}

export const formatApiKey = (scope: ApiKeyScope, tenantId: string, keyId: string, secret: string): string =>
  `${apiKeyPrefix(scope, tenantId, keyId)}_${secret}`;

export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret).digest();

export const secretMatches = (secret: string, hash: Buffer): boolean => {
  const candidate = hashSecret(secret);
  return candidate.length === hash.length && timingSafeEqual(candidate, hash);
};

export const isApiKeyScope = (s: string): s is ApiKeyScope => (API_KEY_SCOPES as readonly string[]).includes(s);
