import assert from 'node:assert/strict'
import nodeVault from 'node-vault'
import type { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { appVault, call, loginApp } from './helpers.js'

/** The error node-vault (axios) rejects with, or the Vault error it raises. */
async function failure(p: Promise<unknown>): Promise<{ status?: number; body?: unknown; code?: string }> {
  try {
    await p
  } catch (e) {
    const err = e as { response?: { statusCode: number; body: unknown }; code?: string }
    return { status: err.response?.statusCode, body: err.response?.body, code: err.code }
  }
  assert.fail('expected a failure')
}

async function fetchError(url: string): Promise<string | undefined> {
  try {
    await fetch(url)
  } catch (e) {
    return ((e as { cause?: { code?: string } }).cause?.code) ?? 'error'
  }
  return undefined
}

describe('devserver: sys/health', () => {
  let vault: DevVault
  beforeEach(async () => ({ vault } = await appVault()))
  afterEach(() => vault.close())

  it('200 active with Vault\'s body, 503 sealed, 429 on a standby', async () => {
    const ok = await call(vault, 'GET', 'sys/health')
    assert.equal(ok.status, 200)
    assert.equal(ok.body.initialized, true)
    assert.equal(ok.body.sealed, false)
    assert.equal(ok.body.standby, false)
    assert.equal(typeof ok.body.server_time_utc, 'number')
    assert.equal(typeof ok.body.version, 'string')

    vault.seal()
    const sealed = await call(vault, 'GET', 'sys/health')
    assert.equal(sealed.status, 503)
    assert.equal(sealed.body.sealed, true)
    vault.unseal()

    const standby = await vault.startStandby({ standbyMode: 'forward' })
    try {
      const s = await call(standby, 'GET', 'sys/health')
      assert.equal(s.status, 429)
      assert.equal(s.body.standby, true)
      assert.equal((await call(standby, 'GET', 'sys/health?standbyok=true')).status, 200)
    } finally {
      await standby.close()
    }
    assert.deepEqual(vault.counters().results.health, { '200': 1, '503': 1 })
  })
})

describe('devserver: faults', () => {
  let vault: DevVault
  let clock: ManualClock
  let token: string
  beforeEach(async () => {
    ;({ vault, clock } = await appVault())
    token = await loginApp(vault, clock)
    vault.putSecret('secret', 'app/db', { foo: 'bar' })
    vault.resetCounters()
  })
  afterEach(() => vault.close())

  it('seal(): every request but sys/health is 503 Vault is sealed', async () => {
    vault.seal()
    const r = await call(vault, 'GET', 'auth/token/lookup-self', { token })
    assert.equal(r.status, 503)
    assert.deepEqual(r.body, { errors: ['Vault is sealed'] })
    vault.unseal()
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token })).status, 200)
  })

  it('a sealed fault limited to the next 2 renewals leaves lookups alone', async () => {
    const fault = vault.injectFault({ kind: 'sealed', operation: 'renew', times: 2 })
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).status, 503)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token })).status, 200)
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).status, 503)
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).status, 200)
    assert.equal(fault.hits, 2)
    assert.deepEqual(vault.counters().results.renew, { '503': 2, '200': 1 })
    assert.equal(vault.counters().storageWrites, 1)
  })

  it('503 no active Vault instance found, globally, until removed', async () => {
    const fault = vault.injectFault({ kind: 'no-active' })
    const r = await call(vault, 'GET', 'secret/data/app/db', { token })
    assert.equal(r.status, 503)
    assert.deepEqual(r.body, { errors: ['no active Vault instance found'] })
    fault.remove()
    assert.equal((await call(vault, 'GET', 'secret/data/app/db', { token })).status, 200)
  })

  it('429 rate limit quota exceeded with Retry-After, per path', async () => {
    vault.injectFault({ kind: 'rate-limit', path: 'auth/token/lookup-self', retryAfterSeconds: 7 })
    const r = await call(vault, 'GET', 'auth/token/lookup-self', { token })
    assert.equal(r.status, 429)
    assert.deepEqual(r.body, { errors: ['request path "auth/token/lookup-self": rate limit quota exceeded'] })
    assert.equal(r.headers.get('retry-after'), '7')
    assert.equal((await call(vault, 'GET', 'secret/data/app/db', { token })).status, 200)
  })

  it('500 on a path prefix', async () => {
    vault.injectFault({ kind: 'error', path: 'secret/data/*', times: 1 })
    const r = await call(vault, 'GET', 'secret/data/app/db', { token })
    assert.equal(r.status, 500)
    assert.deepEqual(r.body, { errors: ['internal error'] })
  })

  it('latency makes a client with a shorter timeout give up (real ms)', async () => {
    vault.injectFault({ kind: 'latency', latencyMs: 300, times: 1 })
    const client = nodeVault({ endpoint: vault.address, token })
    const f = await failure(client.read('secret/data/app/db', { timeout: 30 }))
    assert.equal(f.code, 'ECONNABORTED')
    assert.equal((await client.read('secret/data/app/db')).data.data.foo, 'bar')
  })

  it('reset destroys the connection mid-response', async () => {
    vault.injectFault({ kind: 'reset', operation: 'lookup', times: 1 })
    const client = nodeVault({ endpoint: vault.address, token })
    const f = await failure(client.tokenLookupSelf())
    assert.equal(f.status, undefined)
    assert.ok(f.code, 'a socket-level error')
    assert.equal((await client.tokenLookupSelf()).data.id, token)
    assert.deepEqual(vault.counters().results.lookup, { reset: 1, '200': 1 })
  })

  it('stopListening: connection refused; startListening: same address, same tokens', async () => {
    const address = vault.address
    await vault.stopListening()
    assert.equal(await fetchError(`${address}/v1/sys/health`), 'ECONNREFUSED')
    await vault.startListening()
    assert.equal(vault.address, address)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token })).status, 200)
  })
})

describe('devserver: counters', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('counts requests by operation and result, and storage writes (login, renew, revoke, create)', async () => {
    vault.putSecret('secret', 'app/db', { foo: 'bar' })
    const token = await loginApp(vault, clock)
    await call(vault, 'GET', 'auth/token/lookup-self', { token })
    await call(vault, 'GET', 'auth/token/lookup-self', { token })
    await call(vault, 'POST', 'auth/token/renew-self', { token })
    await call(vault, 'GET', 'secret/data/app/db', { token })
    await call(vault, 'GET', 'secret/data/app/missing', { token })
    await call(vault, 'POST', 'auth/token/create', { token: vault.rootToken, body: { ttl: 60 } })
    await call(vault, 'POST', 'auth/token/revoke-self', { token })
    await call(vault, 'GET', 'auth/token/lookup-self', { token })
    await call(vault, 'GET', 'sys/health')
    await call(vault, 'GET', 'sys/mounts', { token: vault.rootToken })
    await call(vault, 'PUT', 'sys/leases/lookup', { token: vault.rootToken, body: { lease_id: 'x' } })

    const c = vault.counters()
    assert.deepEqual(c.requests, { login: 1, lookup: 3, renew: 1, revoke: 1, create: 1, read: 2, lease: 1, health: 1, other: 1 })
    assert.deepEqual(c.results.lookup, { '200': 2, '403': 1 })
    assert.deepEqual(c.results.read, { '200': 1, '404': 1 })
    assert.deepEqual(c.results.revoke, { '204': 1 })
    assert.equal(c.ok.lookup, 2)
    assert.equal(c.errors.lookup, 1)
    assert.equal(c.storageWrites, 4)
    assert.equal(c.total, 12)
    assert.deepEqual(c.deadTokenRequests.map((d) => [d.operation, d.reason]), [['lookup', 'revoked']])

    vault.resetCounters()
    const empty = vault.counters()
    assert.equal(empty.total, 0)
    assert.equal(empty.storageWrites, 0)
    assert.deepEqual(empty.deadTokenRequests, [])
  })
})
