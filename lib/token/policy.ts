/**
 * Every token decision, as pure functions of (state, now, policy): what to do now (`decide`), when the next action
 * falls due (`nextDueAt`), the state after each outcome of a lookup, a renewal or a login (`after*`), and what a
 * denied read means (`judgeDeniedRead`). session.ts only runs them and does the I/O; nothing here needs a network
 * or a timer.
 */
import type { TokenLookupData, VaultAuthResponse, VaultReadResponse } from '../vault/client.js'
import { type VaultErrorKind, VaultRequestError } from '../vault/errors.js'
import { leaseAfterRenewal, leaseFromLogin, leaseFromLookup, leaseFromSecret, remainingSeconds, type RenewalGrant, type TokenLease } from './lease.js'

export type { RenewalGrant } from './lease.js'

export interface TokenPolicy {
  /** Renew when the remaining TTL is at or below this (seconds). Default: 3 poll intervals. */
  renewThresholdSeconds: number
  /** A lookup-self at most this often per identity (ms); 0 = before every read (KES's behaviour). */
  lookupIntervalMs: number
  /** A token this close to expiry is treated as dead: a read would race its expiry across the wire. */
  expirySkewSeconds: number
}

/** What an identity can do besides using the token it has. */
export interface Abilities {
  /** False for a static token (VAULT_TOKEN without a role): there is nothing to log in with. */
  canLogin: boolean
}

export type LoginReason = 'first' | 'expired' | 'revoked' | 'max_ttl' | 'not_renewable' | 'self_denied'

export interface SessionState {
  lease?: TokenLease
  /** Why the last lease was dropped; becomes the reason of the next login. */
  lostReason?: LoginReason
  /** Backoff gates (ms on the clock); 0 = open. */
  loginRetryAt: number
  renewRetryAt: number
  lookupRetryAt: number
  /** When the latest gate was set (ms): a clock that is now earlier than this stepped back. */
  gatesSetAt: number
  /** Tokens in a row that Vault refused while young (fresh from their login): a login that does not hold. */
  youngDeaths: number
  /** Uses of the current token spent since Vault last said how many it has (`lease.numUses`; 0 = unlimited). */
  usesSpent: number
  loginFailures: number
  renewFailures: number
  lastLoginError?: Error
  /**
   * Vault denies this identity's tokens lookup-self (or renew-self) although they are alive: the role has no
   * `default` policy. The token is then judged from its login lease alone and replaced by a login at the threshold.
   */
  lookupDenied: boolean
  renewDenied: boolean
  /** When a denied read that could not be confirmed by a lookup last forced a login (ms); the next token is trusted. */
  deniedReadLoginAt?: number
  /** The token of the last successful read. */
  readOkToken?: string
  /**
   * Lookups in a row that called a young token dead although it had read a secret since its login: from the second,
   * lookup-self is not believed (`lookupDenied`), as something answers auth/token/* for another cluster.
   */
  contradictedLookups: number
}

export const initialState = (): SessionState => ({
  loginRetryAt: 0,
  renewRetryAt: 0,
  lookupRetryAt: 0,
  gatesSetAt: 0,
  youngDeaths: 0,
  usesSpent: 0,
  loginFailures: 0,
  renewFailures: 0,
  lookupDenied: false,
  renewDenied: false,
  contradictedLookups: 0,
})

export type Decision =
  | { action: 'use'; expiring?: true }
  | { action: 'lookup'; reason: 'interval' | 'unverified' | 'clock_stepped_back' }
  | { action: 'renew'; remainingSeconds: number; thresholdSeconds: number }
  | { action: 'login'; reason: LoginReason }
  /** No usable token and logins are backing off: fail fast, send nothing. */
  | { action: 'backoff'; retryAt: number }
  /** No usable token and nothing to log in with (a dead static token). */
  | { action: 'unavailable' }

/** What a refresh has already done: each action runs at most once per refresh. */
export interface Done {
  lookup?: boolean
  renew?: boolean
  login?: boolean
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

/** ms on the clock from which a renewal can no longer extend the token (its explicit max TTL is within the threshold). */
function hardLimitAt(lease: TokenLease, thresholdSeconds: number): number {
  return lease.explicitMaxTtl ? lease.issueTime + (lease.explicitMaxTtl - thresholdSeconds) * 1000 : Infinity
}

/**
 * The skew actually applied to a lease. A skew at or above the lease's own TTL (a token or a database credential
 * that lives a few seconds, VAULT_TOKEN_EXPIRY_SKEW_SECONDS raised to a minute) would make every grant dead on
 * arrival: a login or a mint at every read, and the read refused anyway. Fall back to a quarter of the TTL, as
 * `effectiveThreshold` falls back to half of it.
 */
export function effectiveSkew(lease: TokenLease, p: TokenPolicy): number {
  const ttl = lease.period || lease.creationTtl
  return ttl > 0 && p.expirySkewSeconds >= ttl ? ttl / 4 : p.expirySkewSeconds
}

/** Within the skew of its end: a request sent with it could arrive after Vault expired it. */
export function expired(lease: TokenLease, now: number, p: TokenPolicy): boolean {
  return remainingSeconds(lease, now) <= effectiveSkew(lease, p)
}

/** A token with a use limit whose uses are all spent is dead, whatever its TTL: Vault revoked it at its last use. */
function usedUp(s: SessionState, lease: TokenLease): boolean {
  return lease.numUses > 0 && s.usesSpent >= lease.numUses
}

/** One use of a use-limited token handed out (a read, a renewal): counted before it is sent, so none goes out dead. */
export function spendUse(s: SessionState): SessionState {
  return s.lease && s.lease.numUses > 0 ? { ...s, usesSpent: s.usesSpent + 1 } : s
}

function renewable(s: SessionState, lease: TokenLease): boolean {
  return lease.renewable && !lease.maxTtlReached && !s.renewDenied
}

function endReason(s: SessionState, lease: TokenLease, now: number, threshold: number): LoginReason {
  if (lease.maxTtlReached || now >= hardLimitAt(lease, threshold)) return 'max_ttl'
  if (s.renewDenied) return 'self_denied'
  return lease.renewable ? 'max_ttl' : 'not_renewable'
}

/**
 * The state with its backoff gates re-anchored to `now` if the host clock stepped back since they were set (an NTP
 * step, a resumed VM): the wait still left when a gate was set counts from now, so a 30 s backoff stays 30 s and
 * never becomes an hour without Vault. The same state when the clock did not step back.
 */
export function rebaseGates(s: SessionState, now: number): SessionState {
  if (now >= s.gatesSetAt) return s
  const shift = (at: number) => (at > 0 ? now + Math.max(0, at - s.gatesSetAt) : at)
  return { ...s, loginRetryAt: shift(s.loginRetryAt), renewRetryAt: shift(s.renewRetryAt), lookupRetryAt: shift(s.lookupRetryAt), gatesSetAt: now }
}

export function decide(state: SessionState, now: number, p: TokenPolicy, a: Abilities = { canLogin: true }, done: Done = {}): Decision {
  const s = rebaseGates(state, now)
  const lease = s.lease
  if (!lease || expired(lease, now, p) || usedUp(s, lease)) {
    if (!a.canLogin) return { action: 'unavailable' }
    if (done.login || now < s.loginRetryAt) return { action: 'backoff', retryAt: Math.max(s.loginRetryAt, now) }
    return { action: 'login', reason: lease ? 'expired' : (s.lostReason ?? 'first') }
  }
  // A token fresh from this refresh's login needs no lookup, even with lookups before every read; nor does a token
  // with a use limit (a lookup would spend one of its few uses, and it lives only a few requests anyway).
  if (!done.lookup && !done.login && !s.lookupDenied && lease.numUses === 0 && now >= s.lookupRetryAt) {
    // A seed token (VAULT_TOKEN, a preset token): learn its lease before anything else.
    if (!lease.lookedUp && lease.origin === 'seed') return { action: 'lookup', reason: 'unverified' }
    // A clock that stepped backwards (now < verifiedAt) makes the cached age meaningless: verify.
    if (now < lease.verifiedAt) return { action: 'lookup', reason: 'clock_stepped_back' }
    if (p.lookupIntervalMs === 0 || now - lease.verifiedAt >= p.lookupIntervalMs) return { action: 'lookup', reason: 'interval' }
  }
  const threshold = effectiveThreshold(lease, p.renewThresholdSeconds)
  const left = remainingSeconds(lease, now)
  if (left > threshold) return { action: 'use' }
  if (renewable(s, lease) && now < hardLimitAt(lease, threshold)) {
    return !done.renew && now >= s.renewRetryAt ? { action: 'renew', remainingSeconds: left, thresholdSeconds: threshold } : { action: 'use' }
  }
  // Keep using the old token until the new one is in hand; a failed login is retried after its backoff.
  if (!a.canLogin) return { action: 'use', expiring: true }
  if (done.login || now < s.loginRetryAt) return { action: 'use' }
  return { action: 'login', reason: endReason(s, lease, now, threshold) }
}

export interface Due {
  at: number
  action: 'lookup' | 'renew' | 'login'
}

/**
 * Each action that will fall due with no caller-visible change (ms on the clock): the next lookup, the renewal or
 * the login at the threshold, the login at expiry. Gates (backoff, Retry-After) are taken into account.
 */
export function dueActions(state: SessionState, now: number, p: TokenPolicy, a: Abilities = { canLogin: true }): Due[] {
  const s = rebaseGates(state, now)
  const lease = s.lease
  const due: Due[] = []
  const login = (at: number) => a.canLogin && due.push({ at: Math.max(at, s.loginRetryAt, now), action: 'login' })
  if (!lease || expired(lease, now, p) || usedUp(s, lease)) {
    login(now)
    return due
  }
  if (!s.lookupDenied && lease.numUses === 0) {
    const at = (!lease.lookedUp && lease.origin === 'seed') || now < lease.verifiedAt ? now : lease.verifiedAt + p.lookupIntervalMs
    due.push({ at: Math.max(at, s.lookupRetryAt, now), action: 'lookup' })
  }
  if (lease.expireTime !== null) {
    const threshold = effectiveThreshold(lease, p.renewThresholdSeconds)
    const thresholdAt = lease.expireTime - threshold * 1000
    const limit = hardLimitAt(lease, threshold)
    if (renewable(s, lease)) {
      const renewAt = Math.max(thresholdAt, s.renewRetryAt, now)
      if (renewAt < limit) due.push({ at: renewAt, action: 'renew' })
      if (limit !== Infinity) login(Math.max(thresholdAt, limit))
    } else login(thresholdAt)
    // Past the skew the token is dead: a login then, whatever the gates said before.
    login(lease.expireTime - effectiveSkew(lease, p) * 1000)
  }
  return due
}

/**
 * When the next lookup, renewal or login falls due, or undefined when nothing ever will (a token that never expires
 * and is never looked up, or a dead static token). Before `at`, `decide` answers 'use' (or 'backoff'); at `at` it
 * asks for `action`.
 */
export function nextDueAt(s: SessionState, now: number, p: TokenPolicy, a: Abilities = { canLogin: true }): Due | undefined {
  return earliest(dueActions(s, now, p, a))
}

export function earliest(due: readonly Due[]): Due | undefined {
  return due.reduce<Due | undefined>((min, c) => (min === undefined || c.at < min.at ? c : min), undefined)
}

// ---- transitions: the state after each outcome --------------------------------------------------------------

export type LookupResult = 'success' | 'failure' | 'invalid' | 'denied'
export type RenewalResult = 'success' | 'capped' | 'failure' | 'not_renewable' | 'denied'

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown }

const kindOf = (error: unknown): VaultErrorKind | undefined => (error instanceof VaultRequestError ? error.kind : undefined)

/** Why a token that Vault refused was lost: expired by our own clock, or revoked from outside. */
function deadReason(lease: TokenLease, at: number, p: TokenPolicy): LoginReason {
  return expired(lease, at, p) ? 'expired' : 'revoked'
}

function drop(s: SessionState, reason: LoginReason): SessionState {
  return { ...s, lease: undefined, lostReason: reason }
}

/**
 * A token Vault refuses younger than this (ms) died young: something refuses every fresh token (a load balancer that
 * sends reads to another cluster, a role whose tokens have a few uses). One such death is a revocation and is
 * replaced at once; from the second in a row the next login waits its backoff, or a login every poll would follow.
 */
function youngWithin(p: TokenPolicy): number {
  return Math.max(p.lookupIntervalMs, 60_000)
}

/** A read with `token` succeeded: whatever refused young tokens before does not any more. */
export function afterReadOk(s: SessionState, token: string): SessionState {
  return s.youngDeaths === 0 && s.readOkToken === token ? s : { ...s, youngDeaths: 0, readOkToken: token }
}

/** The state after Vault said `lease` is dead, counting the death if the token was young. */
function dead(s: SessionState, lease: TokenLease, at: number, p: TokenPolicy, random: () => number): SessionState {
  const next = drop(s, deadReason(lease, at, p))
  if (lease.origin !== 'login' || at - lease.issueTime >= youngWithin(p)) return { ...next, youngDeaths: 0 }
  const deaths = s.youngDeaths + 1
  if (deaths < 2) return { ...next, youngDeaths: deaths }
  // A misconfiguration, not an outage: the 5 min cap of a refused login.
  const delay = backoffDelay(deaths - 1, random, LOGIN_BACKOFF)
  return { ...next, youngDeaths: deaths, loginRetryAt: Math.max(s.loginRetryAt, at + delay), gatesSetAt: Math.max(s.gatesSetAt, at) }
}

/**
 * Lookup-self called the token dead. Once, that is a revocation: replace it. A young token that read a secret since
 * its login and was never once confirmed by lookup-self, called dead at its first lookup, twice in a row, is a
 * contradiction, not two revocations: lookup-self is answered by something else (a proxy or load balancer sending
 * auth/token/* to another cluster). A login per poll would follow, each replaced token left live; instead lookup-self
 * is not believed (as for a role without `default`): the token is judged by its login lease and replaced at the
 * threshold, and a read Vault refuses still replaces it at once. Any lookup that succeeds, and any read that finds a
 * token dead, resets the count: tokens then do die, and lookup-self tells the truth.
 */
function lookupSaidDead(s: SessionState, lease: TokenLease, sentAt: number, p: TokenPolicy, random: () => number): LookupOutcome {
  const contradicted =
    lease.origin === 'login' && !lease.lookedUp && s.readOkToken === lease.token && sentAt - lease.issueTime < youngWithin(p) && !expired(lease, sentAt, p)
  const contradictedLookups = contradicted ? s.contradictedLookups + 1 : 0
  if (contradictedLookups >= 2) return { state: { ...s, lookupDenied: true, contradictedLookups }, result: 'denied', denial: 'contradicted' }
  return { state: { ...dead(s, lease, sentAt, p, random), contradictedLookups }, result: 'invalid' }
}

/**
 * A lookup's outcome; for 'denied', why lookup-self is not asked any more: the role has no `default` policy, or
 * lookup-self contradicts the reads (`lookupSaidDead`).
 */
export interface LookupOutcome {
  state: SessionState
  result: LookupResult
  denial?: 'no_default_policy' | 'contradicted'
}

export function afterLookup(
  s: SessionState,
  lease: TokenLease,
  outcome: Outcome<TokenLookupData>,
  sentAt: number,
  p: TokenPolicy,
  random: () => number = Math.random,
): LookupOutcome {
  if (s.lease !== lease) return { state: s, result: outcome.ok ? 'success' : 'failure' }
  if (outcome.ok) return { state: { ...s, lease: leaseFromLookup(lease, outcome.value, sentAt), lookupRetryAt: 0, usesSpent: 0, contradictedLookups: 0 }, result: 'success' }
  switch (kindOf(outcome.error)) {
    case 'invalid_token':
      return lookupSaidDead(s, lease, sentAt, p, random)
    case 'permission_denied':
      // One wording for "no default policy" and (on old Vault) "dead token". A token never looked up yet and alive
      // by its login lease is the first case: every token of a role without `default` is denied from its first lookup.
      if (!lease.lookedUp && !expired(lease, sentAt, p)) return { state: { ...s, lookupDenied: true }, result: 'denied', denial: 'no_default_policy' }
      return lookupSaidDead(s, lease, sentAt, p, random)
    default:
      // Vault unreachable or unwell: keep the token while it is valid; retry after one lookup interval, not per caller.
      return { state: { ...s, lookupRetryAt: sentAt + Math.max(p.lookupIntervalMs, 1_000), gatesSetAt: Math.max(s.gatesSetAt, sentAt) }, result: 'failure' }
  }
}

/**
 * A renewal that no longer extends the token: Vault capped it at the max TTL (it says so in a warning), the new
 * expiry is not later than the old one (Vault's lifetime watcher test), or, for a token that can log in again, what
 * was granted does not even outlast the threshold. A static token is not given up on a short grant alone: someone
 * may have renewed it elsewhere with a small increment, which Vault keeps for later renewals (sticky TTL).
 */
export function renewalCapped(previous: TokenLease, res: RenewalGrant, sentAt: number, thresholdSeconds: number, a: Abilities = { canLogin: true }): boolean {
  if (res.warnings.some((w) => /capped/i.test(w) && /max_ttl/i.test(w))) return true
  const granted = res.auth.lease_duration
  if (previous.expireTime !== null && granted > 0 && sentAt + granted * 1000 <= previous.expireTime) return true
  return a.canLogin && granted <= thresholdSeconds
}

/**
 * The increment to ask for: none for auth-method tokens (Vault re-reads the role's TTL), the creation TTL for a
 * static token, so a small increment someone else asked for does not stick to it.
 */
export function renewalIncrement(lease: TokenLease, a: Abilities): number | undefined {
  return !a.canLogin && lease.lookedUp && lease.creationTtl > 0 && !lease.period ? lease.creationTtl : undefined
}

export function afterRenewal(
  s: SessionState,
  lease: TokenLease,
  outcome: Outcome<RenewalGrant>,
  sentAt: number,
  p: TokenPolicy,
  a: Abilities,
  random: () => number,
): { state: SessionState; result: RenewalResult } {
  if (s.lease !== lease) return { state: s, result: outcome.ok ? 'success' : 'failure' }
  const threshold = effectiveThreshold(lease, p.renewThresholdSeconds)
  if (outcome.ok) {
    const capped = renewalCapped(lease, outcome.value, sentAt, threshold, a)
    return { state: { ...s, lease: leaseAfterRenewal(lease, outcome.value, sentAt, capped), renewFailures: 0, renewRetryAt: 0 }, result: capped ? 'capped' : 'success' }
  }
  switch (kindOf(outcome.error)) {
    case 'invalid_token':
      return { state: drop(s, deadReason(lease, sentAt, p)), result: 'failure' }
    case 'permission_denied':
      // Denied by policy (no `default`), or dead on old Vault: either way only a login helps, and it settles which.
      return { state: { ...s, renewDenied: true }, result: 'denied' }
    case 'lease_expired':
      return { state: drop(s, 'expired'), result: 'failure' }
    case 'lease_not_found':
      // A secret lease Vault no longer has (revoked from outside, or with the token that read it).
      return { state: drop(s, 'revoked'), result: 'failure' }
    case 'not_renewable':
      return { state: { ...s, lease: { ...lease, renewable: false } }, result: 'not_renewable' }
    case 'past_max_ttl':
      return { state: { ...s, lease: { ...lease, maxTtlReached: true } }, result: 'capped' }
    default: {
      // Transient: the token is still valid; retry before it expires, not on every caller.
      const failures = s.renewFailures + 1
      const left = remainingSeconds(lease, sentAt) * 1000
      const delay = Math.min(backoffDelay(failures, random, LOGIN_BACKOFF), Math.max(1_000, left / 3))
      return { state: { ...s, renewFailures: failures, renewRetryAt: sentAt + delay, gatesSetAt: Math.max(s.gatesSetAt, sentAt) }, result: 'failure' }
    }
  }
}

export function afterLogin(
  s: SessionState,
  outcome: Outcome<{ answer: VaultAuthResponse; sentAt: number }>,
  now: number,
  random: () => number,
): { state: SessionState; retryInMs?: number } {
  if (outcome.ok) return { state: adoptNew(s, leaseFromLogin(outcome.value.answer, outcome.value.sentAt)) }
  return afterFailedLogin(s, outcome.error, now, random)
}

function adoptNew(s: SessionState, lease: TokenLease): SessionState {
  return { ...s, lease, lostReason: undefined, loginRetryAt: 0, renewRetryAt: 0, lookupRetryAt: 0, loginFailures: 0, renewFailures: 0, lastLoginError: undefined, usesSpent: 0 }
}

function afterFailedLogin(s: SessionState, error: unknown, now: number, random: () => number): { state: SessionState; retryInMs: number } {
  const e = error instanceof Error ? error : new Error(String(error))
  const failures = s.loginFailures + 1
  // Vault's Retry-After (a rate-limit quota; the transport caps it at 5 min) says when to come back, and replaces
  // our own step, as go-retryablehttp's DefaultBackoff and RateLimitLinearJitterBackoff do: a quota that lifts is met
  // at once.
  const retryAfterMs = e instanceof VaultRequestError && e.retryAfterSeconds ? e.retryAfterSeconds * 1000 : 0
  // Only a refusal by a healthy Vault (bad role, rejected JWT) waits up to 5 min. Vault down, or no credential yet
  // (the JWT source failed, so nothing reached Vault): retry within 30 s, so Secrets recover soon after.
  const refusedByVault = e instanceof VaultRequestError && !e.transient
  const delay = retryAfterMs || backoffDelay(failures, random, refusedByVault ? LOGIN_BACKOFF : TRANSIENT_LOGIN_BACKOFF)
  return { state: { ...s, loginFailures: failures, loginRetryAt: now + delay, gatesSetAt: Math.max(s.gatesSetAt, now), lastLoginError: e }, retryInMs: delay }
}

/** What of a dropped session (evicted, idle) its identity's next session starts from. */
export type CarriedState = Partial<Pick<SessionState, 'loginRetryAt' | 'gatesSetAt' | 'loginFailures' | 'lastLoginError' | 'lookupDenied' | 'renewDenied'>>

/**
 * Login backoff and self-denial survive the session: one broken role in a full cache still costs one login per
 * backoff step. The failure count is kept after the retry time has passed, so the next failure waits longer.
 * Undefined: nothing worth keeping (the next session starts fresh).
 */
export function carriedOver(s: SessionState): CarriedState | undefined {
  if (s.loginFailures === 0 && !s.lookupDenied && !s.renewDenied) return undefined
  const { loginRetryAt, gatesSetAt, loginFailures, lastLoginError, lookupDenied, renewDenied } = s
  return { loginRetryAt, gatesSetAt, loginFailures, lastLoginError, lookupDenied, renewDenied }
}

// ---- secret leases: the same rule for a dynamic secret's lease -------------------------------------------------
//
// A dynamic secret's lease is a TokenLease whose `token` is the lease id, in a SessionState with lookups disabled
// (`lookupDenied`): `decide` renews it at the threshold, and its "login" is a mint (the read again). What is
// particular to a lease is only that it cannot outlive the token that read it.

export type MintReason = 'first' | 'expired' | 'revoked' | 'max_ttl' | 'not_renewable' | 'renew_denied' | 'parent_token'

export type LeaseDecision =
  | { action: 'use' }
  | { action: 'renew'; remainingSeconds: number; thresholdSeconds: number }
  /** Read the secret again: a new credential under a new lease. */
  | { action: 'mint'; reason: MintReason }
  /** The lease is gone and mints are backing off: fail fast, send nothing. */
  | { action: 'backoff'; retryAt: number }

/** The token that read a lease, as seen from its token session. */
export interface ParentToken {
  /** The session still holds that token (it was not replaced by a login, nor dropped as dead). */
  current: boolean
  /** When it ends for good (`tokenEndsAt`), ms on the clock; Infinity while renewals can still extend it. */
  endsAt: number
}

/**
 * When a session's token ends for good, as far as the session knows: its expiry once it can no longer be extended
 * (not renewable, capped at its max TTL, renewal denied), its explicit max TTL when one is known, else Infinity.
 * Vault revokes a token's leases with the token, so no lease it read lives longer.
 */
export function tokenEndsAt(s: SessionState): number {
  const lease = s.lease
  if (!lease) return Number.NEGATIVE_INFINITY
  if (lease.expireTime === null) return Infinity
  const hard = lease.explicitMaxTtl ? lease.issueTime + lease.explicitMaxTtl * 1000 : Infinity
  return renewable(s, lease) ? hard : Math.min(lease.expireTime, hard)
}

/**
 * A secret lease seen through its parent token's end: it expires no later, and the parent's end acts as its
 * explicit max TTL, so `decide` stops renewing once that end is within the threshold (a renewal could not extend it).
 */
export function boundedByParent(lease: TokenLease, parentEndsAt: number): TokenLease {
  if (parentEndsAt === Infinity) return lease
  const maxTtl = Math.max(0.001, (parentEndsAt - lease.issueTime) / 1000)
  return {
    ...lease,
    expireTime: lease.expireTime === null ? parentEndsAt : Math.min(lease.expireTime, parentEndsAt),
    explicitMaxTtl: lease.explicitMaxTtl > 0 ? Math.min(lease.explicitMaxTtl, maxTtl) : maxTtl,
  }
}

const MINT_REASONS: Record<LoginReason, MintReason> = {
  first: 'first',
  expired: 'expired',
  revoked: 'revoked',
  max_ttl: 'max_ttl',
  not_renewable: 'not_renewable',
  self_denied: 'renew_denied',
}

/**
 * What to do with a dynamic secret's lease: `decide`'s rule on the lease bounded by its parent token, plus two
 * rules about that parent. A lease whose parent the session no longer holds ends with it at a time nobody follows:
 * mint again now. A lease that must be replaced only because its parent ends waits for the session's next token:
 * minting with the parent again would bind the new lease to the same end (a mint per poll). The session replaces a
 * token that cannot be extended at its own threshold, before it ends; meanwhile the lease is renewed if it would
 * expire first.
 */
export function decideLease(s: SessionState, now: number, p: TokenPolicy, parent: ParentToken, done: Done = {}): LeaseDecision {
  const lease = s.lease
  const gated = done.login || now < s.loginRetryAt
  if (lease && !parent.current && !expired(lease, now, p)) return gated ? { action: 'use' } : { action: 'mint', reason: 'parent_token' }
  const asLease = { ...s, lookupDenied: true }
  const bounded = lease && parent.current ? boundedByParent(lease, parent.endsAt) : lease
  const d = decide({ ...asLease, lease: bounded }, now, p, { canLogin: true }, done)
  switch (d.action) {
    case 'use':
    case 'renew':
    case 'backoff':
      return d.action === 'use' ? { action: 'use' } : d
    case 'login': {
      if (bounded === lease || expired(bounded!, now, p)) return { action: 'mint', reason: MINT_REASONS[d.reason] }
      const own = decide(asLease, now, p, { canLogin: true }, done)
      if (own.action === 'login') return { action: 'mint', reason: MINT_REASONS[own.reason] }
      return own.action === 'renew' ? own : { action: 'use' }
    }
    default:
      // 'lookup' and 'unavailable' cannot happen: lookups are off and a lease can always be minted again.
      return { action: 'use' }
  }
}

/** The state after a mint (a read that answered a new lease): the new lease, or the mint's backoff. */
export function afterMint(
  s: SessionState,
  outcome: Outcome<{ answer: VaultReadResponse; sentAt: number }>,
  now: number,
  random: () => number,
): { state: SessionState; retryInMs?: number } {
  if (outcome.ok) return { state: adoptNew(s, leaseFromSecret(outcome.value.answer, outcome.value.sentAt)) }
  return afterFailedLogin(s, outcome.error, now, random)
}

export type DeniedReadVerdict =
  /** The token is alive: the role's policies do not allow the path. Keep the token. */
  | 'policy'
  /** The token is dead (or, unconfirmable, treated so once): drop it, log in, retry the read once. */
  | 'dead'
  /** Ask Vault with a lookup-self (shared with any refresh in flight), then judge again. */
  | 'confirm'

/**
 * A read answered 403. "invalid token" is a dead token. A plain "permission denied" is a policy denial when Vault
 * confirmed the token after the read was sent, needs a lookup-self to tell otherwise, and, where lookup-self is
 * itself denied, costs at most one login: a token fresh from that login is alive by construction.
 */
export function judgeDeniedRead(s: SessionState, lease: TokenLease, kind: 'invalid_token' | 'permission_denied', readSentAt: number): DeniedReadVerdict {
  if (kind === 'invalid_token') return 'dead'
  if (s.lease?.token !== lease.token) return 'dead'
  if (lease.verifiedAt >= readSentAt) return 'policy'
  if (!s.lookupDenied) return 'confirm'
  if (s.deniedReadLoginAt !== undefined && lease.issueTime >= s.deniedReadLoginAt) return 'policy'
  return 'dead'
}

/**
 * The state after a read proved the token dead (or, with lookups denied, unconfirmable). In the second case the
 * lookup-self denial may itself have been the token's death (old Vault words both alike): the next token is asked
 * again, once, instead of marking the role as one that can never look itself up.
 */
export function afterDeadRead(
  s: SessionState,
  lease: TokenLease,
  kind: 'invalid_token' | 'permission_denied',
  now: number,
  p: TokenPolicy,
  random: () => number = Math.random,
): SessionState {
  if (s.lease?.token !== lease.token) return s
  const next = { ...dead(s, lease, now, p, random), contradictedLookups: 0 }
  return kind === 'permission_denied' && s.lookupDenied ? { ...next, deniedReadLoginAt: now, lookupDenied: false } : next
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
