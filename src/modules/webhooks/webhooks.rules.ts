import { createHmac, randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

// Pure rules of webhook delivery: Standard Webhooks signatures, the retry schedule, and which
// addresses an endpoint may reach.

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes (the spec asks 24-64). */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under the secret's decoded bytes. */
export function signature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The webhook-signature header: one signature per live secret, space-separated (rotation). */
export const signatureHeader = (secrets: readonly string[], id: string, timestamp: number, body: string) =>
  secrets.map((s) => signature(s, id, timestamp, body)).join(' ');

/** webhook-id: stable across the retries and replays of a message. */
export const messageId = (eventSeq: number | string) => `evt_${eventSeq}`;

/**
 * Svix's schedule: the first attempt at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
 * 10 h: 8 attempts over about 27.6 hours. The delay after failed attempt n is RETRY_DELAYS_S[n-1].
 */
export const RETRY_DELAYS_S = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_S.length + 1;

/**
 * When to try again after failed attempt `attempt` (1-based), ±10 % jitter so endpoints that failed
 * together do not come back in lockstep; a Retry-After longer than that is honoured (at most 24 h).
 * null: give up.
 */
export function retryDelayMs(attempt: number, retryAfterS?: number, random = Math.random): number | null {
  const base = RETRY_DELAYS_S[attempt - 1];
  if (base === undefined) return null;
  const jittered = base * 1000 * (0.9 + 0.2 * random());
  const asked = retryAfterS !== undefined && Number.isFinite(retryAfterS) ? Math.min(retryAfterS, 86_400) * 1000 : 0;
  return Math.round(Math.max(jittered, asked));
}

// Every range that is not a public unicast address (IANA special-purpose registries).
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  blocked.addSubnet(net, bits, 'ipv6');

/** Whether an IP address is public unicast (IPv4-mapped IPv6 is judged as its IPv4 address). */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]!);
  return !blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Why a URL cannot be an endpoint before any lookup (scheme, credentials), or null. */
export function urlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:'))
    return allowPrivate ? 'must be an http:// or https:// URL' : 'must be an https:// URL';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a #fragment';
  return null;
}

/** The response excerpt kept with an attempt: at most 1 KB of UTF-8. */
export function excerpt(body: Buffer): string {
  const cut = body.subarray(0, 1024).toString('utf8');
  // A multi-byte character cut in half decodes to U+FFFD: drop it rather than store garbage.
  return cut.replace(/\uFFFD+$/, '');
}
