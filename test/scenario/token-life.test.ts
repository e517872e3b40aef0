import assert from 'node:assert/strict'
import { harness, type Harness } from '../support/dev-harness.js'

const H = 3600_000
const M = 60_000

/** Vault requests by operation as the dev Vault counted them. */
function ops(h: Harness) {
  const c = h.dev.counters()
  return { login: c.requests.login, lookup: c.requests.lookup, renew: c.requests.renew, read: c.requests.read }
}

describe('scenarios on the dev Vault over loopback HTTP (virtual clock)', function () {
  this.timeout(60_000)
  let h: Harness | undefined
  afterEach(async () => {
    await h?.close()
    h = undefined
  })

  it('a day of polling, token TTL 1 h and max TTL 4 h: 7 logins, 24 renewals, no failed read, no dead token', async () => {
    h = await harness({ pollMs: 60_000, perRole: 2 })
    const failed = await h.run(24 * H)
    assert.equal(failed, 0)
    // Threshold 180 s. A token renews at 57, 114, 171 min and (capped to its 4 h max) at 228 min, then a new login at
    // 237 min (14 220 s): 7 logins in 86 400 s, 6 full lives x 4 renewals.
    assert.deepEqual(ops(h), { login: 7, lookup: 1439, renew: 24, read: 2880 })
    assert.equal(h.dev.counters().deadTokenRequests.length, 0)
    assert.equal(h.dev.counters().storageWrites, 7 + 24)
  })

  it('the README timeline: poll 10 s, TTL 1 h, max 4 h: renewals at 59:30, 1:59:00, 2:58:30, 3:58:00 (capped), login at 3:59:30', async () => {
    h = await harness({ perRole: 1, transport: 'in-process' })
    const events: string[] = []
    let last = { login: 0, renew: 0 }
    const hms = (t: number) => `${Math.floor(t / H)}:${String(Math.floor((t % H) / M)).padStart(2, '0')}:${String((t % M) / 1000).padStart(2, '0')}`
    const failed = await h.run(4 * H + 10 * M, 10_000, (t) => {
      const c = h!.dev.counters().requests
      if (c.renew > last.renew) events.push(`renew before ${hms(t)}`)
      if (c.login > last.login) events.push(`login before ${hms(t)}`)
      last = { login: c.login, renew: c.renew }
    })
    assert.equal(failed, 0)
    // Each event shows up at the next tick: "before 0:59:40" = done by the poll at 0:59:30.
    assert.deepEqual(events, ['login before 0:00:10', 'renew before 0:59:40', 'renew before 1:59:10', 'renew before 2:58:40', 'renew before 3:58:10', 'login before 3:59:40'])
    assert.match(h.lines.find((l) => l.includes('max TTL'))!, /expires in 120 s/)
  })

  it('several roles with many ExternalSecrets: one token and one lookup per role per poll', async () => {
    h = await harness({ roles: { a: { token_ttl: '1h' }, b: { token_ttl: '1h' }, c: { token_ttl: '1h' } }, perRole: 20 })
    assert.equal(await h.run(10 * M), 0)
    assert.deepEqual(ops(h), { login: 3, lookup: 3 * 59, renew: 0, read: 60 * 60 })
  })

  it('all tokens of a role revoked mid-run: one login, no failed read, only the one unavoidable dead-token lookup', async () => {
    h = await harness({ perRole: 10 })
    const failed = await h.run(10 * M, 10_000, (t) => {
      if (t === 5 * M) h!.dev.revokeRoleTokens('kubernetes', 'app')
    })
    assert.equal(failed, 0)
    assert.equal(ops(h).login, 2)
    assert.deepEqual(h.dev.counters().deadTokenRequests.map((d) => [d.operation, d.reason]), [['lookup', 'revoked']])
  })

  it('Vault sealed for 3 polls: those reads fail (unavoidable), the token is kept, no login storm after unseal', async () => {
    h = await harness({ perRole: 10 })
    const failed = await h.run(5 * M, 10_000, (t) => {
      if (t === 2 * M) h!.dev.seal()
      if (t === 2 * M + 30_000) h!.dev.unseal()
    })
    assert.equal(failed, 3 * 10)
    assert.equal(ops(h).login, 1)
    assert.equal(h.dev.counters().deadTokenRequests.length, 0)
  })

  it('after a 30-minute seal that outlived the token, reads recover within 30 s of Vault coming back', async () => {
    h = await harness({ roles: { app: { token_ttl: 300 } }, perRole: 5, transport: 'in-process' })
    await h.run(5 * M)
    h.dev.seal()
    await h.run(30 * M)
    // The token died at 9:30 (its renewal at 4:30 was the last). Logins from then until 35:00: the backoff ramp
    // (1, 2, 4, 8, 16 s, met at 10 s polls) then one per 30 s: about 2 per minute, not one per ExternalSecret per poll.
    const whileSealed = h.dev.counters().errors.login
    assert.ok(whileSealed > 0 && whileSealed <= 25.5 * 2 + 5, `login attempts while sealed: ${whileSealed}`)
    h.dev.unseal()
    const failedPerPoll: number[] = []
    for (let i = 0; i < 6; i++) {
      failedPerPoll.push((await h.poll()).length)
      await h.clock.advance(10_000)
    }
    const firstClean = failedPerPoll.indexOf(0)
    assert.ok(firstClean >= 0 && firstClean <= 3, `failed reads per poll after unseal: ${failedPerPoll}`)
    assert.deepEqual(failedPerPoll.slice(firstClean), [0, 0, 0, 0, 0, 0].slice(firstClean))
  })

  it('a 429 burst fails only the reads it hits', async () => {
    h = await harness({ perRole: 10 })
    const failed = await h.run(2 * M, 10_000, (t) => {
      if (t === M) h!.dev.injectFault({ kind: 'rate-limit', operation: 'read', times: 15 })
    })
    assert.equal(failed, 15)
    assert.equal(ops(h).login, 1)
  })

  it('through a standby: node-vault follows the 307s for login, lookup, renew and reads', async () => {
    let standby: Awaited<ReturnType<Harness['dev']['startStandby']>> | undefined
    h = await harness({ roles: { app: { token_ttl: 60 } }, perRole: 3, address: async (dev) => (standby = await dev.startStandby()).address })
    assert.equal(await h.run(3 * M), 0)
    await standby!.close()
    assert.ok(h.dev.counters().requests.renew > 0)
    assert.equal(h.dev.counters().deadTokenRequests.length, 0)
  })

  it('service-account JWT rotation: the next login uses the new JWT, the old one is no longer accepted', async () => {
    h = await harness({ roles: { app: { token_ttl: 60, token_type: 'batch' } }, perRole: 2 })
    assert.equal(await h.run(M), 0)
    const fresh = h.dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: h.clock.now() + 86400_000 })
    h.dev.rotateJwts([fresh])
    h.jwt.current = fresh
    assert.equal(await h.run(2 * M), 0)
    assert.equal(h.dev.counters().errors.login, 0)
  })

  it('periodic tokens are renewed forever, never re-logged in; batch tokens are never renewed', async () => {
    h = await harness({ roles: { p: { token_period: 120 }, b: { token_ttl: 120, token_type: 'batch' } }, perRole: 2 })
    assert.equal(await h.run(H), 0)
    const c = h.dev.counters()
    assert.equal(c.errors.renew, 0, 'no renewal of a batch token was attempted')
    assert.equal(c.results.login['200'], 1 + 40, 'one periodic login; a batch token at 0, 90, ..., 3510 s (new login at 30 s left)')
    assert.equal(c.requests.renew, 39, 'the periodic token renews every 90 s: at 90, 180, ..., 3510 s')
    assert.equal(c.deadTokenRequests.length, 0)
  })
})
