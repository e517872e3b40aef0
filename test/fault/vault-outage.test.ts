/**
 * Vault down or refusing: sealed / no active node (503) for 1, 5 and 30 minutes, connection refused, connection reset
 * mid-response, answers slower than the request timeout, 429 bursts. Expected: every read in the outage fails
 * (unavoidable) and leaves its Secret untouched; the token is kept; tokens that expire during the outage are replaced
 * after it with logins that back off (capped at 5 min) instead of storming; nothing is ever sent with an expired token.
 * Roles: "std" (TTL 1 h, max 4 h) and "short" (TTL 5 min, max 30 min), 5 ExternalSecrets each, 10 s polls.
 */
import assert from 'node:assert/strict'
import { M } from './soak.js'
import { assertHealthy, oneFault, SHORT, STD } from './support.js'

const ES = 10
const POLLS_PER_MIN = 6

describe('fault: Vault unavailable (in-process dev Vault, virtual clock)', function () {
  this.timeout(30_000)

  it('sealed 1 min (shorter than every token TTL): 60 unavoidable failed reads, no login, recovered at the next poll', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'sealed', at: 20 * M, durationMs: 1 * M })
    assertHealthy(result)
    assert.equal(row.failedReads, ES * POLLS_PER_MIN * 1)
    assert.equal(row.unavoidable, row.failedReads)
    assert.equal(row.loginFailures, 0, 'no token needed replacing during the seal')
    assert.equal(row.pollsToRecover, 1)
  })

  it('sealed 5 min (longer than the short role token): 300 unavoidable, then login backoff; 8 failed logins, not one per read', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'sealed', at: 20 * M, durationMs: 5 * M })
    assertHealthy(result)
    assert.equal(row.unavoidable, ES * POLLS_PER_MIN * 5)
    // The short role's token expired during the seal; its logins back off 1, 2, 4, ... s, so a few reads after the
    // unseal still fail fast without a request. The std role never notices beyond the seal itself.
    assert.equal(row.backoff, 40)
    assert.equal(row.loginFailures, 8, 'exponential login backoff: 8 attempts in 5 min, not one per poll (30) or per read (150)')
    assert.ok(row.pollsToRecover <= 31, 'recovered within the 5 min backoff cap')
    assert.equal(row.deadExpired, 0)
  })

  it('sealed 30 min: 1 800 unavoidable failed reads, 16 failed logins, recovered within the backoff cap', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'sealed', at: 20 * M, durationMs: 30 * M })
    assertHealthy(result)
    assert.equal(row.unavoidable, ES * POLLS_PER_MIN * 30)
    assert.equal(row.loginFailures, 16)
    assert.equal(row.pollsToRecover, 23)
    assert.ok(row.pollsToRecover <= 31)
  })

  it('no active node (503) for 5 min behaves exactly like the seal', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'no-active', at: 20 * M, durationMs: 5 * M })
    assertHealthy(result)
    assert.equal(row.unavoidable, 300)
    assert.equal(row.backoff, 40)
    assert.equal(row.loginFailures, 8)
  })

  it('connection refused for 2 min: 120 unavoidable failed reads, token kept, recovered at the next poll', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'refused', at: 20 * M, durationMs: 2 * M })
    assertHealthy(result)
    assert.equal(row.failedReads, ES * POLLS_PER_MIN * 2)
    assert.equal(row.unavoidable, row.failedReads)
    assert.equal(result.totals.logins, 6, 'the same logins as without the fault: 2 + the short role every ~29.5 min')
    assert.equal(row.pollsToRecover, 1)
  })

  it('connection reset mid-response x7: the reads it hits fail (5; two hit lookups, which fail nothing), no login', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'reset', at: 20 * M, durationMs: 0, times: 7 })
    assertHealthy(result)
    assert.equal(row.failedReads, 5)
    assert.equal(row.unavoidable, 5)
    assert.equal(row.loginFailures, 0)
    assert.equal(result.totals.logins, 6)
  })

  it('answers slower than the request timeout for 1 min: 60 failed reads (timeouts), token kept', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'slow', at: 20 * M, durationMs: 1 * M }, { requestTimeoutMs: 2_000 })
    assertHealthy(result)
    assert.equal(row.failedReads, 60)
    assert.equal(row.unavoidable, 60)
    assert.equal(result.totals.logins, 6)
  })

  it('429 burst x25 with Retry-After: only the reads hit fail (20; five hit lookups), no login, no token dropped', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'rate-limit', at: 20 * M, durationMs: 0, times: 25, retryAfterSeconds: 30 })
    assertHealthy(result)
    assert.equal(row.failedReads, 20)
    assert.equal(row.loginFailures, 0)
    assert.equal(result.totals.logins, 6)
  })
})
