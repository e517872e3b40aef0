import assert from 'node:assert/strict'
import type { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { ENVELOPE_KEYS, appVault, call, loginApp } from './helpers.js'

/** What `vault kv put` / `vault kv get` send, and curl users copy from Vault's API docs. */
describe('devserver: KV writes over HTTP', () => {
  let vault: DevVault
  let clock: ManualClock
  let root: string
  beforeEach(async () => {
    ;({ vault, clock } = await appVault())
    root = vault.rootToken
  })
  afterEach(() => vault.close())

  it('KV v2: POST/PUT data/<path> with {data, options.cas} answers the version metadata; reads see it', async () => {
    const first = await call(vault, 'POST', 'secret/data/app/db', { token: root, body: { data: { password: 'one' } } })
    assert.equal(first.status, 200)
    assert.deepEqual(Object.keys(first.body).sort(), ENVELOPE_KEYS)
    assert.deepEqual(first.body.data, { created_time: new Date(clock.now()).toISOString(), custom_metadata: null, deletion_time: '', destroyed: false, version: 1 })
    const second = await call(vault, 'PUT', 'secret/data/app/db', { token: root, body: { data: { password: 'two' }, options: { cas: 1 } } })
    assert.equal(second.body.data.version, 2)
    const stale = await call(vault, 'PUT', 'secret/data/app/db', { token: root, body: { data: { password: 'three' }, options: { cas: 1 } } })
    assert.equal(stale.status, 400)
    assert.deepEqual(stale.body, { errors: ['check-and-set parameter did not match the current version'] })
    assert.deepEqual((await call(vault, 'PUT', 'secret/data/app/new', { token: root, body: { data: {}, options: { cas: 0 } } })).body.data.version, 1)
    assert.deepEqual((await call(vault, 'PUT', 'secret/data/app/x', { token: root, body: { password: 'no data wrapper' } })).body, { errors: ['no data provided'] })
    assert.deepEqual((await call(vault, 'GET', 'secret/data/app/db', { token: root })).body.data.data, { password: 'two' })
  })

  it('KV v2: DELETE data/<path> soft-deletes the latest version; delete/undelete/destroy take versions; metadata lists and deletes', async () => {
    vault.putSecret('secret', 'app/db', { v: 1 })
    vault.putSecret('secret', 'app/db', { v: 2 })
    assert.equal((await call(vault, 'DELETE', 'secret/data/app/db', { token: root })).status, 204)
    assert.equal((await call(vault, 'GET', 'secret/data/app/db', { token: root })).status, 404)
    assert.equal((await call(vault, 'POST', 'secret/undelete/app/db', { token: root, body: { versions: [2] } })).status, 204)
    assert.deepEqual((await call(vault, 'GET', 'secret/data/app/db', { token: root })).body.data.data, { v: 2 })
    assert.equal((await call(vault, 'PUT', 'secret/destroy/app/db', { token: root, body: { versions: [1] } })).status, 204)
    assert.equal((await call(vault, 'GET', 'secret/data/app/db?version=1', { token: root })).body.data.metadata.destroyed, true)
    vault.putSecret('secret', 'app/sub/key', { v: 1 })
    // Lists are GET ?list=true, what Vault's Go client (and so the CLI) sends; Node's HTTP parser refuses the LIST method.
    assert.deepEqual((await call(vault, 'GET', 'secret/metadata/app?list=true', { token: root })).body.data.keys, ['db', 'sub/'])
    assert.deepEqual((await call(vault, 'GET', 'secret/metadata/?list=true', { token: root })).body.data.keys, ['app/'])
    assert.equal((await call(vault, 'DELETE', 'secret/metadata/app/db', { token: root })).status, 204)
    assert.equal((await call(vault, 'GET', 'secret/metadata/app/db', { token: root })).status, 404)
  })

  it('KV v1: PUT <mount>/<path> with the data as the body (204), a ttl key sets lease_duration, DELETE, list', async () => {
    vault.enableKv('kv', 1)
    assert.equal((await call(vault, 'PUT', 'kv/app/db', { token: root, body: { password: 'p', ttl: '30' } })).status, 204)
    const r = await call(vault, 'GET', 'kv/app/db', { token: root })
    assert.deepEqual(r.body.data, { password: 'p', ttl: '30' })
    assert.equal(r.body.lease_duration, 30)
    assert.deepEqual((await call(vault, 'POST', 'kv/app/empty', { token: root, body: {} })).body, { errors: ['missing data fields'] })
    assert.deepEqual((await call(vault, 'GET', 'kv/app/?list=true', { token: root })).body.data.keys, ['db'])
    assert.equal((await call(vault, 'DELETE', 'kv/app/db', { token: root })).status, 204)
    assert.equal((await call(vault, 'GET', 'kv/app/db', { token: root })).status, 404)
  })

  it('writes are ACL-checked: a read-only policy cannot write; create and update are told apart by the existence check', async () => {
    const token = await loginApp(vault, clock)
    assert.deepEqual((await call(vault, 'POST', 'secret/data/app/db', { token, body: { data: { v: 1 } } })).body, { errors: ['1 error occurred:\n\t* permission denied\n\n'] })
    vault.writePolicy('app', [{ path: 'secret/data/app/*', capabilities: ['read', 'update'] }])
    assert.equal((await call(vault, 'POST', 'secret/data/app/db', { token, body: { data: { v: 1 } } })).status, 403, 'a new secret needs create')
    vault.putSecret('secret', 'app/db', { v: 0 })
    assert.equal((await call(vault, 'POST', 'secret/data/app/db', { token, body: { data: { v: 1 } } })).status, 200, 'an existing one needs update')
  })

  it('sys/internal/ui/mounts/<path>: the preflight `vault kv` sends to learn the mount and its KV version', async () => {
    vault.enableKv('kv', 1)
    const v2 = await call(vault, 'GET', 'sys/internal/ui/mounts/secret/app/db', { token: root })
    assert.equal(v2.status, 200)
    assert.deepEqual([v2.body.data.path, v2.body.data.type, v2.body.data.options], ['secret/', 'kv', { version: '2' }])
    assert.deepEqual((await call(vault, 'GET', 'sys/internal/ui/mounts/kv/x', { token: root })).body.data.options, { version: '1' })
    const token = await loginApp(vault, clock)
    assert.equal((await call(vault, 'GET', 'sys/internal/ui/mounts/secret/app/db', { token })).status, 200, 'a policy on secret/data/app/ gives access to the mount')
    const denied = await call(vault, 'GET', 'sys/internal/ui/mounts/kv/x', { token })
    assert.equal(denied.status, 403)
    assert.deepEqual(denied.body, { errors: ['preflight capability check returned 403, please ensure client\'s policies grant access to path "kv/x/"'] })
    assert.equal((await call(vault, 'GET', 'sys/internal/ui/mounts/nowhere', { token: root })).status, 403, 'an unknown mount looks the same')
  })
})
