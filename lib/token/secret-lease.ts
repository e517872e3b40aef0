/**
 * One dynamic secret: an identity's read of one path whose answer came with a lease (database/creds/app, ...). An
 * interpreter of `decideLease` in policy.ts, shaped like the token session: the kept answer is served from memory,
 * any Vault call (renewal, mint) runs in one shared refresh, every state change comes from a pure transition, and
 * this file does the I/O and tells the events. The lease is bound to the token that read it (Vault revokes a token's
 * leases with the token), so every serve also keeps that token alive through its session, exactly as a read would.
 */
import { quote } from '../redact.js'
import type { Clock } from '../types.js'
import type { VaultClient, VaultReadResponse } from '../vault/client.js'
import { VaultRequestError } from '../vault/errors.js'
import type { Identity } from './errors.js'
import type { RenewalGrant, TokenLease } from './lease.js'
import {
  afterMint,
  afterRenewal,
  decideLease,
  expired,
  type Done,
  initialState,
  type LeaseDecision,
  type MintReason,
  type Outcome,
  type ParentToken,
  type RenewalResult,
  type SessionState,
  tokenEndsAt,
  type TokenPolicy,
} from './policy.js'
import type { TokenSession } from './session.js'

export type { MintReason } from './policy.js'
export type MintResult = 'success' | 'failure'
export type RevokeResult = 'success' | 'denied' | 'failure'
/** Why a lease is revoked: replaced by a new mint, no ExternalSecret asked for it, shutdown, or pushed out of the cache. */
export type RevokeWhy = 'superseded' | 'idle' | 'shutdown' | 'evicted'

/** What the lease layer tells the outside world (metrics, logs). Errors passed here never carry the secret's data. */
export interface SecretLeaseEvents {
  mint(id: Identity, path: string, result: MintResult, reason: MintReason, lease: TokenLease | undefined, error?: Error, retryInMs?: number): void
  renewal(id: Identity, path: string, result: RenewalResult, lease: TokenLease, error?: Error): void
  revocation(id: Identity, leaseId: string, result: RevokeResult, why: RevokeWhy, error?: Error): void
}

export const noLeaseEvents: SecretLeaseEvents = { mint() {}, renewal() {}, revocation() {} }

export interface SecretLeaseDeps {
  clock: Clock
  policy: TokenPolicy
  random: () => number
  events: SecretLeaseEvents
}

/** What a secret lease needs of its identity's token session. */
export type ParentSession = Pick<TokenSession, 'identity' | 'acquire' | 'withToken' | 'lease' | 'state' | 'revocable'>

const attempt = async <T>(fn: () => Promise<T>): Promise<Outcome<T>> => {
  try {
    return { ok: true, value: await fn() }
  } catch (error) {
    return { ok: false, error }
  }
}

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)))

/** A read answer that is a dynamic secret: a lease id and a lease to keep (a KV read has neither). */
export function isLeased(res: VaultReadResponse): boolean {
  return res.lease_id !== '' && res.lease_duration > 0
}

export class SecretLease {
  private current: SessionState
  private answer: VaultReadResponse
  /** The token that read the kept answer: the lease dies with it. */
  private parentToken: string | undefined
  private inflight?: Promise<VaultReadResponse>
  private session: ParentSession
  private retired = false
  /** A mint answered without a lease: the path is not (or no longer) a dynamic secret; the caller stops keeping it. */
  notLeased = false
  /** ms on the clock of the last caller: leases no ExternalSecret asks for are revoked. */
  lastUsed: number

  constructor(
    readonly path: string,
    first: { answer: VaultReadResponse; sentAt: number; session: ParentSession },
    private readonly client: VaultClient,
    private readonly deps: SecretLeaseDeps,
    /** Called with a lease replaced by a new mint and still valid: the owner revokes it. */
    private readonly superseded: (session: ParentSession, lease: TokenLease) => void = () => {},
  ) {
    this.session = first.session
    this.answer = first.answer
    this.parentToken = first.session.lease?.token
    this.lastUsed = deps.clock.now()
    this.current = afterMint(initialState(), { ok: true, value: { answer: first.answer, sentAt: first.sentAt } }, first.sentAt, deps.random).state
    deps.events.mint(this.identity, path, 'success', 'first', this.current.lease)
  }

  get identity(): Identity {
    return this.session.identity
  }

  get state(): Readonly<SessionState> {
    return this.current
  }

  get lease(): TokenLease | undefined {
    return this.current.lease
  }

  /**
   * The kept answer, after whatever the policy asks for now (nothing, a renewal, a mint). The token session is asked
   * for a token first: it keeps the parent token renewed (and looked up, per its interval), as any read would, and
   * tells whether the parent is still the session's token.
   */
  async get(session: ParentSession): Promise<VaultReadResponse> {
    this.session = session
    this.lastUsed = this.deps.clock.now()
    if (this.inflight) return this.inflight
    await session.acquire()
    // Another caller may have started a refresh while this one waited for its token; a retired lease (swept, evicted,
    // shut down meanwhile) is no longer renewed or replaced: a new one would be kept by nobody.
    if (this.inflight) return this.inflight
    if (this.retired) return this.answer
    const d = this.decide(undefined)
    if (d.action === 'use') return this.answer
    if (d.action === 'backoff') throw this.unavailable()
    return this.share(this.run())
  }

  /** Stop: the lease to revoke (if still valid) is returned to the owner. */
  retire(): TokenLease | undefined {
    if (this.retired) return undefined
    this.retired = true
    const lease = this.current.lease
    return lease && !expired(lease, this.deps.clock.now(), this.deps.policy) ? lease : undefined
  }

  /** The session the lease was last served through (its token revokes the lease). */
  get parentSession(): ParentSession {
    return this.session
  }

  /**
   * Its parent token is the one its session holds, and that session will revoke it: Vault revokes the lease with it.
   * Not for a role without the `default` policy, which also grants revoke-self.
   */
  get endsWithSession(): boolean {
    return this.parent().current && this.session.revocable && !this.session.state.lookupDenied && !this.session.state.renewDenied
  }

  private parent(): ParentToken {
    const token = this.session.lease?.token
    const current = token !== undefined && token === this.parentToken
    return { current, endsAt: current ? tokenEndsAt(this.session.state) : Number.NEGATIVE_INFINITY }
  }

  private decide(done: Done | undefined): LeaseDecision {
    return decideLease(this.current, this.deps.clock.now(), this.deps.policy, this.parent(), done)
  }

  private share(work: Promise<VaultReadResponse>): Promise<VaultReadResponse> {
    const run = work.finally(() => {
      if (this.inflight === run) this.inflight = undefined
    })
    this.inflight = run
    return run
  }

  /** Each action at most once per refresh, so the loop ends after at most one renewal and one mint. */
  private async run(): Promise<VaultReadResponse> {
    const done: Done = {}
    for (;;) {
      const d = this.decide(done)
      switch (d.action) {
        case 'use':
          return this.answer
        case 'backoff':
          throw this.unavailable()
        case 'renew':
          done.renew = true
          await this.renew()
          break
        case 'mint':
          done.login = true
          await this.mint(d.reason)
          if (this.notLeased) return this.answer
          break
      }
    }
  }

  private unavailable(): Error {
    return this.current.lastLoginError ?? new Error(`the dynamic secret "${quote(this.path)}" has no valid lease and a new one cannot be had yet`)
  }

  private async renew(): Promise<void> {
    const lease = this.current.lease!
    const sentAt = this.deps.clock.now()
    const outcome = await attempt(async (): Promise<RenewalGrant> => {
      const token = await this.session.acquire()
      const r = await this.client.renewLease(token.token, lease.token)
      return { auth: { lease_duration: r.lease_duration, renewable: r.renewable }, warnings: r.warnings }
    })
    const { state, result } = afterRenewal(this.current, lease, outcome, sentAt, this.deps.policy, { canLogin: true }, this.deps.random)
    this.current = state
    this.deps.events.renewal(this.identity, this.path, result, state.lease ?? lease, outcome.ok ? undefined : asError(outcome.error))
  }

  private async mint(reason: MintReason): Promise<void> {
    const old = this.current.lease
    const sentAt = this.deps.clock.now()
    let used: string | undefined
    const outcome = await attempt(async () => ({
      answer: await this.session.withToken(this.path, (token) => {
        used = token
        return this.client.read(this.path, token)
      }),
      sentAt,
    }))
    if (outcome.ok && !isLeased(outcome.value.answer)) {
      this.answer = outcome.value.answer
      this.notLeased = true
      return
    }
    const { state, retryInMs } = afterMint(this.current, outcome, this.deps.clock.now(), this.deps.random)
    this.current = state
    if (!outcome.ok) {
      this.deps.events.mint(this.identity, this.path, 'failure', reason, old, state.lastLoginError, retryInMs)
      return
    }
    this.deps.events.mint(this.identity, this.path, 'success', reason, state.lease)
    if (this.retired) {
      // Dropped (evicted, shut down) while this mint was on the wire: the caller writes it into a Secret, so it is not
      // revoked here; nobody keeps it, and it ends at its TTL or with its token (revoked at shutdown if so configured).
      this.answer = outcome.value.answer
      return
    }
    this.answer = outcome.value.answer
    this.parentToken = used
    if (old && old.token !== state.lease?.token && !expired(old, this.deps.clock.now(), this.deps.policy)) {
      this.superseded(this.session, old)
    }
  }
}

/**
 * Revokes leases with the identity's current token (any token whose policy grants `update` on sys/leases/revoke may
 * revoke any lease). The `default` policy does not grant it: the first 403 of an identity is reported once and that
 * identity is not asked again (its leases then end at their TTL, or with its token). Until an identity's first
 * revocation has settled, its others wait for it, so a shutdown revoking many leases asks (and reports) once.
 */
export class LeaseRevoker {
  private readonly known = new Map<string, 'allowed' | 'denied'>()
  private readonly probes = new Map<string, Promise<boolean>>()

  constructor(
    private readonly client: () => VaultClient | undefined,
    private readonly deps: Pick<SecretLeaseDeps, 'clock' | 'policy' | 'events'>,
    /** Bound on the identities remembered (the oldest is forgotten first). */
    private readonly maxKnown = 10_000,
  ) {}

  /** Whether Vault denied this identity's revocations. */
  isDenied(id: Identity): boolean {
    return this.known.get(id.key) === 'denied'
  }

  /**
   * Revoke with the session's token as it is now (no login just for this: a token's end takes its leases anyway), or
   * with `token`, the one a session held before it was retired.
   */
  async revoke(session: ParentSession, leaseId: string, why: RevokeWhy, token: TokenLease | undefined = session.lease): Promise<boolean> {
    const key = session.identity.key
    // Each wait ends when a probe settles; a probe that failed for Vault's own reasons hands over to the next caller.
    while (!this.known.has(key) && this.probes.has(key)) await this.probes.get(key)!.catch(() => false)
    if (this.known.get(key) === 'denied') return false
    const work = this.send(session, leaseId, why, token)
    if (!this.known.has(key)) {
      this.probes.set(key, work)
      void work.finally(() => this.probes.get(key) === work && this.probes.delete(key))
    }
    return work
  }

  private async send(session: ParentSession, leaseId: string, why: RevokeWhy, token: TokenLease | undefined): Promise<boolean> {
    const id = session.identity
    const client = this.client()
    if (!client || !token || expired(token, this.deps.clock.now(), this.deps.policy)) return false
    try {
      await client.revokeLease(token.token, leaseId)
      this.remember(id.key, 'allowed')
      this.deps.events.revocation(id, leaseId, 'success', why)
      return true
    } catch (err) {
      const denied = err instanceof VaultRequestError && err.kind === 'permission_denied'
      if (denied) this.remember(id.key, 'denied')
      this.deps.events.revocation(id, leaseId, denied ? 'denied' : 'failure', why, asError(err))
      return false
    }
  }

  private remember(key: string, verdict: 'allowed' | 'denied'): void {
    this.known.delete(key)
    if (this.known.size >= this.maxKnown) this.known.delete(this.known.keys().next().value!)
    this.known.set(key, verdict)
  }
}
