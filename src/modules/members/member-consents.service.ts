import { withTransaction } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, fieldError } from '../../platform/errors.ts';
import { piiFor } from '../../platform/pii.ts';
import { enqueueMail, enqueueMessage } from '../messages/index.ts';
import { getTenant } from '../tenants/index.ts';
import * as repo from './members.repository.ts';
import type { TMemberConsents, TMemberConsentsChange, TMyConsentsChange } from './members.schemas.ts';
import { currentConsents, type Profile } from './members.service.ts';
import type { ConsentChannel, ConsentKind, Consents } from './members.tables.ts';

// Consents (issue 17 §3): the current state stays on the member row (member.consents), and every
// change is one row of member_consent, which the application roles may insert and read only. A
// change of an advertising consent is told to the member with its date and content (정보통신망법
// §50 ⑦, 수신동의 처리 결과 통지), queued through the messages module in the same transaction.

type ConsentDeps = Pick<Deps, 'db' | 'clock' | 'masterKey' | 'providers' | 'outbox'>;

const MARKETING = ['sms', 'messenger', 'push', 'email'] as const;
type MarketingChannel = (typeof MARKETING)[number];

/** Who makes a change: the member, the brand's server, or an operator for the member (with a reason). */
export type ConsentActor =
  | { kind: 'member'; channel: 'app' | 'web' }
  | { kind: 'server'; channel: Exclude<ConsentChannel, 'operator'> | undefined; reason: string | undefined }
  | { kind: 'operator'; operatorId: string; reason: string | undefined };

/** What the messaging module sends by: each advertising channel, and night-time (21:00-08:00) sending. */
export type MarketingConsent = Record<MarketingChannel, boolean> & { night: boolean };

const LABELS: Record<MarketingChannel | 'night', string> = {
  sms: '문자(SMS)',
  messenger: '카카오톡(알림톡·친구톡)',
  push: '앱 푸시',
  email: '이메일',
  night: '야간(21시~08시) 광고 수신',
};

async function view(deps: Pick<Deps, 'db'>, tenantId: string, memberId: string, consents: Consents): Promise<TMemberConsents> {
  const rows = await repo.consentHistory(deps.db, tenantId, memberId);
  return {
    current: currentConsents(consents),
    history: rows.map((r) => ({
      consent: r.consent,
      granted: r.granted,
      at: r.at.toISOString(),
      channel: r.channel,
      operatorId: r.operator_id,
      reason: r.reason,
    })),
  };
}

/** The member's consents now and every change, oldest first. */
export async function getConsents(deps: Pick<Deps, 'db'>, tenantId: string, memberId: string): Promise<TMemberConsents> {
  const row = await repo.findMember(deps.db, tenantId, memberId);
  if (!row) throw new AppError('NOT_FOUND', `No member ${memberId}.`);
  return view(deps, tenantId, memberId, row.consents);
}

/** The advertising consents the messaging module sends by; a member who is not active gets nothing. */
export async function marketingConsent(deps: Pick<Deps, 'db'>, tenantId: string, memberId: string): Promise<MarketingConsent> {
  const row = await repo.findMember(deps.db, tenantId, memberId);
  if (!row) throw new AppError('NOT_FOUND', `No member ${memberId}.`);
  const c = currentConsents(row.consents);
  const active = row.status === 'active';
  return {
    sms: active && c.marketing.sms !== null,
    messenger: active && c.marketing.messenger !== null,
    push: active && c.marketing.push !== null,
    email: active && c.marketing.email !== null,
    night: active && c.night !== null,
  };
}

function sourceOf(actor: ConsentActor): { channel: ConsentChannel; operator_id: string | null; reason: string | null } {
  if (actor.kind === 'member') return { channel: actor.channel, operator_id: null, reason: null };
  if (actor.kind === 'operator') {
    const reason = actor.reason?.trim() ?? '';
    if (reason.length < 5)
      throw fieldError('reason', 'an operator changing a member’s consents says why (at least 5 characters)', 'reason_required');
    return { channel: 'operator', operator_id: actor.operatorId, reason };
  }
  if (!actor.channel) throw fieldError('channel', 'required for a server key: app, web, pos or import', 'required');
  return { channel: actor.channel, operator_id: null, reason: actor.reason?.trim() || null };
}

const formatAt = (at: Date, timeZone: string) =>
  `${new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(at)} (${timeZone})`;

/**
 * Changes consents: advertising channels and night-time sending granted or withdrawn, the terms
 * and the privacy policy agreed again. Only what changes is written (one history row each); a
 * change of an advertising consent queues the notice of its result to the member.
 */
export async function changeConsents(
  deps: ConsentDeps,
  tenantId: string,
  memberId: string,
  input: TMyConsentsChange | TMemberConsentsChange,
  actor: ConsentActor,
): Promise<TMemberConsents & { notice: 'email' | 'sms' | 'alimtalk' | null }> {
  const source = sourceOf(actor);
  const result = await withTransaction(deps.db, async (trx) => {
    const row = await repo.findMember(trx, tenantId, memberId, { forUpdate: true });
    if (!row) throw new AppError('NOT_FOUND', `No member ${memberId}.`);
    if (row.status !== 'active') throw new AppError('MEMBER_NOT_ACTIVE', `Member ${memberId} is ${row.status}.`);
    const now = deps.clock.now();
    const at = now.toISOString();
    const before = currentConsents(row.consents);
    const next = structuredClone(before);
    const changes: { consent: ConsentKind; granted: boolean }[] = [];
    if (input.terms) {
      next.terms = at;
      changes.push({ consent: 'terms', granted: true });
    }
    if (input.privacy) {
      next.privacy = at;
      changes.push({ consent: 'privacy', granted: true });
    }
    const marketingChanged: (MarketingChannel | 'night')[] = [];
    for (const ch of MARKETING) {
      const want = input.marketing?.[ch];
      if (want === undefined || want === (before.marketing[ch] !== null)) continue;
      next.marketing[ch] = want ? at : null;
      changes.push({ consent: `marketing_${ch}`, granted: want });
      marketingChanged.push(ch);
    }
    if (input.night !== undefined && input.night !== (before.night !== null)) {
      next.night = input.night ? at : null;
      changes.push({ consent: 'night', granted: input.night });
      marketingChanged.push('night');
    }
    if (changes.length) {
      await repo.updateMember(trx, tenantId, memberId, { consents: next });
      await repo.appendConsents(
        trx,
        tenantId,
        memberId,
        changes.map((c) => ({ ...c, at: now, ...source })),
      );
    }
    let notice: 'email' | 'sms' | 'alimtalk' | null = null;
    if (marketingChanged.length && row.profile_sealed) {
      const profile = piiFor(deps.masterKey).open<Profile>(row.profile_sealed);
      const tenant = await getTenant({ db: trx }, tenantId);
      const state = (k: MarketingChannel | 'night') =>
        `${LABELS[k]}: ${(k === 'night' ? next.night : next.marketing[k]) ? '동의' : '거부'}${marketingChanged.includes(k) ? ' (변경)' : ''}`;
      const lines = [
        `[${tenant.name}] 광고성 정보 수신 동의 변경 안내`,
        `${formatAt(now, tenant.timeZone)}에 요청하신 수신 동의 변경이 처리되었습니다.`,
        ...[...MARKETING, 'night' as const].map(state),
      ];
      const channels = deps.providers.messages.channels;
      if (profile.email) {
        await enqueueMail(
          { db: trx, masterKey: deps.masterKey },
          { tenantId, to: profile.email, subject: lines[0]!, text: lines.join('\n') },
        );
        notice = 'email';
      } else if (profile.phone && channels.length) {
        const channel = channels.includes('alimtalk') ? 'alimtalk' : 'sms';
        await enqueueMessage(
          { db: trx, masterKey: deps.masterKey },
          { tenantId, channel, to: profile.phone, template: 'member.marketing_consent_result', text: lines.join('\n') },
        );
        notice = channel;
      }
    }
    return { ...(await view({ db: trx }, tenantId, memberId, next)), notice };
  });
  if (result.notice) deps.outbox.wake();
  return result;
}
