/**
 * Faults of identity and token: revocations from outside, a deleted role, a policy that stops allowing the read, token
 * shapes (max TTL, non-renewable, batch, periodic, TTL below the renew threshold), the service-account JWT rotated or
 * expired, the projected file missing, TokenRequest failing, and host clock jumps. 5 ExternalSecrets per role, 10 s polls.
 */
import assert from 'node:assert/strict'
import { H, M, S } from './soak.js'
import { assertHealthy, BATCH, EXPLICITMAX, NONRENEW, oneFault, PERIODIC, SHORT, STD, TINYTTL, TOKENREQ } from './support.js'

describe('fault: identity, tokens and time (in-process dev Vault, virtual clock)', function () {
  this.timeout(30_000)

  it('token revoked from outside: one login, no failed read, one unavoidable read with the revoked token', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'revoke-token', at: 20 * M + 3 * S, durationMs: 0, role: 0 })
    assertHealthy(result)
    assert.equal(row.failedReads, 0, 'the 403 "invalid token" read is retried once after a new login')
    assert.equal(result.totals.logins, 7, '6 without the fault + 1')
    assert.equal(row.deadRevoked, 1)
  })

  it('all tokens of a role revoked: no failed read, at most one dead-token request', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'revoke-role', at: 20 * M + 3 * S, durationMs: 0, role: 1 })
    assertHealthy(result)
    assert.equal(row.failedReads, 0)
    assert.equal(row.deadRevoked, 1)
    // The forced login restarts the short role's 30 min max-TTL chain, which here absorbs a scheduled re-login.
    assert.equal(result.totals.logins, 6)
  })

  it('role deleted for 20 min: renewals fail (500), the token serves until it expires, then logins fail (400) with backoff', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'delete-role', at: 20 * M, durationMs: 20 * M, role: 1 })
    assertHealthy(result)
    assert.equal(row.unavoidable, 510, 'the short role reads fail once its token expired and no login is possible')
    assert.equal(row.loginFailures, 12, 'backed off, not one per poll')
    assert.ok(row.pollsToRecover <= 31)
    assert.equal(result.vault.results.renew?.['500'] !== undefined, true, 'renewal of a deleted role fails')
  })

  it('policy changed so reads are denied with a valid token: 300 failed reads reported, token kept, no login', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'policy-denied', at: 20 * M, durationMs: 10 * M, role: 0 })
    assertHealthy(result)
    assert.equal(row.failedReads, 5 * 6 * 10)
    assert.equal(result.totals.logins, 6, 'a denial is not a dead token: no re-login')
    assert.equal(row.deadRevoked, 0)
    assert.equal(row.pollsToRecover, 1)
  })

  describe('token shapes over 6 simulated hours, no fault: no failed read, no dead token', () => {
    const cases: Array<[string, number, number, number]> = [
      // [what, kind, logins, renewals]
      ['TTL 1 h, max 4 h: renewed 4 times per life (the 4th capped), re-login before the max TTL', STD, 2, 6],
      ['non-renewable TTL 15 min: a login every 14.5 min, never a renewal', NONRENEW, 25, 0],
      ['batch TTL 10 min: a login every 9.5 min, never a renewal', BATCH, 38, 0],
      ['periodic 10 min: one login, renewed every 9.5 min forever', PERIODIC, 1, 37],
      ['explicit max TTL 25 min: re-login before it, no renewal that cannot extend', EXPLICITMAX, 15, 29],
    ]
    for (const [what, kind, logins, renewals] of cases) {
      it(what, async () => {
        const { result } = await oneFault([kind], undefined, { durationMs: 6 * H })
        assertHealthy(result)
        assert.equal(result.failedReads, 0)
        assert.equal(result.totals.logins, logins)
        assert.equal(result.totals.renewals, renewals)
        assert.equal(result.totals.deadRevoked + result.totals.deadExpired, 0)
      })
    }

    it('TTL 20 s below the 30 s renew threshold (misconfiguration): one warning, keeps working at one renewal per poll interval', async () => {
      const { result } = await oneFault([TINYTTL], undefined, { durationMs: 6 * H })
      assertHealthy(result)
      assert.equal(result.failedReads, 0)
      assert.equal(result.totals.thresholdWarnings, 1)
      // Half the TTL (10 s) is applied; with 10 s polls that is one renewal per interval for the identity, not per read.
      assert.equal(result.totals.renewals, 2159)
      assert.equal(result.totals.logins, 37)
    })
  })

  it('service-account JWT rotated (old one no longer accepted): the next logins use the new file, nothing fails', async () => {
    const { result, row } = await oneFault([STD, NONRENEW], { kind: 'jwt-rotated', at: 20 * M, durationMs: 0 })
    assertHealthy(result)
    assert.equal(row.failedReads, 0)
    assert.equal(row.loginFailures, 0)
  })

  it('service-account JWT expired (kubelet stopped rotating): reads of that role fail until a fresh JWT, then back off to recovery', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'jwt-expired', at: 20 * M, durationMs: 10 * M, role: 0 })
    assertHealthy(result)
    assert.equal(row.unavoidable, 210, '7 min x 5 ExternalSecrets: no valid JWT exists')
    assert.equal(row.loginFailures, 0, 'no login is sent with an expired JWT')
    assert.equal(row.deadRevoked, 2)
    assert.ok(row.pollsToRecover <= 31)
  })

  it('projected token file missing: the JWT read earlier (still valid) serves the forced login, nothing fails', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'file-missing', at: 20 * M, durationMs: 10 * M, role: 0 })
    assertHealthy(result)
    assert.equal(row.failedReads, 0)
    assert.equal(result.totals.logins, 7)
  })

  it('TokenRequest failing while the per-namespace JWT has expired: that role fails (unavoidable), others do not, recovery after', async () => {
    const { result, row } = await oneFault([STD, TOKENREQ], { kind: 'tokenrequest-failing', at: 20 * M, durationMs: 10 * M, role: 1 })
    assertHealthy(result)
    assert.equal(row.unavoidable, 300, 'the tokenreq role only: 5 ExternalSecrets x 60 polls')
    assert.equal(row.loginFailures, 0, 'no login sent without a JWT')
    assert.ok(row.pollsToRecover <= 31)
  })

  it('host clock jumps forward 10 min for 5 min: no failed read, no expired token sent (early logins at most)', async () => {
    const { result, row } = await oneFault([STD, SHORT, BATCH], { kind: 'clock-forward', at: 20 * M, durationMs: 5 * M, minutes: 10 })
    assertHealthy(result)
    assert.equal(row.failedReads, 0)
    assert.equal(result.totals.deadRevoked + result.totals.deadExpired, 0)
  })

  it('host clock jumps back 10 min for 5 min: no failed read, no dead token (the lease is re-verified)', async () => {
    const { result, row } = await oneFault([STD, SHORT, BATCH], { kind: 'clock-back', at: 20 * M, durationMs: 5 * M, minutes: 10 })
    assertHealthy(result)
    assert.equal(row.failedReads, 0)
    assert.equal(result.totals.deadRevoked + result.totals.deadExpired, 0)
  })
})
