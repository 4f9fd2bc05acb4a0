import { Secret, TOTP } from 'otpauth';

// TOTP as RFC 6238 with the parameters every authenticator app supports: SHA-1, 6 digits, 30 s,
// one step of clock drift either way. The library finds the step; refusing a step already used
// (§5.2: a code is accepted once) is ours, against operator_totp.last_step.

export const TOTP_PERIOD_SECONDS = 30;

const totp = (secret: string, issuer = 'Moa', label = 'operator') =>
  new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secret) });

/** A new 160-bit secret in Base32 (32 characters), as authenticator apps take it. */
export const newTotpSecret = () => new Secret({ size: 20 }).base32;

/** The otpauth:// URI a QR code carries: the app lists it as "Moa <brand>: <e-mail>". */
export const totpUri = (secret: string, account: string, brand: string) => totp(secret, `Moa ${brand}`, account).toString();

/** The 30-second step a code belongs to, within ±1 step of now; null when it matches none. */
export function totpStep(secret: string, code: string, now: Date): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp(secret).validate({ token: code, timestamp: now.getTime(), window: 1 });
  return delta === null ? null : Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS) + delta;
}

/** The code of a step (tests, the demo's printed first code). */
export const totpCode = (secret: string, at: Date) => totp(secret).generate({ timestamp: at.getTime() });
