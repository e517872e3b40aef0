import fs from 'node:fs/promises'
import type { Registry } from 'prom-client'
import { type BackendConfig, loadConfig } from './config.js'
import type { Env } from './env.js'
import { createLogger } from './log.js'
import { VaultBackend, type VaultBackendOptions } from './backend/vault-backend.js'

/** Backend options from a validated config; overrides win (clock, registry, logger, vaultFactory, ...). */
export function backendOptions(config: BackendConfig, overrides: VaultBackendOptions = {}): VaultBackendOptions {
  const secretIdFile = config.approleSecretIdFile
  return {
    vaultAddr: config.vaultAddr,
    vaultNamespace: config.vaultNamespace,
    vaultCaCert: config.vaultCaCert,
    vaultSkipVerify: config.vaultSkipVerify,
    vaultToken: config.vaultToken,
    pollerIntervalMilliseconds: config.pollerIntervalMilliseconds,
    tokenRenewThreshold: config.tokenRenewThreshold,
    tokenLookupIntervalMilliseconds: config.tokenLookupIntervalMilliseconds,
    tokenCacheMax: config.tokenCacheMax,
    defaultVaultMountPoint: config.defaultVaultMountPoint,
    defaultVaultRole: config.defaultVaultRole,
    serviceAccountTokenPath: config.serviceAccountTokenPath,
    revokeTokensOnShutdown: config.revokeTokensOnShutdown,
    requestTimeoutMilliseconds: config.requestTimeoutMilliseconds,
    authServiceAccount: config.authServiceAccount,
    authAudiences: config.authAudiences,
    authMethod: config.authMethod,
    ...(config.approleRoleId && secretIdFile
      ? { approle: { roleId: config.approleRoleId, secretId: async () => (await fs.readFile(secretIdFile, 'utf8')).trim() } }
      : {}),
    logger: createLogger({ level: config.logLevel }),
    ...overrides,
  }
}

/** Build a VaultBackend from the environment, as KES's daemon did from its env. Throws ConfigError naming the variable. */
export function createVaultBackend(env: Env = process.env, overrides: VaultBackendOptions & { registry?: Registry } = {}): VaultBackend {
  return new VaultBackend(backendOptions(loadConfig(env), overrides))
}
