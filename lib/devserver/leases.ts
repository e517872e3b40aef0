/**
 * The expiration manager's table of secret leases (not tokens' leases: a token's lease lives on its entry). A lease
 * is live while it is in the table, before its expire time, and while the token that created it is alive: Vault
 * revokes a token's leases with the token (`ExpirationManager.RevokeByToken`), whether the token is revoked or
 * expires. Plain data and counters; the rules that create and renew leases live in `dynamic.ts`.
 */

export interface SecretLease {
  /** `<request path>/<random>`, as `ExpirationManager.Register` builds it: `database/creds/app/<id>`. */
  id: string
  namespace: string
  /** The mount and role that minted it (renewal re-reads the role, as the database plugin does). */
  mount: string
  role: string
  /** The request path, e.g. `database/creds/app`. */
  path: string
  /** ms on the dev Vault's clock. */
  issueTime: number
  expireAt: number
  lastRenewal: number | null
  renewable: boolean
  /** The id of the token that read it: the lease dies with that token. */
  clientToken: string
  /** The credential it stands for: what a database would hold as a user. */
  username: string
}

export type RevokeReason = 'request' | 'token' | 'expired'

export interface LeaseCounts {
  /** Leases created (credentials minted: a database user each). */
  minted: number
  /** Successful `sys/leases/renew` calls. */
  renewed: number
  /** Leases ended, by why: `sys/leases/revoke`, their token's revocation or expiry, their own expiry. */
  revoked: Record<RevokeReason, number>
}

const noCounts = (): LeaseCounts => ({ minted: 0, renewed: 0, revoked: { request: 0, token: 0, expired: 0 } })

export class LeaseTable {
  private readonly byId = new Map<string, SecretLease>()
  private readonly byToken = new Map<string, Set<string>>()
  private counted = noCounts()
  private purgedAt = Number.NEGATIVE_INFINITY

  /** Whether a token id is alive now; set by the store (a token past its expire_time is gone). */
  constructor(private readonly tokenAlive: (tokenId: string, now: number) => boolean) {}

  add(lease: SecretLease): void {
    this.byId.set(lease.id, lease)
    let ids = this.byToken.get(lease.clientToken)
    if (!ids) this.byToken.set(lease.clientToken, (ids = new Set()))
    ids.add(lease.id)
    this.counted.minted++
  }

  renewed(): void {
    this.counted.renewed++
  }

  /** The lease if it is live now; a dead one is removed (its revocation counted) and reads as absent. */
  // OpenBao: ExpirationManager.loadEntry (a lease revoked at expiry, or with its token, is gone from storage).
  get(id: string, now: number): SecretLease | undefined {
    const lease = this.byId.get(id)
    if (!lease) return undefined
    const dead = this.deathOf(lease, now)
    if (dead) {
      this.remove(lease, dead)
      return undefined
    }
    return lease
  }

  /** Revoke one lease; false when there was none (Vault answers 204 either way). */
  // OpenBao: ExpirationManager.revokeCommon (no entry: nothing to revoke, no error).
  revoke(id: string, now: number): boolean {
    if (!this.get(id, now)) return false
    this.remove(this.byId.get(id)!, 'request')
    return true
  }

  /** Every lease a token created, revoked with it. */
  // OpenBao: ExpirationManager.RevokeByToken (lookupLeasesByToken, then lazyRevokeInternal of each).
  revokeByToken(tokenId: string): number {
    const ids = this.byToken.get(tokenId)
    if (!ids) return 0
    let n = 0
    for (const id of [...ids]) {
      const lease = this.byId.get(id)
      if (lease) {
        this.remove(lease, 'token')
        n++
      }
    }
    this.byToken.delete(tokenId)
    return n
  }

  /** Live leases now (what a database would hold as users), after removing the dead ones. */
  live(now: number): SecretLease[] {
    this.purge(now, true)
    return [...this.byId.values()]
  }

  /**
   * Drop leases that expired or whose token died, as the expiration manager's timers do. At most once per clock
   * instant unless forced: a benchmark mints thousands of leases per simulated poll.
   */
  purge(now: number, force = false): void {
    if (!force && now === this.purgedAt) return
    this.purgedAt = now
    for (const lease of this.byId.values()) {
      const dead = this.deathOf(lease, now)
      if (dead) this.remove(lease, dead)
    }
  }

  counts(): LeaseCounts {
    return structuredClone(this.counted)
  }

  resetCounts(): void {
    this.counted = noCounts()
  }

  private deathOf(lease: SecretLease, now: number): RevokeReason | undefined {
    if (!this.tokenAlive(lease.clientToken, now)) return 'token'
    return lease.expireAt <= now ? 'expired' : undefined
  }

  private remove(lease: SecretLease, reason: RevokeReason): void {
    this.byId.delete(lease.id)
    const ids = this.byToken.get(lease.clientToken)
    ids?.delete(lease.id)
    if (ids?.size === 0) this.byToken.delete(lease.clientToken)
    this.counted.revoked[reason]++
  }
}
