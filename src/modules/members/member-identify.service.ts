import { randomInt } from 'node:crypto';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fromDatabaseError } from '../../platform/errors.ts';
import { maskName, normalizePhone, piiFor } from '../../platform/pii.ts';
import * as repo from './member-identify.repository.ts';
import * as membersRepo from './members.repository.ts';
import type { Profile } from './members.service.ts';

// The counter: the member app shows a dynamic barcode, and a POS identifies the member by it, by a
// physical card (prepaid module) or by phone. Codes and phones are looked up by keyed hash only.

/** A code is good for one scan within this many seconds of its issue. */
export const BARCODE_TTL_SECONDS = 60;
/** The app asks for a new code this long before the current one expires. */
const REFRESH_MARGIN_SECONDS = 10;
/** 17 random digits and a Luhn check digit: what a POS scanner reads from a Code 128 barcode or a QR code. */
export const BARCODE_LENGTH = 18;

/** The Luhn check digit of a string of digits (the one that makes digits + check pass the Luhn test). */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** 18 digits whose last is the Luhn check digit of the others: a misread scan is caught before any lookup. */
export const isBarcode = (code: string) =>
  new RegExp(`^\\d{${BARCODE_LENGTH}}$`).test(code) && luhnCheckDigit(code.slice(0, -1)) === Number(code[BARCODE_LENGTH - 1]);

function newCode(): string {
  // A leading zero could be lost by a POS that reads the code as a number.
  const body = [randomInt(1, 10), ...Array.from({ length: BARCODE_LENGTH - 2 }, () => randomInt(10))].join('');
  return `${body}${luhnCheckDigit(body)}`;
}

export type TBarcode = { code: string; expiresAt: string; refreshAfter: string };

/**
 * A new code for the member's app; it replaces the previous one at once (an old screenshot no longer
 * works). Only its keyed hash is stored. Not idempotent on purpose: a retry just replaces the code.
 */
export async function issueBarcode(
  deps: Pick<Deps, 'db' | 'clock' | 'masterKey'>,
  tenantId: string,
  memberId: string,
): Promise<TBarcode> {
  const issuedAt = deps.clock.now();
  const expiresAt = new Date(issuedAt.getTime() + BARCODE_TTL_SECONDS * 1000);
  for (let attempt = 1; ; attempt++) {
    const code = newCode();
    try {
      await repo.replaceBarcode(deps.db, tenantId, memberId, {
        hash: piiFor(deps.masterKey).hash(tenantId, 'barcode', code),
        issuedAt,
        expiresAt,
      });
    } catch (err) {
      // Another member's live code drew the same 17 digits (1 in 10^17): draw again.
      if (attempt < 3 && fromDatabaseError(err)?.details?.constraint === 'member_barcode_code') continue;
      throw err;
    }
    return {
      code,
      expiresAt: expiresAt.toISOString(),
      refreshAfter: new Date(expiresAt.getTime() - REFRESH_MARGIN_SECONDS * 1000).toISOString(),
    };
  }
}

const notFound = (by: string) => new AppError('MEMBER_NOT_FOUND', `No member is found by this ${by}.`, { by });

/**
 * The member behind a scanned code, using it: of parallel scans of one code exactly one succeeds.
 * BARCODE_USED, BARCODE_EXPIRED, or MEMBER_NOT_FOUND for a code never issued or already replaced.
 */
export async function useBarcode(deps: Pick<Deps, 'db' | 'clock' | 'masterKey'>, tenantId: string, code: string) {
  const hash = piiFor(deps.masterKey).hash(tenantId, 'barcode', code);
  const now = deps.clock.now();
  const memberId = await repo.useBarcode(deps.db, tenantId, hash, now);
  if (memberId) return memberId;
  const found = await repo.findBarcode(deps.db, tenantId, hash);
  if (!found) throw notFound('barcode');
  if (found.used_at)
    throw new AppError('BARCODE_USED', 'This code was scanned already: the member shows a new one.', {
      usedAt: found.used_at.toISOString(),
    });
  throw new AppError('BARCODE_EXPIRED', 'This code has expired: the member shows a new one.', {
    expiredAt: found.expires_at.toISOString(),
  });
}

/** The active member with this phone number, found by its keyed hash (never by opening profiles). */
export async function memberIdByPhone(deps: Pick<Deps, 'db' | 'masterKey'>, tenantId: string, phone: string) {
  const hash = piiFor(deps.masterKey).hash(tenantId, 'phone', normalizePhone(phone));
  const rows = await repo.activeByPhoneHash(deps.db, tenantId, hash);
  if (rows.length === 0) throw notFound('phone');
  if (rows.length > 1)
    throw new AppError('CONFLICT', 'Several members have this phone number: identify by the app’s barcode or a card.', {
      rule: 'phone_shared',
    });
  return rows[0]!.id;
}

export type TIdentifiedMember = { id: string; name: string | null; status: 'active'; grade: string | null };

/** What the counter may show of a member: the id, the masked name and the grade code; MEMBER_NOT_ACTIVE unless active. */
export async function identifiedMember(
  deps: Pick<Deps, 'db' | 'masterKey'>,
  tenantId: string,
  memberId: string,
): Promise<TIdentifiedMember> {
  const row = await membersRepo.findMember(deps.db, tenantId, memberId);
  if (!row) throw notFound('id');
  if (row.status !== 'active')
    throw new AppError('MEMBER_NOT_ACTIVE', `Member ${memberId} is ${row.status}.`, { status: row.status });
  const profile = row.profile_sealed ? piiFor(deps.masterKey).open<Profile>(row.profile_sealed) : null;
  return { id: row.id, name: profile ? maskName(profile.name) : null, status: 'active', grade: row.grade };
}
