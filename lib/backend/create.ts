import { loadConfig } from '../config.js'
import type { Env } from '../env.js'
import { createLogger } from '../log.js'
import { VaultBackend, type VaultBackendOptions } from './vault-backend.js'

/**
 * A VaultBackend from the environment, as KES's daemon built one from its env. Every variable is resolved and
 * validated in settings.ts (a ConfigError names the variable); `overrides` win (clock, registry, logger, ...).
 */
export function createVaultBackend(env: Env = process.env, overrides: VaultBackendOptions = {}): VaultBackend {
  const config = loadConfig(env)
  return new VaultBackend({ ...config, logger: createLogger({ level: config.logLevel }), ...overrides })
}
