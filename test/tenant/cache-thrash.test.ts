/**
 * Made-up roles cannot thrash the token cache (a reviewer's finding): identities that never logged in live in their own
 * pool, so however many a tenant invents, the real identities keep their tokens (no revoke and re-login per poll),
 * and the broken ones keep their login backoff.
 */
import assert from 'node:assert/strict'
import { SpecError } from '../../lib/backend/errors.js'
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

  it('AppRole: 60 made-up vaultRoles (and a made-up mount) are refused as spec.vaultRole before any request; the operator\'s identity keeps its token', async () => {
    const SID = 'approle-secret-id-0123456789abcdef'
    w = await world({ authMethod: 'approle', approle: { roleId: 'r-1', secretId: async () => SID }, defaultVaultMountPoint: 'approle', defaultVaultRole: 'reader', tokenCacheMax: 5 })
    w.dev.enableApproleAuth('approle')
    w.dev.writeRole('approle', 'reader', { policies: ['team-a'], role_id: 'r-1', secret_id: SID, token_ttl: '1h' })
    const read = { data: [{ key: 'secret/data/team-a/app0', name: 'p', property: 'password' }] }
    // Naming nothing, or the configured role and mount, is the operator's one identity.
    for (const spec of [read, { ...read, vaultRole: 'reader' }, { ...read, vaultRole: 'reader', vaultMountPoint: 'approle' }]) {
      assert.deepEqual(await w.backend.getSecretManifestData({ spec: spec as never }), { p: Buffer.from('pw-a-0').toString('base64') })
    }
    const token = w.backend.tokenSessions[0]!.lease!.token
    const series = (await w.registry.metrics()).split('\n').length
    const before = w.requests()
    const fake = Array.from({ length: 60 }, (_, i) => ({ ...read, vaultRole: `made-up-${i}` }))
    const results = await Promise.allSettled([...fake, { ...read, vaultMountPoint: 'approle2' }].map((spec) => w!.backend.getSecretManifestData({ spec: spec as never })))
    await w.clock.advance(0)
    results.forEach((r, i) => {
      assert.equal(r.status, 'rejected', `spec ${i} read`)
      const err = (r as PromiseRejectedResult).reason as SpecError
      assert.ok(err instanceof SpecError, String(err))
      assert.equal(err.field, i < 60 ? 'spec.vaultRole' : 'spec.vaultMountPoint')
      assert.match(err.message, /with VAULT_AUTH_METHOD=approle every login uses the one role_id of VAULT_APPROLE_ROLE_ID/)
    })
    assert.equal(w.requests() - before, 0, 'no login, no read')
    const c = w.dev.counters()
    assert.equal(c.results.login?.['200'], 1)
    assert.equal(c.requests.revoke, 0)
    assert.deepEqual(w.backend.tokenSessions.map((s) => [s.identity.role, s.lease?.token]), [['reader', token]])
    const metrics = await w.registry.metrics()
    assert.doesNotMatch(metrics, /made-up|approle2/)
    assert.equal(metrics.split('\n').length, series, 'no new series')
  })
})
