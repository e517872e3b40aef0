/**
 * Issue 12, point 3: an answer larger than VAULT_MAX_RESPONSE_BYTES (default 2 MiB) is refused with an error naming
 * the setting, without reading the rest: with a Content-Length, on the headers; without one, while streaming.
 */
import assert from 'node:assert/strict'
import type http from 'node:http'
import type { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { BUILDERS, build, tearDown, devVault, listen, spec, timed, until } from './support.js'

const TEN_MB = 10 * 1024 * 1024
const CHUNK = Buffer.alloc(64 * 1024, 0x20)

describe('transport: a bound on the answer size', function () {
  this.timeout(20_000)
  let backend: VaultBackend | undefined
  let dev: DevVault | undefined
  afterEach(tearDown)

  /** A 10 MB JSON answer written chunk by chunk as the client takes it (the server never holds it whole). */
  function tenMegabytes(res: http.ServerResponse, declared: boolean, sent: { bytes: number; peak: number }): true {
    res.writeHead(200, { 'content-type': 'application/json', ...(declared ? { 'content-length': String(TEN_MB) } : {}) })
    const pump = () => {
      while (sent.bytes < TEN_MB && !res.destroyed) {
        const m = process.memoryUsage()
        sent.peak = Math.max(sent.peak, m.heapUsed + m.arrayBuffers)
        const n = Math.min(CHUNK.length, TEN_MB - sent.bytes)
        sent.bytes += n
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void res.once('drain', pump)
      }
      if (!res.destroyed) res.end()
    }
    pump()
    return true
  }

  for (const how of BUILDERS) {
    for (const declared of [true, false]) {
      it(`${how}: a 10 MB read answer ${declared ? 'with' : 'without'} Content-Length is refused naming VAULT_MAX_RESPONSE_BYTES; the connection is cut early`, async () => {
        const clock = new ManualClock()
        dev = await devVault(clock)
        const base = process.memoryUsage()
        const sent = { bytes: 0, peak: base.heapUsed + base.arrayBuffers }
        const server = await listen((rec, _req, res) => rec.operation === 'read' && tenMegabytes(res, declared, sent), dev.address)
        ;({ backend } = build(how, server.url, { clock, settings: { requestTimeoutMilliseconds: 5_000 } }))
        const r = await timed(backend.getSecretManifestData(spec('secret/data/app/db')))
        const after = process.memoryUsage()
        sent.peak = Math.max(sent.peak, after.heapUsed + after.arrayBuffers)
        assert.match(r.error!.message, /reading "secret\/data\/app\/db".*the answer exceeds 2097152 bytes \(VAULT_MAX_RESPONSE_BYTES\); it was not read/)
        await until(() => server.cutShort === 1, 'the server saw the connection closed before its answer was written')
        // Loopback socket buffers take a few MB before the client reads a byte; reading it all would take 10 MB.
        assert.ok(sent.bytes < TEN_MB, `the server got ${sent.bytes} bytes out before the cut`)
        // A guard, not a measurement (GC timing varies): KES held about 100 MB for this answer.
        const grew = (sent.peak - base.heapUsed - base.arrayBuffers) / 1024 / 1024
        assert.ok(grew < 16, `memory grew by ${grew.toFixed(1)} MB while the answer streamed`)
        // The token is kept: the next read of a normal answer works without a new login.
        await clock.advance(10_000)
        await assert.rejects(backend.getSecretManifestData(spec('secret/data/app/db')), /VAULT_MAX_RESPONSE_BYTES/)
        assert.equal(dev.counters().requests.login, 1)
      })
    }
  }

  it('the bound is configurable (VAULT_MAX_RESPONSE_BYTES / maxResponseBytes), and an answer within it is read', async () => {
    const clock = new ManualClock()
    dev = await devVault(clock)
    const big = 'x'.repeat(300 * 1024)
    dev.putSecret('secret', 'app/big', { password: big })
    for (const how of BUILDERS) {
      ;({ backend } = build(how, dev.address, { clock, settings: { maxResponseBytes: 256 * 1024 } }))
      await assert.rejects(backend.getSecretManifestData(spec('secret/data/app/big')), /exceeds 262144 bytes \(VAULT_MAX_RESPONSE_BYTES\)/)
      await backend.close({ revoke: false })
      ;({ backend } = build(how, dev.address, { clock, settings: { maxResponseBytes: 512 * 1024 } }))
      const data = await backend.getSecretManifestData(spec('secret/data/app/big'))
      assert.equal(Buffer.from(data.password!, 'base64').toString(), big)
      await backend.close({ revoke: false })
      backend = undefined
    }
  })
})
