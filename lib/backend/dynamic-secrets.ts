/**
 * Dynamic secrets (KES #766): a read whose answer carries a lease is kept, per identity and path, in a bounded
 * cache, and served from it; its lease is renewed and the secret minted again under the token policy's rule
 * (`lib/token/secret-lease.ts`). KV reads (no lease) pass through untouched. With VAULT_DYNAMIC_SECRETS=every-poll
 * nothing is kept: every poll reads, and so mints, as KES did.
 */
import { LRUCache } from 'lru-cache'
import type { VaultMetrics } from '../metrics.js'
import type { DynamicSecretMode } from '../settings.js'
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
  private readonly detachMetrics: () => void
  private closed = false

  constructor(private readonly o: DynamicSecretsOptions) {
    this.revoker = new LeaseRevoker(o.client, o)
    this.kept = new LRUCache<string, SecretLease>({
      max: o.max,
      // Only evictions: idle sweeps, shutdown and paths that stopped being dynamic retire their entries themselves.
      dispose: (lease, _key, reason) => {
        if (reason !== 'evict') return
        // A secret in use is held by a Secret (or is about to be, when its mint is on the wire): revoking its lease
        // would leave that Secret with a dead credential until its next poll. It ends at its TTL instead.
        const inUse = o.clock.now() - lease.lastUsed < 2 * o.pollerIntervalMilliseconds
        if (inUse) {
          o.logger.warn({ mount: lease.identity.mount, role: lease.identity.role, path: lease.path }, 'dynamic secret cache is full and evicted a secret in use; it will be minted again, and the credential it replaces ends at its TTL. Raise VAULT_DYNAMIC_SECRETS_CACHE_MAX above the number of dynamic secrets')
        }
        this.retire(lease, 'evicted', !inUse)
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
    return res
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
    const leases = [...this.kept.values()]
    this.kept.clear()
    for (const lease of leases) this.retire(lease, 'shutdown', revoke && !lease.endsWithSession)
    await Promise.allSettled([...this.pending])
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
