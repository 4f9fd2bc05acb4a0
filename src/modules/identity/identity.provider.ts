import type { ProviderFailure, VerifiedIdentity } from './identity.rules.ts';

// A 본인확인 provider as the real Korean services are shaped (NICE, KCB, PASS, PortOne): our server
// hands out a single-use request number, the person completes a step on the provider's page, and
// our server then asks the provider for the result, server to server. Nothing the browser posts
// back is trusted; it only carries the request number. Types only: the platform's Deps names them.
// The sandbox is in identity.sandbox.ts; real providers are built from config in src/providers.ts.

export type ProviderOutcome =
  | { status: 'pending' }
  | { status: 'failed'; reason: ProviderFailure; decidedAt: Date }
  | { status: 'verified'; identity: VerifiedIdentity; decidedAt: Date };

export type IdentityProvider = {
  /** Stored with each verification: 'sandbox', 'portone', … */
  readonly name: string;
  /** The page the person's browser is sent to (a path on this server for the sandbox). */
  pageFor(requestNo: string): string;
  /** The result for a request number, asked server to server. */
  fetchResult(requestNo: string): Promise<ProviderOutcome>;
};
