/**
 * Vault's token TTL arithmetic, pure: no clock, no I/O. A port of `CalculateTTL` from
 * `sdk/framework/lease.go` plus Go's duration parsing and formatting, because the capping
 * warnings quote durations exactly as Go prints them.
 */

/** Vault's system default for both default_lease_ttl and max_lease_ttl: 768h (32 days). */
export const SYSTEM_MAX_LEASE_TTL_SECONDS = 768 * 3600

export interface TtlInput {
  /** Milliseconds since the epoch; truncated to whole seconds like Vault does. */
  now: number
  /** The token's issue time (start of its life), ms. */
  issueTime: number
  /** Requested increment in seconds; 0 = none (always 0 at login). */
  increment: number
  /** The role's (or token's) TTL in seconds; 0 = unset. */
  roleTtl: number
  /** The role's max TTL in seconds; 0 = unset. */
  roleMaxTtl: number
  explicitMaxTtl: number
  period: number
  mountDefaultTtl: number
  mountMaxTtl: number
}

export type TtlResult = { ok: true; ttl: number; warnings: string[] } | { ok: false; error: string }

export const PAST_MAX_TTL = 'past the max TTL, cannot renew'

export function calculateTtl(input: TtlInput): TtlResult {
  const now = Math.floor(input.now / 1000)
  const start = Math.floor(input.issueTime / 1000)
  const warnings: string[] = []

  // The mount's max, unless the role or the token asks for something stricter.
  let maxTtl = input.mountMaxTtl
  if (input.roleMaxTtl > 0 && input.roleMaxTtl < maxTtl) maxTtl = input.roleMaxTtl
  if (input.explicitMaxTtl > 0 && input.explicitMaxTtl < maxTtl) maxTtl = input.explicitMaxTtl
  if (maxTtl <= 0) return { ok: false, error: 'max TTL must be greater than zero' }

  let ttl: number
  let limit: number | undefined
  if (input.period > 0) {
    // Periodic tokens: the period is the TTL every time; only an explicit max TTL ends them.
    ttl = input.period
    if (ttl > maxTtl) {
      warnings.push(
        `period of "${humanDuration(ttl)}" exceeded the effective max_ttl of "${humanDuration(maxTtl)}"; period value is capped accordingly`,
      )
      ttl = maxTtl
    }
    if (input.explicitMaxTtl > 0) limit = start + input.explicitMaxTtl
  } else {
    ttl = input.increment > 0 ? input.increment : input.roleTtl > 0 ? input.roleTtl : input.mountDefaultTtl
    limit = start + maxTtl
  }

  if (limit !== undefined) {
    const remaining = limit - now
    if (remaining <= 0) return { ok: false, error: PAST_MAX_TTL }
    if (ttl > remaining) {
      warnings.push(
        `TTL of "${humanDuration(ttl)}" exceeded the effective max_ttl of "${humanDuration(remaining)}"; TTL value is capped accordingly`,
      )
      ttl = remaining
    }
  }
  return { ok: true, ttl, warnings }
}

/** Go's `time.Duration.String()` for whole seconds: 620 -> "10m20s", 3600 -> "1h0m0s". */
export function goDuration(seconds: number): string {
  if (seconds === 0) return '0s'
  const sign = seconds < 0 ? '-' : ''
  let s = Math.abs(Math.trunc(seconds))
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  if (h > 0) return `${sign}${h}h${m}m${s}s`
  if (m > 0) return `${sign}${m}m${s}s`
  return `${sign}${s}s`
}

/** Vault's `humanDuration`: Go's string with the zero tails dropped ("1h0m0s" -> "1h", "1h0m5s" -> "1h5s"). */
export function humanDuration(seconds: number): string {
  let s = goDuration(seconds)
  if (s.endsWith('m0s')) s = s.slice(0, -2)
  const idx = s.indexOf('h0m')
  if (idx > 0) s = s.slice(0, idx + 1) + s.slice(idx + 3)
  return s
}

const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  'µs': 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400, // Vault's parseutil accepts days too
}

/**
 * A Vault duration field (TypeDurationSecond): a number of seconds, a string of digits
 * (seconds), or a Go duration such as "1h30m". Returns whole seconds, or an error message.
 */
export function parseDurationSeconds(value: unknown): { ok: true; seconds: number } | { ok: false; error: string } {
  if (value === undefined || value === null || value === '') return { ok: true, seconds: 0 }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, error: `invalid duration ${String(value)}` }
    return { ok: true, seconds: Math.trunc(value) }
  }
  if (typeof value !== 'string') return { ok: false, error: `invalid duration ${JSON.stringify(value)}` }
  const raw = value.trim()
  if (/^-?\d+$/.test(raw)) return { ok: true, seconds: Number(raw) }
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/gy
  let sign = 1
  let rest = raw
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1
    rest = rest.slice(1)
  }
  if (rest === '') return { ok: false, error: `time: invalid duration "${raw}"` }
  let total = 0
  let pos = 0
  while (pos < rest.length) {
    re.lastIndex = pos
    const m = re.exec(rest)
    if (!m) {
      const unit = rest.slice(pos).replace(/^[\d.]+/, '')
      return {
        ok: false,
        error: /^[\d.]+$/.test(rest.slice(pos))
          ? `time: missing unit in duration "${raw}"`
          : `time: unknown unit "${unit}" in duration "${raw}"`,
      }
    }
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!
    pos = re.lastIndex
  }
  return { ok: true, seconds: sign * Math.floor(total + 1e-9) }
}
