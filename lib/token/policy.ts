import { remainingSeconds, type TokenLease } from './lease.js'

/**
 * The token decision rule, as pure functions of (state, now, policy). Everything that touches Vault lives in
 * session.ts; everything here can be tested without a network or a timer.
 */

export interface TokenPolicy {
  /** Renew when the remaining TTL is at or below this (seconds). Default: 3 poll intervals. */
  renewThresholdSeconds: number
  /** A lookup-self at most this often per identity (ms); 0 = before every read (KES's behaviour). */
  lookupIntervalMs: number
  /** A token this close to expiry is treated as dead: a read would race its expiry across the wire. */
  expirySkewSeconds: number
}

export type LoginReason = 'first' | 'expired' | 'revoked' | 'max_ttl' | 'not_renewable'

export interface SessionState {
  lease?: TokenLease
  /** Why the last lease was dropped; becomes the reason of the next login. */
  lostReason?: LoginReason
  /** Backoff gates (ms on the clock); 0 = open. */
  loginRetryAt: number
  renewRetryAt: number
  lookupRetryAt: number
}

export type Decision =
  | { action: 'use' }
  | { action: 'lookup' }
  | { action: 'renew' }
  | { action: 'login'; reason: LoginReason }
  /** No usable token and logins are backing off: fail fast, send nothing. */
  | { action: 'backoff'; retryAt: number }

export interface Done {
  lookup?: boolean
  renew?: boolean
}

/**
 * The threshold actually applied to a lease. A threshold at or above the token's own TTL would renew on every
 * poll (KES #468); fall back to half the TTL so a misconfiguration costs a warning, not a renewal storm.
 */
export function effectiveThreshold(lease: TokenLease, thresholdSeconds: number): number {
  const ttl = lease.period || lease.creationTtl
  return ttl > 0 && thresholdSeconds >= ttl ? ttl / 2 : thresholdSeconds
}

export function thresholdMisconfigured(lease: TokenLease, thresholdSeconds: number): boolean {
  return effectiveThreshold(lease, thresholdSeconds) !== thresholdSeconds
}

/** When an explicit max TTL is known, a renewal inside the last threshold can no longer extend: log in instead. */
function hardLimitWithin(lease: TokenLease, now: number, seconds: number): boolean {
  if (!lease.explicitMaxTtl) return false
  return (lease.issueTime + lease.explicitMaxTtl * 1000 - now) / 1000 <= seconds
}

export function decide(s: SessionState, now: number, p: TokenPolicy, done: Done = {}): Decision {
  const lease = s.lease
  if (!lease || remainingSeconds(lease, now) <= p.expirySkewSeconds) {
    if (now < s.loginRetryAt) return { action: 'backoff', retryAt: s.loginRetryAt }
    return { action: 'login', reason: lease ? 'expired' : (s.lostReason ?? 'first') }
  }
  // A clock that stepped backwards (now < verifiedAt) makes the cached age meaningless: verify.
  const lookupDue = p.lookupIntervalMs === 0 || now - lease.verifiedAt >= p.lookupIntervalMs || now < lease.verifiedAt
  if (lookupDue && !done.lookup && now >= s.lookupRetryAt) return { action: 'lookup' }

  const threshold = effectiveThreshold(lease, p.renewThresholdSeconds)
  if (remainingSeconds(lease, now) > threshold) return { action: 'use' }

  const renewalExtends = lease.renewable && !lease.maxTtlReached && !hardLimitWithin(lease, now, threshold)
  if (renewalExtends) return !done.renew && now >= s.renewRetryAt ? { action: 'renew' } : { action: 'use' }
  // Keep using the old token until the new one is in hand; a failed login is retried after its backoff.
  if (now < s.loginRetryAt) return { action: 'use' }
  return { action: 'login', reason: lease.renewable || lease.maxTtlReached ? 'max_ttl' : 'not_renewable' }
}

/**
 * A renewal that no longer extends the token: Vault capped it at the max TTL (it says so in a warning), or what it
 * granted does not even outlast the threshold, so the next poll would renew again (KES #484's loop).
 */
export function renewalCapped(leaseDuration: number, warnings: readonly string[] | null | undefined, thresholdSeconds: number): boolean {
  if ((warnings ?? []).some((w) => /capped/i.test(w) && /max_ttl/i.test(w))) return true
  return leaseDuration <= thresholdSeconds
}

export interface BackoffPolicy {
  baseMs: number
  capMs: number
}

/** Login backoff: 1 s doubling to 5 min (Vault Agent's bounds), so one broken role costs one login per step. */
export const LOGIN_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 300_000 }

/**
 * When Vault itself is down (sealed, 503, 429, unreachable) the login is not wrong, only early: cap at 30 s so Secrets
 * recover within 30 s of Vault's return, at a cost of one login attempt per identity per 30 s while it is down.
 */
export const TRANSIENT_LOGIN_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 30_000 }

/** Exponential backoff with jitter in [50 %, 100 %] of the step; `random` is injected. */
export function backoffDelay(failures: number, random: () => number, b: BackoffPolicy = LOGIN_BACKOFF): number {
  const step = Math.min(b.capMs, b.baseMs * 2 ** Math.max(0, failures - 1))
  return Math.round(step * (0.5 + random() * 0.5))
}
