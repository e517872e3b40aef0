/**
 * Faults only a real socket shows, on the dev Vault over loopback HTTP with node-vault: a connection reset
 * mid-response, answers slower than the request timeout, and a standby answering 307 for GET and POST alike.
 */
import assert from 'node:assert/strict'
import { harness, type Harness } from '../support/dev-harness.js'
import { M, runSoak } from './soak.js'
import { assertHealthy, SHORT, STD } from './support.js'

describe('fault: over loopback HTTP (node-vault)', function () {
  this.timeout(30_000)
  let h: Harness | undefined
  afterEach(async () => {
    await h?.close()
    h = undefined
  })

  it('standby 307s for GET and POST: logins, renewals, lookups and reads all follow the redirect; nothing fails', async () => {
    const r = await runSoak({ seed: 1, roles: 2, kinds: [STD, SHORT], perRole: 1, durationMs: 12 * M, faults: [], transport: 'http', viaStandby: true })
    assertHealthy(r)
    assert.equal(r.failedReads, 0)
    const standby = r.vault.standby!
    for (const op of ['login', 'lookup', 'renew', 'read'] as const) {
      assert.ok((standby[op]?.['307'] ?? 0) > 0, `${op} went through the standby's 307`)
      assert.equal(standby[op]?.['307'], r.vault.results[op]?.['200'], `every ${op} the active node answered came through a 307`)
    }
  })

  it('connection reset mid-response on reads: those reads fail, the token is kept, the next poll succeeds', async () => {
    h = await harness({ perRole: 5, transport: 'http' })
    assert.equal((await h.poll()).length, 0)
    h.dev.injectFault({ kind: 'reset', operation: 'read', times: 3 })
    await h.clock.advance(10_000)
    assert.equal((await h.poll()).length, 3)
    await h.clock.advance(10_000)
    assert.equal((await h.poll()).length, 0)
    assert.equal(h.dev.counters().requests.login, 1)
    assert.equal(h.dev.counters().results.read.reset, 3)
  })

  it('reads slower than the request timeout fail as timeouts (not hangs); the token is kept', async () => {
    h = await harness({ perRole: 3, transport: 'http', backend: { requestTimeoutMilliseconds: 150 } })
    assert.equal((await h.poll()).length, 0)
    const slow = h.dev.injectFault({ kind: 'latency', operation: 'read', latencyMs: 600 })
    await h.clock.advance(10_000)
    const failures = await h.poll()
    assert.equal(failures.length, 3)
    assert.ok(failures.every((e) => /in time|timeout/i.test(e.message)), failures.map((e) => e.message).join('; '))
    slow.remove()
    await h.clock.advance(10_000)
    assert.equal((await h.poll()).length, 0)
    assert.equal(h.dev.counters().requests.login, 1)
  })

  // node-vault 0.12 drops response headers; the default client keeps them, and VaultClient sends nothing until Retry-After.
  it('Retry-After on a rate-limited login is honoured: one login attempt in the 60 s it asks for', async () => {
    h = await harness({ perRole: 2, transport: 'http' })
    const quota = h.dev.injectFault({ kind: 'rate-limit', operation: 'login', retryAfterSeconds: 60 })
    for (let i = 0; i < 6; i++) {
      await h.poll()
      await h.clock.advance(10_000)
    }
    quota.remove()
    assert.equal(h.dev.counters().requests.login, 1, 'no login before Retry-After elapsed')
  })
})
