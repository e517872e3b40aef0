/**
 * Value parsing shared by every settings path (environment variables and constructor options): each error names the
 * variable or option, the value and what is expected. A value is either a string (from the environment) or typed.
 */

export type Env = Record<string, string | undefined>

export class ConfigError extends Error {
  constructor(
    /** The environment variable, option or file the error is about. */
    readonly variable: string,
    message: string,
  ) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Undefined for an absent or blank value: the default applies. */
export function present(raw: unknown): unknown {
  if (raw === undefined || raw === null) return undefined
  if (typeof raw === 'string') return raw.trim() === '' ? undefined : raw.trim()
  return raw
}

const show = (raw: unknown) => (typeof raw === 'string' ? JSON.stringify(raw) : String(raw))

export function integerValue(name: string, raw: unknown, { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isInteger(n)) throw new ConfigError(name, `${name}=${show(raw)} is not a whole number; expected an integer from ${min} to ${max}`)
  if (n < min || n > max) throw new ConfigError(name, `${name}=${n} is out of range; expected an integer from ${min} to ${max}`)
  return n
}

/**
 * Whole seconds, a fraction rounded up: KES computes its renewal threshold as 3 x interval / 1000, a fraction for an
 * interval that is not a whole number of seconds (2 500 ms gives 7.5), and Vault's TTLs are whole seconds.
 */
export function secondsValue(name: string, raw: unknown, { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN
  if (!Number.isFinite(n)) throw new ConfigError(name, `${name}=${show(raw)} is not a number of seconds; expected a number from ${min} to ${max}`)
  return integerValue(name, Math.ceil(n), { min, max })
}

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

export function booleanValue(name: string, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw
  const v = String(raw).toLowerCase()
  if (TRUE.has(v)) return true
  if (FALSE.has(v)) return false
  throw new ConfigError(name, `${name}=${show(raw)} is not a boolean; expected true or false`)
}

export function textValue(name: string, raw: unknown): string {
  if (typeof raw !== 'string') throw new ConfigError(name, `${name} must be a string; got ${typeof raw}`)
  return raw
}

/** Comma-separated (from the environment) or an array; empty entries dropped. */
export function listValue(name: string, raw: unknown): string[] {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined
  if (!items || items.some((x) => typeof x !== 'string')) throw new ConfigError(name, `${name} must be a comma-separated list; got ${typeof raw}`)
  return (items as string[]).map((s) => s.trim()).filter(Boolean)
}

export function oneOfValue<T extends string>(name: string, raw: unknown, allowed: readonly T[]): T {
  const v = String(raw).toLowerCase()
  if ((allowed as readonly string[]).includes(v)) return v as T
  throw new ConfigError(name, `${name}=${show(raw)} is not supported; expected ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}`)
}

/** An http(s) URL, without trailing slashes. */
export function urlValue(name: string, raw: unknown): string {
  const text = String(raw)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError(name, `${name}=${show(raw)} is not a URL; expected e.g. https://vault.example.com:8200`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, `${name}=${show(raw)} must use http or https`)
  return text.replace(/\/+$/, '')
}

// Environment readers for settings that live outside the backend (the poller host's).

export function readString(env: Env, name: string, fallback?: string): string | undefined {
  const v = present(env[name])
  return v === undefined ? fallback : (v as string)
}

export function readInteger(env: Env, name: string, fallback: number | undefined, range: { min?: number; max?: number } = {}): number | undefined {
  const v = present(env[name])
  return v === undefined ? fallback : integerValue(name, v, range)
}

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const v = present(env[name])
  return v === undefined ? fallback : booleanValue(name, v)
}

export function readList(env: Env, name: string): string[] {
  const v = present(env[name])
  return v === undefined ? [] : listValue(name, v)
}
