import { fieldError } from '../../platform/errors.ts';

// Sign-up and login rules that need no database.

export const LOGIN_ID = /^[a-z][a-z0-9_.-]{3,19}$/;

/** Login IDs compare case-insensitively: stored lower case. */
export const normalizeLoginId = (id: string) => id.trim().toLowerCase();

/**
 * 8-64 characters with at least two of letters, digits and symbols, not containing the login ID,
 * and not one character repeated (the common rule of Korean sign-up forms, KISA guidance).
 */
export function checkPassword(password: string, loginId: string, field = 'password'): void {
  if (password.length < 8 || password.length > 64) throw fieldError(field, '8-64 characters', 'password_length');
  const kinds = [/[A-Za-z]/, /\d/, /[^A-Za-z\d]/].filter((re) => re.test(password)).length;
  if (kinds < 2) throw fieldError(field, 'use at least two of letters, digits and symbols', 'password_weak');
  if (loginId && password.toLowerCase().includes(loginId.toLowerCase()))
    throw fieldError(field, 'must not contain the login ID', 'password_contains_id');
  if (/^(.)\1+$/.test(password)) throw fieldError(field, 'must not repeat one character', 'password_weak');
}

/** 홍길동's login id "hong.gd" shown by find-ID as "ho*****". */
export const maskLoginId = (id: string) => id.slice(0, 2) + '*'.repeat(Math.max(id.length - 2, 1));

/** A birth date's month and day as month * 100 + day (1990-03-09 → 309); 0 when unknown. */
export const birthMonthDay = (birthDate: string | null): number =>
  birthDate ? Number(birthDate.slice(5, 7)) * 100 + Number(birthDate.slice(8, 10)) : 0;
