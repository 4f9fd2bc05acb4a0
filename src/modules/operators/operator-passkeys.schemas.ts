import { z } from 'zod';

// WebAuthn as JSON (WebAuthn Level 3: PublicKeyCredential.parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON and toJSON() speak exactly these shapes; binary fields are base64url).

const b64url = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9_-]*$/, 'base64url');

const ZCredentialDescriptor = z.looseObject({
  id: z.string(),
  type: z.literal('public-key'),
  transports: z.array(z.string()).optional(),
});

export const ZCreationOptions = z
  .looseObject({
    challenge: z.string(),
    rp: z.looseObject({ name: z.string(), id: z.string().optional() }),
    user: z.looseObject({ id: z.string(), name: z.string(), displayName: z.string() }),
    pubKeyCredParams: z.array(z.looseObject({ alg: z.number(), type: z.literal('public-key') })),
    timeout: z.number().optional(),
    excludeCredentials: z.array(ZCredentialDescriptor).optional(),
    authenticatorSelection: z.looseObject({}).optional(),
    attestation: z.string().optional(),
  })
  .meta({
    id: 'PasskeyCreationOptions',
    description: 'PublicKeyCredentialCreationOptionsJSON: for navigator.credentials.create() (binary fields base64url).',
  });

export type TCreationOptions = z.infer<typeof ZCreationOptions>;

export const ZRequestOptions = z
  .looseObject({
    challenge: z.string(),
    rpId: z.string().optional(),
    timeout: z.number().optional(),
    allowCredentials: z.array(ZCredentialDescriptor).optional(),
    userVerification: z.enum(['required', 'preferred', 'discouraged']).optional(),
  })
  .meta({
    id: 'PasskeyRequestOptions',
    description: 'PublicKeyCredentialRequestOptionsJSON: for navigator.credentials.get() (binary fields base64url).',
  });

const credential = {
  id: b64url(1400),
  rawId: b64url(1400),
  type: z.literal('public-key'),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
};

export type TRequestOptions = z.infer<typeof ZRequestOptions>;

export const ZRegistrationResponse = z
  .looseObject({
    ...credential,
    response: z.looseObject({
      clientDataJSON: b64url(8_000),
      attestationObject: b64url(32_000),
      transports: z.array(z.string().max(20)).max(10).optional(),
    }),
  })
  .meta({
    id: 'PasskeyRegistrationResponse',
    description: 'RegistrationResponseJSON: what create() returned, as toJSON() gives it.',
  });

export const ZAuthenticationResponse = z
  .looseObject({
    ...credential,
    response: z.looseObject({
      clientDataJSON: b64url(8_000),
      authenticatorData: b64url(8_000),
      signature: b64url(2_000),
      userHandle: b64url(200).optional(),
    }),
  })
  .meta({
    id: 'PasskeyAuthenticationResponse',
    description: 'AuthenticationResponseJSON: what get() returned, as toJSON() gives it.',
  });

export const ZPasskeyRegistration = z.object({
  name: z
    .string()
    .trim()
    .min(1)
    .max(60)
    .default('Passkey')
    .meta({ description: 'A label the operator recognises the passkey by (e.g. “Chrome · macOS”).' }),
  response: ZRegistrationResponse,
});

export const ZPasskey = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    synced: z
      .boolean()
      .meta({ description: 'A synced passkey (a password manager or platform account), not bound to one device.' }),
  })
  .meta({ id: 'OperatorPasskey' });
