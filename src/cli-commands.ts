import { z } from 'zod';
import { accessLogCsv, type TVerifyResult, verifyAccessLogs } from './modules/audit/index.ts';
import { grantVerificationUnits, IDENTITY_SEALED_COLUMNS } from './modules/identity/index.ts';
import { MEMBERS_SEALED_COLUMNS } from './modules/members/index.ts';
import { MESSAGES_SEALED_COLUMNS } from './modules/messages/index.ts';
import * as operators from './modules/operators/index.ts';
import { PREPAID_SEALED_COLUMNS } from './modules/prepaid/index.ts';
import * as tenants from './modules/tenants/index.ts';
import { WEBHOOKS_SEALED_COLUMNS } from './modules/webhooks/index.ts';
import { addDays, isIsoDate, zonedMidnight } from './platform/clock.ts';
import { type LocalCommands, localCommand, piiCommand } from './platform/local-control.ts';
import { PII_DOMAINS, resealColumns, rotatePiiKey } from './platform/pii-keys.ts';

// The CLI commands that work whether or not `moa serve` runs on the embedded database: each runs in
// the CLI on its own connection, or in the running server (platform/local-control.ts), with the
// same input and the same result. A new command is one entry here and its flags in main.ts.

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const ZTenantId = z.string().min(1).max(40);
const ZExportBound = z
  .string()
  .refine(
    (v) => isIsoDate(v) || (/^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v))),
    'a date (YYYY-MM-DD) or an instant with its offset',
  );
/** Who did it, in the access-change log: a person at the server's command line. */
const CLI_ACTOR = 'cli';

export const CLI_COMMANDS = {
  'tenant.create': localCommand({
    input: tenants.ZCreateTenantRequest,
    run: (deps, input) => tenants.createTenant(deps, input),
  }),
  'tenant.list': localCommand({
    input: z.object({}),
    run: async (deps) => (await tenants.listTenants(deps, { limit: 200 })).items,
  }),

  'apikey.create': localCommand({
    input: tenants.ZCreateApiKeyRequest.extend({ tenantId: ZTenantId }),
    run: (deps, { tenantId, ...input }) => tenants.createApiKey(deps, tenantId, input),
    print: (created) => `${json(created)}The key above is shown once; only its hash is stored.\n`,
  }),
  'apikey.list': localCommand({
    input: z.object({ tenantId: ZTenantId }),
    run: (deps, { tenantId }) => tenants.listApiKeys(deps, tenantId),
  }),
  'apikey.revoke': localCommand({
    input: z.object({ tenantId: ZTenantId, keyId: z.string().min(1).max(40) }),
    run: (deps, { tenantId, keyId }) => tenants.revokeApiKey(deps, tenantId, keyId),
  }),

  'verification.grant': localCommand({
    input: z.object({
      tenantId: ZTenantId,
      units: z.number().int().min(1).max(10_000_000),
      memo: z.string().max(200).optional(),
    }),
    run: (deps, { tenantId, ...grant }) => grantVerificationUnits(deps, tenantId, grant),
  }),

  'keys.rotate': piiCommand({
    input: z.object({ domains: z.array(z.enum(PII_DOMAINS as ['pii', 'dormant'])).min(1) }),
    run: async (deps, { domains }) => {
      const columns = [
        ...IDENTITY_SEALED_COLUMNS,
        ...MEMBERS_SEALED_COLUMNS,
        ...PREPAID_SEALED_COLUMNS,
        ...operators.OPERATORS_SEALED_COLUMNS,
        ...MESSAGES_SEALED_COLUMNS,
        ...WEBHOOKS_SEALED_COLUMNS,
      ].filter((c) => domains.includes(c.domain));
      const current: Record<string, string> = {};
      for (const d of domains) current[d] = await rotatePiiKey(deps.db, deps.masterKey, d);
      return { current, resealed: await resealColumns(deps.db, deps.masterKey, columns) };
    },
    print: (r) =>
      `${json(r)}Servers pick up the new key within a minute; run this again then to re-seal what they wrote meanwhile.\n`,
  }),

  'operator.invite': piiCommand({
    input: operators.ZInvitationRequest.omit({ storeIds: true }).extend({ tenantId: ZTenantId }),
    run: async (deps, { tenantId, ...input }, { baseUrl }) => {
      await tenants.getTenant(deps, tenantId);
      // A brand's first owner is its representative: the platform's owner invitation.
      const first = input.role === 'owner' && (await operators.listOperators(deps, tenantId)).length === 0;
      const invitation = first
        ? await operators.inviteOwner(deps, tenantId, input, CLI_ACTOR)
        : await operators.invite(deps, tenantId, input, CLI_ACTOR);
      return { ...invitation, acceptUrl: operators.invitationUrl(baseUrl, invitation.token) };
    },
    print: ({ token: _, ...invitation }) =>
      `${json(invitation)}Send this link to ${invitation.email} (single use, valid until ${invitation.expiresAt}):\n  ${invitation.acceptUrl}\n`,
  }),
  'operator.list': piiCommand({
    input: z.object({ tenantId: ZTenantId }),
    run: async (deps, { tenantId }) => {
      await tenants.getTenant(deps, tenantId);
      return {
        operators: await operators.listOperators(deps, tenantId),
        invitations: await operators.listInvitations(deps, tenantId),
      };
    },
  }),
  'operator.suspend': piiCommand({
    input: z.object({ tenantId: ZTenantId, operatorId: z.string().min(1).max(40) }),
    run: (deps, { tenantId, operatorId }) => operators.setOperatorStatus(deps, tenantId, operatorId, 'suspended', CLI_ACTOR),
    print: (operator) => `${json(operator)}${operator.email} is suspended: every session has ended, in every server.\n`,
  }),

  'audit.verify': localCommand({
    input: z.object({ tenantId: ZTenantId.optional() }),
    run: (deps, { tenantId }) => verifyAccessLogs(deps, tenantId),
    print: (results) => {
      const broken = results.filter((r) => !r.ok).length;
      const total =
        results.length === 0
          ? 'No access log yet.'
          : `${results.length} tenant${results.length === 1 ? '' : 's'}: ${results.length - broken} OK, ${broken} broken`;
      return `${[...results.map(verifyLine), total].join('\n')}\n`;
    },
    exitCode: (results) => (results.some((r) => !r.ok) ? 1 : 0),
  }),
  'audit.export': localCommand({
    input: z.object({ tenantId: ZTenantId, from: ZExportBound.optional(), to: ZExportBound.optional() }),
    run: async (deps, { tenantId, from, to }) => {
      const { timeZone } = await tenants.getTenant(deps, tenantId);
      const range = { from: exportBound(from, timeZone, false), to: exportBound(to, timeZone, true) };
      let csv = '';
      for await (const chunk of accessLogCsv(deps, tenantId, range)) csv += chunk;
      return csv;
    },
    print: (csv) => csv,
  }),
} satisfies LocalCommands;

/** One line per tenant: OK with the rows and the head to keep, or where the chain breaks. */
function verifyLine(r: TVerifyResult): string {
  if (r.broken) return `${r.tenantId}  BROKEN  at seq ${r.broken.seq} (${r.broken.problem}): ${r.broken.detail}`;
  const span = r.rows ? `seq ${r.firstSeq}-${r.lastSeq}` : 'empty';
  const purged = r.anchor ? `, purged through ${r.anchor.seq}` : '';
  return `${r.tenantId}  OK  ${r.rows} row${r.rows === 1 ? '' : 's'} (${span}${purged})  head ${r.head.seq} ${r.head.hash}`;
}

/** --from/--to of audit export: an instant with its offset, or a date of the tenant's (--to inclusive). */
function exportBound(value: string | undefined, timeZone: string, end: boolean): Date | undefined {
  if (value === undefined) return undefined;
  return isIsoDate(value) ? zonedMidnight(end ? addDays(value, 1) : value, timeZone) : new Date(value);
}
