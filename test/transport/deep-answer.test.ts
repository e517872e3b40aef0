/** An answer nested hundreds of thousands deep (a broken or hostile Vault): a clear error naming the key, not a RangeError. */
import assert from 'node:assert/strict'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { build, tearDown, devVault, listen } from './support.js'

describe('transport: an answer nested too deeply', function () {
  this.timeout(20_000)
  let dev: DevVault | undefined
  afterEach(tearDown)

  it('fails that read with an error that names the key; the token is kept and the next read works', async () => {
    const clock = new ManualClock()
    dev = await devVault(clock)
    const depth = 300_000
    let deep = true
    const proxy = await listen((rec, _req, res) => {
      if (!deep || rec.method !== 'GET' || !rec.path.startsWith('secret/')) return false
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"data":{"data":{"d":${'['.repeat(depth)}${']'.repeat(depth)}}}}`)
      return true
    }, dev.address)
    const { backend } = build('env', proxy.url, { clock })
    const spec = { vaultRole: 'app', data: [{ key: 'secret/data/app/db', name: 'p', property: 'password' }] }
    await assert.rejects(backend.getSecretManifestData({ spec }), /Vault's answer for "secret\/data\/app\/db" is nested too deeply to be a Secret's content/)
    deep = false
    assert.deepEqual(await backend.getSecretManifestData({ spec }), { p: Buffer.from('pw-app').toString('base64') })
    assert.equal(dev.counters().requests.login, 1)
    await backend.close()
  })
})
