import { z } from 'zod';
import { isKoreanMobile, normalizePhone } from '../../platform/pii.ts';
import { BARCODE_TTL_SECONDS, isBarcode } from '../members/index.ts';

export const ZIdentifyRequest = z
  .object({
    barcode: z
      .string()
      .max(40)
      .refine(isBarcode, 'must be the 18 digits of a member app barcode (the last a Luhn check digit)')
      .optional()
      .meta({ description: `The member app’s code (POST /v1/me/barcode): single use, within ${BARCODE_TTL_SECONDS} seconds.` }),
    cardNumber: z
      .string()
      .regex(/^\d{16}$/, 'must be the 16 digits of a physical card')
      .optional()
      .meta({ description: 'A physical membership (prepaid) card registered to the member.' }),
    phone: z
      .string()
      .max(20)
      .transform(normalizePhone)
      .refine(isKoreanMobile, 'must be a Korean mobile number (010-1234-5678)')
      .optional()
      .meta({ description: 'The member’s mobile number, looked up by its keyed hash.' }),
    storeId: z
      .string()
      .max(40)
      .optional()
      .meta({ description: 'Where the member is identified; implied for a key bound to a store.' }),
  })
  .superRefine((v, ctx) => {
    const given = (['barcode', 'cardNumber', 'phone'] as const).filter((k) => v[k] !== undefined);
    if (given.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: given.length ? [given[1]!] : [],
        message: 'send exactly one of barcode, cardNumber, phone',
      });
  })
  .meta({ id: 'IdentifyRequest', description: 'Exactly one of `barcode`, `cardNumber`, `phone`.' });
export type TIdentifyRequest = z.infer<typeof ZIdentifyRequest>;

export const ZIdentified = z
  .object({
    identifiedBy: z.enum(['barcode', 'card', 'phone']),
    member: z.object({
      id: z.string(),
      name: z.string().nullable().meta({ description: 'Masked (홍*동).', example: '홍*동' }),
      status: z.literal('active'),
      grade: z.object({ code: z.string(), name: z.string() }).nullable(),
    }),
    balances: z.object({
      points: z.number().int().meta({ description: 'Points usable now (held points left out).' }),
      prepaid: z.number().int().meta({ description: 'Usable balance of the member’s active prepaid cards together.' }),
      prepaidCards: z.number().int(),
      coupons: z.number().int().meta({ description: 'Coupons usable now (active, not expired).' }),
      stampCards: z.array(
        z.object({
          cardId: z.string(),
          name: z.string(),
          stamps: z.number().int(),
          stampsPerBoard: z.number().int(),
          boardsCompleted: z.number().int(),
        }),
      ),
    }),
  })
  .meta({ id: 'IdentifiedMember' });
export type TIdentified = z.infer<typeof ZIdentified>;
