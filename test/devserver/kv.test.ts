import assert from 'node:assert/strict'
import type { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { ENVELOPE_KEYS, HOUR, appVault, call, loginApp } from './helpers.js'

describe('devserver: KV reads and policies', () => {
  let vault: DevVault
  let clock: ManualClock
  let token: string
  beforeEach(async () => {
    ;({ vault, clock } = await appVault())
    token = await loginApp(vault, clock)
  })
  afterEach(() => vault.close())

  it('KV v1: data with the mount\'s advisory lease; missing -> 404 {"errors":[]}', async () => {
    vault.enableKv('kv', 1)
    vault.writePolicy('app', ['kv/app/', 'secret/data/app/'])
    vault.putSecret('kv', 'app/db', { foo: 'bar' })
    const r = await call(vault, 'GET', 'kv/app/db', { token })
    assert.equal(r.status, 200)
    assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS)
    assert.deepEqual(r.body.data, { foo: 'bar' })
    assert.equal(r.body.lease_duration, 2764800)
    assert.equal(r.body.renewable, false)
    const missing = await call(vault, 'GET', 'kv/app/nope', { token })
    assert.equal(missing.status, 404)
    assert.deepEqual(missing.body, { errors: [] })
  })

  it('KV v2: latest, ?version=N, and metadata', async () => {
    const t1 = clock.now()
    vault.putSecret('secret', 'app/db', { foo: 'one' })
    await clock.advance(HOUR / 2)
    vault.putSecret('secret', 'app/db', { foo: 'two' })
    const latest = await call(vault, 'GET', 'secret/data/app/db', { token })
    assert.equal(latest.status, 200)
    assert.deepEqual(latest.body.data, {
      data: { foo: 'two' },
      metadata: { created_time: new Date(clock.now()).toISOString(), custom_metadata: null, deletion_time: '', destroyed: false, version: 2 },
    })
    const v1 = await call(vault, 'GET', 'secret/data/app/db?version=1', { token })
    assert.deepEqual(v1.body.data.data, { foo: 'one' })
    assert.equal(v1.body.data.metadata.created_time, new Date(t1).toISOString())
    assert.equal((await call(vault, 'GET', 'secret/data/app/db?version=3', { token })).status, 404)

    const meta = await call(vault, 'GET', 'secret/metadata/app/db', { token })
    assert.equal(meta.status, 200)
    assert.equal(meta.body.data.current_version, 2)
    assert.deepEqual(Object.keys(meta.body.data.versions), ['1', '2'])
  })

  it('KV v2: soft-deleted and destroyed versions are 404 with data.data null and metadata set', async () => {
    vault.putSecret('secret', 'app/db', { foo: 'one' })
    vault.putSecret('secret', 'app/db', { foo: 'two' })
    vault.deleteSecret('secret', 'app/db')
    const deleted = await call(vault, 'GET', 'secret/data/app/db', { token })
    assert.equal(deleted.status, 404)
    assert.deepEqual(Object.keys(deleted.body).sort(), ENVELOPE_KEYS)
    assert.equal(deleted.body.data.data, null)
    assert.equal(deleted.body.data.metadata.version, 2)
    assert.equal(deleted.body.data.metadata.deletion_time, new Date(clock.now()).toISOString())
    assert.equal(deleted.body.data.metadata.destroyed, false)

    vault.destroySecret('secret', 'app/db', { versions: [1] })
    const destroyed = await call(vault, 'GET', 'secret/data/app/db?version=1', { token })
    assert.equal(destroyed.status, 404)
    assert.equal(destroyed.body.data.data, null)
    assert.equal(destroyed.body.data.metadata.destroyed, true)
  })

  it('KV v2: a missing path is a bare 404; a read without data/ is 404 with the KV plugin\'s warning (KES #439, #857)', async () => {
    vault.writePolicy('app', ['secret/'])
    vault.putSecret('secret', 'app/db', { foo: 'bar' })
    const missing = await call(vault, 'GET', 'secret/data/app/nope', { token })
    assert.equal(missing.status, 404)
    assert.deepEqual(missing.body, { errors: [] })
    const noData = await call(vault, 'GET', 'secret/app/db', { token })
    assert.equal(noData.status, 404)
    assert.deepEqual(Object.keys(noData.body).sort(), ENVELOPE_KEYS)
    assert.equal(noData.body.data, null)
    assert.deepEqual(noData.body.warnings, [
      "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.",
    ])
    const put = await call(vault, 'POST', 'secret/app/db', { token: vault.rootToken, body: { foo: 'x' } })
    assert.equal(put.status, 404)
    assert.match(put.body.warnings[0], /use 'vault kv put' for this operation/)
  })

  it('a read without data/ by a token whose policy covers only data/: the ACL answers first (403, not 404)', async () => {
    vault.putSecret('secret', 'app/db', { foo: 'bar' })
    const r = await call(vault, 'GET', 'secret/app/db', { token })
    assert.equal(r.status, 403)
    assert.deepEqual(r.body, { errors: ['1 error occurred:\n\t* permission denied\n\n'] })
  })

  it('a valid token without a policy for the path: 403 multierror-wrapped permission denied, without "invalid token"', async () => {
    vault.putSecret('secret', 'other/db', { foo: 'bar' })
    const r = await call(vault, 'GET', 'secret/data/other/db', { token })
    assert.equal(r.status, 403)
    assert.deepEqual(r.body, { errors: ['1 error occurred:\n\t* permission denied\n\n'] })
    assert.deepEqual(vault.counters().deadTokenRequests, [])
  })

  it('reads with an expired or revoked token are 403 and recorded', async () => {
    vault.putSecret('secret', 'app/db', { foo: 'bar' })
    await clock.advance(HOUR)
    const r = await call(vault, 'GET', 'secret/data/app/db', { token })
    assert.equal(r.status, 403)
    assert.deepEqual(vault.counters().deadTokenRequests.map((d) => [d.operation, d.path, d.reason]), [
      ['read', 'secret/data/app/db', 'expired'],
    ])
  })

  it('unknown mount: 404 "no handler for route" for the root token, 403 for a token without a policy for it', async () => {
    const r = await call(vault, 'GET', 'nowhere/x', { token: vault.rootToken })
    assert.equal(r.status, 404)
    assert.deepEqual(r.body, { errors: ['no handler for route "nowhere/x". route entry not found.'] })
    assert.equal((await call(vault, 'GET', 'nowhere/x', { token })).status, 403)
  })
})

describe('devserver: namespaces', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('tokens, roles and secrets live in their namespace; a token used elsewhere is 403', async () => {
    const ns = { namespace: 'team-a' }
    vault.enableKubernetesAuth('kubernetes', ns)
    vault.enableKv('secret', 2, ns)
    vault.writePolicy('app', ['secret/data/app/'], ns)
    vault.writeRole('kubernetes', 'app', { policies: ['app'], token_ttl: '1h' }, ns)
    vault.putSecret('secret', 'app/db', { team: 'a' }, ns)
    vault.putSecret('secret', 'app/db', { team: 'root' })

    const teamToken = await loginApp(vault, clock, 'app', 'team-a')
    const inNs = await call(vault, 'GET', 'secret/data/app/db', { token: teamToken, namespace: 'team-a' })
    assert.equal(inNs.status, 200)
    assert.deepEqual(inNs.body.data.data, { team: 'a' })
    const lookup = await call(vault, 'GET', 'auth/token/lookup-self', { token: teamToken, namespace: 'team-a/' })
    assert.equal(lookup.status, 200)

    assert.equal((await call(vault, 'GET', 'secret/data/app/db', { token: teamToken })).status, 403)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token: teamToken, namespace: 'team-b' })).status, 403)

    const rootToken = await loginApp(vault, clock)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token: rootToken, namespace: 'team-a' })).status, 403)
    assert.deepEqual((await call(vault, 'GET', 'secret/data/app/db', { token: rootToken })).body.data.data, { team: 'root' })
  })
})
