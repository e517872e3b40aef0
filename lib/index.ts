/** The library entry (`kes-vault-backend`): the backend and what it is built from. The poller host and the dev Vault are
 * separate entries (`kes-vault-backend/poller`, `kes-vault-backend/devserver`) and are never loaded from here. */
export {
  VaultBackend,
  SecretReadError,
  SpecError,
  CredentialInSecretError,
  type VaultBackendOptions,
  type BackendSettingOptions,
  type CloseOptions,
  type ServiceAccountJwts,
} from './backend/vault-backend.js'
export { createVaultBackend } from './backend/create.js'
export { RESERVED_TREES } from './spec-names.js'
export { KVBackend, KVBackendError, type ExternalSecretSpec, type DataItem, type SecretManifestData } from './backend/kv-backend.js'
export { loadConfig, ConfigError, type BackendConfig } from './config.js'
export { resolveSettings, settingsInputFromEnv, SETTING_VARIABLES, type Settings, type SettingsInput, type DynamicSecretMode } from './settings.js'
export { TokenSession, type SessionEvents, type TokenSource } from './token/session.js'
export { TokenUnavailableError, PolicyDeniedError, SessionClosedError, type Identity } from './token/errors.js'
export {
  decide,
  nextDueAt,
  backoffDelay,
  renewalCapped,
  effectiveThreshold,
  type TokenPolicy,
  type Decision,
  type Due,
  type LoginReason,
  type SessionState,
  decideLease,
  tokenEndsAt,
  type LeaseDecision,
  type MintReason,
} from './token/policy.js'
export { SecretLease, type SecretLeaseEvents } from './token/secret-lease.js'
export { remainingSeconds, type TokenLease } from './token/lease.js'
export { VaultClient } from './vault/client.js'
export { VaultTransport, nodeHttpExchange, type HttpExchange, type HttpExchangeRequest, type HttpExchangeResponse } from './vault/transport.js'
export type { NodeVaultClient } from './vault/node-vault.js'
export { VaultRequestError, type VaultErrorKind } from './vault/errors.js'
export { KubernetesAuth } from './auth/kubernetes.js'
export { JwtAuth } from './auth/jwt.js'
export { AppRoleAuth } from './auth/approle.js'
export { CredentialError, type AuthMethod, type JwtProvider } from './auth/types.js'
export { VaultMetrics, metricsHandler, startMetricsServer, collectProcessMetrics } from './metrics.js'
export { createLogger, redacting, type LogLevel } from './log.js'
export { CredentialRegistry, credentials } from './redact.js'
export { ManualClock, systemTimers, type Timers } from './clock.js'
export { systemClock, silentLogger, type Clock, type Logger } from './types.js'
// Service-account JWT sources. The kubeconfig helpers (client-node types) are in the poller entry.
export * from './kubernetes/sources.js'
