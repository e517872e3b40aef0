/** The service-account JWT sources: what the library entry exports of lib/kubernetes (no client-node type). */
export {
  decodeJwtClaims,
  scrubJwts,
  JwtDecodeError,
  ServiceAccountJwtError,
  type ServiceAccountJwtSource,
  type ServiceAccountJwtClaims,
  type ServiceAccountJwtErrorReason,
} from './jwt-source.js'
export {
  ProjectedServiceAccountTokenFile,
  DEFAULT_PROJECTED_TOKEN_PATH,
  type ProjectedServiceAccountTokenFileOptions,
  type TokenFileSystem,
} from './projected-file.js'
export {
  TokenRequestJwtCache,
  TokenRequestJwtSource,
  requiresRefresh,
  classifyApiError,
  DEFAULT_EXPIRATION_SECONDS,
  MIN_EXPIRATION_SECONDS,
  type TokenRequestApi,
  type TokenRequestBody,
  type TokenRequestResult,
  type TokenRequestIdentity,
  type NormalizedTokenRequestIdentity,
  type TokenRequestJwtCacheOptions,
  type TokenRequestJwtCacheStats,
} from './token-request.js'
