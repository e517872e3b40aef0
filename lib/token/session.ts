import type { AuthMethod } from '../auth/types.js'
import type { Clock } from '../types.js'
import { VaultRequestError } from '../vault/errors.js'
import type { VaultClient } from '../vault/client.js'
import { leaseAfterRenewal, leaseFromLookup, remainingSeconds, type TokenLease } from './lease.js'
import {
  backoffDelay,
  decide,
  type Done,
  effectiveThreshold,
  type LoginReason,
  LOGIN_BACKOFF,
  TRANSIENT_LOGIN_BACKOFF,
  renewalCapped,
  type SessionState,
  thresholdMisconfigured,
  type TokenPolicy,
} from './policy.js'

/** Who a token belongs to. `key` is the cache key; mount and role are the metric labels. */
export interface Identity {
  key: string
  mount: string
  role: string
  /** Kubernetes namespace and service account of a per-namespace identity. */
  namespace?: string
  serviceAccount?: string
}

export type LookupResult = 'success' | 'failure' | 'invalid'
export type RenewalResult = 'success' | 'capped' | 'failure' | 'not_renewable'
export type LoginResult = 'success' | 'failure'

/** What a session tells the outside world (metrics, logs). Errors passed here are already sanitised. */
export interface SessionEvents {
  lookup(id: Identity, result: LookupResult, lease: TokenLease | undefined, error?: VaultRequestError): void
  lookupSkipped(id: Identity): void
  renewal(id: Identity, result: RenewalResult, lease: TokenLease, error?: VaultRequestError): void
  login(id: Identity, result: LoginResult, reason: LoginReason, lease: TokenLease | undefined, error?: Error, retryInMs?: number): void
  warning(id: Identity, code: 'threshold_above_ttl' | 'static_token_expiring', lease: TokenLease, detail: string): void
}

export const noEvents: SessionEvents = { lookup() {}, lookupSkipped() {}, renewal() {}, login() {}, warning() {} }

export interface SessionDeps {
  clock: Clock
  policy: TokenPolicy
  random: () => number
  events: SessionEvents
}

/** No token can be had right now; says why and when the next attempt is, never the credential. */
export class TokenUnavailableError extends Error {
  constructor(
    readonly identity: Identity,
    readonly loginError: Error | undefined,
    readonly retryAt: number,
    now: number,
  ) {
    const wait = Math.max(0, Math.ceil((retryAt - now) / 1000))
    super(
      `no valid Vault token for auth mount "${identity.mount}", role "${identity.role}"` +
        (loginError ? `: login failed (${loginError.message})` : '') +
        `; next login attempt in ${wait} s`,
    )
    this.name = 'TokenUnavailableError'
  }
}

/** A read was denied although Vault confirmed the token is valid: the role's policies do not allow the path. */
export class PolicyDeniedError extends Error {
  constructor(
    readonly identity: Identity,
    readonly path: string,
    policies: readonly string[],
  ) {
    super(
      `vault denied reading "${path}" for auth mount "${identity.mount}", role "${identity.role}" although the token is valid ` +
        `(policies: ${policies.join(', ') || 'none'}); grant "read" on this path to one of the role's policies`,
    )
    this.name = 'PolicyDeniedError'
  }
}

/**
 * One identity's token. Callers ask for a token; the fast path answers from the cached lease and the clock.
 * Any Vault call (lookup, renew, login) runs in one shared refresh, so 500 concurrent callers cost one request.
 */
export class TokenSession {
  readonly state: SessionState = { loginRetryAt: 0, renewRetryAt: 0, lookupRetryAt: 0 }
  private inflight?: Promise<TokenLease>
  private loginFailures = 0
  private renewFailures = 0
  private lastLoginError?: Error
  private readonly warned = new Set<string>()
  /** ms on the clock of the last caller; the cache reports sessions in use that it had to evict. */
  lastUsed = 0

  constructor(
    readonly identity: Identity,
    private readonly auth: AuthMethod,
    private readonly vault: VaultClient,
    private readonly deps: SessionDeps,
  ) {}

  get lease(): TokenLease | undefined {
    return this.state.lease
  }

  /** A lease that is valid now and has had its lookup/renew/login done per the policy. */
  async acquire(): Promise<TokenLease> {
    const now = this.deps.clock.now()
    this.lastUsed = now
    if (this.inflight) {
      this.deps.events.lookupSkipped(this.identity)
      return this.inflight
    }
    const d = decide(this.state, now, this.deps.policy)
    if (d.action === 'use') {
      this.deps.events.lookupSkipped(this.identity)
      return this.state.lease!
    }
    if (d.action === 'backoff') throw new TokenUnavailableError(this.identity, this.lastLoginError, d.retryAt, now)
    return this.refresh(false)
  }

  /**
   * Run `fn` with a token. A 403 on the read is settled here: "invalid token", or a lookup-self that says the
   * token is dead, means log in and retry once; a valid token means a policy denial, reported, token kept.
   */
  async withToken<T>(path: string, fn: (token: string) => Promise<T>): Promise<T> {
    const lease = await this.acquire()
    const sentAt = this.deps.clock.now()
    try {
      return await fn(lease.token)
    } catch (err) {
      if (!(err instanceof VaultRequestError) || err.status !== 403) throw err
      if (err.kind === 'permission_denied' && (await this.confirmAlive(lease, sentAt))) {
        throw new PolicyDeniedError(this.identity, path, this.state.lease?.policies ?? lease.policies)
      }
      if (this.state.lease?.token === lease.token) this.drop(this.deadReason(lease))
      const fresh = await this.acquire()
      return fn(fresh.token)
    }
  }

  /** Revoke the token we created (shutdown). Static tokens are the operator's, never ours to revoke. */
  async revoke(): Promise<boolean> {
    const lease = this.state.lease
    this.state.lease = undefined
    if (!lease || !this.auth.reauthenticates || lease.type === 'batch') return false
    if (remainingSeconds(lease, this.deps.clock.now()) <= 0) return false
    await this.vault.revokeSelf(lease.token)
    return true
  }

  /**
   * Lookup-self after a denied read; shares any refresh in flight. A token Vault confirmed after the read was sent is
   * alive: 500 ExternalSecrets denied by one policy cost one lookup, not 500.
   */
  private async confirmAlive(lease: TokenLease, readSentAt: number): Promise<boolean> {
    if (this.state.lease?.token !== lease.token) return false
    if (!this.inflight && this.state.lease.verifiedAt >= readSentAt) return true
    const current = await (this.inflight ?? this.refresh(true))
    return current.token === lease.token
  }

  private refresh(forceLookup: boolean): Promise<TokenLease> {
    const run = this.steps(forceLookup).finally(() => {
      if (this.inflight === run) this.inflight = undefined
    })
    this.inflight = run
    return run
  }

  private drop(reason: LoginReason): void {
    this.state.lease = undefined
    this.state.lostReason = reason
  }

  private deadReason(lease: TokenLease): LoginReason {
    return remainingSeconds(lease, this.deps.clock.now()) <= this.deps.policy.expirySkewSeconds ? 'expired' : 'revoked'
  }

  /** At most one lookup, one renewal and one login per refresh; each step re-decides from the new state. */
  private async steps(forceLookup: boolean): Promise<TokenLease> {
    const done: Done = {}
    for (let step = 0; step < 5; step++) {
      const now = this.deps.clock.now()
      const d = forceLookup && !done.lookup && this.state.lease ? ({ action: 'lookup' } as const) : decide(this.state, now, this.deps.policy, done)
      switch (d.action) {
        case 'use':
          return this.state.lease!
        case 'backoff':
          throw new TokenUnavailableError(this.identity, this.lastLoginError, d.retryAt, now)
        case 'lookup':
          done.lookup = true
          await this.lookup(now)
          break
        case 'renew':
          done.renew = true
          await this.renew(now)
          break
        case 'login': {
          const lease = await this.login(d.reason, now)
          if (lease) return lease
          break
        }
      }
    }
    const lease = this.state.lease
    if (lease && remainingSeconds(lease, this.deps.clock.now()) > this.deps.policy.expirySkewSeconds) return lease
    throw new TokenUnavailableError(this.identity, this.lastLoginError, this.state.loginRetryAt, this.deps.clock.now())
  }

  private async lookup(sentAt: number): Promise<void> {
    const lease = this.state.lease!
    try {
      const data = await this.vault.lookupSelf(lease.token)
      if (this.state.lease !== lease) return
      this.state.lease = leaseFromLookup(lease.token, data, sentAt, lease)
      this.state.lookupRetryAt = 0
      this.deps.events.lookup(this.identity, 'success', this.state.lease)
    } catch (err) {
      const e = err as VaultRequestError
      if (e.status === 403) {
        // lookup-self is allowed to every valid token: a 403 here means the token is dead.
        this.deps.events.lookup(this.identity, 'invalid', lease, e)
        if (this.state.lease === lease) this.drop(this.deadReason(lease))
        return
      }
      // Vault unreachable: keep the token while it is valid; retry after one lookup interval, not per caller.
      this.state.lookupRetryAt = sentAt + Math.max(this.deps.policy.lookupIntervalMs, 1_000)
      this.deps.events.lookup(this.identity, 'failure', lease, e)
    }
  }

  private async renew(sentAt: number): Promise<void> {
    const lease = this.state.lease!
    const threshold = effectiveThreshold(lease, this.deps.policy.renewThresholdSeconds)
    try {
      const res = await this.vault.renewSelf(lease.token)
      const capped = renewalCapped(res.auth.lease_duration, res.warnings, threshold)
      this.state.lease = leaseAfterRenewal(lease, res, sentAt, capped)
      this.renewFailures = 0
      this.state.renewRetryAt = 0
      this.deps.events.renewal(this.identity, capped ? 'capped' : 'success', this.state.lease)
    } catch (err) {
      const e = err as VaultRequestError
      switch (e.kind) {
        case 'invalid_token':
        case 'permission_denied':
          this.deps.events.renewal(this.identity, 'failure', lease, e)
          this.drop(this.deadReason(lease))
          return
        case 'lease_expired':
          this.deps.events.renewal(this.identity, 'failure', lease, e)
          this.drop('expired')
          return
        case 'not_renewable':
          this.state.lease = { ...lease, renewable: false }
          this.deps.events.renewal(this.identity, 'not_renewable', this.state.lease, e)
          return
        case 'past_max_ttl':
          this.state.lease = { ...lease, maxTtlReached: true }
          this.deps.events.renewal(this.identity, 'capped', this.state.lease, e)
          return
        default: {
          // Transient: the token is still valid; retry before it expires, not on every caller.
          this.renewFailures++
          const left = remainingSeconds(lease, sentAt) * 1000
          const delay = Math.min(backoffDelay(this.renewFailures, this.deps.random, LOGIN_BACKOFF), Math.max(1_000, left / 3))
          this.state.renewRetryAt = sentAt + delay
          this.deps.events.renewal(this.identity, 'failure', lease, e)
        }
      }
    }
  }

  /** Returns the new lease, or undefined when the login failed but the old token may still serve. */
  private async login(reason: LoginReason, now: number): Promise<TokenLease | undefined> {
    const old = this.state.lease
    if (old && !this.auth.reauthenticates) {
      // A static token near its end: nothing to log in with. Say so once, keep serving until it expires.
      this.warnOnce('static_token_expiring', old, 'the static VAULT_TOKEN can no longer be renewed and will expire; ' +
        'set a new VAULT_TOKEN or configure DEFAULT_VAULT_ROLE so the backend can log in')
      this.state.loginRetryAt = old.expireTime ?? Infinity
      return old
    }
    try {
      const lease = await this.auth.login(this.vault, () => this.deps.clock.now())
      this.state.lease = lease
      this.state.lostReason = undefined
      this.state.loginRetryAt = this.state.renewRetryAt = this.state.lookupRetryAt = 0
      this.loginFailures = this.renewFailures = 0
      this.lastLoginError = undefined
      this.deps.events.login(this.identity, 'success', reason, lease)
      if (thresholdMisconfigured(lease, this.deps.policy.renewThresholdSeconds)) {
        this.warnOnce('threshold_above_ttl', lease,
          `VAULT_TOKEN_RENEW_THRESHOLD=${this.deps.policy.renewThresholdSeconds} s is not below the token TTL of ` +
          `${lease.period || lease.creationTtl} s; renewing at half the TTL instead. Lower the threshold or raise the role's token_ttl`)
      }
      return lease
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      this.loginFailures++
      // Vault's Retry-After (rate-limit quota) wins over our own, shorter backoff step.
      const retryAfterMs = e instanceof VaultRequestError && e.retryAfterSeconds ? e.retryAfterSeconds * 1000 : 0
      // Only a refusal by a healthy Vault (bad role, rejected JWT) waits up to 5 min. Vault down, or no credential yet
      // (the JWT source failed, so nothing reached Vault): retry within 30 s, so Secrets recover soon after.
      const refusedByVault = e instanceof VaultRequestError && !e.transient
      const steps = refusedByVault ? LOGIN_BACKOFF : TRANSIENT_LOGIN_BACKOFF
      const delay = Math.max(backoffDelay(this.loginFailures, this.deps.random, steps), retryAfterMs)
      this.state.loginRetryAt = now + delay
      this.lastLoginError = e
      this.deps.events.login(this.identity, 'failure', reason, undefined, e, delay)
      return undefined
    }
  }

  private warnOnce(code: 'threshold_above_ttl' | 'static_token_expiring', lease: TokenLease, detail: string): void {
    if (this.warned.has(code)) return
    this.warned.add(code)
    this.deps.events.warning(this.identity, code, lease, detail)
  }
}
