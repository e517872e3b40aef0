/**
 * The one place where the backend's settings get their defaults and their validation. The environment loader
 * (config.ts), `createVaultBackend` and `new VaultBackend(options)` all end here, so equal inputs give equal settings
 * on every path, and an error names the variable (environment) or the option (constructor) it is about.
 */
import {
  booleanValue,
  ConfigError,
  type Env,
  integerValue,
  secondsValue,
  listValue,
  oneOfValue,
  present,
  textValue,
  urlValue,
} from './env.js'
import { allowedMountEntry, checkServiceAccount } from './spec-names.js'

export const DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token'
export const AUTH_METHODS = ['kubernetes', 'jwt', 'approle'] as const
export type AuthMethodName = (typeof AUTH_METHODS)[number]

export interface Settings {
  vaultAddr: string
  /** Vault Enterprise namespace (X-Vault-Namespace); part of every identity. */
  vaultNamespace?: string
  /** PEM CA bundle text (the environment gives a path, read by the loader). */
  vaultCaCert?: string
  vaultSkipVerify: boolean
  /** A static token, used when no role is configured. */
  vaultToken?: string
  pollerIntervalMilliseconds: number
  /** Renew when the remaining TTL is at or below this many whole seconds (KES: 3 poll intervals). */
  tokenRenewThreshold: number
  /** At most one lookup-self per identity per this many ms; 0 = before every read (KES). */
  tokenLookupIntervalMilliseconds: number
  tokenCacheMax: number
  /** A token this close to expiry (s) is never sent: a read would race its expiry across the wire. */
  expirySkewSeconds: number
  defaultVaultMountPoint: string
  defaultVaultRole?: string
  serviceAccountTokenPath: string
  revokeTokensOnShutdown: boolean
  /** Deadline of one Vault request, from send to last byte, redirects included. */
  requestTimeoutMilliseconds: number
  maxResponseBytes: number
  /** Origins (other nodes of the Vault cluster) a redirect may lead to, besides VAULT_ADDR's own. */
  redirectOrigins: string[]
  /** An identity no ExternalSecret used for this long is dropped and its token revoked; 0 = never. */
  identityIdleMilliseconds: number
  authServiceAccount?: string
  authAudiences: string[]
  authMethod: AuthMethodName
  approleRoleId?: string
  approleSecretIdFile?: string
  /** Secret mounts (or deeper path prefixes) ExternalSecrets may read, normalized; empty: any outside Vault's own trees. */
  allowedMounts: string[]
  /** Service accounts a spec may name in spec.vaultServiceAccount (in its own namespace); "*" permits any. */
  permittedServiceAccounts: string[]
  /** Identities (mount, role) with their own metric series; past it, and before a first login, "_other". */
  metricsIdentityMax: number
  /** A read answered with a lease (database/creds/...): keep it and renew it, or read again every poll (KES). */
  dynamicSecrets: DynamicSecretMode
  /** Dynamic secrets kept (per identity and path), LRU; an evicted one is revoked and minted again on its next read. */
  dynamicSecretsCacheMax: number
}

export type SettingsInput = { [K in keyof Settings]?: unknown }

/** The environment variable of each setting: KES's names where KES had them. */
export const SETTING_VARIABLES: Readonly<Record<keyof Settings, string>> = {
  vaultAddr: 'VAULT_ADDR',
  vaultNamespace: 'VAULT_NAMESPACE',
  vaultCaCert: 'VAULT_CACERT',
  vaultSkipVerify: 'VAULT_SKIP_VERIFY',
  vaultToken: 'VAULT_TOKEN',
  pollerIntervalMilliseconds: 'POLLER_INTERVAL_MILLISECONDS',
  tokenRenewThreshold: 'VAULT_TOKEN_RENEW_THRESHOLD',
  tokenLookupIntervalMilliseconds: 'VAULT_TOKEN_LOOKUP_INTERVAL_MILLISECONDS',
  tokenCacheMax: 'VAULT_TOKEN_CACHE_MAX',
  expirySkewSeconds: 'VAULT_TOKEN_EXPIRY_SKEW_SECONDS',
  defaultVaultMountPoint: 'DEFAULT_VAULT_MOUNT_POINT',
  defaultVaultRole: 'DEFAULT_VAULT_ROLE',
  serviceAccountTokenPath: 'VAULT_SERVICE_ACCOUNT_TOKEN_PATH',
  revokeTokensOnShutdown: 'VAULT_REVOKE_TOKENS_ON_SHUTDOWN',
  requestTimeoutMilliseconds: 'VAULT_REQUEST_TIMEOUT_MILLISECONDS',
  maxResponseBytes: 'VAULT_MAX_RESPONSE_BYTES',
  redirectOrigins: 'VAULT_REDIRECT_ORIGINS',
  identityIdleMilliseconds: 'VAULT_IDENTITY_IDLE_MILLISECONDS',
  authServiceAccount: 'VAULT_AUTH_SERVICE_ACCOUNT',
  authAudiences: 'VAULT_AUTH_AUDIENCES',
  authMethod: 'VAULT_AUTH_METHOD',
  approleRoleId: 'VAULT_APPROLE_ROLE_ID',
  approleSecretIdFile: 'VAULT_APPROLE_SECRET_ID_FILE',
  allowedMounts: 'VAULT_ALLOWED_MOUNTS',
  permittedServiceAccounts: 'VAULT_PERMITTED_SERVICE_ACCOUNTS',
  metricsIdentityMax: 'VAULT_METRICS_IDENTITY_MAX',
  dynamicSecrets: 'VAULT_DYNAMIC_SECRETS',
  dynamicSecretsCacheMax: 'VAULT_DYNAMIC_SECRETS_CACHE_MAX',
}

/** The raw settings in an environment (strings), ready for `resolveSettings(..., { source: 'env' })`. */
export function settingsInputFromEnv(env: Env): SettingsInput {
  const input: SettingsInput = {}
  for (const [key, variable] of Object.entries(SETTING_VARIABLES) as [keyof Settings, string][]) {
    if (env[variable] !== undefined) input[key] = env[variable]
  }
  return input
}

export interface ResolveContext {
  /** Names in errors: environment variables or option names. */
  source?: 'env' | 'options'
  /** An AppRole secret_id reader was handed in (no file needed). */
  approleSecretIdReader?: boolean
}

const WEEK_MS = 7 * 24 * 3600 * 1000
/** Kubernetes Secrets hold at most 1 MiB; an answer much larger than that cannot be a Secret's content. */
export const DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024 * 1024

export function resolveSettings(input: SettingsInput = {}, context: ResolveContext = {}): Settings {
  const name = (k: keyof Settings) => (context.source === 'env' ? SETTING_VARIABLES[k] : k)
  const value = <K extends keyof Settings, T>(k: K, parse: (name: string, raw: unknown) => T, fallback: T): T => {
    const raw = present(input[k])
    return raw === undefined ? fallback : parse(name(k), raw)
  }
  const text = <K extends keyof Settings>(k: K) => value(k, textValue, undefined)

  const pollerIntervalMilliseconds = value('pollerIntervalMilliseconds', (n, r) => integerValue(n, r, { min: 1000, max: WEEK_MS }), 10_000)
  const authMethod = value('authMethod', (n, r) => oneOfValue(n, r, AUTH_METHODS), 'kubernetes')
  const settings: Settings = {
    vaultAddr: value('vaultAddr', urlValue, 'http://127.0.0.1:8200'),
    vaultNamespace: text('vaultNamespace'),
    vaultCaCert: text('vaultCaCert'),
    vaultSkipVerify: value('vaultSkipVerify', booleanValue, false),
    vaultToken: text('vaultToken'),
    pollerIntervalMilliseconds,
    // KES's default: three poll intervals, in whole seconds (rounded up, so a renewal is never a poll late).
    tokenRenewThreshold: value('tokenRenewThreshold', (n, r) => secondsValue(n, r, { min: 1, max: 30 * 86_400 }), Math.ceil((3 * pollerIntervalMilliseconds) / 1000)),
    tokenLookupIntervalMilliseconds: value('tokenLookupIntervalMilliseconds', (n, r) => integerValue(n, r, { min: 0, max: WEEK_MS }), pollerIntervalMilliseconds),
    // VSO's bound.
    tokenCacheMax: value('tokenCacheMax', (n, r) => integerValue(n, r, { min: 1, max: 1_000_000 }), 10_000),
    expirySkewSeconds: value('expirySkewSeconds', (n, r) => integerValue(n, r, { min: 0, max: 3600 }), 2),
    // Where `vault auth enable <method>` mounts each method by default.
    defaultVaultMountPoint: value('defaultVaultMountPoint', textValue, authMethod),
    defaultVaultRole: text('defaultVaultRole'),
    serviceAccountTokenPath: value('serviceAccountTokenPath', textValue, DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH),
    revokeTokensOnShutdown: value('revokeTokensOnShutdown', booleanValue, true),
    requestTimeoutMilliseconds: value('requestTimeoutMilliseconds', (n, r) => integerValue(n, r, { min: 1, max: 600_000 }), 10_000),
    maxResponseBytes: value('maxResponseBytes', (n, r) => integerValue(n, r, { min: 1024, max: 1024 ** 3 }), DEFAULT_MAX_RESPONSE_BYTES),
    redirectOrigins: value('redirectOrigins', (n, r) => listValue(n, r).map((u) => new URL(urlValue(n, u)).origin), []),
    identityIdleMilliseconds: value('identityIdleMilliseconds', (n, r) => integerValue(n, r, { min: 0, max: 30 * 24 * 3600 * 1000 }), 3600_000),
    authServiceAccount: text('authServiceAccount'),
    authAudiences: value('authAudiences', listValue, []),
    authMethod,
    approleRoleId: text('approleRoleId'),
    approleSecretIdFile: text('approleSecretIdFile'),
    allowedMounts: value('allowedMounts', allowedMountsValue, []),
    permittedServiceAccounts: value('permittedServiceAccounts', serviceAccountsValue, []),
    metricsIdentityMax: value('metricsIdentityMax', (n, r) => integerValue(n, r, { min: 0, max: 100_000 }), DEFAULT_METRICS_IDENTITY_MAX),
    dynamicSecrets: value('dynamicSecrets', (n, r) => oneOfValue(n, r, DYNAMIC_SECRET_MODES), 'keep'),
    dynamicSecretsCacheMax: value('dynamicSecretsCacheMax', (n, r) => integerValue(n, r, { min: 1, max: 1_000_000 }), 10_000),
  }
  if (authMethod === 'approle' && (!settings.approleRoleId || (!settings.approleSecretIdFile && !context.approleSecretIdReader))) {
    const missing = settings.approleRoleId ? 'approleSecretIdFile' : 'approleRoleId'
    throw new ConfigError(
      name(missing),
      `${name('authMethod')}=approle needs ${name('approleRoleId')} and ${name('approleSecretIdFile')} (a file holding the secret_id)`,
    )
  }
  return Object.freeze(settings)
}

/** Series per identity label pair are few (~5 typical, 26 at most); 100 pairs keep a scrape small. */
export const DEFAULT_METRICS_IDENTITY_MAX = 100

function allowedMountsValue(name: string, raw: unknown): string[] {
  return listValue(name, raw).map((entry) => {
    const r = allowedMountEntry(entry)
    if (!r.ok) throw new ConfigError(name, `${name}: ${r.problem}`)
    return r.value
  })
}

function serviceAccountsValue(name: string, raw: unknown): string[] {
  return listValue(name, raw).map((entry) => {
    if (entry === '*') return entry
    try {
      return checkServiceAccount(name, entry)
    } catch (e) {
      throw new ConfigError(name, (e as Error).message)
    }
  })
}

/** keep: a dynamic secret is read once and kept with its lease; every-poll: read (a new credential) at each poll, as KES. */
export const DYNAMIC_SECRET_MODES = ['keep', 'every-poll'] as const
export type DynamicSecretMode = (typeof DYNAMIC_SECRET_MODES)[number]
