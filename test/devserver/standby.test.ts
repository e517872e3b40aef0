import assert from 'node:assert/strict'
import nodeVault from 'node-vault'
import type { ManualClock } from '../../lib/clock.js'
import { type DevVault, startDevVault } from '../../lib/devserver/index.js'
import { HOUR, appVault, call } from './helpers.js'

describe('devserver: a standby forwards to the active node (Vault\'s default)', () => {
  let vault: DevVault
  let standby: DevVault
  let clock: ManualClock
  beforeEach(async () => {
    ;({ vault, clock } = await appVault())
    standby = await startDevVault({ clock, standbyOf: vault })
    vault.putSecret('secret', 'app/db', { foo: 'bar' })
  })
  afterEach(async () => {
    await standby.close()
    await vault.close()
  })

  it('answers as the active node answers, for GET and POST; the active node counts the requests', async () => {
    assert.equal(standby.standbyMode, 'forward')
    const jwt = vault.makeServiceAccountJwt({ namespace: 'default', serviceAccount: 'app', expiresAt: clock.now() + HOUR })
    const login = await call(standby, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt } })
    assert.equal(login.status, 200)
    const token = login.body.auth.client_token
    const read = await call(standby, 'GET', 'secret/data/app/db', { token })
    assert.deepEqual(read.body.data.data, { foo: 'bar' })
    const denied = await call(standby, 'GET', 'secret/data/other', { token })
    assert.equal(denied.status, 403)
    assert.equal(standby.counters().forwarded, 3)
    assert.equal(standby.counters().redirects, 0)
    assert.deepEqual([vault.counters().requests.login, vault.counters().requests.read], [1, 2])
  })

  it('X-Vault-No-Request-Forwarding: a 307 to the active node instead', async () => {
    const res = await fetch(`${standby.address}/v1/secret/data/app/db?version=1`, { headers: { 'X-Vault-Token': vault.rootToken, 'X-Vault-No-Request-Forwarding': 'true' }, redirect: 'manual' })
    assert.equal(res.status, 307)
    assert.equal(res.headers.get('location'), `${vault.address}/v1/secret/data/app/db?version=1`)
  })

  it('no active node: 500 "local node not active but active cluster node not found"; an unreachable one: a 307 to it', async () => {
    standby.setActiveNode(undefined)
    const none = await call(standby, 'GET', 'secret/data/app/db', { token: vault.rootToken })
    assert.equal(none.status, 500)
    assert.deepEqual(none.body, { errors: ['local node not active but active cluster node not found'] })
    standby.setActiveNode(vault)
    await vault.stopListening()
    const down = await call(standby, 'GET', 'secret/data/app/db', { token: vault.rootToken })
    assert.equal(down.status, 307)
    assert.equal(down.headers.get('location'), `${vault.address}/v1/secret/data/app/db`)
  })

  it('sys/health is the standby\'s own: 429, or 200 with standbyok', async () => {
    assert.equal((await call(standby, 'GET', 'sys/health')).status, 429)
    assert.equal((await call(standby, 'GET', 'sys/health?standbyok=true')).status, 200)
    assert.equal(vault.counters().requests.health, 0)
  })
})

describe('devserver: a standby in redirect mode answers 307', () => {
  let vault: DevVault
  let standby: DevVault
  let clock: ManualClock
  beforeEach(async () => {
    ;({ vault, clock } = await appVault())
    standby = await vault.startStandby({ standbyMode: 'redirect' })
    vault.putSecret('secret', 'app/db', { foo: 'bar' })
  })
  afterEach(async () => {
    await standby.close()
    await vault.close()
  })

  it('answers 307 with Location = active address + same path and query, GET and POST', async () => {
    const get = await call(standby, 'GET', 'secret/data/app/db?version=1', { token: vault.rootToken })
    assert.equal(get.status, 307)
    assert.equal(get.headers.get('location'), `${vault.address}/v1/secret/data/app/db?version=1`)
    const post = await call(standby, 'POST', 'auth/token/renew-self', { token: vault.rootToken, body: { increment: 60 } })
    assert.equal(post.status, 307)
    assert.equal(post.headers.get('location'), `${vault.address}/v1/auth/token/renew-self`)
    assert.equal(standby.counters().redirects, 2)
    assert.equal(vault.counters().total, 0)
  })

  it('with no active node to redirect to: 503 "no active Vault instance found"', async () => {
    standby.setActiveNode(undefined)
    const r = await call(standby, 'GET', 'secret/data/app/db', { token: vault.rootToken })
    assert.equal(r.status, 503)
    assert.deepEqual(r.body, { errors: ['no active Vault instance found'] })
  })

  it('node-vault follows the redirect for GET and POST and the X-Vault-Token survives it', async () => {
    const jwt = vault.makeServiceAccountJwt({ namespace: 'default', serviceAccount: 'app', expiresAt: clock.now() + HOUR })
    const client = nodeVault({ endpoint: standby.address })
    const login = await client.kubernetesLogin({ role: 'app', jwt, mount_point: 'kubernetes' })
    assert.equal(login.auth.lease_duration, 3600)
    const lookup = await client.tokenLookupSelf()
    assert.equal(lookup.data.id, login.auth.client_token)
    const renew = await client.tokenRenewSelf({ increment: 600 })
    assert.equal(renew.auth.lease_duration, 600)
    const read = await client.read('secret/data/app/db')
    assert.deepEqual(read.data.data, { foo: 'bar' })

    assert.equal(standby.counters().redirects, 4)
    const active = vault.counters()
    assert.deepEqual([active.requests.login, active.requests.lookup, active.requests.renew, active.requests.read], [1, 1, 1, 1])
    assert.deepEqual(active.deadTokenRequests, [])
    assert.equal(active.errors.lookup + active.errors.renew + active.errors.read, 0)
  })

  it('startStandby() without a mode stays a 307 standby (what tests written before forwarding rely on)', async () => {
    const legacy = await vault.startStandby()
    try {
      assert.equal(legacy.standbyMode, 'redirect')
      assert.equal((await call(legacy, 'GET', 'secret/data/app/db', { token: vault.rootToken })).status, 307)
    } finally {
      await legacy.close()
    }
  })
})
