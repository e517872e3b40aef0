/** Environment parsing shared by every config loader: each error names the variable, the value and what is expected. */

export type Env = Record<string, string | undefined>

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message)
    this.name = 'ConfigError'
  }
}

function present(env: Env, name: string): string | undefined {
  const v = env[name]
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

export function readString(env: Env, name: string, fallback?: string): string | undefined {
  return present(env, name) ?? fallback
}

export function readInteger(
  env: Env,
  name: string,
  fallback: number | undefined,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number | undefined {
  const raw = present(env, name)
  if (raw === undefined) return fallback
  if (!/^-?\d+$/.test(raw)) {
    throw new ConfigError(name, `${name}=${JSON.stringify(raw)} is not a whole number; expected an integer from ${min} to ${max}`)
  }
  const n = Number(raw)
  if (n < min || n > max) {
    throw new ConfigError(name, `${name}=${raw} is out of range; expected an integer from ${min} to ${max}`)
  }
  return n
}

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = present(env, name)
  if (raw === undefined) return fallback
  const v = raw.toLowerCase()
  if (TRUE.has(v)) return true
  if (FALSE.has(v)) return false
  throw new ConfigError(name, `${name}=${JSON.stringify(raw)} is not a boolean; expected true or false`)
}

/** Comma-separated list; empty entries dropped. */
export function readList(env: Env, name: string): string[] {
  const raw = present(env, name)
  return raw === undefined ? [] : raw.split(',').map((s) => s.trim()).filter(Boolean)
}

export function readUrl(env: Env, name: string, fallback: string): string {
  const raw = present(env, name) ?? fallback
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(name, `${name}=${JSON.stringify(raw)} is not a URL; expected e.g. https://vault.example.com:8200`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `${name}=${JSON.stringify(raw)} must use http or https`)
  }
  return raw.replace(/\/+$/, '')
}
