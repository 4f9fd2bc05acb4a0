import type { Deps } from '../../platform/deps.ts';
import { piiFor } from '../../platform/pii.ts';
import * as repo from './identity.repository.ts';
import type { ProviderFailure, VerifiedIdentity } from './identity.rules.ts';

// A 본인확인 provider as the real Korean services are shaped (NICE, KCB, PASS, PortOne): our server
// hands out a single-use request number, the person completes a step on the provider's page, and
// our server then asks the provider for the result, server to server. Nothing the browser posts
// back is trusted; it only carries the request number.

export type ProviderOutcome =
  | { status: 'pending' }
  | { status: 'failed'; reason: ProviderFailure; decidedAt: Date }
  | { status: 'verified'; identity: VerifiedIdentity; decidedAt: Date };

export type IdentityProvider = {
  readonly name: string;
  /** The page the person's browser is sent to (a path on this server for the sandbox). */
  pageFor(requestNo: string): string;
  /** The result for a request number, asked server to server. */
  fetchResult(requestNo: string): Promise<ProviderOutcome>;
};

/**
 * The sandbox provider, the default: its page is served by Moa (/sandbox/identity/{requestNo}),
 * where a tester picks a test identity (or types one) and an outcome. What was picked is kept in
 * identity_sandbox_result, as a real provider keeps it on its side.
 */
export function sandboxProvider(deps: Pick<Deps, 'db' | 'masterKey'>): IdentityProvider {
  return {
    name: 'sandbox',
    pageFor: (requestNo) => `/sandbox/identity/${requestNo}`,
    async fetchResult(requestNo) {
      const row = await repo.findSandboxResult(deps.db, requestNo);
      if (!row) return { status: 'pending' };
      if (row.outcome !== 'success') return { status: 'failed', reason: row.outcome as ProviderFailure, decidedAt: row.decided_at };
      return { status: 'verified', identity: piiFor(deps.masterKey).open<VerifiedIdentity>(row.identity_sealed!), decidedAt: row.decided_at };
    },
  };
}
