/**
 * Issue 12, point 8: the token of an identity evicted from the cache, or unused for VAULT_IDENTITY_IDLE_MILLISECONDS,
 * is revoked; login backoff survives eviction. Live tokens are counted in the dev Vault at every request it gets.
 */
import assert from 'node:assert/strict'
import type { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { b64, BUILDERS, build, tearDown, devVault, type Listener, listen, pollRoles, spec, until } from './support.js'

const ROLES = Array.from({ length: 50 }, (_, i) => `role${i}`)
const CACHE = 3

describe('transport: eviction and idle identities', function () {
  this.timeout(30_000)
  let backend: VaultBackend | undefined
  let dev: DevVault | undefined
  let clock: ManualClock
  afterEach(tearDown)

  /** A front that samples the dev Vault's live tokens as each request arrives. */
  async function sampled(): Promise<{ front: Listener; maxLive: () => number }> {
    let max = 0
    const front = await listen(() => {
      max = Math.max(max, dev!.liveTokens())
      return false
    }, dev!.address)
    return { front, maxLive: () => max }
  }

  for (const how of BUILDERS) {
    it(`${how}: 50 identities through a cache of 3, one ExternalSecret at a time: never more than 3 (+1 being retired) live tokens; none after close()`, async () => {
      clock = new ManualClock()
      dev = await devVault(clock, Object.fromEntries(ROLES.map((r) => [r, { token_ttl: '1h' }])))
      const { front, maxLive } = await sampled()
      ;({ backend } = build(how, front.url, { clock, settings: { tokenCacheMax: CACHE, requestTimeoutMilliseconds: 5_000 } }))
      for (let poll = 0; poll < 5; poll++) {
        assert.deepEqual(await pollRoles(backend, ROLES, true), [])
        await clock.advance(10_000)
      }
      assert.equal(dev.counters().requests.login, 250, 'each read of an evicted identity logs in again (the cache is too small)')
      assert.ok(maxLive() <= CACHE + 1, `at most ${CACHE + 1} live tokens at any request; saw ${maxLive()}`)
      await backend.close()
      assert.equal(dev.liveTokens(), 0)
      assert.equal(dev.counters().ok.revoke, 250, 'every token the backend created was revoked, by eviction or by close()')
    })
  }

  it('50 identities polled concurrently through a cache of 3: no read fails for the eviction; after each poll live tokens fall back to 3; none after close()', async () => {
    clock = new ManualClock()
    dev = await devVault(clock, Object.fromEntries(ROLES.map((r) => [r, { token_ttl: '1h' }])))
    ;({ backend } = build('kes', dev.address, { clock, settings: { tokenCacheMax: CACHE, requestTimeoutMilliseconds: 5_000 } }))
    for (let poll = 0; poll < 4; poll++) {
      const failures = await pollRoles(backend, ROLES)
      assert.deepEqual(failures.map((e) => e.message), [], `poll ${poll}`)
      await until(() => dev!.liveTokens() <= CACHE, `live tokens back to ${CACHE} after poll ${poll} (now ${dev!.liveTokens()})`)
      await clock.advance(10_000)
    }
    await backend.close()
    assert.equal(dev.liveTokens(), 0)
    assert.equal(dev.counters().ok.revoke, dev.counters().ok.login)
  })

  for (const sequential of [true, false]) {
    it(`50 broken roles (login refused) through a cache of 3, polled ${sequential ? 'one at a time' : 'concurrently'}: backoff survives eviction (350 login attempts in 12 polls, not 600)`, async () => {
      clock = new ManualClock()
      dev = await devVault(clock, {})
      ;({ backend } = build('kes', dev.address, { clock, settings: { tokenCacheMax: CACHE, requestTimeoutMilliseconds: 5_000 } }))
      for (let poll = 0; poll < 12; poll++) {
        const failures = await pollRoles(backend, ROLES, sequential)
        assert.equal(failures.length, 50)
        await clock.advance(10_000)
      }
      // Per role (random = 1): refused logins back off 1, 2, 4, 8, 16, 32, 64 s: attempts at t = 0, 10, 20, 30, 40, 60, 100.
      assert.equal(dev.counters().requests.login, 50 * 7)
    })
  }

  it('an idle identity is dropped and its token revoked on the virtual clock; its ExternalSecret coming back logs in again', async () => {
    clock = new ManualClock()
    dev = await devVault(clock, { busy: { token_ttl: '1h' }, idle: { token_ttl: '1h' } })
    const { front } = await sampled()
    ;({ backend } = build('env', front.url, { clock, settings: { identityIdleMilliseconds: 60_000, requestTimeoutMilliseconds: 5_000 } }))
    const read = (role: string) => backend!.getSecretManifestData(spec(`secret/data/${role}/db`, role))
    await read('busy')
    await read('idle')
    assert.equal(dev.liveTokens({ role: 'idle' }), 1)
    // "idle" is read no more; "busy" every poll. At 60 s unused, the next sweep (at most one per poll) drops it.
    for (let t = 10_000; t <= 50_000; t += 10_000) {
      await clock.advance(10_000)
      await read('busy')
      assert.equal(dev.liveTokens({ role: 'idle' }), 1, `still cached at t = ${t / 1000} s`)
    }
    await clock.advance(10_000)
    await read('busy')
    await until(() => dev!.liveTokens({ role: 'idle' }) === 0, 'the idle identity\'s token is revoked')
    assert.deepEqual(backend.tokenSessions.map((s) => s.identity.role), ['busy'])
    assert.equal(dev.liveTokens({ role: 'busy' }), 1)
    // Its ExternalSecret comes back: a new login.
    assert.deepEqual(await read('idle'), { password: b64('pw-idle') })
    assert.equal(dev.counters().requests.login, 3)
    assert.deepEqual(front.received.filter((r) => r.operation === 'login').map((r) => JSON.parse(r.body).role), ['busy', 'idle', 'idle'])
  })
})
