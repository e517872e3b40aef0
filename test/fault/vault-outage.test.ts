/**
 * Vault down or refusing: sealed / no active node (503) for 1, 5 and 30 minutes, connection refused, connection reset
 * mid-response, answers slower than the request timeout, 429 bursts. Expected: every read in the outage fails
 * (unavoidable) and leaves its Secret untouched; the token is kept; tokens that expire during the outage are replaced
 * after it with logins that back off (capped at 30 s while Vault is down) instead of storming; nothing is ever sent with
 * an expired token.
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

  it('sealed 5 min (longer than the short role token): 300 unavoidable, then login backoff; 10 failed logins, not one per read', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'sealed', at: 20 * M, durationMs: 5 * M })
    assertHealthy(result)
    assert.equal(row.unavoidable, ES * POLLS_PER_MIN * 5)
    // The short role's token expired during the seal; its logins back off 1, 2, 4, ... s up to 30 s while Vault is
    // down, so a few reads after the unseal still fail fast without a request. The std role notices only the seal.
    assert.equal(row.backoff, 12)
    assert.equal(row.loginFailures, 10, 'login backoff: 10 attempts in 5 min, not one per poll (30) or per read (150)')
    assert.ok(row.pollsToRecover <= 4, 'recovered within 30 s of the unseal')
    assert.equal(row.deadExpired, 0)
  })

  it('sealed 30 min: 1 800 unavoidable failed reads, a login attempt per 30 s, recovered within 30 s', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'sealed', at: 20 * M, durationMs: 30 * M })
    assertHealthy(result)
    assert.equal(row.unavoidable, ES * POLLS_PER_MIN * 30)
    // The short role's token died early in the seal; then one login per backoff step, capped at 30 s and jittered to
    // 15-30 s: about 3 a minute for one identity, not one per ExternalSecret per poll (1 800).
    assert.ok(row.loginFailures <= (30 * 60) / 15, `login attempts while sealed: ${row.loginFailures}`)
    assert.ok(row.pollsToRecover <= 4, `polls to recover: ${row.pollsToRecover}`)
  })

  it('no active node (503) for 5 min behaves exactly like the seal', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'no-active', at: 20 * M, durationMs: 5 * M })
    assertHealthy(result)
    assert.equal(row.unavoidable, 300)
    assert.equal(row.backoff, 12)
    assert.equal(row.loginFailures, 10)
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

  it('429 burst x25 without Retry-After: only the reads hit fail (20; five hit lookups), no login, no token dropped', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'rate-limit', at: 20 * M, durationMs: 0, times: 25 })
    assertHealthy(result)
    assert.equal(row.failedReads, 20)
    assert.equal(row.loginFailures, 0)
    assert.equal(result.totals.logins, 6)
  })

  it('429 quota exceeded for 1 min with Retry-After 30 s: nothing is sent until Retry-After has passed, then all recover', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'rate-limit', at: 20 * M, durationMs: 1 * M, retryAfterSeconds: 30 })
    assertHealthy(result)
    assert.equal(row.unavoidable, ES * POLLS_PER_MIN * 1)
    // The last 429 (at the end of the minute) asks for 30 s more: three polls held back on purpose, nothing sent.
    assert.ok(row.backoff <= ES * 3, `held back after the quota: ${row.backoff}`)
    assert.ok(row.pollsToRecover <= 4)
    assert.equal(row.loginFailures, 0)
  })
})
