import type { Generated, Selectable } from 'kysely';

export type OperatorStatus = 'active' | 'suspended' | 'removed';
export type OperatorTable = {
  id: string;
  /** null: a platform operator. */
  tenant_id: string | null;
  email_hash: string;
  email_sealed: string;
  name_sealed: string;
  phone_sealed: string | null;
  role: string;
  store_ids: string[] | null;
  status: Generated<OperatorStatus>;
  password_hash: string;
  sessions_valid_after: Generated<Date>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
};
export type OperatorRoleTable = {
  tenant_id: string;
  id: string;
  name: string;
  permissions: string[];
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
};
export type OperatorInvitationTable = {
  id: string;
  tenant_id: string | null;
  email_hash: string;
  email_sealed: string;
  name_sealed: string;
  role: string;
  store_ids: string[] | null;
  token_hash: Buffer;
  invited_by: string | null;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
  created_at: Generated<Date>;
};
export type SessionStage = 'password' | 'enrol' | 'full';
export type OperatorSessionTable = {
  id_hash: Buffer;
  tenant_id: string | null;
  operator_id: string;
  stage: SessionStage;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  second_factor_at: Date | null;
  ip: string | null;
  user_agent: string | null;
  revoked_at: Date | null;
};
export type OperatorTotpTable = {
  operator_id: string;
  tenant_id: string | null;
  secret_sealed: string;
  last_step: Generated<number>;
  confirmed_at: Date | null;
  created_at: Generated<Date>;
};
export type OperatorRecoveryCodeTable = {
  operator_id: string;
  tenant_id: string | null;
  code_hash: string;
  used_at: Date | null;
  created_at: Generated<Date>;
};
export type OperatorAccessChangeTable = {
  id: string;
  tenant_id: string | null;
  at: Generated<Date>;
  actor_id: string | null;
  operator_id: string | null;
  role_id: string | null;
  change: string;
  before: unknown;
  after: unknown;
};
export type OperatorPermissionUseTable = {
  operator_id: string;
  tenant_id: string | null;
  permission: string;
  last_used_at: Date;
};

export type OperatorCodePurpose = 'sign_in' | 'phone';
export type OperatorCodeTable = {
  operator_id: string;
  purpose: OperatorCodePurpose;
  tenant_id: string | null;
  channel: 'sms' | 'alimtalk';
  phone_sealed: string;
  code_hash: string;
  attempts: Generated<number>;
  sent_at: Date;
  expires_at: Date;
  used_at: Date | null;
};
export type OperatorEmailRecoveryTable = {
  token_hash: Buffer;
  tenant_id: string | null;
  operator_id: string;
  ip: string | null;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
};
export type OperatorPasskeyTable = {
  id: string;
  tenant_id: string | null;
  operator_id: string;
  credential_id: string;
  public_key: Buffer;
  rp_id: string;
  /** bigint in SQL; counters stay far below 2^53. */
  sign_count: Generated<number>;
  transports: Generated<string[]>;
  aaguid: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  name: string;
  created_at: Generated<Date>;
  last_used_at: Date | null;
};
export type WebauthnPurpose = 'register' | 'authenticate' | 'sign_in';
export type OperatorWebauthnChallengeTable = {
  binding_hash: Buffer;
  tenant_id: string | null;
  operator_id: string | null;
  purpose: WebauthnPurpose;
  challenge: string;
  rp_id: string;
  origin: string;
  expires_at: Date;
};

export type OperatorRow = Selectable<OperatorTable>;
export type OperatorPasskeyRow = Selectable<OperatorPasskeyTable>;
export type OperatorSessionRow = Selectable<OperatorSessionTable>;
export type OperatorInvitationRow = Selectable<OperatorInvitationTable>;

export type OperatorsTables = {
  operator: OperatorTable;
  operator_role: OperatorRoleTable;
  operator_invitation: OperatorInvitationTable;
  operator_session: OperatorSessionTable;
  operator_totp: OperatorTotpTable;
  operator_recovery_code: OperatorRecoveryCodeTable;
  operator_access_change: OperatorAccessChangeTable;
  operator_permission_use: OperatorPermissionUseTable;
  operator_code: OperatorCodeTable;
  operator_email_recovery: OperatorEmailRecoveryTable;
  operator_passkey: OperatorPasskeyTable;
  operator_webauthn_challenge: OperatorWebauthnChallengeTable;
};
