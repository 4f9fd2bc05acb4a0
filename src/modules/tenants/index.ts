// Public API of the tenants module: the only file other modules and the platform import.
export type { TenantsTables, TenantStatus } from './tenants.tables.ts';
export type { TTenant, TCreateTenantRequest, TCreatedApiKey, TApiKey } from './tenants.schemas.ts';
export { ZCreateTenantRequest, ZCreateApiKeyRequest } from './tenants.schemas.ts';
export { isValidBrn, normalizeBrn, formatBrn } from './tenants.rules.ts';
export {
  /** Creates a tenant (brand); one per business registration number. */
  createTenant,
  /** The tenant by id, or NOT_FOUND. */
  getTenant,
  findTenantByBrn,
  listTenants,
  updateTenant,
  setTenantStatus,
  /** Creates an API key; the plaintext key is returned once. */
  createApiKey,
  listApiKeys,
  revokeApiKey,
  /** Builds the Bearer-key verifier used by the /v1 scope. */
  createApiKeyAuthenticator,
} from './tenants.service.ts';
export { tenantRoutes, platformTenantRoutes } from './tenants.routes.ts';
