import type { Deps } from '../../platform/deps.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { giveBackSecretCheck, limitSecretCheck } from '../../platform/limits.ts';
import { recordAccess } from '../audit/index.ts';
import { memberCoupons } from '../coupons/index.ts';
import { gradeSettings } from '../grades/index.ts';
import { identifiedMember, memberIdByPhone, useBarcode } from '../members/index.ts';
import { pointWallet } from '../points/index.ts';
import { listCards, physicalCardHolder } from '../prepaid/index.ts';
import { memberStampCards } from '../stamps/index.ts';
import { requireStore } from '../stores/index.ts';
import type { TIdentified, TIdentifyRequest } from './checkout-identify.schemas.ts';

type IdentifyDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'masterKey' | 'log'>;

/** Who scans: an operator's session, or an API key (a POS terminal, bound to a store or not, or the brand's server). */
export type IdentifyCaller = {
  kind: 'operator' | 'api_key';
  /** The operator or the API key. */
  actorId: string;
  ip: string;
  requestId: string;
};

/** Each identify is a check of a secret for the limits (platform/limits.ts): per caller and per client IP. */
export const IDENTIFY_CHECK = 'member_identify';

const notFound = (by: string) => new AppError('MEMBER_NOT_FOUND', `No member is found by this ${by}.`, { by });

async function memberIdOf(deps: IdentifyDeps, tenantId: string, input: TIdentifyRequest): Promise<string> {
  if (input.barcode !== undefined) return useBarcode(deps, tenantId, input.barcode);
  if (input.cardNumber !== undefined) {
    const holder = await physicalCardHolder(deps, tenantId, input.cardNumber);
    if (!holder) throw notFound('card');
    return holder.memberId;
  }
  return memberIdByPhone(deps, tenantId, input.phone!);
}

/**
 * Identifies the member at the counter by the app's barcode (used once, atomically), a registered
 * physical card or a phone number (keyed hashes only), and answers the member, the grade and a
 * summary of the balances. Rate-limited per caller and per IP before any lookup (RATE_LIMITED);
 * a barcode that resolves is given back, so a busy counter is never slowed, while misses and every
 * card or phone lookup count. An operator's success is written to the personal-data access log;
 * every outcome is a structured log line.
 */
export async function identify(
  deps: IdentifyDeps,
  tenantId: string,
  input: TIdentifyRequest,
  who: IdentifyCaller,
): Promise<TIdentified> {
  const by = input.barcode !== undefined ? 'barcode' : input.cardNumber !== undefined ? 'card' : 'phone';
  const storeId = input.storeId ?? null;
  const line = { event: 'member.identify', tenantId, by, caller: who.kind, actorId: who.actorId, storeId, reqId: who.requestId };
  if (storeId !== null) await requireStore(deps, tenantId, storeId);
  let memberId: string;
  try {
    const counted = await limitSecretCheck(deps, tenantId, { kind: IDENTIFY_CHECK, credential: who.actorId, ip: who.ip });
    memberId = await memberIdOf(deps, tenantId, input);
    if (by === 'barcode') await giveBackSecretCheck(deps, tenantId, counted);
  } catch (err) {
    if (isAppError(err)) deps.log.info({ ...line, outcome: err.code }, 'member identify refused');
    throw err;
  }
  const member = await identifiedMember(deps, tenantId, memberId);
  const [wallet, cards, coupons, stampCards, grades] = await Promise.all([
    pointWallet(deps, tenantId, memberId),
    listCards(deps, tenantId, memberId),
    memberCoupons(deps, tenantId, memberId, { usableOnly: true }),
    memberStampCards(deps, tenantId, memberId),
    member.grade ? gradeSettings(deps, tenantId) : undefined,
  ]);
  const activeCards = cards.filter((c) => c.status === 'active');
  const level = grades?.levels.find((l) => l.code === member.grade);
  const answer: TIdentified = {
    identifiedBy: by,
    member: {
      id: member.id,
      name: member.name,
      status: member.status,
      grade: member.grade ? { code: member.grade, name: level?.name ?? member.grade } : null,
    },
    balances: {
      points: wallet.balance.available,
      prepaid: activeCards.reduce((sum, c) => sum + c.balance, 0),
      prepaidCards: activeCards.length,
      coupons: coupons.length,
      stampCards: stampCards.items
        .filter((s) => s.card.status === 'active')
        .map((s) => ({
          cardId: s.card.id,
          name: s.card.name,
          stamps: s.stamps,
          stampsPerBoard: s.card.stampsPerBoard,
          boardsCompleted: s.boardsCompleted,
        })),
    },
  };
  // A person at a console saw a member's (masked) name: the access log. A terminal's or server's key: the log line.
  if (who.kind === 'operator')
    await recordAccess(deps.db, tenantId, {
      operatorId: who.actorId,
      ip: who.ip,
      action: 'view',
      memberIds: [memberId],
      fields: ['name'],
      query: { identifiedBy: by, storeId },
      requestId: who.requestId,
    });
  deps.log.info({ ...line, outcome: 'identified', memberId }, 'member identified');
  return answer;
}
