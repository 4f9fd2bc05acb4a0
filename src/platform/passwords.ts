import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

// Password hashing for members and operators: scrypt (memory-hard, in node:crypto, no native
// add-on). Stored as scrypt$N$r$p$salt$hash so the cost can rise later without a flag day.

const COST = { N: 16_384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

const derive = (password: string, salt: Buffer, o: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { ...o, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

let checks = 0;
let accountChecks = 0;
/** How many password checks (the dummy's included) this process has run: tests count them to show a limit held. */
export const passwordChecks = () => checks;
/** The same, of real accounts' hashes only. */
export const accountPasswordChecks = () => accountChecks;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  checks++;
  accountChecks++;
  return verify(password, stored);
}

async function verify(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

let dummy: Promise<string> | undefined;

/**
 * Checks a password against the account's hash, or, when there is no usable account, against a
 * dummy hash: both paths run the same scrypt work, so neither the answer nor its timing tells
 * whether the account exists. False for the dummy.
 */
export async function verifyPasswordOrDummy(password: string, stored: string | null | undefined): Promise<boolean> {
  dummy ??= hashPassword('not-a-real-password');
  if (stored == null) {
    checks++;
    return verify(password, await dummy).then(() => false);
  }
  return verifyPassword(password, stored);
}
