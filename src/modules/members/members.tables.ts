import type { Generated, Selectable } from 'kysely';

export type MemberStatus = 'active' | 'dormant' | 'withdrawn';

/**
 * When each consent was given; marketing channels and night-time sending may be null (not given or
 * withdrawn). `messenger` and `night` came with 0034: older rows lack them (read as null).
 */
export type Consents = {
  terms: string;
  privacy: string;
  age14: string;
  marketing: { sms: string | null; email: string | null; push: string | null; messenger?: string | null };
  night?: string | null;
};

export type MemberPolicyTable = {
  tenant_id: string;
  allow_unverified: Generated<boolean>;
  min_age: Generated<number>;
  rejoin_block_days: Generated<number>;
  dormancy_days: Generated<number>;
  purge_after_days: Generated<number>;
  max_failed_logins: Generated<number>;
  lockout_minutes: Generated<number>;
  email_confirm_url: string | null;
  updated_at: Generated<Date>;
};

export type MemberTable = {
  tenant_id: string;
  id: string;
  status: Generated<MemberStatus>;
  login_id: string | null;
  password_hash: string | null;
  profile_sealed: string | null;
  ci_hash: string | null;
  name_phone_hash: string | null;
  phone_hash: string | null;
  email_hash: string | null;
  /** The birthday's month * 100 + day, for the birthday index (0: unknown; null: not derived yet). */
  birth_md: number | null;
  verification_id: string | null;
  grade: string | null;
  consents: Consents;
  joined_at: Generated<Date>;
  last_active_at: Generated<Date>;
  dormancy_noticed_at: Date | null;
  dormant_at: Date | null;
  withdrawn_at: Date | null;
  purged_at: Date | null;
  failed_logins: Generated<number>;
  locked_until: Date | null;
  password_changed_at: Generated<Date>;
};

export type MemberDormantTable = { tenant_id: string; member_id: string; profile_sealed: string; moved_at: Generated<Date> };

export type MemberRejoinBlockTable = { tenant_id: string; ci_hash: string; withdrawn_at: Date; blocked_until: Date };

export type MemberSessionTable = {
  tenant_id: string;
  id: string;
  member_id: string;
  token_hash: Buffer;
  created_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  expires_at: Date;
  revoked_at: Date | null;
  user_agent: string | null;
};

export type MemberSocialLinkTable = {
  tenant_id: string;
  provider: string;
  provider_user_id: string;
  member_id: string;
  linked_at: Generated<Date>;
  last_login_at: Date | null;
};

export type MemberSocialStateTable = {
  tenant_id: string;
  state: string;
  provider: string;
  intent: 'login' | 'link';
  member_id: string | null;
  redirect_uri: string;
  expires_at: Date;
  used_at: Date | null;
};

export type SocialSandboxCodeTable = {
  code: string;
  provider: string;
  account_sealed: string;
  created_at: Generated<Date>;
  used_at: Date | null;
};

export type MemberEmailChangeTable = {
  tenant_id: string;
  token_hash: string;
  member_id: string;
  email_sealed: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
};

export const CONSENT_KINDS = [
  'terms',
  'privacy',
  'age14',
  'marketing_sms',
  'marketing_messenger',
  'marketing_push',
  'marketing_email',
  'night',
] as const;
export type ConsentKind = (typeof CONSENT_KINDS)[number];
export const CONSENT_CHANNELS = ['app', 'web', 'pos', 'operator', 'import'] as const;
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

/** One change of one consent: append-only (the application roles may insert and read only). */
export type MemberConsentTable = {
  tenant_id: string;
  member_id: string;
  seq: Generated<string>;
  consent: ConsentKind;
  granted: boolean;
  at: Date;
  channel: ConsentChannel;
  operator_id: string | null;
  reason: string | null;
};

export type MemberImportTable = {
  tenant_id: string;
  id: string;
  status: Generated<'running' | 'done'>;
  file_name: string | null;
  rows_done: Generated<number>;
  imported: Generated<number>;
  rejected: Generated<number>;
  started_at: Generated<Date>;
  updated_at: Generated<Date>;
  finished_at: Date | null;
};

export type MemberImportRejectTable = { tenant_id: string; import_id: string; row_no: number; code: string; message: string };

/** The member app's current counter barcode: a keyed hash of the code, single use, short-lived. */
export type MemberBarcodeTable = {
  tenant_id: string;
  member_id: string;
  code_hash: string;
  issued_at: Date;
  expires_at: Date;
  used_at: Date | null;
};

export type MemberRow = Selectable<MemberTable>;
export type MemberPolicyRow = Selectable<MemberPolicyTable>;
export type MemberSessionRow = Selectable<MemberSessionTable>;

export type MembersTables = {
  member_policy: MemberPolicyTable;
  member: MemberTable;
  member_dormant: MemberDormantTable;
  member_rejoin_block: MemberRejoinBlockTable;
  member_session: MemberSessionTable;
  member_social_link: MemberSocialLinkTable;
  member_social_state: MemberSocialStateTable;
  social_sandbox_code: SocialSandboxCodeTable;
  member_import: MemberImportTable;
  member_email_change: MemberEmailChangeTable;
  member_consent: MemberConsentTable;
  member_import_reject: MemberImportRejectTable;
  member_barcode: MemberBarcodeTable;
};
