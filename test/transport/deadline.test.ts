/**
 * Issue 12, point 1: every request on every construction path ends at one deadline from send to last byte. A Vault
 * that accepts and never answers, or one that trickles a byte every 50 ms (an idle timeout would never fire), costs a
 * caller at most VAULT_REQUEST_TIMEOUT_MILLISECONDS; the single flight it was part of does not trap later callers;
 * close() returns.
 */
import assert from 'node:assert/strict'
import type http from 'node:http'
import type { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { b64, BUILDERS, build, tearDown, devVault, type Listener, listen, spec, timed, until } from './support.js'

const TIMEOUT = 300
/** Scheduling slack on a loaded CI machine; a hang would exceed any of these by far. */
const SLACK = 500

describe('transport: one deadline per request, from send to last byte', function () {
  this.timeout(10_000)
  let backend: VaultBackend | undefined
  let dev: DevVault | undefined
  afterEach(tearDown)

  /** Answers nothing while `hang.on`; otherwise forwards to the dev Vault. */
  async function silentVault(clock: ManualClock, hang: { on: boolean; only?: string }): Promise<Listener> {
    dev = await devVault(clock)
    return listen((rec) => hang.on && (!hang.only || rec.operation === hang.only), dev.address)
  }

  for (const how of BUILDERS) {
    describe(`built ${how === 'kes' ? "KES's way (vaultFactory + node-vault)" : 'by createVaultBackend (VAULT_ADDR)'}`, () => {
      it('a Vault that accepts and never answers: every caller rejects at the deadline as a timeout; one login was sent', async () => {
        const hang = { on: true }
        const clock = new ManualClock()
        const server = await silentVault(clock, hang)
        ;({ backend } = build(how, server.url, { clock, settings: { requestTimeoutMilliseconds: TIMEOUT } }))
        const callers = Array.from({ length: 5 }, () => timed(backend!.getSecretManifestData(spec('secret/data/app/db'))))
        const results = await Promise.all(callers)
        for (const r of results) {
          assert.ok(r.error, 'rejected')
          assert.match(r.error.message, /no answer in time.*within 300 ms \(VAULT_REQUEST_TIMEOUT_MILLISECONDS\)/)
          assert.ok(r.ms >= TIMEOUT - 20 && r.ms < TIMEOUT + SLACK, `rejected after ${Math.round(r.ms)} ms`)
        }
        assert.equal(server.count('login'), 1, 'the five callers shared one login')
      })

      it('later callers of the same identity are not trapped by the stuck single flight: the next poll logs in and reads', async () => {
        const hang = { on: true }
        const manual = new ManualClock()
        const server = await silentVault(manual, hang)
        ;({ backend } = build(how, server.url, { clock: manual, settings: { requestTimeoutMilliseconds: TIMEOUT } }))
        const first = await timed(backend.getSecretManifestData(spec('secret/data/app/db')))
        assert.match(first.error!.message, /VAULT_REQUEST_TIMEOUT_MILLISECONDS/)
        // Within the login backoff a caller fails fast and sends nothing.
        const fast = await timed(backend.getSecretManifestData(spec('secret/data/app/db')))
        assert.match(fast.error!.message, /next login attempt in 1 s/)
        assert.ok(fast.ms < 100, `failed fast (${Math.round(fast.ms)} ms)`)
        assert.equal(server.count('login'), 1)
        hang.on = false
        await manual.advance(10_000)
        assert.deepEqual(await backend.getSecretManifestData(spec('secret/data/app/db')), { password: b64('pw-app') })
        assert.equal(server.count('login'), 2)
        assert.equal(dev!.counters().requests.login, 1, 'the hung login never reached Vault; the second did')
      })

      it('a read that hangs fails at the deadline; the token is kept and the next poll reads with it', async () => {
        const hang = { on: false, only: 'read' }
        const clock = new ManualClock()
        const server = await silentVault(clock, hang)
        ;({ backend } = build(how, server.url, { clock, settings: { requestTimeoutMilliseconds: TIMEOUT } }))
        await backend.getSecretManifestData(spec('secret/data/app/db'))
        hang.on = true
        await clock.advance(10_000)
        const stuck = await timed(backend.getSecretManifestData(spec('secret/data/app/db')))
        assert.match(stuck.error!.message, /reading "secret\/data\/app\/db".*no answer in time.*VAULT_REQUEST_TIMEOUT_MILLISECONDS.*retried on the next poll/)
        assert.ok(stuck.ms < TIMEOUT + SLACK, `${Math.round(stuck.ms)} ms`)
        hang.on = false
        await clock.advance(10_000)
        assert.deepEqual(await backend.getSecretManifestData(spec('secret/data/app/db')), { password: b64('pw-app') })
        assert.equal(server.count('login'), 1)
      })

      it('close() returns within its bound while a login hangs, and while its revoke hangs', async () => {
        const hang = { on: true }
        const clock = new ManualClock()
        const server = await silentVault(clock, hang)
        // A login on the wire when close() is called: close waits for it, never past its deadline.
        ;({ backend } = build(how, server.url, { clock, settings: { requestTimeoutMilliseconds: TIMEOUT } }))
        const read = timed(backend.getSecretManifestData(spec('secret/data/app/db')))
        await new Promise((r) => setTimeout(r, 50))
        assert.equal(server.count('login'), 1)
        const closed = await timed(backend.close())
        assert.ok(closed.ms < 2 * TIMEOUT + SLACK, `close() took ${Math.round(closed.ms)} ms`)
        assert.ok((await read).error)
        // A token in hand, Vault stops answering: the revoke at close() is bounded by its deadline too.
        hang.on = false
        ;({ backend } = build(how, server.url, { clock, settings: { requestTimeoutMilliseconds: TIMEOUT } }))
        await backend.getSecretManifestData(spec('secret/data/app/db'))
        hang.on = true
        const closing = await timed(backend.close())
        assert.deepEqual(closing.value, { revoked: 0 })
        assert.ok(closing.ms >= TIMEOUT - 20 && closing.ms < TIMEOUT + SLACK, `close() took ${Math.round(closing.ms)} ms`)
        assert.equal(server.count('revoke'), 1)
      })
    })
  }

  /** 200 with a large Content-Length, then one byte every 50 ms until the client hangs up. */
  const trickle = (res: http.ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000000' })
    res.write('{')
    const timer = setInterval(() => res.write(' '), 50)
    res.on('close', () => clearInterval(timer))
    return true
  }

  it('an answer that trickles one byte per 50 ms is cut at the deadline (total, not idle): a login, KES way', async () => {
    const clock = new ManualClock()
    dev = await devVault(clock)
    const server = await listen((rec, _req, res) => rec.operation === 'login' && trickle(res), dev.address)
    ;({ backend } = build('kes', server.url, { clock, settings: { requestTimeoutMilliseconds: TIMEOUT } }))
    const r = await timed(backend.getSecretManifestData(spec('secret/data/app/db')))
    assert.match(r.error!.message, /login failed.*no answer in time.*VAULT_REQUEST_TIMEOUT_MILLISECONDS/)
    assert.ok(r.ms >= TIMEOUT - 20 && r.ms < TIMEOUT + SLACK, `rejected after ${Math.round(r.ms)} ms`)
    await until(() => server.cutShort === 1, 'the client hung up on the trickling answer')
  })

  it('an answer that trickles one byte per 50 ms is cut at the deadline: a read, createVaultBackend', async () => {
    const clock = new ManualClock()
    dev = await devVault(clock)
    const server = await listen((rec, _req, res) => rec.operation === 'read' && trickle(res), dev.address)
    ;({ backend } = build('env', server.url, { clock, settings: { requestTimeoutMilliseconds: TIMEOUT } }))
    const r = await timed(backend.getSecretManifestData(spec('secret/data/app/db')))
    assert.match(r.error!.message, /reading "secret\/data\/app\/db".*no answer in time.*VAULT_REQUEST_TIMEOUT_MILLISECONDS/)
    assert.ok(r.ms >= TIMEOUT - 20 && r.ms < TIMEOUT + SLACK, `rejected after ${Math.round(r.ms)} ms`)
    await until(() => server.cutShort === 1, 'the client hung up on the trickling answer')
    assert.equal(dev.counters().requests.login, 1)
  })
})
