import type { Generated, Selectable } from 'kysely';

export type VerificationPurpose =
  | 'signup'
  | 'find_id'
  | 'reset_password'
  | 'change_phone'
  | 'age_check'
  | 'promotion_entry'
  | 'reactivate';
export type VerificationMethod = 'phone' | 'ipin';
export type VerificationMode = 'live' | 'preview';
export type VerificationStatus = 'pending' | 'verified' | 'failed';

export type IdentityVerificationTable = {
  tenant_id: string;
  id: string;
  request_no: string;
  provider: string;
  purpose: VerificationPurpose;
  method: VerificationMethod;
  mode: VerificationMode;
  return_url: string;
  min_age: number;
  status: Generated<VerificationStatus>;
  reason: string | null;
  identity_sealed: string | null;
  ci_hash: string | null;
  created_at: Generated<Date>;
  expires_at: Date;
  completed_at: Date | null;
  used_at: Generated<Date | null>;
  used_for: Generated<string | null>;
};

export type IdentitySandboxResultTable = {
  request_no: string;
  outcome: string;
  identity_sealed: string | null;
  decided_at: Generated<Date>;
};

export type IdentityVerificationRow = Selectable<IdentityVerificationTable>;

export type IdentityTables = {
  identity_verification: IdentityVerificationTable;
  identity_sandbox_result: IdentitySandboxResultTable;
};
