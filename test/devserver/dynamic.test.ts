import assert from 'node:assert/strict'
import type { ManualClock } from '../../lib/clock.js'
import { ACL_DENIED, type DevVault } from '../../lib/devserver/index.js'
import { ENVELOPE_KEYS, HOUR, MINUTE, appVault, call, loginApp } from './helpers.js'

/** The app role may read database/creds/app; its tokens (TTL 1 h, max 4 h) get the default policy too. */
async function dbVault(engine: { renewable?: boolean; max_ttl?: string } = {}): Promise<{ vault: DevVault; clock: ManualClock }> {
  const { vault, clock } = await appVault()
  vault.enableDatabase('database', { max_ttl: engine.max_ttl ?? '24h', renewable: engine.renewable })
  vault.writeDatabaseRole('database', 'app', { default_ttl: '1h', max_ttl: '3h' })
  vault.writePolicy('app', ['secret/data/app/', 'database/creds/app'])
  return { vault, clock }
}

const mint = (vault: DevVault, token: string) => call(vault, 'GET', 'database/creds/app', { token })
const renew = (vault: DevVault, token: string, body: Record<string, unknown>) => call(vault, 'PUT', 'sys/leases/renew', { token, body })

describe('devserver: dynamic secrets (database engine, sys/leases)', () => {
  let vault: DevVault
  let clock: ManualClock
  afterEach(() => vault.close())

  describe('minting', () => {
    beforeEach(async () => ({ vault, clock } = await dbVault()))

    it('every read of creds/<role> is a new user under a new lease (pathCredsCreateRead, Register)', async () => {
      const token = await loginApp(vault, clock)
      const before = vault.counters().storageWrites
      const a = await mint(vault, token)
      const b = await mint(vault, token)
      assert.equal(a.status, 200)
      assert.deepEqual(Object.keys(a.body).sort(), ENVELOPE_KEYS)
      assert.match(a.body.lease_id, /^database\/creds\/app\/[A-Za-z0-9]{24}$/)
      assert.equal(a.body.lease_duration, 3600, "the role's default_ttl")
      assert.equal(a.body.renewable, true)
      assert.deepEqual(Object.keys(a.body.data).sort(), ['password', 'username'])
      assert.match(a.body.data.username, /^v-kubernetes-default-app-app-/)
      assert.notEqual(a.body.lease_id, b.body.lease_id)
      assert.notEqual(a.body.data.username, b.body.data.username)
      assert.notEqual(a.body.data.password, b.body.data.password)
      assert.equal(vault.liveCredentials({ role: 'app' }), 2)
      assert.equal(vault.leaseCounts().minted, 2)
      assert.equal(vault.counters().storageWrites - before, 2, 'each mint writes its lease')
      assert.equal(vault.counters().requests.read, 2)
    })

    it('an unknown role is a 400; a path the policy does not grant is the ACL 403', async () => {
      const token = await loginApp(vault, clock)
      const unknown = await call(vault, 'GET', 'database/creds/nope', { token: vault.rootToken })
      assert.deepEqual([unknown.status, unknown.body], [400, { errors: ['unknown role: nope'] }])
      vault.writeDatabaseRole('database', 'other')
      const denied = await call(vault, 'GET', 'database/creds/other', { token })
      assert.deepEqual([denied.status, denied.body], [403, { errors: [ACL_DENIED] }])
      assert.equal(vault.liveCredentials(), 0)
    })

    it('a role without TTLs takes the mount\'s; a batch token\'s lease ends with the token (Register)', async () => {
      vault.writeDatabaseRole('database', 'app', { default_ttl: 0, max_ttl: 0 })
      vault.enableDatabase('short', { default_ttl: '10m', max_ttl: '1h' })
      vault.writeDatabaseRole('short', 'app')
      vault.writePolicy('app', ['database/creds/app', 'short/creds/app'])
      const token = await loginApp(vault, clock)
      assert.equal((await call(vault, 'GET', 'short/creds/app', { token })).body.lease_duration, 600)
      vault.writeRole('kubernetes', 'batch', { policies: ['app'], token_ttl: '5m', token_type: 'batch', bound_service_account_names: ['app'], bound_service_account_namespaces: ['default'] })
      const batch = await loginApp(vault, clock, 'batch')
      assert.equal((await mint(vault, batch)).body.lease_duration, 300)
    })
  })

  describe('sys/leases/renew (ExpirationManager.Renew)', () => {
    beforeEach(async () => ({ vault, clock } = await dbVault()))

    it('counts the new TTL from now: the role\'s default_ttl, or the increment; the default policy allows it', async () => {
      const token = await loginApp(vault, clock)
      const { lease_id } = (await mint(vault, token)).body
      await clock.advance(50 * MINUTE)
      const r = await renew(vault, token, { lease_id })
      assert.equal(r.status, 200)
      assert.deepEqual([r.body.lease_id, r.body.lease_duration, r.body.renewable, r.body.data, r.body.warnings], [lease_id, 3600, true, null, null])
      const look = await call(vault, 'PUT', 'sys/leases/lookup', { token, body: { lease_id } })
      assert.equal(look.body.data.ttl, 3600)
      assert.equal(look.body.data.last_renewal, new Date(clock.now()).toISOString())
      const shorter = await renew(vault, token, { lease_id, increment: 60 })
      assert.equal(shorter.body.lease_duration, 60, 'an increment is counted from now, not added')
      assert.equal(vault.leaseCounts().renewed, 2)
      assert.equal(vault.counters().requests.lease, 3)
    })

    it('capped at issue time + max_ttl with Vault\'s warning, then "past the max TTL" (a 400 through handleError)', async () => {
      const root = vault.rootToken
      const { lease_id } = (await mint(vault, root)).body
      for (let i = 0; i < 2; i++) {
        await clock.advance(50 * MINUTE)
        assert.equal((await renew(vault, root, { lease_id })).body.lease_duration, 3600)
      }
      // 2:30 after issue, max_ttl 3 h: half an hour left.
      await clock.advance(50 * MINUTE)
      const capped = await renew(vault, root, { lease_id })
      assert.equal(capped.body.lease_duration, 1800)
      assert.deepEqual(capped.body.warnings, ['TTL of "1h" exceeded the effective max_ttl of "30m"; TTL value is capped accordingly'])
      await clock.advance(29 * MINUTE + 59_500)
      assert.equal((await renew(vault, root, { lease_id })).body.lease_duration, 1)
      await clock.advance(700)
      // Alive for another 300 ms, but CalculateTTL counts from now truncated to the second: no time left.
      const past = await renew(vault, root, { lease_id })
      assert.deepEqual([past.status, past.body], [400, { errors: ['failed to renew entry: resp: (*logical.Response)(nil) err: past the max TTL, cannot renew'] }])
    })

    it('a lease of an engine whose leases cannot be extended: 400 "lease is not renewable"', async () => {
      vault.enableDatabase('sts', { renewable: false })
      vault.writeDatabaseRole('sts', 'app', { default_ttl: '15m' })
      const { body } = await call(vault, 'GET', 'sts/creds/app', { token: vault.rootToken })
      assert.equal(body.renewable, false)
      const r = await renew(vault, vault.rootToken, { lease_id: body.lease_id })
      assert.deepEqual([r.status, r.body], [400, { errors: ['lease is not renewable'] }])
    })

    it('no lease_id, an unknown or expired lease, a deleted role: Vault\'s 400s', async () => {
      const token = await loginApp(vault, clock)
      assert.deepEqual((await renew(vault, token, {})).body, { errors: ['lease_id must be specified'] })
      assert.deepEqual((await renew(vault, token, { lease_id: 'database/creds/app/nope' })).body, { errors: ['lease not found'] })
      const { lease_id } = (await mint(vault, vault.rootToken)).body
      await clock.advance(HOUR)
      // The expiration manager revoked it at its expire time: it is gone, not "expired".
      assert.deepEqual((await renew(vault, vault.rootToken, { lease_id })).body, { errors: ['lease not found'] })
      assert.deepEqual(vault.leaseCounts().revoked, { request: 0, token: 0, expired: 1 })
    })

    it('the role deleted: "could not find role" from the plugin\'s renew callback', async () => {
      const { lease_id } = (await mint(vault, vault.rootToken)).body
      const del = await call(vault, 'DELETE', 'database/roles/app', { token: vault.rootToken })
      assert.equal(del.status, 204)
      const r = await renew(vault, vault.rootToken, { lease_id })
      assert.deepEqual([r.status, r.body], [400, { errors: ['failed to renew entry: resp: (*logical.Response)(nil) err: error during renew: could not find role with name "app"'] }])
    })
  })

  describe('sys/leases/lookup and sys/leases/revoke', () => {
    beforeEach(async () => ({ vault, clock } = await dbVault()))

    it('lookup: Vault\'s fields, ttl as leaseEntry.ttl(); "invalid lease" for an unknown one', async () => {
      const token = await loginApp(vault, clock)
      const issued = clock.now()
      const { lease_id } = (await mint(vault, token)).body
      await clock.advance(10 * MINUTE + 600)
      const r = await call(vault, 'PUT', 'sys/leases/lookup', { token, body: { lease_id } })
      assert.deepEqual(r.body.data, {
        expire_time: new Date(issued + HOUR).toISOString(),
        id: lease_id,
        issue_time: new Date(issued).toISOString(),
        last_renewal: null,
        path: 'database/creds/app',
        renewable: true,
        ttl: 50 * 60 - 1,
      })
      const unknown = await call(vault, 'PUT', 'sys/leases/lookup', { token, body: { lease_id: 'x' } })
      assert.deepEqual([unknown.status, unknown.body], [400, { errors: ['invalid lease'] }])
    })

    it('revoke: not granted by the default policy (403); with update on sys/leases/revoke, 204 and the user is gone', async () => {
      const token = await loginApp(vault, clock)
      const { lease_id } = (await mint(vault, token)).body
      const denied = await call(vault, 'PUT', 'sys/leases/revoke', { token, body: { lease_id } })
      assert.deepEqual([denied.status, denied.body], [403, { errors: [ACL_DENIED] }])
      // The URL form is a different ACL path; `default` grants only the exact renew and lookup paths.
      assert.equal((await call(vault, 'PUT', `sys/leases/renew/${lease_id}`, { token })).status, 403)
      assert.equal(vault.liveCredentials(), 1)
      vault.writePolicy('app', ['database/creds/app', { path: 'sys/leases/revoke', capabilities: ['update'] }])
      const before = vault.counters().storageWrites
      const ok = await call(vault, 'PUT', 'sys/leases/revoke', { token, body: { lease_id } })
      assert.equal(ok.status, 204)
      assert.equal(vault.liveCredentials(), 0)
      assert.equal((await call(vault, 'PUT', 'sys/leases/revoke', { token, body: { lease_id } })).status, 204, 'revoking what is gone is not an error')
      assert.equal(vault.counters().storageWrites - before, 1)
      assert.deepEqual(vault.leaseCounts().revoked, { request: 1, token: 0, expired: 0 })
      assert.deepEqual((await renew(vault, token, { lease_id })).body, { errors: ['lease not found'] })
    })
  })

  describe('a lease dies with its token (ExpirationManager.RevokeByToken)', () => {
    beforeEach(async () => ({ vault, clock } = await dbVault()))

    it('revoke-self revokes the token\'s leases; another token\'s leases live on', async () => {
      const token = await loginApp(vault, clock)
      const other = await loginApp(vault, clock)
      const { lease_id } = (await mint(vault, token)).body
      await mint(vault, token)
      await mint(vault, other)
      assert.equal((await call(vault, 'POST', 'auth/token/revoke-self', { token })).status, 204)
      assert.equal(vault.liveCredentials(), 1)
      assert.deepEqual(vault.leaseCounts().revoked, { request: 0, token: 2, expired: 0 })
      assert.deepEqual((await renew(vault, other, { lease_id })).body, { errors: ['lease not found'] })
    })

    it('a token that expires takes its leases with it, however long they had left', async () => {
      vault.writeRole('kubernetes', 'app', { policies: ['app'], token_ttl: '10m', bound_service_account_names: ['app'], bound_service_account_namespaces: ['default'] })
      const token = await loginApp(vault, clock)
      const r = await mint(vault, token)
      assert.equal(r.body.lease_duration, 3600, 'a service token does not shorten the lease it reads')
      await clock.advance(10 * MINUTE - 1)
      assert.equal(vault.liveCredentials(), 1)
      await clock.advance(1)
      assert.equal(vault.liveCredentials(), 0)
      assert.deepEqual(vault.leaseCounts().revoked, { request: 0, token: 1, expired: 0 })
      assert.deepEqual(vault.liveLeases(), [])
    })

    it('liveLeases names the token that read each lease', async () => {
      const token = await loginApp(vault, clock)
      const { lease_id } = (await mint(vault, token)).body
      assert.deepEqual(vault.liveLeases().map((l) => [l.id, l.clientToken, l.role]), [[lease_id, token, 'app']])
    })
  })
})
