import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

// Personal data at rest (ARCHITECTURE.md, personal data): values are sealed with AES-256-GCM under
// a key derived from the master key, and found again through keyed hashes, never through the
// plaintext. A sealed value names its key ("v1.<key id>.<iv|tag|ciphertext>") so keys can rotate
// without a flag day; a keyed hash is tenant-scoped, so the same phone in two brands does not link.

const VERSION = 'v1';
// The first key of each domain is derived from the master key and never stored; keys added by
// rotation are random, stored wrapped by the master key (platform/pii-keys.ts), and installed here.
const FIRST_KEY_ID = 'k1';

export type PiiDomain = 'pii' | 'dormant';

export type PiiKind = 'ci' | 'phone' | 'email' | 'name-phone' | 'login' | 'card-number' | 'coupon-pin' | 'client-ip' | 'barcode';

export type Pii = {
  /** Seals a value (a string, or any JSON value) for storage, under the current key. */
  seal(value: unknown): string;
  /** Opens a value sealed by seal(); throws when it was tampered with or the key is unknown. */
  open<T = unknown>(sealed: string): T;
  /** HMAC-SHA256 of a normalized value, scoped to a tenant and a kind: an index key, not reversible. */
  hash(tenantId: string, kind: PiiKind, value: string): string;
  /** The id of the key seal() uses. */
  readonly currentKeyId: string;
  /** Adds keys (rotation) and makes one of them current. */
  install(keys: ReadonlyMap<string, Buffer>, current: string): void;
};

const derive = (masterKey: Buffer, info: string) => Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), info, 32));

function aesSeal(key: Buffer, plaintext: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function aesOpen(key: Buffer, raw: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
}

/** A data key wrapped by the master key (AES-256-GCM under a key-encryption key derived from it). */
export const wrapKey = (masterKey: Buffer, key: Buffer) => aesSeal(derive(masterKey, 'moa:kek:v1'), key).toString('base64url');
export const unwrapKey = (masterKey: Buffer, wrapped: string) =>
  aesOpen(derive(masterKey, 'moa:kek:v1'), Buffer.from(wrapped, 'base64url'));

/**
 * domain separates stores that must not share a key: 'pii' for live data, 'dormant' for dormant
 * members' data, which PIPA wants kept apart.
 */
export function createPii(masterKey: Buffer, domain: PiiDomain = 'pii'): Pii {
  if (masterKey.length < 32) throw new Error('the master key must be at least 32 bytes');
  const keys = new Map<string, Buffer>([[FIRST_KEY_ID, derive(masterKey, `moa:${domain}:${FIRST_KEY_ID}`)]]);
  let current = FIRST_KEY_ID;
  const hashKey = derive(masterKey, 'moa:pii-hash:v1');
  return {
    seal(value) {
      const sealed = aesSeal(keys.get(current)!, Buffer.from(JSON.stringify(value), 'utf8'));
      return `${VERSION}.${current}.${sealed.toString('base64url')}`;
    },
    open<T>(sealed: string): T {
      const [version, keyId, data] = sealed.split('.');
      const key = keyId === undefined ? undefined : keys.get(keyId);
      if (version !== VERSION || !key || !data)
        throw new Error(`sealed value with an unknown format or key (${version}.${keyId})`);
      return JSON.parse(aesOpen(key, Buffer.from(data, 'base64url')).toString('utf8')) as T;
    },
    hash(tenantId, kind, value) {
      return createHmac('sha256', hashKey).update(`${tenantId}\0${kind}\0${value}`).digest('base64url');
    },
    get currentKeyId() {
      return current;
    },
    install(added, id) {
      for (const [k, v] of added) keys.set(k, v);
      if (!keys.has(id)) throw new Error(`no key ${id} to make current`);
      current = id;
    },
  };
}

// One masking rule set for the whole product (PIPA display limits): what a screen, a log or an
// API response shows of a person.

/** 홍길동 → 홍*동, 홍길 → 홍*, John Smith → J*** S****. */
export function maskName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length <= 1) return '*';
  if (/^[\p{Script=Hangul}]+$/u.test(name.trim())) {
    return chars.length === 2 ? `${chars[0]}*` : `${chars[0]}${'*'.repeat(chars.length - 2)}${chars.at(-1)}`;
  }
  return name
    .trim()
    .split(/\s+/)
    .map((w) => w[0] + '*'.repeat(Math.max(w.length - 1, 1)))
    .join(' ');
}

/** 01012345678 → 010-****-5678. */
export function maskPhone(phone: string): string {
  const d = phone.replace(/\D/g, '');
  if (d.length < 8) return '*'.repeat(d.length);
  return `${d.slice(0, 3)}-${'*'.repeat(d.length - 7)}-${d.slice(-4)}`;
}

/** abcdef@example.com → ab****@example.com. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  const local = email.slice(0, at);
  return `${local.slice(0, Math.min(2, local.length - 1))}${'*'.repeat(Math.max(local.length - 2, 1))}${email.slice(at)}`;
}

/** Korean mobile numbers as stored: digits only (010-1234-5678 → 01012345678). */
export const normalizePhone = (phone: string) => phone.replace(/\D/g, '');

/** A Korean mobile number, normalized (010…, 011…, 016…–019…). */
export const isKoreanMobile = (digits: string) => /^01[016789]\d{7,8}$/.test(digits);

const cache = new WeakMap<Buffer, Map<PiiDomain, Pii>>();
/** The Pii of a master key and domain, derived once per process. */
export function piiFor(masterKey: Buffer, domain: PiiDomain = 'pii'): Pii {
  let byDomain = cache.get(masterKey);
  if (!byDomain) cache.set(masterKey, (byDomain = new Map()));
  let pii = byDomain.get(domain);
  if (!pii) byDomain.set(domain, (pii = createPii(masterKey, domain)));
  return pii;
}
