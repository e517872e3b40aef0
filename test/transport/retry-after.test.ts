/**
 * Retry-After: honoured, but bounded (5 min) and scoped to the mount the 429 came from. A proxy's "Retry-After: 86400"
 * or "Infinity" must not stop every identity of every tenant for a day or forever, nor outlive a clock step back.
 */
import assert from 'node:assert/strict'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { laneOf, retryAfterSeconds } from '../../lib/vault/transport.js'
import { BUILDERS, build, tearDown, devVault, json, listen, pollRoles } from './support.js'

const S = 1000

describe('transport: Retry-After is bounded and scoped to its mount', function () {
  this.timeout(20_000)
  let dev: DevVault | undefined
  afterEach(tearDown)

  it('a lane is the secret mount, or the auth mount', () => {
    assert.equal(laneOf('secret/data/team-a/db'), 'secret')
    assert.equal(laneOf('/kv/x'), 'kv')
    assert.equal(laneOf('auth/kubernetes/login'), 'auth/kubernetes')
    assert.equal(laneOf('auth/token/lookup-self'), 'auth/token')
  })

  it('Retry-After in either form of RFC 9110: seconds, or an HTTP-date counted from the answer\'s own Date', () => {
    const now = Date.parse('Tue, 24 Nov 2026 10:00:00 GMT')
    assert.equal(retryAfterSeconds('120', undefined, now), 120)
    assert.equal(retryAfterSeconds('1.2', undefined, now), 2)
    assert.equal(retryAfterSeconds('Tue, 24 Nov 2026 10:02:00 GMT', undefined, now), 120, 'from our clock when there is no Date')
    // The proxy's clock is an hour behind ours: its own Date says how far ahead it meant.
    assert.equal(retryAfterSeconds('Tue, 24 Nov 2026 09:02:00 GMT', 'Tue, 24 Nov 2026 09:00:00 GMT', now), 120)
    assert.equal(retryAfterSeconds('Wed, 25 Nov 2026 10:00:00 GMT', undefined, now), 300, 'capped at 5 min')
    for (const none of [undefined, '', '0', '-5', 'soon', 'Tue, 24 Nov 2026 09:59:00 GMT']) assert.equal(retryAfterSeconds(none, undefined, now), undefined, String(none))
  })

  it('"Retry-After: <HTTP-date 2 min ahead>" (a proxy\'s form) quiets the mount for those 2 min', async () => {
    // A reviewer saw the date form ignored: 12 reads and 7 logins sent within the 2 min instead of 1 and 1.
    const clock = new ManualClock()
    dev = await devVault(clock, { app: { token_ttl: '1h' } })
    let fired = false
    const proxy = await listen((rec, _req, res) => {
      if (!fired && rec.method === 'GET' && rec.path.startsWith('secret/')) {
        fired = true
        const now = Date.now()
        return json(res, 429, { errors: ['rate limit quota exceeded'] }, { Date: new Date(now).toUTCString(), 'Retry-After': new Date(now + 120 * S).toUTCString() })
      }
      return false
    }, dev.address)
    const { backend } = build('env', proxy.url, { clock })
    const read = () => backend.getSecretManifestData({ spec: { vaultRole: 'app', data: [{ key: 'secret/data/app/db', name: 'p', property: 'password' }] } })
    await assert.rejects(read(), /rate limit quota exceeded/)
    const sent = dev.counters().requests.read
    await clock.advance(60 * S)
    await assert.rejects(read(), /not sending to secret for another (59|60|61) s \(Retry-After\)/)
    assert.equal(dev.counters().requests.read, sent, 'nothing sent to the quieted mount')
    await clock.advance(61 * S)
    assert.deepEqual(await read(), { p: Buffer.from('pw-app').toString('base64') })
    await backend.close()
  })

  for (const how of BUILDERS) {
    for (const header of ['86400', '1000000000', 'Infinity']) {
      it(`${how}: "Retry-After: ${header}" on one read quiets that mount for 5 min at most; logins and other mounts go on`, async () => {
        const clock = new ManualClock()
        dev = await devVault(clock, { app: { token_ttl: '1h' } })
        dev.enableKv('other', 2)
        dev.writePolicy('app', ['secret/data/app/', 'other/data/app/'])
        dev.putSecret('other', 'app/db', { password: 'pw-other' })
        let fired = false
        // A proxy in front of the dev Vault: the first read of secret/ gets the bogus header.
        const proxy = await listen((rec, _req, res) => {
          if (!fired && rec.method === 'GET' && rec.path.startsWith('secret/')) {
            fired = true
            return json(res, 429, { errors: ['rate limit quota exceeded'] }, { 'Retry-After': header })
          }
          return false
        }, dev.address)
        const { backend } = build(how, proxy.url, { clock })
        const read = (mount: string) => backend.getSecretManifestData({ spec: { vaultRole: 'app', data: [{ key: `${mount}/data/app/db`, name: 'p', property: 'password' }] } })
        await assert.rejects(read('secret'), /rate limit quota exceeded/)
        const sentBefore = dev.counters().requests.read
        await clock.advance(60 * S)
        await assert.rejects(read('secret'), /not sending to secret for another 240 s \(Retry-After\)/)
        assert.equal(dev.counters().requests.read, sentBefore, 'nothing sent to the quieted mount')
        assert.deepEqual(await read('other'), { p: Buffer.from('pw-other').toString('base64') }, 'another mount is not quieted')
        await clock.advance(240 * S)
        assert.deepEqual(await read('secret'), { p: Buffer.from('pw-app').toString('base64') }, 'after 5 min, never a day or forever')
        await backend.close()
      })
    }
  }

  it('a quiet period set before the clock stepped back an hour lasts what Vault asked for, not the hour', async () => {
    const clock = new ManualClock()
    dev = await devVault(clock, { app: { token_ttl: '1h' } })
    const { backend } = build('env', dev.address, { clock })
    assert.equal((await pollRoles(backend, ['app'])).length, 0)
    dev.injectFault({ kind: 'rate-limit', operation: 'read', retryAfterSeconds: 60, times: 1 })
    await clock.advance(10 * S)
    assert.equal((await pollRoles(backend, ['app'])).length, 1)
    clock.set(clock.now() - 3600 * S)
    const [err] = await pollRoles(backend, ['app'])
    assert.match(err!.message, /not sending to secret for another 60 s/, 'the 60 s Vault asked for, not 3 660 s')
    await clock.advance(60 * S)
    assert.equal((await pollRoles(backend, ['app'])).length, 0)
    await backend.close()
  })
})
