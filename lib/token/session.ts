/**
 * One identity's token: an interpreter of the decisions in policy.ts. The fast path answers from the cached lease
 * and the clock; any Vault call (lookup, renew, login) runs in one shared refresh, so 500 concurrent callers cost one
 * request. Every state change comes from a pure transition; this file does the I/O and tells the events.
 */
import type { CredentialRegistry } from '../redact.js'
import type { Clock } from '../types.js'
import type { VaultAuthResponse, VaultClient } from '../vault/client.js'
import { VaultRequestError } from '../vault/errors.js'
import { type Identity, PolicyDeniedError, SessionClosedError, TokenUnavailableError } from './errors.js'
import { remainingSeconds, seedLease, type TokenLease } from './lease.js'
import {
  type Abilities,
  afterDeadRead,
  afterReadOk,
  afterLogin,
  afterLookup,
  afterRenewal,
  type CarriedState,
  decide,
  type Decision,
  type Done,
  initialState,
  rebaseGates,
  spendUse,
  judgeDeniedRead,
  type LoginReason,
  type LookupResult,
  type Outcome,
  type RenewalResult,
  renewalIncrement,
  type SessionState,
  thresholdMisconfigured,
  effectiveSkew,
  type TokenPolicy,
} from './policy.js'

export type { Identity } from './errors.js'
export type { LookupResult, RenewalResult } from './policy.js'
export type LoginResult = 'success' | 'failure'
export type WarningCode = 'threshold_above_ttl' | 'skew_above_ttl' | 'static_token_expiring' | 'self_denied' | 'limited_uses'

/** Where a session's tokens come from, seen from the token layer (auth methods live above it). */
export interface TokenSource {
  /** False for a static token (VAULT_TOKEN without a role): there is nothing to log in with. */
  readonly canLogin: boolean
  /** A token to start with: VAULT_TOKEN, or one preset on a node-vault client (used first, the way KES used it). */
  readonly seed?: string
  /** The session gave up the seed (dead, or replaced by a login): sessions created later need not try it. */
  seedGivenUp?(token: string): void
  /** The raw auth answer of a login and when the request was sent (our clock), which anchors the lease. */
  login(): Promise<{ answer: VaultAuthResponse; sentAt: number }>
}

/** What a session tells the outside world (metrics, logs). Errors passed here are already sanitised. */
export interface SessionEvents {
  lookup(id: Identity, result: LookupResult, lease: TokenLease | undefined, error?: Error): void
  lookupSkipped(id: Identity): void
  renewal(id: Identity, result: RenewalResult, lease: TokenLease, error?: Error): void
  login(id: Identity, result: LoginResult, reason: LoginReason, lease: TokenLease | undefined, error?: Error, retryInMs?: number): void
  warning(id: Identity, code: WarningCode, lease: TokenLease, detail: string): void
  /** Every decision other than 'use', before it runs (the demo shows why it acted). */
  decided?(id: Identity, decision: Decision, lease: TokenLease | undefined): void
}

export const noEvents: SessionEvents = { lookup() {}, lookupSkipped() {}, renewal() {}, login() {}, warning() {} }

export interface SessionDeps {
  clock: Clock
  policy: TokenPolicy
  random: () => number
  events: SessionEvents
  /** Live credentials: a token is held while the session uses it and forgotten when it is dropped. */
  credentials: CredentialRegistry
}

const attempt = async <T>(id: Identity, fn: () => Promise<T>): Promise<Outcome<T>> => {
  try {
    return { ok: true, value: await fn() }
  } catch (error) {
    // The backend closed under this request and nothing was sent: shutdown, not an outcome to back off for or report.
    if (error instanceof VaultRequestError && error.kind === 'closed') throw new SessionClosedError(id)
    return { ok: false, error }
  }
}

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)))

export class TokenSession {
  private current: SessionState
  private inflight?: Promise<TokenLease>
  /** retire() was called: new callers are refused; the reads already in flight (and their refresh) run to the end. */
  private retiring = false
  /** retire() took the token: nothing more is sent, and a token that still arrives is revoked as it arrives. */
  private retired = false
  private revokeOnArrival = false
  /** Reads holding a token right now. */
  private readonly active = new Set<Promise<unknown>>()
  private readonly warned = new Set<WarningCode>()
  readonly abilities: Abilities
  /** ms on the clock of the last caller: idle identities are dropped, and evictions of busy ones reported. */
  lastUsed: number

  constructor(
    readonly identity: Identity,
    private readonly source: TokenSource,
    private readonly vault: VaultClient,
    private readonly deps: SessionDeps,
    /** Login backoff carried over from an earlier session of this identity (it survives eviction). */
    carried: CarriedState = {},
  ) {
    this.abilities = { canLogin: source.canLogin }
    this.lastUsed = deps.clock.now()
    this.current = { ...initialState(), ...carried }
    if (source.seed) this.adopt({ ...this.current, lease: seedLease(source.seed, this.lastUsed) })
  }

  get state(): Readonly<SessionState> {
    return this.current
  }

  get lease(): TokenLease | undefined {
    return this.current.lease
  }

  /** A refresh or a read is in flight. */
  get busy(): boolean {
    return this.inflight !== undefined || this.active.size > 0
  }

  /** A lease that is valid now and has had its lookup/renew/login done per the policy. */
  acquire(): Promise<TokenLease> {
    if (this.retiring) return Promise.reject(new SessionClosedError(this.identity))
    return this.obtain()
  }

  /** acquire() for work already admitted: a read in flight when retire() began may still log in and retry. */
  private async obtain(): Promise<TokenLease> {
    if (this.retired) throw new SessionClosedError(this.identity)
    const now = this.deps.clock.now()
    this.lastUsed = now
    this.current = rebaseGates(this.current, now)
    if (this.inflight) {
      this.deps.events.lookupSkipped(this.identity)
      return this.inflight
    }
    const d = decide(this.current, now, this.deps.policy, this.abilities)
    if (d.action === 'use') {
      if (d.expiring) this.warnExpiring()
      this.deps.events.lookupSkipped(this.identity)
      return this.current.lease!
    }
    if (d.action === 'backoff' || d.action === 'unavailable') throw this.unavailable(d, now)
    return this.refresh()
  }

  /**
   * Run `fn` with a token. A 403 on the read is settled by the policy: a dead token means log in and retry once;
   * an alive one means a policy denial, reported, token kept.
   */
  async withToken<T>(path: string, fn: (token: string) => Promise<T>): Promise<T> {
    const work = this.useToken(path, fn)
    this.active.add(work)
    try {
      return await work
    } finally {
      this.active.delete(work)
    }
  }

  private async useToken<T>(path: string, fn: (token: string) => Promise<T>): Promise<T> {
    const lease = await this.reserve(await this.acquire())
    const sentAt = this.deps.clock.now()
    try {
      const value = await fn(lease.token)
      this.current = afterReadOk(this.current, lease.token)
      return value
    } catch (err) {
      if (!(err instanceof VaultRequestError) || (err.kind !== 'invalid_token' && err.kind !== 'permission_denied')) throw err
      let verdict = judgeDeniedRead(this.current, lease, err.kind, sentAt)
      if (verdict === 'confirm') {
        await this.confirmAlive(lease)
        verdict = judgeDeniedRead(this.current, lease, err.kind, sentAt)
        // Vault could not be asked (the lookup failed): keep the token and report this read; the next poll asks again.
        if (verdict === 'confirm') verdict = 'policy'
      }
      if (verdict === 'policy') throw new PolicyDeniedError(this.identity, path, this.current.lease?.policies ?? lease.policies)
      this.adopt(afterDeadRead(this.current, lease, err.kind, this.deps.clock.now(), this.deps.policy, this.deps.random))
      const fresh = await this.reserve(await this.obtain())
      const value = await fn(fresh.token)
      this.current = afterReadOk(this.current, fresh.token)
      return value
    }
  }

  /**
   * A use of a use-limited token, taken before the read is sent (synchronously, so concurrent callers cannot both take
   * the last one): when none is left, a new token. Tokens without a limit pass through untouched.
   */
  private async reserve(lease: TokenLease): Promise<TokenLease> {
    // Each round either takes a use or has the policy log in (single flight); callers in one poll are few.
    for (let round = 0; lease.numUses > 0 && round < 3; round++) {
      if (this.current.lease === lease && this.current.usesSpent < lease.numUses) {
        this.current = spendUse(this.current)
        return lease
      }
      lease = await this.obtain()
    }
    return lease
  }

  /**
   * Stop: refuse new callers, let the reads in flight finish (with the refresh they wait for, a login included), then
   * revoke the token if this backend created it (static and preset tokens are the operator's). Eviction and idleness
   * retire a session as close() does: a read admitted before still gets its answer.
   */
  async retire({ revoke }: { revoke: boolean }): Promise<boolean> {
    this.retiring = true
    this.revokeOnArrival = revoke
    // Revoking under the reads would fail them for nothing. Work started after this belongs to one of these reads.
    await Promise.allSettled([this.inflight, ...this.active])
    const lease = this.current.lease
    this.retired = true
    this.adopt({ ...this.current, lease: undefined })
    return revoke && lease ? this.revoke(lease) : false
  }

  /** retire({ revoke: true }) would revoke the token it holds now: one this backend logged in for, alive, not batch. */
  get revocable(): boolean {
    return this.current.lease !== undefined && this.ownRevocable(this.current.lease)
  }

  private ownRevocable(lease: TokenLease): boolean {
    return lease.origin === 'login' && lease.type !== 'batch' && remainingSeconds(lease, this.deps.clock.now()) > 0
  }

  private async revoke(lease: TokenLease): Promise<boolean> {
    if (!this.ownRevocable(lease)) return false
    await this.vault.revokeSelf(lease.token)
    return true
  }

  /** A lookup-self after a denied read, shared with any refresh in flight; the verdict is then judged again. */
  private async confirmAlive(lease: TokenLease): Promise<void> {
    if (this.inflight) await this.inflight.catch(() => undefined)
    else if (this.current.lease?.token === lease.token) {
      // Callers that join this refresh need a usable lease: after the lookup, the ordinary decisions run.
      await this.share(this.lookup(this.deps.clock.now()).then(() => this.run())).catch(() => undefined)
    }
  }

  private refresh(): Promise<TokenLease> {
    return this.share(this.run())
  }

  private share(work: Promise<TokenLease>): Promise<TokenLease> {
    const run = work.finally(() => {
      if (this.inflight === run) this.inflight = undefined
    })
    this.inflight = run
    return run
  }

  /** Each action at most once per refresh (`done`), so the loop ends after at most one lookup, renewal and login. */
  private async run(): Promise<TokenLease> {
    const done: Done = {}
    for (;;) {
      if (this.retired) throw new SessionClosedError(this.identity)
      const now = this.deps.clock.now()
      this.current = rebaseGates(this.current, now)
      const d = decide(this.current, now, this.deps.policy, this.abilities, done)
      if (d.action !== 'use') this.deps.events.decided?.(this.identity, d, this.current.lease)
      switch (d.action) {
        case 'use':
          if (d.expiring) this.warnExpiring()
          return this.current.lease!
        case 'backoff':
        case 'unavailable':
          throw this.unavailable(d, now)
        case 'lookup':
          done.lookup = true
          await this.lookup(now)
          break
        case 'renew':
          done.renew = true
          await this.renew(now)
          break
        case 'login':
          done.login = true
          await this.login(d.reason)
          break
      }
    }
  }

  private unavailable(d: Extract<Decision, { action: 'backoff' | 'unavailable' }>, now: number): TokenUnavailableError {
    return new TokenUnavailableError(this.identity, this.current.lastLoginError, d.action === 'backoff' ? d.retryAt : Infinity, now)
  }

  private async lookup(sentAt: number): Promise<void> {
    const lease = this.current.lease!
    const outcome = await attempt(this.identity, () => this.vault.lookupSelf(lease.token))
    const { state, result, denial } = afterLookup(this.current, lease, outcome, sentAt, this.deps.policy, this.deps.random)
    this.adopt(state)
    this.deps.events.lookup(this.identity, result, state.lease ?? lease, outcome.ok ? undefined : asError(outcome.error))
    if (denial === 'contradicted') {
      this.warnOnce('self_denied', lease,
        `lookup-self calls tokens of ${this.whose} invalid while reads with them succeed ` +
          '(is auth/token/* routed to another Vault cluster?); judging tokens by their login lease, logging in once per TTL instead')
    } else if (denial === 'no_default_policy') this.warnSelfDenied(lease, 'look themselves up')
    if (state.lease) this.warnLimitedUses(state.lease)
  }

  private async renew(sentAt: number): Promise<void> {
    const lease = this.current.lease!
    this.current = spendUse(this.current)
    const outcome = await attempt(this.identity, () => this.vault.renewSelf(lease.token, renewalIncrement(lease, this.abilities)))
    const { state, result } = afterRenewal(this.current, lease, outcome, sentAt, this.deps.policy, this.abilities, this.deps.random)
    this.adopt(state)
    this.deps.events.renewal(this.identity, result, state.lease ?? lease, outcome.ok ? undefined : asError(outcome.error))
    if (result === 'denied') this.warnSelfDenied(lease, 'renew themselves')
  }

  private async login(reason: LoginReason): Promise<void> {
    const outcome = await attempt(this.identity, () => this.source.login())
    const { state, retryInMs } = afterLogin(this.current, outcome, this.deps.clock.now(), this.deps.random)
    if (this.retired) {
      // retire() already took the token (it waits for the refresh, so only a caller outside it gets here): this
      // token must not outlive the session either.
      if (outcome.ok && this.revokeOnArrival) await this.revoke(state.lease!).catch(() => false)
      throw new SessionClosedError(this.identity)
    }
    this.adopt(state)
    if (!outcome.ok) {
      this.deps.events.login(this.identity, 'failure', reason, undefined, state.lastLoginError, retryInMs)
      return
    }
    const lease = state.lease!
    this.deps.events.login(this.identity, 'success', reason, lease)
    this.warnLimitedUses(lease)
    const { renewThresholdSeconds: threshold, expirySkewSeconds: skew } = this.deps.policy
    const ttl = lease.period || lease.creationTtl
    if (thresholdMisconfigured(lease, threshold)) {
      this.warnOnce('threshold_above_ttl', lease,
        `VAULT_TOKEN_RENEW_THRESHOLD=${threshold} s is not below the token TTL of ${ttl} s; ` +
          `renewing at half the TTL instead. Lower the threshold or raise the role's token_ttl`)
    }
    const applied = effectiveSkew(lease, this.deps.policy)
    if (applied !== skew) {
      this.warnOnce('skew_above_ttl', lease,
        `VAULT_TOKEN_EXPIRY_SKEW_SECONDS=${skew} s is not below the token TTL of ${ttl} s; ` +
          `a token counts as expired ${applied} s before its end instead. Lower the skew or raise the role's token_ttl`)
    }
  }

  /** Take a new state; the registry holds exactly the token the session holds. */
  private adopt(next: SessionState): void {
    const was = this.current.lease
    const before = was?.token
    const after = next.lease?.token
    this.current = next
    if (was?.origin === 'seed' && before !== after && !this.retired) this.source.seedGivenUp?.(before!)
    if (before !== after) {
      this.deps.credentials.add(after)
      this.deps.credentials.forget(before)
    }
  }

  private warnExpiring(): void {
    this.warnOnce('static_token_expiring', this.current.lease!,
      'the static VAULT_TOKEN can no longer be renewed and will expire; set a new VAULT_TOKEN or configure DEFAULT_VAULT_ROLE so the backend can log in')
  }

  /** Whose tokens a warning is about, in the operator's words. */
  private get whose(): string {
    return this.identity.method === 'token' ? 'the static VAULT_TOKEN' : `role "${this.identity.role}"`
  }

  private warnSelfDenied(lease: TokenLease, what: string): void {
    this.warnOnce('self_denied', lease,
      `tokens of ${this.whose} cannot ${what}: ` +
        `no default policy; ${this.abilities.canLogin ? 'logging in once per TTL instead' : 'using it until Vault refuses it'}`)
  }

  /** A token with a use limit dies after a few requests and writes its use count on each: no cache can help it. */
  private warnLimitedUses(lease: TokenLease): void {
    if (lease.numUses <= 0) return
    this.warnOnce('limited_uses', lease,
      `tokens of ${this.whose} are limited to ${lease.numUses} uses ` +
        `(token_num_uses): each request spends one and writes to Vault's storage, and a new login follows the last; set token_num_uses=0 on the role`)
  }

  private warnOnce(code: WarningCode, lease: TokenLease, detail: string): void {
    if (this.warned.has(code)) return
    this.warned.add(code)
    this.deps.events.warning(this.identity, code, lease, detail)
  }
}
