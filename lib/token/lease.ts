import type { TokenLookupData, VaultAuthResponse } from '../vault/client.js'

/**
 * A Vault token with its lease metadata, in our clock's time. Expiry is anchored to the local clock at the moment
 * the request was SENT (now + ttl), never to Vault's expire_time string: host/Vault clock offsets then cancel out,
 * and the estimate errs on the early side.
 */
export interface TokenLease {
  /** The secret. Never logged; the accessor is the loggable handle. */
  readonly token: string
  accessor: string
  policies: string[]
  renewable: boolean
  type: 'service' | 'batch'
  /** ms on our clock; null for tokens that never expire (root). */
  expireTime: number | null
  /** ms on our clock, estimated from creation_time / login time. */
  issueTime: number
  /** TTL the token was issued with, seconds. */
  creationTtl: number
  explicitMaxTtl: number
  period: number
  /** ms on our clock when Vault last confirmed the token (login, lookup or renew). */
  verifiedAt: number
  /** A renewal came back shorter than asked: the max TTL is near, only a new login extends. */
  maxTtlReached: boolean
}

export type LeaseSource = 'login' | 'lookup'

const tokenType = (t: string | undefined): 'service' | 'batch' => (t === 'batch' ? 'batch' : 'service')

/** Lease from a login (or static token) response `auth` block. */
export function leaseFromAuth(res: VaultAuthResponse, sentAt: number): TokenLease {
  const a = res.auth
  const ttl = a.lease_duration
  const type = tokenType(a.token_type)
  return {
    token: a.client_token,
    accessor: a.accessor ?? '',
    policies: [...(a.token_policies ?? a.policies ?? [])],
    renewable: Boolean(a.renewable) && type !== 'batch',
    type,
    expireTime: ttl > 0 ? sentAt + ttl * 1000 : null,
    issueTime: sentAt,
    creationTtl: ttl,
    explicitMaxTtl: 0,
    period: 0,
    verifiedAt: sentAt,
    maxTtlReached: false,
  }
}

/** Lease refreshed from lookup-self: the authoritative state (ttl, renewable, explicit max, period). */
export function leaseFromLookup(token: string, d: TokenLookupData, sentAt: number, previous?: TokenLease): TokenLease {
  const type = tokenType(d.type)
  const ttl = Number(d.ttl) || 0
  const nonExpiring = ttl === 0 && (d.expire_time === null || d.expire_time === undefined)
  return {
    token,
    accessor: d.accessor ?? previous?.accessor ?? '',
    policies: [...(d.policies ?? previous?.policies ?? [])],
    renewable: Boolean(d.renewable) && type !== 'batch',
    type,
    expireTime: nonExpiring ? null : sentAt + ttl * 1000,
    issueTime: issueTimeOnOurClock(d, sentAt) ?? previous?.issueTime ?? sentAt,
    creationTtl: Number(d.creation_ttl) || previous?.creationTtl || ttl,
    explicitMaxTtl: Number(d.explicit_max_ttl) || 0,
    period: Number(d.period) || 0,
    verifiedAt: sentAt,
    maxTtlReached: previous?.maxTtlReached ?? false,
  }
}

/** The token's age on Vault's clock (its "now" is expire_time - ttl) carried over to ours, so no shared clock is needed. */
function issueTimeOnOurClock(d: TokenLookupData, sentAt: number): number | undefined {
  if (!d.issue_time || !d.expire_time) return undefined
  const ageMs = Date.parse(d.expire_time) - d.ttl * 1000 - Date.parse(d.issue_time)
  return Number.isFinite(ageMs) ? sentAt - Math.max(0, ageMs) : undefined
}

/** Lease after a successful renew-self. */
export function leaseAfterRenewal(previous: TokenLease, res: VaultAuthResponse, sentAt: number, capped: boolean): TokenLease {
  const ttl = res.auth.lease_duration
  return {
    ...previous,
    renewable: Boolean(res.auth.renewable),
    expireTime: ttl > 0 ? sentAt + ttl * 1000 : previous.expireTime,
    verifiedAt: sentAt,
    maxTtlReached: previous.maxTtlReached || capped,
  }
}

/** Seconds left, from the cache and the clock. Infinity for non-expiring tokens. */
export function remainingSeconds(lease: TokenLease, now: number): number {
  return lease.expireTime === null ? Infinity : (lease.expireTime - now) / 1000
}
