import { z } from 'zod';
import { ZInstant } from '../../platform/http-schemas.ts';

export const ZStore = z
  .object({
    id: z.string(),
    code: z.string(),
    name: z.string(),
    address: z.string(),
    region: z.string(),
    status: z.enum(['active', 'paused', 'closed']),
    createdAt: ZInstant,
  })
  .meta({ id: 'Store' });
export type TStore = z.infer<typeof ZStore>;
export const ZStoreRequest = z.object({
  code: z.string().regex(/^[A-Za-z0-9_-]{1,30}$/),
  name: z.string().trim().min(1).max(100),
  address: z.string().trim().max(200).default(''),
  region: z.string().trim().max(50).default(''),
  status: z.enum(['active', 'paused', 'closed']).default('active'),
});
// No defaults here: a field left out of a change stays as it is (a rename must not reopen a closed store).
export const ZStoreUpdate = z
  .object({
    name: z.string().trim().min(1).max(100),
    address: z.string().trim().max(200),
    region: z.string().trim().max(50),
    status: z.enum(['active', 'paused', 'closed']),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change');
export const ZManager = z
  .object({
    id: z.string(),
    loginId: z.string(),
    name: z.string(),
    status: z.enum(['active', 'disabled']),
    storeIds: z.array(z.string()),
  })
  .meta({ id: 'StoreManager' });
export type TManager = z.infer<typeof ZManager>;
export const ZManagerRequest = z.object({
  loginId: z.string().regex(/^[a-z][a-z0-9_.-]{3,29}$/),
  name: z.string().trim().min(1).max(50),
  password: z.string().min(10).max(128),
  storeIds: z.array(z.string().max(40)).max(100).default([]),
});
export const ZManagerLogin = z.object({ loginId: z.string().max(30), password: z.string().max(128) });
export const ZDevice = z.object({ serial: z.string(), storeId: z.string(), registeredAt: ZInstant }).meta({ id: 'StampDevice' });
