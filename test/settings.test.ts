import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import { createVaultBackend } from '../lib/backend/create.js'
import { VaultBackend } from '../lib/backend/vault-backend.js'
import { loadConfig } from '../lib/config.js'
import { ConfigError } from '../lib/env.js'
import { resolveSettings, SETTING_VARIABLES, settingsInputFromEnv, type Settings } from '../lib/settings.js'
import { silentLogger } from '../lib/types.js'

/** One value per setting, as an operator would write it in the environment, and the same value as an option. */
const ENV: Record<string, string> = {
  VAULT_ADDR: 'https://vault.example:8200/',
  VAULT_NAMESPACE: 'team-a',
  VAULT_SKIP_VERIFY: 'true',
  VAULT_TOKEN: 'hvs.settings-test-token-000000000000',
  POLLER_INTERVAL_MILLISECONDS: '20000',
  VAULT_TOKEN_RENEW_THRESHOLD: '45',
  VAULT_TOKEN_LOOKUP_INTERVAL_MILLISECONDS: '0',
  VAULT_TOKEN_CACHE_MAX: '50',
  VAULT_TOKEN_EXPIRY_SKEW_SECONDS: '3',
  DEFAULT_VAULT_MOUNT_POINT: 'k8s',
  DEFAULT_VAULT_ROLE: 'reader',
  VAULT_SERVICE_ACCOUNT_TOKEN_PATH: '/tmp/token',
  VAULT_REVOKE_TOKENS_ON_SHUTDOWN: 'false',
  VAULT_REQUEST_TIMEOUT_MILLISECONDS: '2500',
  VAULT_MAX_RESPONSE_BYTES: '65536',
  VAULT_REDIRECT_ORIGINS: 'https://vault-0.vault:8200, https://vault-1.vault:8200/',
  VAULT_IDENTITY_IDLE_MILLISECONDS: '60000',
  VAULT_AUTH_SERVICE_ACCOUNT: 'vault-reader',
  VAULT_AUTH_AUDIENCES: 'vault,other',
  VAULT_AUTH_METHOD: 'jwt',
}

const OPTIONS = {
  vaultAddr: 'https://vault.example:8200',
  vaultNamespace: 'team-a',
  vaultSkipVerify: true,
  vaultToken: 'hvs.settings-test-token-000000000000',
  pollerIntervalMilliseconds: 20_000,
  tokenRenewThreshold: 45,
  tokenLookupIntervalMilliseconds: 0,
  tokenCacheMax: 50,
  expirySkewSeconds: 3,
  defaultVaultMountPoint: 'k8s',
  defaultVaultRole: 'reader',
  serviceAccountTokenPath: '/tmp/token',
  revokeTokensOnShutdown: false,
  requestTimeoutMilliseconds: 2500,
  maxResponseBytes: 65536,
  redirectOrigins: ['https://vault-0.vault:8200', 'https://vault-1.vault:8200'],
  identityIdleMilliseconds: 60_000,
  authServiceAccount: 'vault-reader',
  authAudiences: ['vault', 'other'],
  authMethod: 'jwt' as const,
}

const settingsOf = (b: VaultBackend): Settings => ({ ...b.settings })

describe('settings: one resolver on every path', () => {
  it('the environment, createVaultBackend and new VaultBackend(options) give equal settings for equal inputs', async () => {
    const fromEnv = resolveSettings(settingsInputFromEnv(ENV), { source: 'env' })
    const fromLoader: Partial<Settings> = { ...loadConfig(ENV) }
    for (const hostOnly of ['vaultAddrSet', 'logLevel', 'metricsPort']) delete (fromLoader as Record<string, unknown>)[hostOnly]
    const factory = createVaultBackend(ENV, { registry: new Registry(), logger: silentLogger })
    const constructed = new VaultBackend({ ...OPTIONS, registry: new Registry() })
    assert.deepEqual(fromLoader, { ...fromEnv })
    assert.deepEqual(settingsOf(factory), { ...fromEnv })
    assert.deepEqual(settingsOf(constructed), { ...fromEnv })
    await factory.close({ revoke: false })
    await constructed.close({ revoke: false })
  })

  it('defaults are the same on every path, and resolving settings again changes nothing', async () => {
    const fromEnv = resolveSettings(settingsInputFromEnv({}), { source: 'env' })
    const backend = new VaultBackend({ registry: new Registry() })
    assert.deepEqual(settingsOf(backend), { ...fromEnv })
    assert.deepEqual(resolveSettings({ ...fromEnv }), fromEnv)
    assert.equal(fromEnv.tokenRenewThreshold, 30, 'three poll intervals')
    assert.equal(fromEnv.tokenLookupIntervalMilliseconds, 10_000, 'one poll interval')
    assert.equal(fromEnv.requestTimeoutMilliseconds, 10_000, 'a timeout on every construction path, including KES\'s')
    await backend.close({ revoke: false })
  })

  it('every setting has exactly one environment variable, and every variable resolves', () => {
    const variables = Object.values(SETTING_VARIABLES)
    assert.equal(new Set(variables).size, variables.length)
    assert.deepEqual(Object.keys(resolveSettings({})).sort(), Object.keys(SETTING_VARIABLES).sort())
  })

  it('an invalid value names the variable on the environment path and the option on the constructor path', () => {
    assert.throws(() => loadConfig({ VAULT_TOKEN_CACHE_MAX: '0' }), (e: unknown) => e instanceof ConfigError && e.variable === 'VAULT_TOKEN_CACHE_MAX')
    assert.throws(() => new VaultBackend({ tokenCacheMax: 0 }), (e: unknown) => e instanceof ConfigError && e.variable === 'tokenCacheMax' && /tokenCacheMax=0 is out of range/.test(e.message))
    assert.throws(() => new VaultBackend({ tokenRenewThreshold: 'soon' }), (e: unknown) => e instanceof ConfigError && e.variable === 'tokenRenewThreshold')
  })

  it("KES's own threshold, 3 x interval / 1000, is a fraction for an interval of 2 500 ms: rounded up, not refused", () => {
    // A reviewer's copy of KES's daemon wiring threw "tokenRenewThreshold=7.5 is not a whole number" at construction.
    assert.equal(resolveSettings({ tokenRenewThreshold: (3 * 2500) / 1000 }).tokenRenewThreshold, 8)
    assert.equal(resolveSettings({ tokenRenewThreshold: 37.5 }).tokenRenewThreshold, 38)
    assert.equal(loadConfig({ VAULT_TOKEN_RENEW_THRESHOLD: '7.5' }).tokenRenewThreshold, 8)
    assert.equal(resolveSettings({ tokenRenewThreshold: 0.2 }).tokenRenewThreshold, 1)
    assert.throws(() => loadConfig({ VAULT_TOKEN_RENEW_THRESHOLD: '7.5s' }), (e: unknown) => e instanceof ConfigError && /"7.5s" is not a number of seconds/.test(e.message))
  })

  it('an approle mount defaults to "approle" on every path (it was "kubernetes" from the environment)', () => {
    const env = resolveSettings(settingsInputFromEnv({ VAULT_AUTH_METHOD: 'approle', VAULT_APPROLE_ROLE_ID: 'r', VAULT_APPROLE_SECRET_ID_FILE: '/f' }), { source: 'env' })
    assert.equal(env.defaultVaultMountPoint, 'approle')
    const opts = resolveSettings({ authMethod: 'approle', approleRoleId: 'r' }, { approleSecretIdReader: true })
    assert.equal(opts.defaultVaultMountPoint, 'approle')
  })
})
