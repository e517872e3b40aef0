import fs from 'node:fs'
import { ConfigError, type Env, readBoolean, readInteger, readString, readUrl } from './env.js'
import { type LogLevel, parseLogLevel } from './log.js'

export { ConfigError } from './env.js'

export const DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token'

/** Everything the backend reads from the environment, typed and validated. KES's variable names where KES had them. */
export interface BackendConfig {
  /** True when VAULT_ADDR was given; otherwise the CLI runs the embedded dev Vault. */
  vaultAddrSet: boolean
  vaultAddr: string
  vaultNamespace?: string
  /** PEM text read from VAULT_CACERT. */
  vaultCaCert?: string
  vaultSkipVerify: boolean
  vaultToken?: string
  pollerIntervalMilliseconds: number
  tokenRenewThreshold: number
  tokenLookupIntervalMilliseconds: number
  tokenCacheMax: number
  defaultVaultMountPoint: string
  defaultVaultRole?: string
  serviceAccountTokenPath: string
  revokeTokensOnShutdown: boolean
  requestTimeoutMilliseconds: number
  /** Log in as this service account of each ExternalSecret's own namespace (TokenRequest). */
  authServiceAccount?: string
  /** Audiences for TokenRequest JWTs (comma-separated). */
  authAudiences: string[]
  /** approle auth, when VAULT_AUTH_METHOD=approle. */
  authMethod: 'kubernetes' | 'approle' | 'jwt'
  approleRoleId?: string
  approleSecretIdFile?: string
  logLevel: LogLevel
  metricsPort: number
}

function readCaCert(env: Env): string | undefined {
  const path = readString(env, 'VAULT_CACERT')
  if (!path) return undefined
  try {
    return fs.readFileSync(path, 'utf8')
  } catch (e) {
    throw new ConfigError('VAULT_CACERT', `VAULT_CACERT=${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}); expected the path of a PEM CA bundle`)
  }
}

export function loadConfig(env: Env = process.env): BackendConfig {
  const pollerIntervalMilliseconds = readInteger(env, 'POLLER_INTERVAL_MILLISECONDS', 10_000, { min: 1 })!
  const tokenRenewThreshold = readInteger(env, 'VAULT_TOKEN_RENEW_THRESHOLD', Math.ceil((3 * pollerIntervalMilliseconds) / 1000), { min: 1 })!
  const authMethod = (readString(env, 'VAULT_AUTH_METHOD', 'kubernetes') ?? 'kubernetes').toLowerCase()
  if (authMethod !== 'kubernetes' && authMethod !== 'approle' && authMethod !== 'jwt') {
    throw new ConfigError('VAULT_AUTH_METHOD', `VAULT_AUTH_METHOD=${JSON.stringify(authMethod)} is not supported; expected kubernetes, jwt or approle`)
  }
  const approleRoleId = readString(env, 'VAULT_APPROLE_ROLE_ID')
  const approleSecretIdFile = readString(env, 'VAULT_APPROLE_SECRET_ID_FILE')
  if (authMethod === 'approle' && (!approleRoleId || !approleSecretIdFile)) {
    throw new ConfigError(
      approleRoleId ? 'VAULT_APPROLE_SECRET_ID_FILE' : 'VAULT_APPROLE_ROLE_ID',
      'VAULT_AUTH_METHOD=approle needs VAULT_APPROLE_ROLE_ID and VAULT_APPROLE_SECRET_ID_FILE (a file holding the secret_id)',
    )
  }
  let logLevel: LogLevel
  try {
    logLevel = parseLogLevel(readString(env, 'LOG_LEVEL'))
  } catch (e) {
    throw new ConfigError('LOG_LEVEL', (e as Error).message)
  }
  return {
    vaultAddrSet: readString(env, 'VAULT_ADDR') !== undefined,
    vaultAddr: readUrl(env, 'VAULT_ADDR', 'http://127.0.0.1:8200'),
    vaultNamespace: readString(env, 'VAULT_NAMESPACE'),
    vaultCaCert: readCaCert(env),
    vaultSkipVerify: readBoolean(env, 'VAULT_SKIP_VERIFY', false),
    vaultToken: readString(env, 'VAULT_TOKEN'),
    pollerIntervalMilliseconds,
    tokenRenewThreshold,
    tokenLookupIntervalMilliseconds: readInteger(env, 'VAULT_TOKEN_LOOKUP_INTERVAL_MILLISECONDS', pollerIntervalMilliseconds, { min: 0 })!,
    tokenCacheMax: readInteger(env, 'VAULT_TOKEN_CACHE_MAX', 10_000, { min: 1 })!,
    defaultVaultMountPoint: readString(env, 'DEFAULT_VAULT_MOUNT_POINT', 'kubernetes')!,
    defaultVaultRole: readString(env, 'DEFAULT_VAULT_ROLE'),
    serviceAccountTokenPath: readString(env, 'VAULT_SERVICE_ACCOUNT_TOKEN_PATH', DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH)!,
    revokeTokensOnShutdown: readBoolean(env, 'VAULT_REVOKE_TOKENS_ON_SHUTDOWN', true),
    requestTimeoutMilliseconds: readInteger(env, 'VAULT_REQUEST_TIMEOUT_MILLISECONDS', 10_000, { min: 1 })!,
    authServiceAccount: readString(env, 'VAULT_AUTH_SERVICE_ACCOUNT'),
    authAudiences: (readString(env, 'VAULT_AUTH_AUDIENCES') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    authMethod,
    approleRoleId,
    approleSecretIdFile,
    logLevel,
    metricsPort: readInteger(env, 'METRICS_PORT', 3001, { min: 0, max: 65535 })!,
  }
}
