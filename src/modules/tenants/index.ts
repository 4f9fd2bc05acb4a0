// Public API of the tenants module: the only file other modules and the platform import.

export { platformTenantRoutes, tenantRoutes } from './tenants.routes.ts';
export { formatBrn, isValidBrn, normalizeBrn } from './tenants.rules.ts';
export type { TApiKey, TCreatedApiKey, TCreateTenantRequest, TTenant } from './tenants.schemas.ts';
export { ZCreateApiKeyRequest, ZCreateTenantRequest } from './tenants.schemas.ts';
export {
  /** Creates an API key; the plaintext key is returned once. */
  createApiKey,
  /** Builds the Bearer-key verifier used by the /v1 scope. */
  createApiKeyAuthenticator,
  /** Creates a tenant (brand); one per business registration number. */
  createTenant,
  findTenantByBrn,
  /** The tenant by id, or NOT_FOUND. */
  getTenant,
  listApiKeys,
  listTenants,
  revokeApiKey,
  setTenantStatus,
  updateTenant,
} from './tenants.service.ts';
export type { TenantStatus, TenantsTables } from './tenants.tables.ts';
