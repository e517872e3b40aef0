import assert from 'node:assert/strict'
import type { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { ENVELOPE_KEYS, HOUR, appVault, call } from './helpers.js'

describe('devserver: kubernetes login', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  const jwtFor = (ns = 'default', sa = 'app', ttlMs = HOUR, style?: 'legacy' | 'projected') =>
    vault.makeServiceAccountJwt({ namespace: ns, serviceAccount: sa, expiresAt: clock.now() + ttlMs, style })

  it('answers with Vault\'s envelope and auth block, TTL from the role', async () => {
    const r = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: jwtFor() } })
    assert.equal(r.status, 200)
    assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS)
    assert.equal(r.body.data, null)
    assert.equal(r.body.warnings, null)
    const auth = r.body.auth
    assert.match(auth.client_token, /^hvs\./)
    assert.equal(typeof auth.accessor, 'string')
    assert.deepEqual(auth.policies, ['app', 'default'])
    assert.equal(auth.lease_duration, 3600)
    assert.equal(auth.renewable, true)
    assert.equal(auth.token_type, 'service')
    assert.equal(auth.orphan, true)
    assert.equal(auth.num_uses, 0)
    assert.deepEqual(Object.keys(auth.metadata).sort(), [
      'role',
      'service_account_name',
      'service_account_namespace',
      'service_account_secret_name',
      'service_account_uid',
    ])
    assert.equal(auth.metadata.role, 'app')
    assert.equal(auth.metadata.service_account_name, 'app')
    assert.equal(auth.metadata.service_account_namespace, 'default')
  })

  it('reads the flat claims of legacy service-account tokens too', async () => {
    const r = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: jwtFor('default', 'app', HOUR, 'legacy') } })
    assert.equal(r.status, 200)
    assert.equal(r.body.auth.metadata.service_account_name, 'app')
  })

  it('keeps the same entity for the same service account', async () => {
    const a = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: jwtFor() } })
    const b = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: jwtFor() } })
    assert.equal(a.body.auth.entity_id, b.body.auth.entity_id)
    assert.notEqual(a.body.auth.client_token, b.body.auth.client_token)
  })

  it('400 for a missing role or jwt', async () => {
    const noRole = await call(vault, 'POST', 'auth/kubernetes/login', { body: { jwt: jwtFor() } })
    assert.equal(noRole.status, 400)
    assert.deepEqual(noRole.body, { errors: ['missing role'] })
    const noJwt = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app' } })
    assert.equal(noJwt.status, 400)
    assert.deepEqual(noJwt.body, { errors: ['missing jwt'] })
  })

  it('400 invalid role name for an unknown role', async () => {
    const r = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'foo', jwt: jwtFor() } })
    assert.equal(r.status, 400)
    assert.deepEqual(r.body, { errors: ['invalid role name "foo"'] })
  })

  it('403 for an expired JWT, judged on the injected clock with the plugin\'s 60 s clock-skew leeway', async () => {
    const jwt = jwtFor('default', 'app', 10 * 60_000)
    // vault-plugin-auth-kubernetes validates with hashicorp/cap: still accepted up to 60 s past exp.
    await clock.advance(10 * 60_000 + 60_000)
    assert.equal((await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt } })).status, 200)
    await clock.advance(1_000)
    const r = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt } })
    assert.equal(r.status, 403)
    assert.deepEqual(r.body, { errors: ['invalid expiration time (exp) claim: token is expired'] })
  })

  it('403 for a JWT issued more than 60 s in the future, and for an audience the role does not expect', async () => {
    const future = vault.makeServiceAccountJwt({ namespace: 'default', serviceAccount: 'app', issuedAt: clock.now() + 61_000, expiresAt: clock.now() + HOUR })
    const r = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: future } })
    assert.equal(r.status, 403)
    assert.deepEqual(r.body, { errors: ['invalid not before (nbf) claim: token not yet valid'] })
    vault.writeRole('kubernetes', 'aud', { policies: ['app'], audience: 'vault' })
    const wrongAud = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'aud', jwt: jwtFor() } })
    assert.equal(wrongAud.status, 403)
    assert.deepEqual(wrongAud.body, { errors: ['invalid audience (aud) claim: audience claim does not match any expected audience'] })
    const rightAud = vault.makeServiceAccountJwt({ namespace: 'default', serviceAccount: 'app', expiresAt: clock.now() + HOUR, audiences: ['vault'] })
    assert.equal((await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'aud', jwt: rightAud } })).status, 200)
  })

  it('403 for a service account or namespace the role does not bind', async () => {
    const sa = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: jwtFor('default', 'other') } })
    assert.equal(sa.status, 403)
    assert.deepEqual(sa.body, { errors: ['service account name not authorized'] })
    const ns = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: jwtFor('kube-system', 'app') } })
    assert.equal(ns.status, 403)
    assert.deepEqual(ns.body, { errors: ['namespace not authorized'] })
  })

  it('403 permission denied for a JWT the cluster does not accept (rejected, rotated, unknown)', async () => {
    const rejected = jwtFor()
    vault.rejectJwt(rejected)
    const a = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: rejected } })
    assert.equal(a.status, 403)
    assert.deepEqual(a.body, { errors: ['permission denied'] })

    const old = jwtFor()
    const fresh = vault.makeServiceAccountJwt({ namespace: 'default', serviceAccount: 'app', expiresAt: clock.now() + HOUR, accept: false })
    vault.rotateJwts([fresh])
    assert.equal((await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: old } })).status, 403)
    assert.equal((await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: fresh } })).status, 200)

    const garbage = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'app', jwt: 'not-a-jwt' } })
    assert.equal(garbage.status, 403)
  })

  it('issues batch tokens for a batch role: no accessor, not renewable', async () => {
    vault.writeRole('kubernetes', 'batch', { policies: ['app'], token_ttl: '20m', token_type: 'batch' })
    const r = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'batch', jwt: jwtFor() } })
    assert.equal(r.status, 200)
    assert.match(r.body.auth.client_token, /^hvb\./)
    assert.equal(r.body.auth.token_type, 'batch')
    assert.equal(r.body.auth.renewable, false)
    assert.equal(r.body.auth.accessor, '')
    assert.equal(r.body.auth.lease_duration, 1200)
  })

  it('warns and caps when the role TTL exceeds its max TTL', async () => {
    vault.writeRole('kubernetes', 'short', { policies: ['app'], token_ttl: '1h', token_max_ttl: '10m' })
    const r = await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'short', jwt: jwtFor() } })
    assert.equal(r.body.auth.lease_duration, 600)
    assert.deepEqual(r.body.warnings, ['TTL of "1h" exceeded the effective max_ttl of "10m"; TTL value is capped accordingly'])
  })

  it('403 on a mount that is not enabled; 405 unsupported operation for GET', async () => {
    assert.equal((await call(vault, 'POST', 'auth/nope/login', { body: { role: 'app', jwt: jwtFor() } })).status, 403)
    const get = await call(vault, 'GET', 'auth/kubernetes/login')
    assert.equal(get.status, 405)
    assert.deepEqual(get.body, { errors: ['unsupported operation'] })
  })

  it('400 for a body that is not JSON', async () => {
    const r = await call(vault, 'POST', 'auth/kubernetes/login', { rawBody: '{nope' })
    assert.equal(r.status, 400)
    assert.match(r.body.errors[0], /^failed to decode JSON input/)
  })
})

describe('devserver: approle login', () => {
  let vault: DevVault
  beforeEach(async () => ({ vault } = await appVault()))
  afterEach(() => vault.close())

  it('logs in with role_id + secret_id; 400 invalid role or secret ID otherwise', async () => {
    vault.enableApproleAuth()
    const role = vault.writeRole('approle', 'ci', { policies: ['app'], token_ttl: '20m', role_id: 'ci-role-id' })
    const secretId = vault.addSecretId('approle', 'ci')
    const ok = await call(vault, 'POST', 'auth/approle/login', { body: { role_id: role.role_id, secret_id: secretId } })
    assert.equal(ok.status, 200)
    assert.equal(ok.body.auth.lease_duration, 1200)
    assert.deepEqual(ok.body.auth.metadata, { role_name: 'ci' })

    const badSecret = await call(vault, 'POST', 'auth/approle/login', { body: { role_id: role.role_id, secret_id: 'wrong' } })
    assert.equal(badSecret.status, 400)
    assert.deepEqual(badSecret.body, { errors: ['invalid role or secret ID'] })
    const badRole = await call(vault, 'POST', 'auth/approle/login', { body: { role_id: 'wrong', secret_id: secretId } })
    assert.deepEqual(badRole.body, { errors: ['invalid role or secret ID'] })
  })
})
