/** The environment as the backend and its host read it: files read here, every value resolved in settings.ts. */
import fs from 'node:fs'
import { ConfigError, type Env, integerValue, present } from './env.js'
import { type LogLevel, parseLogLevel } from './log.js'
import { resolveSettings, type Settings, settingsInputFromEnv } from './settings.js'

export { ConfigError } from './env.js'
export { DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH } from './settings.js'

export interface BackendConfig extends Settings {
  /** True when VAULT_ADDR was given; otherwise the CLI runs the embedded dev Vault. */
  vaultAddrSet: boolean
  logLevel: LogLevel
  metricsPort: number
}

function readCaCert(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8')
  } catch (e) {
    throw new ConfigError('VAULT_CACERT', `VAULT_CACERT=${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}); expected the path of a PEM CA bundle`)
  }
}

export function loadConfig(env: Env = process.env): BackendConfig {
  const input = settingsInputFromEnv(env)
  const caPath = present(env.VAULT_CACERT)
  if (typeof caPath === 'string') input.vaultCaCert = readCaCert(caPath)
  const settings = resolveSettings(input, { source: 'env' })
  let logLevel: LogLevel
  try {
    logLevel = parseLogLevel(present(env.LOG_LEVEL) as string | undefined)
  } catch (e) {
    throw new ConfigError('LOG_LEVEL', (e as Error).message)
  }
  const port = present(env.METRICS_PORT)
  return {
    ...settings,
    vaultAddrSet: present(env.VAULT_ADDR) !== undefined,
    logLevel,
    metricsPort: port === undefined ? 3001 : integerValue('METRICS_PORT', port, { min: 0, max: 65535 }),
  }
}
