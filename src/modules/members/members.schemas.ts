import { z } from 'zod';
import { ZCalendarDate, ZInstant } from '../../platform/http-schemas.ts';
import { ZPageQuery } from '../../platform/pages.ts';

export const ZMemberId = z.string().regex(/^mbr_[0-9a-z]{26}$/);

const ZLoginId = z
  .string()
  .min(4)
  .max(20)
  .meta({ description: '4-20 characters: a letter, then letters, digits, _ . -; case-insensitive.' });
const ZPassword = z
  .string()
  .min(1)
  .max(200)
  .meta({ description: '8-64 characters with two of letters, digits and symbols, not containing the login ID.' });

export const ZConsentsInput = z.object({
  terms: z.boolean().meta({ description: '이용약관 (required)' }),
  privacy: z.boolean().meta({ description: '개인정보 수집·이용 (required)' }),
  age14: z.boolean().meta({ description: '만 14세 이상 (required)' }),
  marketing: z
    .object({
      sms: z.boolean().default(false),
      email: z.boolean().default(false),
      push: z.boolean().default(false),
      messenger: z.boolean().optional().meta({ description: 'KakaoTalk advertising (default false).' }),
    })
    .default({ sms: false, email: false, push: false }),
  night: z.boolean().optional().meta({ description: 'Advertising between 21:00 and 08:00 (default false).' }),
});

export const ZSignUpRequest = z
  .object({
    loginId: ZLoginId,
    password: ZPassword,
    verificationId: z.string().optional().meta({
      description: 'A verified sign-up verification: name, birth date, gender and phone come from it, not from this request.',
    }),
    name: z
      .string()
      .trim()
      .min(1)
      .max(50)
      .optional()
      .meta({ description: 'Unverified sign-up only (where the brand allows it).' }),
    phone: z.string().max(20).optional().meta({ description: 'Unverified sign-up only.' }),
    birthDate: ZCalendarDate.optional().meta({ description: 'Unverified sign-up only (self-declared).' }),
    email: z.email().max(200).optional(),
    consents: ZConsentsInput,
  })
  .meta({ id: 'SignUpRequest' });
export type TSignUpRequest = z.infer<typeof ZSignUpRequest>;

const ZAt = ZInstant;
export const ZConsents = z
  .object({
    terms: ZAt,
    privacy: ZAt,
    age14: ZAt,
    marketing: z
      .object({
        sms: ZAt.nullable(),
        email: ZAt.nullable(),
        push: ZAt.nullable(),
        messenger: ZAt.nullable().meta({ description: 'KakaoTalk (AlimTalk/FriendTalk) advertising messages.' }),
      })
      .meta({ description: 'Advertising by channel (정보통신망법 §50): when consent was given, null when not.' }),
    night: ZAt.nullable().meta({
      description: 'Advertising between 21:00 and 08:00 (정보통신망법 §50 ③), on top of the channel’s consent.',
    }),
  })
  .meta({ id: 'MemberConsents', description: 'When each consent was given (the current state).' });

export const ZMember = z
  .object({
    id: ZMemberId,
    status: z.enum(['active', 'dormant', 'withdrawn']),
    loginId: z.string().nullable(),
    verified: z.boolean().meta({ description: 'Signed up (or since confirmed) through identity verification.' }),
    name: z.string().nullable().meta({ description: 'Masked (홍*동).' }),
    phone: z.string().nullable().meta({ description: 'Masked (010-****-5678).' }),
    email: z.string().nullable().meta({ description: 'Masked (ab***@example.com).' }),
    birthYear: z.number().int().nullable(),
    gender: z.enum(['male', 'female']).nullable(),
    grade: z.string().nullable(),
    nickname: z.string().nullable(),
    address: z.string().nullable().meta({ description: 'Masked: postal code and the first part of the address.' }),
    consents: ZConsents,
    joinedAt: ZAt,
    lastActiveAt: ZAt,
    withdrawnAt: ZAt.nullable(),
  })
  .meta({ id: 'Member' });
export type TMember = z.infer<typeof ZMember>;

const ZAddress = z
  .object({
    postalCode: z
      .string()
      .regex(/^\d{5}$/)
      .meta({ description: '우편번호 (5 digits).' }),
    line1: z.string().trim().min(1).max(200).meta({ description: '도로명 주소.' }),
    line2: z.string().trim().max(200).optional().meta({ description: '상세 주소.' }),
  })
  .meta({ id: 'MemberAddress' });
export type TAddress = z.infer<typeof ZAddress>;

export const ZUnmaskRequest = z.object({
  reason: z
    .string()
    .trim()
    .min(5)
    .max(500)
    .meta({ description: 'Why (kept in the access log): at least 5 characters.', example: '배송지 확인 문의 #1234' }),
});
export const ZUnmaskedMember = z
  .object({
    id: ZMemberId,
    loginId: z.string().nullable(),
    name: z.string().nullable(),
    phone: z.string().nullable(),
    email: z.string().nullable(),
    birthDate: z.string().nullable(),
    address: ZAddress.nullable(),
    accessLogSeq: z.number().int().meta({ description: 'The row of the personal-data access log this view wrote.' }),
  })
  .meta({ id: 'UnmaskedMember' });
export type TUnmaskedMember = z.infer<typeof ZUnmaskedMember>;

export const ZLoginRequest = z
  .object({ loginId: z.string().max(100), password: z.string().max(200) })
  .meta({ id: 'LoginRequest' });

export const ZSession = z
  .object({
    id: z.string(),
    createdAt: ZAt,
    lastSeenAt: ZAt,
    expiresAt: ZAt,
    current: z.boolean(),
    userAgent: z.string().nullable(),
  })
  .meta({ id: 'MemberSession' });
export type TSession = z.infer<typeof ZSession>;

export const ZLoginResponse = z
  .object({
    token: z.string().meta({ description: 'Send as X-Member-Token on /v1/me routes. Shown once; only its hash is stored.' }),
    session: ZSession,
    member: ZMember,
  })
  .meta({ id: 'LoginResponse' });

export const ZFindIdRequest = z.object({ verificationId: z.string() });
export const ZFindIdResponse = z
  .object({ loginId: z.string().meta({ description: 'Masked (ho*****).' }), joinedAt: ZAt })
  .meta({ id: 'FindIdResponse' });
export const ZResetPasswordRequest = z.object({ verificationId: z.string(), newPassword: ZPassword });
export const ZChangePhoneRequest = z.object({ verificationId: z.string() });

export const ZMemberPolicy = z
  .object({
    allowUnverified: z
      .boolean()
      .meta({ description: 'Sign-up without identity verification (then one account per name + phone).' }),
    minAge: z.number().int().min(14).max(100),
    rejoinBlockDays: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .meta({ description: 'Days after withdrawal during which the same person cannot sign up again.' }),
    dormancyDays: z
      .number()
      .int()
      .min(90)
      .max(3650)
      .meta({ description: 'Days without activity before the account goes dormant; the notice goes out 30 days before.' }),
    purgeAfterDays: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .meta({ description: 'Days after withdrawal until personal data is removed.' }),
    maxFailedLogins: z.number().int().min(3).max(20),
    lockoutMinutes: z.number().int().min(1).max(1440),
    emailConfirmUrl: z
      .url({ protocol: /^https?$/ })
      .max(500)
      .nullable()
      .optional()
      .meta({
        description:
          'The brand’s page that confirms an e-mail change: the mailed link is this URL with `#token=…`, which the page posts ' +
          'to POST /v1/me/email/confirm. Until it is set, e-mail changes are refused. Omitted in a PUT: unchanged.',
      }),
  })
  .meta({ id: 'MemberPolicy' });
export type TMemberPolicy = z.infer<typeof ZMemberPolicy>;

export const ZWithdrawalPreview = z
  .object({
    lost: z
      .array(z.object({ accountId: z.string(), ledger: z.string(), kind: z.string(), balance: z.number().int() }))
      .meta({ description: 'What the member holds and will lose (points, prepaid, stamps), from the ledger.' }),
    rejoinBlockedUntil: ZAt.nullable().meta({
      description: 'Until when the same person cannot sign up again (verified members).',
    }),
    purgeAfter: ZAt.meta({ description: 'When the personal data will be removed.' }),
  })
  .meta({ id: 'WithdrawalPreview' });
export type TWithdrawalPreview = z.infer<typeof ZWithdrawalPreview>;

export const ZWithdrawRequest = z.object({
  confirm: z.literal(true).meta({ description: 'The member saw the preview and confirms.' }),
  reason: z.string().max(200).optional(),
});

export const ZReactivateRequest = z
  .object({ loginId: z.string().max(100), password: z.string().max(200), verificationId: z.string() })
  .meta({ id: 'ReactivateRequest' });

// Self-service (issue 17 §3): profile, e-mail confirmation, password change, consents.

export const ZUpdateMeRequest = z
  .object({
    nickname: z.string().trim().min(1).max(30).nullable().meta({ description: 'null removes it.' }),
    address: ZAddress.nullable().meta({ description: 'null removes it.' }),
    email: z.email().max(200).meta({
      description: 'Becomes the member’s only after the link mailed to it is confirmed (24 hours, once).',
    }),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .meta({ id: 'UpdateMeRequest' });
export type TUpdateMeRequest = z.infer<typeof ZUpdateMeRequest>;

export const ZUpdateMeResponse = z
  .object({
    member: ZMember,
    emailConfirmation: z
      .object({ sentTo: z.string().meta({ description: 'Masked.' }), expiresAt: ZAt })
      .nullable()
      .meta({ description: 'The confirmation link went to the new address; the e-mail is unchanged until it is opened.' }),
  })
  .meta({ id: 'UpdateMeResponse' });

export const ZConfirmEmailRequest = z.object({ token: z.string().max(200) });

export const ZChangePasswordRequest = z
  .object({ currentPassword: z.string().max(200), newPassword: ZPassword })
  .meta({ id: 'ChangePasswordRequest' });

const ZMarketingChange = z
  .object({ sms: z.boolean(), messenger: z.boolean(), push: z.boolean(), email: z.boolean() })
  .partial()
  .meta({ description: 'Channels to grant (true) or withdraw (false); channels left out are unchanged.' });
const consentFields = {
  marketing: ZMarketingChange.optional(),
  night: z.boolean().optional().meta({ description: 'Advertising between 21:00 and 08:00.' }),
  terms: z
    .literal(true)
    .optional()
    .meta({ description: 'Agreeing again (to revised terms); withdrawing is leaving (withdrawal).' }),
  privacy: z.literal(true).optional().meta({ description: 'Agreeing again (to a revised privacy policy).' }),
};
const changesSomething = (v: { marketing?: object; night?: boolean; terms?: true; privacy?: true }) =>
  v.night !== undefined ||
  v.terms !== undefined ||
  v.privacy !== undefined ||
  (v.marketing !== undefined && Object.keys(v.marketing).length > 0);
const CHANGE_MESSAGE = 'send at least one consent to change';

export const ZMyConsentsChange = z
  .object({
    ...consentFields,
    channel: z.enum(['app', 'web']).default('app').meta({ description: 'Where the member made the change.' }),
  })
  .refine(changesSomething, CHANGE_MESSAGE)
  .meta({ id: 'MyConsentsChange' });
export type TMyConsentsChange = z.infer<typeof ZMyConsentsChange>;

export const ZMemberConsentsChange = z
  .object({
    ...consentFields,
    channel: z.enum(['app', 'web', 'pos', 'import']).optional().meta({
      description: 'Where the change was made (required for a server key); an operator’s change is always `operator`.',
    }),
    reason: z.string().trim().max(500).optional().meta({
      description: 'Why (at least 5 characters): required when an operator changes a member’s consents.',
      example: '매장 방문 고객 요청으로 SMS 수신 거부',
    }),
  })
  .refine(changesSomething, CHANGE_MESSAGE)
  .meta({ id: 'MemberConsentsChange' });
export type TMemberConsentsChange = z.infer<typeof ZMemberConsentsChange>;

export const ZConsentHistory = z
  .object({
    consent: z.enum([
      'terms',
      'privacy',
      'age14',
      'marketing_sms',
      'marketing_messenger',
      'marketing_push',
      'marketing_email',
      'night',
    ]),
    granted: z.boolean(),
    at: ZAt,
    channel: z.enum(['app', 'web', 'pos', 'operator', 'import']),
    operatorId: z.string().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: 'MemberConsentChange' });

export const ZMemberConsents = z
  .object({
    current: ZConsents,
    history: z.array(ZConsentHistory).meta({ description: 'Every change, oldest first (append-only).' }),
  })
  .meta({ id: 'MemberConsentsView' });
export type TMemberConsents = z.infer<typeof ZMemberConsents>;

/** GET /v1/members: filters, and the page. */
export const ZMemberListQuery = ZPageQuery.extend({
  status: z.enum(['active', 'dormant', 'withdrawn']).optional(),
  grade: z.string().max(40).optional().meta({ description: 'A grade code.' }),
  joinedFrom: ZInstant.optional().meta({ description: 'Joined at or after this instant.' }),
  joinedTo: ZInstant.optional().meta({ description: 'Joined before this instant.' }),
  consent: z
    .enum(['sms', 'email', 'push', 'messenger', 'night'])
    .optional()
    .meta({ description: 'Has given this marketing consent (a channel, or night-time sending).' }),
});
export type TMemberListQuery = z.infer<typeof ZMemberListQuery>;
