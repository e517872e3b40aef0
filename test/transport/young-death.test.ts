/**
 * Vault refuses every fresh token on its first read (a load balancer that sends reads to another cluster, a role whose
 * tokens have a few uses): the backend must not log in on every poll (a write each time) for as long as that lasts.
 */
import assert from 'node:assert/strict'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { build, tearDown, devVault, json, listen } from './support.js'

describe('transport: tokens refused as soon as they are issued', function () {
  this.timeout(20_000)
  let dev: DevVault | undefined
  afterEach(tearDown)

  it('30 polls in which every read says "invalid token": logins back off (5 min cap), not 31; the first death is retried at once', async () => {
    const clock = new ManualClock()
    dev = await devVault(clock)
    let refuse = true
    const proxy = await listen((rec, _req, res) => {
      if (!refuse || rec.method !== 'GET' || !rec.path.startsWith('secret/')) return false
      return json(res, 403, { errors: ['2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n'] })
    }, dev.address)
    const { backend } = build('env', proxy.url, { clock })
    const spec = { vaultRole: 'app', data: [{ key: 'secret/data/app/db', name: 'p', property: 'password' }] }
    for (let poll = 0; poll < 30; poll++) {
      await assert.rejects(backend.getSecretManifestData({ spec }))
      await clock.advance(10_000)
    }
    const logins = dev.counters().results.login?.['200'] ?? 0
    // t = 0: login, dead, login again at once (a revocation is replaced), dead again: backoff 1, 2, 4, ... s.
    assert.ok(logins >= 2 && logins <= 10, `${logins} logins in 30 polls`)
    refuse = false
    await clock.advance(300_000)
    assert.deepEqual(await backend.getSecretManifestData({ spec }), { p: Buffer.from('pw-app').toString('base64') }, 'recovers once reads are answered')
    await backend.close()
  })
})
