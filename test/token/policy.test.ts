import assert from 'node:assert/strict'
import type { TokenLease } from '../../lib/token/lease.js'
import { backoffDelay, decide, effectiveThreshold, renewalCapped, type SessionState, type TokenPolicy } from '../../lib/token/policy.js'

const T0 = 1_000_000
const policy: TokenPolicy = { renewThresholdSeconds: 30, lookupIntervalMs: 10_000, expirySkewSeconds: 2 }

function lease(over: Partial<TokenLease> = {}): TokenLease {
  return {
    token: 't', accessor: 'a', policies: [], renewable: true, type: 'service', expireTime: T0 + 3600_000, issueTime: T0,
    creationTtl: 3600, explicitMaxTtl: 0, period: 0, verifiedAt: T0, maxTtlReached: false, ...over,
  }
}
const state = (l?: TokenLease, over: Partial<SessionState> = {}): SessionState => ({ lease: l, loginRetryAt: 0, renewRetryAt: 0, lookupRetryAt: 0, ...over })

describe('token policy (pure)', () => {
  it('logs in when there is no token, and names why', () => {
    assert.deepEqual(decide(state(), T0, policy), { action: 'login', reason: 'first' })
    assert.deepEqual(decide(state(undefined, { lostReason: 'revoked' }), T0, policy), { action: 'login', reason: 'revoked' })
  })

  it('answers from the cache between lookups and looks up once the interval has passed', () => {
    const s = state(lease())
    assert.deepEqual(decide(s, T0 + 9_999, policy), { action: 'use' })
    assert.deepEqual(decide(s, T0 + 10_000, policy), { action: 'lookup' })
    assert.deepEqual(decide(s, T0 + 10_000, policy, { lookup: true }), { action: 'use' })
  })

  it('looks up when the clock stepped backwards past the last verification', () => {
    assert.deepEqual(decide(state(lease()), T0 - 60_000, policy), { action: 'lookup' })
  })

  it('renews at or below the threshold, not above', () => {
    const s = state(lease({ expireTime: T0 + 31_000 }))
    assert.deepEqual(decide(s, T0, policy), { action: 'use' })
    assert.deepEqual(decide(s, T0 + 1_000, policy), { action: 'renew' })
  })

  it('never renews a non-renewable token: logs in before it expires, keeps it while a login backs off', () => {
    const l = lease({ renewable: false, expireTime: T0 + 20_000 })
    assert.deepEqual(decide(state(l), T0, policy), { action: 'login', reason: 'not_renewable' })
    assert.deepEqual(decide(state(l, { loginRetryAt: T0 + 5_000 }), T0, policy), { action: 'use' })
  })

  it('after a capped renewal, logs in (max_ttl) instead of renewing again', () => {
    const l = lease({ maxTtlReached: true, expireTime: T0 + 25_000 })
    assert.deepEqual(decide(state(l), T0, policy), { action: 'login', reason: 'max_ttl' })
  })

  it('skips a renewal that the known explicit max TTL makes useless', () => {
    const l = lease({ explicitMaxTtl: 3620, expireTime: T0 + 3620_000 })
    assert.deepEqual(decide(state(l), T0 + 3595_000, policy, { lookup: true }), { action: 'login', reason: 'max_ttl' })
  })

  it('never hands out a token the cache knows is expired (or about to be, within the skew)', () => {
    const l = lease({ expireTime: T0 + 1_500 })
    assert.deepEqual(decide(state(l), T0, policy), { action: 'login', reason: 'expired' })
    assert.deepEqual(decide(state(l, { loginRetryAt: T0 + 4_000 }), T0, policy), { action: 'backoff', retryAt: T0 + 4_000 })
  })

  it('a transient renewal failure waits for its retry time, still using the valid token', () => {
    const l = lease({ expireTime: T0 + 20_000 })
    assert.deepEqual(decide(state(l, { renewRetryAt: T0 + 5_000 }), T0, policy), { action: 'use' })
    assert.deepEqual(decide(state(l, { renewRetryAt: T0 + 5_000 }), T0 + 5_000, policy, { lookup: true }), { action: 'renew' })
  })

  it('a threshold at or above the token TTL falls back to half the TTL (no renewal on every poll)', () => {
    assert.equal(effectiveThreshold(lease({ creationTtl: 20 }), 30), 10)
    assert.equal(effectiveThreshold(lease({ creationTtl: 3600 }), 30), 30)
    assert.equal(effectiveThreshold(lease({ period: 40, creationTtl: 40 }), 60), 20)
  })

  it('recognises a capped renewal by Vault\'s warning or by a lease that does not outlast the threshold', () => {
    assert.equal(renewalCapped(620, ['TTL of "1h" exceeded the effective max_ttl of "10m20s"; TTL value is capped accordingly'], 30), true)
    assert.equal(renewalCapped(25, null, 30), true)
    assert.equal(renewalCapped(3600, null, 30), false)
  })

  it('backs off exponentially with jitter in [50 %, 100 %], capped at 5 minutes', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => backoffDelay(n, () => 1)), [1000, 2000, 4000, 8000])
    assert.equal(backoffDelay(2, () => 0), 1000)
    assert.equal(backoffDelay(30, () => 1), 300_000)
  })
})
