/**
 * Dynamic secrets (KES #766): a read whose answer carries a lease is kept, per identity and path, in a bounded
 * cache, and served from it; its lease is renewed and the secret minted again under the token policy's rule
 * (`lib/token/secret-lease.ts`). KV reads (no lease) pass through untouched. With VAULT_DYNAMIC_SECRETS=every-poll
 * nothing is kept: every poll reads, and so mints, as KES did.
 */
import { LRUCache } from 'lru-cache'
import type { VaultMetrics } from '../metrics.js'
import type { DynamicSecretMode } from '../settings.js'
import type { TokenLease } from '../token/lease.js'
import type { TokenPolicy } from '../token/policy.js'
import { isLeased, LeaseRevoker, type ParentSession, type RevokeWhy, SecretLease, type SecretLeaseEvents } from '../token/secret-lease.js'
import type { TokenSession } from '../token/session.js'
import type { Clock, Logger } from '../types.js'
import type { VaultClient, VaultReadResponse } from '../vault/client.js'

export interface DynamicSecretsOptions {
  mode: DynamicSecretMode
  max: number
  pollerIntervalMilliseconds: number
  clock: Clock
  policy: TokenPolicy
  random: () => number
  events: SecretLeaseEvents
  client: () => VaultClient | undefined
  metrics: VaultMetrics
  logger: Logger
}

export class DynamicSecrets {
  private readonly kept: LRUCache<string, SecretLease>
  private readonly revoker: LeaseRevoker
  private readonly pending = new Set<Promise<unknown>>()
  /**
   * Leases evicted while in use, by cache key: their Secrets still hold them. Revoked when the key is minted again (the
   * Secrets then get the new credential, as for a superseded lease) or two poll intervals on, whichever comes first;
   * a cache that thrashes then leaves at most one extra credential per path, not one per poll.
   */
  private readonly orphans = new Map<string, { lease: SecretLease; leaseId: string; at: number }>()
  /** At close(): leases left to their token's revocation (Vault revokes a token's leases with it). */
  private leftToTokens: { lease: SecretLease; leaseId: string }[] = []
  private readonly detachMetrics: () => void
  private closed = false

  constructor(private readonly o: DynamicSecretsOptions) {
    this.revoker = new LeaseRevoker(o.client, o)
    this.kept = new LRUCache<string, SecretLease>({
      max: o.max,
      // Only evictions: idle sweeps, shutdown and paths that stopped being dynamic retire their entries themselves.
      dispose: (lease, key, reason) => {
        if (reason !== 'evict') return
        // A secret in use is held by a Secret (or is about to be, when its mint is on the wire): revoking its lease now
        // would leave that Secret with a dead credential until its next poll. It is parked until its path has a new one.
        if (o.clock.now() - lease.lastUsed < 2 * o.pollerIntervalMilliseconds) {
          o.logger.warn({ mount: lease.identity.mount, role: lease.identity.role, path: lease.path }, 'dynamic secret cache is full and evicted a secret in use; it will be minted again, and the credential it replaces revoked then. Raise VAULT_DYNAMIC_SECRETS_CACHE_MAX above the number of dynamic secrets')
          this.park(key, lease)
        } else this.retire(lease, 'evicted', true)
      },
    })
    this.detachMetrics = o.metrics.addLeaseCount(() => this.kept.size)
  }

  /** Kept dynamic secrets (read-only view for hosts and tests). */
  get leases(): SecretLease[] {
    return [...this.kept.values()]
  }

  /**
   * The hook of a secret read: a kept dynamic secret is served by its lease (renewed, minted again when the policy
   * says so); any other read goes to Vault through `fetch`, and an answer with a lease is kept from then on.
   */
  async read(session: TokenSession, path: string, fetch: () => Promise<VaultReadResponse>): Promise<VaultReadResponse> {
    if (this.o.mode === 'every-poll') return fetch()
    this.revokeDueOrphans(this.o.clock.now())
    const key = JSON.stringify([session.identity.key, path])
    const kept = this.kept.get(key)
    if (kept) {
      const res = await kept.get(session)
      if (kept.notLeased) {
        kept.retire()
        if (this.kept.get(key) === kept) this.kept.delete(key)
      }
      return res
    }
    const sentAt = this.o.clock.now()
    const res = await fetch()
    // Concurrent first reads of one path share one request (the backend's single flight): one of them keeps it.
    if (isLeased(res) && !this.closed && !this.kept.has(key)) {
      this.kept.set(key, new SecretLease(path, { answer: res, sentAt, session }, this.o.client()!, this.o, (s, lease) => this.revokeLater(s, lease.token, 'superseded')))
    }
    const orphan = this.orphans.get(key)
    if (orphan && !this.closed) {
      this.orphans.delete(key)
      this.revokeLater(orphan.lease.parentSession, orphan.leaseId, 'superseded')
    }
    return res
  }

  private park(key: string, lease: SecretLease): void {
    const left = lease.retire()
    if (!left) return
    const previous = this.orphans.get(key)
    if (previous) this.revokeLater(previous.lease.parentSession, previous.leaseId, 'evicted')
    this.orphans.delete(key)
    this.orphans.set(key, { lease, leaseId: left.token, at: this.o.clock.now() })
    if (this.orphans.size > this.o.max) this.revokeOrphan(this.orphans.keys().next().value!)
  }

  /** Orphans in the order they were parked: the oldest first, so the scan stops at the first not yet due. */
  private revokeDueOrphans(now: number): void {
    for (const [key, orphan] of this.orphans) {
      if (now - orphan.at < 2 * this.o.pollerIntervalMilliseconds) return
      this.revokeOrphan(key)
    }
  }

  private revokeOrphan(key: string): void {
    const orphan = this.orphans.get(key)!
    this.orphans.delete(key)
    this.revokeLater(orphan.lease.parentSession, orphan.leaseId, 'evicted')
  }

  /** Leases no ExternalSecret asked for within `idleMs` are revoked (when the policy allows) and forgotten. */
  sweepIdle(now: number, idleMs: number): void {
    if (idleMs === 0) return
    for (const [key, lease] of this.kept.entries()) {
      if (now - lease.lastUsed >= idleMs) {
        this.kept.delete(key)
        this.retire(lease, 'idle', true)
      }
    }
  }

  /**
   * Stop keeping anything; with `revoke`, revoke every kept lease that its token's revocation at shutdown will not take
   * (Vault revokes a token's leases with it): one request per token instead of one per lease, and none racing it.
   */
  async close(revoke: boolean): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.detachMetrics()
    // Every lease still valid: the kept ones (retired now, so none is renewed or minted again) and the parked ones.
    const held = [...this.kept.values()].flatMap((lease) => {
      const left = lease.retire()
      return left ? [{ lease, leaseId: left.token }] : []
    })
    held.push(...this.orphans.values())
    this.kept.clear()
    this.orphans.clear()
    if (revoke) {
      for (const h of held) {
        if (h.lease.endsWithSession) this.leftToTokens.push(h)
        else this.revokeLater(h.lease.parentSession, h.leaseId, 'shutdown')
      }
    }
    await Promise.allSettled([...this.pending])
  }

  /**
   * After close(): the leases left to a token whose revocation did not happen (refused, failed, too late) are revoked one
   * by one with that token, which is then still alive.
   */
  async revokeLeftWith(tokens: Map<ParentSession, TokenLease | undefined>): Promise<void> {
    const work = this.leftToTokens
      .filter(({ lease }) => tokens.has(lease.parentSession))
      .map(({ lease, leaseId }) => this.revoker.revoke(lease.parentSession, leaseId, 'shutdown', tokens.get(lease.parentSession)).catch(() => false))
    this.leftToTokens = []
    await Promise.allSettled(work)
  }

  private retire(lease: SecretLease, why: RevokeWhy, revoke: boolean): void {
    const left = lease.retire()
    if (revoke && left) this.revokeLater(lease.parentSession, left.token, why)
  }

  /** In the background, tracked so close() waits for it. */
  private revokeLater(session: ParentSession, leaseId: string, why: RevokeWhy): void {
    const work = this.revoker.revoke(session, leaseId, why).catch(() => false)
    this.pending.add(work)
    void work.finally(() => this.pending.delete(work))
  }
}
