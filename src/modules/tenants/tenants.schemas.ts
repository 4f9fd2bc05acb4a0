import { z } from 'zod';
import { isTimeZone } from '../../platform/clock.ts';
import { ZInstant } from '../../platform/http-schemas.ts';
import { API_KEY_SCOPES } from '../../platform/request-context.ts';
import { isValidBrn, normalizeBrn } from './tenants.rules.ts';

export const ZTenantId = z.string().regex(/^tnt_[0-9a-z]{26}$/, 'must be a tenant id (tnt_…)');

export const ZBusinessRegistrationNumber = z
  .string()
  .trim()
  .refine((v) => /^\d{10}$/.test(normalizeBrn(v)), { message: 'must be 10 digits (dashes allowed: 123-45-67890)', abort: true })
  .refine(isValidBrn, 'is not a valid business registration number (check digit does not match)')
  .transform(normalizeBrn)
  .meta({ description: '사업자등록번호, 10 digits with its check digit; dashes are optional.', example: '105-81-09872' });

export const ZTimeZone = z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Seoul');
export const ZLocale = z.enum(['ko-KR', 'en-US']);
export const ZTenantStatus = z.enum(['active', 'suspended', 'closed']);

export const ZTenant = z
  .object({
    id: ZTenantId,
    name: z.string(),
    businessRegistrationNumber: z.string().meta({ example: '105-81-09872' }),
    timeZone: z.string(),
    locale: ZLocale,
    currency: z.literal('KRW'),
    status: ZTenantStatus,
    createdAt: ZInstant,
    updatedAt: ZInstant,
  })
  .meta({ id: 'Tenant', description: 'A brand: the owner of members, programs and API keys.' });
export type TTenant = z.infer<typeof ZTenant>;

const ZTenantName = z.string().trim().min(1).max(100);

export const ZCreateTenantRequest = z.object({
  name: ZTenantName,
  businessRegistrationNumber: ZBusinessRegistrationNumber,
  timeZone: ZTimeZone.optional().meta({ description: 'Defaults to the server default (Asia/Seoul).' }),
  locale: ZLocale.default('ko-KR'),
});
export type TCreateTenantRequest = z.infer<typeof ZCreateTenantRequest>;

export const ZUpdateTenantRequest = z
  .object({ name: ZTenantName, timeZone: ZTimeZone, locale: ZLocale })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change');
export type TUpdateTenantRequest = z.infer<typeof ZUpdateTenantRequest>;

export const ZSetTenantStatusRequest = z.object({ status: ZTenantStatus });

export const ZApiKeyScope = z.enum(API_KEY_SCOPES).meta({
  description: 'pos: store POS terminals; app: the brand app/web shop backend; server: the brand server (full access).',
});

export const ZApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    scope: ZApiKeyScope,
    prefix: z.string().meta({ description: 'The key without its secret part.' }),
    createdAt: ZInstant,
    lastUsedAt: ZInstant.nullable(),
    revokedAt: ZInstant.nullable(),
    storeId: z.string().nullable().meta({
      description:
        'A key bound to a store acts for that store only (its storeId is implied, any other refused); null: the whole brand.',
    }),
  })
  .meta({ id: 'ApiKey' });
export type TApiKey = z.infer<typeof ZApiKey>;

export const ZCreateApiKeyRequest = z.object({
  name: z.string().trim().min(1).max(100),
  scope: ZApiKeyScope,
  storeId: z
    .string()
    .max(40)
    .optional()
    .meta({ description: 'Binds a pos key to one store of the tenant (a terminal): it then acts for that store only.' }),
});
export type TCreateApiKeyRequest = z.infer<typeof ZCreateApiKeyRequest>;

export const ZCreatedApiKey = ZApiKey.extend({
  key: z.string().meta({ description: 'The full key. Shown once: only a hash is stored.' }),
}).meta({ id: 'CreatedApiKey' });
export type TCreatedApiKey = z.infer<typeof ZCreatedApiKey>;

export const ZTenantList = z.object({
  items: z.array(ZTenant),
  nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null at the end.' }),
});

export const ZListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(64).optional(),
});
