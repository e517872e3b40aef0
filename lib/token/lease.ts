import type { TokenLookupData, VaultAuthResponse, VaultReadResponse } from '../vault/client.js'

/** What a renewal granted: a token's `auth` block (renew-self), or a secret lease's renewal in the same shape. */
export interface RenewalGrant {
  auth: Pick<VaultAuthResponse['auth'], 'lease_duration' | 'renewable'>
  warnings: string[]
}

/**
 * A Vault token with its lease metadata, in our clock's time. Expiry is anchored to the local clock at the moment
 * the request was SENT (now + ttl), never to Vault's expire_time string: host/Vault clock offsets then cancel out,
 * and the estimate errs on the early side.
 */
export interface TokenLease {
  /** The secret. Never logged; the accessor is the loggable handle. */
  readonly token: string
  /** 'login': a token this backend created (and revokes at shutdown); 'seed': VAULT_TOKEN or a preset token. */
  readonly origin: 'login' | 'seed'
  accessor: string
  policies: string[]
  renewable: boolean
  type: 'service' | 'batch'
  /** ms on our clock; null for a token that never expires (root) or whose lease is not known yet (a seed). */
  expireTime: number | null
  /** ms on our clock, estimated from issue_time / login time. */
  issueTime: number
  /** TTL the token was issued with, seconds. */
  creationTtl: number
  explicitMaxTtl: number
  period: number
  /** ms on our clock when Vault last confirmed the token (login, lookup or renew). */
  verifiedAt: number
  /** A lookup-self answered for this token: its fields are Vault's own, not our estimate. */
  lookedUp: boolean
  /** A renewal no longer extends the token: only a new login does. */
  maxTtlReached: boolean
  /** Uses left when Vault last said (0 = unlimited): such a token dies after a few requests and writes on each. */
  numUses: number
}

/** Lease from a login answer. */
export function leaseFromLogin(res: VaultAuthResponse, sentAt: number): TokenLease {
  const a = res.auth
  const ttl = a.lease_duration
  return {
    token: a.client_token,
    origin: 'login',
    accessor: a.accessor,
    policies: [...a.policies],
    renewable: a.renewable && a.token_type !== 'batch',
    type: a.token_type,
    expireTime: ttl > 0 ? sentAt + ttl * 1000 : null,
    issueTime: sentAt,
    creationTtl: ttl,
    explicitMaxTtl: 0,
    period: 0,
    verifiedAt: sentAt,
    lookedUp: false,
    maxTtlReached: false,
    numUses: a.num_uses,
  }
}

/** A token we were given (VAULT_TOKEN, a client's preset token): usable, its lease unknown until a lookup-self. */
export function seedLease(token: string, now: number): TokenLease {
  return {
    token,
    origin: 'seed',
    accessor: '',
    policies: [],
    renewable: false,
    type: 'service',
    expireTime: null,
    issueTime: now,
    creationTtl: 0,
    explicitMaxTtl: 0,
    period: 0,
    verifiedAt: now,
    lookedUp: false,
    maxTtlReached: false,
    numUses: 0,
  }
}

/** Lease refreshed from lookup-self: the authoritative state (ttl, renewable, explicit max, period). */
export function leaseFromLookup(previous: TokenLease, d: TokenLookupData, sentAt: number): TokenLease {
  const type = d.type ?? previous.type
  const nonExpiring = d.ttl === 0 && d.expire_time === null
  return {
    ...previous,
    accessor: d.accessor ?? previous.accessor,
    policies: [...(d.policies ?? previous.policies)],
    renewable: (d.renewable ?? previous.renewable) && type !== 'batch',
    type,
    expireTime: nonExpiring ? null : sentAt + d.ttl * 1000,
    issueTime: issueTimeOnOurClock(d, sentAt) ?? previous.issueTime,
    creationTtl: d.creation_ttl || previous.creationTtl || d.ttl,
    explicitMaxTtl: d.explicit_max_ttl ?? 0,
    period: d.period ?? 0,
    verifiedAt: sentAt,
    lookedUp: true,
    numUses: d.num_uses ?? previous.numUses,
  }
}

/** The token's age on Vault's clock (its "now" is expire_time - ttl) carried over to ours, so no shared clock is needed. */
function issueTimeOnOurClock(d: TokenLookupData, sentAt: number): number | undefined {
  if (!d.issue_time || !d.expire_time) return undefined
  const ageMs = Date.parse(d.expire_time) - d.ttl * 1000 - Date.parse(d.issue_time)
  return Number.isFinite(ageMs) ? sentAt - Math.max(0, ageMs) : undefined
}

/**
 * A dynamic secret's lease in the token's shape, so the same policy decides for it: `token` and `accessor` hold the
 * lease id (not a secret: the data is), and it was "looked up" by the read itself.
 */
export function leaseFromSecret(res: VaultReadResponse, sentAt: number): TokenLease {
  const ttl = res.lease_duration
  return {
    token: res.lease_id,
    origin: 'login',
    accessor: res.lease_id,
    policies: [],
    renewable: res.renewable,
    type: 'service',
    expireTime: sentAt + ttl * 1000,
    issueTime: sentAt,
    creationTtl: ttl,
    explicitMaxTtl: 0,
    period: 0,
    verifiedAt: sentAt,
    lookedUp: true,
    maxTtlReached: false,
    numUses: 0,
  }
}

/** Lease after a successful renewal (renew-self, or sys/leases/renew for a secret lease). */
export function leaseAfterRenewal(previous: TokenLease, res: RenewalGrant, sentAt: number, capped: boolean): TokenLease {
  const ttl = res.auth.lease_duration
  return {
    ...previous,
    renewable: res.auth.renewable,
    expireTime: ttl > 0 ? sentAt + ttl * 1000 : previous.expireTime,
    verifiedAt: sentAt,
    maxTtlReached: previous.maxTtlReached || capped,
  }
}

/** Seconds left, from the cache and the clock. Infinity for tokens that never expire (or whose lease is unknown). */
export function remainingSeconds(lease: TokenLease, now: number): number {
  return lease.expireTime === null ? Infinity : (lease.expireTime - now) / 1000
}
