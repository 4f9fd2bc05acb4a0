import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PERMISSIONS } from './operators.rules.ts';

export const ZEmail = z.string().trim().toLowerCase().max(254).email().meta({ example: 'minji.kim@moacafe.kr' });
export const ZPermission = z.enum(PERMISSIONS);
export const ZRoleKey = z
  .string()
  .regex(/^[a-z_]{1,20}$|^rol_[0-9a-z]{26}$/)
  .meta({ description: 'A built-in role (owner, admin, marketer, cs, store_ops, auditor) or a custom role id.', example: 'cs' });

export const ZOperator = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.string(),
    storeIds: z.array(z.string()).nullable().meta({ description: 'null: every store.' }),
    status: z.enum(['active', 'suspended', 'removed']),
    createdAt: z.string(),
  })
  .meta({ id: 'Operator' });
export type TOperator = z.infer<typeof ZOperator>;

export const ZInvitationRequest = z.object({
  email: ZEmail,
  name: z.string().trim().min(1).max(100),
  role: ZRoleKey,
  storeIds: z.array(z.string().max(40)).max(500).nullable().optional(),
});
export const ZInvitation = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.string(),
    storeIds: z.array(z.string()).nullable(),
    expiresAt: z.string(),
  })
  .meta({ id: 'OperatorInvitation' });
export const ZCreatedInvitation = ZInvitation.extend({
  token: z.string().meta({ description: 'The single-use invitation token. Shown once: only a hash is stored.' }),
  acceptUrl: z.string().meta({ description: 'The page where the person sets a password and a second factor.' }),
}).meta({ id: 'CreatedOperatorInvitation' });

export const ZRoleChange = z.object({
  role: ZRoleKey,
  storeIds: z.array(z.string().max(40)).max(500).nullable().optional(),
});
export const ZRole = z
  .object({ id: z.string(), name: z.string(), builtin: z.boolean(), permissions: z.array(ZPermission) })
  .meta({ id: 'OperatorRole' });
export const ZRoleRequest = z.object({
  name: z.string().trim().min(1).max(60),
  permissions: z.array(ZPermission).min(1).max(PERMISSIONS.length),
});
export const ZRoleUpdate = ZRoleRequest.partial().refine((v) => Object.keys(v).length > 0, 'send at least one field to change');

export const ZAccessChange = z
  .object({
    id: z.string(),
    at: z.string(),
    actorId: z.string().nullable(),
    operatorId: z.string().nullable(),
    roleId: z.string().nullable(),
    change: z.string(),
    before: z.unknown(),
    after: z.unknown(),
  })
  .meta({ id: 'OperatorAccessChange' });

export const ZAccessReviewLine = z.object({
  operatorId: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.string(),
  status: z.string(),
  storeIds: z.array(z.string()).nullable(),
  permission: z.string(),
  lastUsedAt: z.string().nullable(),
});

export const ZLogin = z.object({
  email: ZEmail,
  password: z
    .string()
    .min(1)
    .max(PASSWORD_MAX_LENGTH * 4),
});
export const ZCode = z.object({
  method: z.enum(['totp', 'recovery_code']),
  code: z.string().trim().min(6).max(20),
});
export const ZSessionState = z
  .object({
    stage: z.enum(['password', 'enrol', 'full']).meta({
      description: 'password: send a second factor; enrol: set one up (POST /auth/enrol/totp); full: signed in.',
    }),
    expiresAt: z.string(),
  })
  .meta({ id: 'OperatorSessionState' });
export const ZMe = z
  .object({
    operator: ZOperator,
    tenant: z.object({ id: z.string(), name: z.string() }).nullable().meta({ description: 'null for a platform operator.' }),
    permissions: z.array(ZPermission),
    stage: z.enum(['password', 'enrol', 'full']),
    secondFactorAt: z.string().nullable(),
    recoveryCodesLeft: z.number().int(),
  })
  .meta({ id: 'OperatorMe' });
export const ZAccept = z.object({
  password: z
    .string()
    .min(1)
    .max(PASSWORD_MAX_LENGTH * 4),
});
export const ZTotpEnrolment = z.object({
  secret: z.string().meta({ description: 'Base32, for typing into an authenticator app.' }),
  uri: z.string().meta({ description: 'otpauth:// URI.' }),
  qrSvg: z.string().meta({ description: 'The URI as a QR code (SVG).' }),
});
export const ZRecoveryCodes = z.object({
  recoveryCodes: z.array(z.string()).meta({ description: 'Ten single-use codes. Shown once: only hashes are stored.' }),
});
export const ZPolicy = z.object({ idleMinutes: z.number().int().min(5).max(720) }).meta({ id: 'OperatorPolicy' });
