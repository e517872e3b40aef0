/**
 * Made-up roles cannot thrash the token cache (a reviewer's finding): identities that never logged in live in their own
 * pool, so however many a tenant invents, the real identities keep their tokens (no revoke and re-login per poll),
 * and the broken ones keep their login backoff.
 */
import assert from 'node:assert/strict'
import { world, type World } from './world.js'

describe('tenant: made-up roles cannot evict real identities from the token cache', function () {
  this.timeout(60_000)
  let w: World | undefined
  afterEach(async () => {
    await w?.close()
    w = undefined
  })

  it('2 real identities and 60 made-up roles through a cache of 5: 2 logins, 0 revokes, backoff kept for the 60', async () => {
    w = await world({ tokenCacheMax: 5 })
    const fake = Array.from({ length: 60 }, (_, i) => ({ vaultRole: `team-a-x${i}`, data: [{ key: 'secret/data/team-a/app0', name: 'p', property: 'password' }] }))
    const real = [w.good('a'), w.good('b')]
    const attempts: number[] = []
    for (let poll = 0; poll < 12; poll++) {
      const before = w.dev.counters().requests.login
      // Interleaved, as the poller host's jittered schedule would run them.
      const specs = [...fake.slice(0, 30).map((spec) => ({ spec })), real[0]!, ...fake.slice(30).map((spec) => ({ spec })), real[1]!]
      const results = await Promise.allSettled(specs.map((s) => w!.backend.getSecretManifestData({ spec: s.spec as never })))
      assert.equal(results[30]!.status, 'fulfilled', `poll ${poll}: team a syncs`)
      assert.equal(results[61]!.status, 'fulfilled', `poll ${poll}: team b syncs`)
      attempts.push(w.dev.counters().requests.login - before)
      await w.clock.advance(10_000)
    }
    const c = w.dev.counters()
    assert.equal(c.results.login?.['200'], 2, 'the real identities logged in once each')
    assert.equal(c.requests.revoke, 0, 'no real identity was evicted (an eviction revokes its token)')
    assert.equal(w.dev.liveTokens(), 2)
    // The made-up roles fail (400) and back off (1, 2, 4, ... s): 60 attempts at the first poll, then fewer and
    // fewer as the steps outgrow the 10 s poll, never one per role per poll.
    assert.equal(attempts[0], 62)
    assert.ok(attempts.reduce((a, b) => a + b, 0) <= 62 + 60 * 7, `attempts per poll: ${attempts.join(', ')}`)
    assert.ok(attempts.slice(-6).reduce((a, b) => a + b, 0) <= 120, `attempts per poll: ${attempts.join(', ')}`)
  })
})
