import { randomBytes } from 'node:crypto';

// Prefixed, time-ordered ids ("tnt_01jf…"): readable in logs and URLs, sortable by creation, and
// index-friendly (new rows land at the right edge of a B-tree). ULID layout: 48-bit milliseconds
// + 80 random bits, Crockford base32, lower case.

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** 26 characters: 10 of time, 16 of randomness. */
export function ulid(now: number = Date.now()): string {
  let time = '';
  for (let i = 0, t = now; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  return time + encode(randomBytes(10));
}

export function newId(prefix: string, now?: number): string {
  return `${prefix}_${ulid(now)}`;
}

/** Random characters from the same alphabet, for secrets and short ids. */
export function randomToken(length: number): string {
  return encode(randomBytes(Math.ceil((length * 5) / 8))).slice(0, length);
}
