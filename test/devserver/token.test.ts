import assert from 'node:assert/strict'
import type { ManualClock } from '../../lib/clock.js'
import { type DevVault, INVALID_TOKEN_NEW } from '../../lib/devserver/index.js'
import { ENVELOPE_KEYS, HOUR, MINUTE, appVault, call, loginApp } from './helpers.js'

const INVALID_NEW = { errors: ['2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n'] }
const INVALID_OLD = { errors: ['permission denied'] }

describe('devserver: auth/token/lookup-self', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('returns the token\'s fields, ttl computed at request time', async () => {
    const issued = clock.now()
    const token = await loginApp(vault, clock)
    const r = await call(vault, 'GET', 'auth/token/lookup-self', { token })
    assert.equal(r.status, 200)
    assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS)
    const d = r.body.data
    assert.deepEqual(Object.keys(d).sort(), [
      'accessor', 'creation_time', 'creation_ttl', 'display_name', 'entity_id', 'expire_time', 'explicit_max_ttl', 'id',
      'issue_time', 'meta', 'num_uses', 'orphan', 'path', 'policies', 'renewable', 'ttl', 'type',
    ])
    assert.equal(d.id, token)
    assert.equal(d.ttl, 3600)
    assert.equal(d.creation_ttl, 3600)
    assert.equal(d.creation_time, issued / 1000)
    assert.equal(d.issue_time, new Date(issued).toISOString())
    assert.equal(d.expire_time, new Date(issued + HOUR).toISOString())
    assert.equal(d.explicit_max_ttl, 0)
    assert.equal(d.path, 'auth/kubernetes/login')
    assert.equal(d.display_name, 'kubernetes-default-app')
    assert.deepEqual(d.policies, ['app', 'default'])
    assert.equal(d.type, 'service')
    assert.equal(d.renewable, true)
    assert.equal(d.orphan, true)
    assert.equal(d.meta.role, 'app')

    await clock.advance(25 * MINUTE)
    const later = await call(vault, 'GET', 'auth/token/lookup-self', { token })
    assert.equal(later.body.data.ttl, 35 * 60)
    assert.equal(later.body.data.expire_time, d.expire_time)
  })

  it('accepts Authorization: Bearer as well as X-Vault-Token', async () => {
    const token = await loginApp(vault, clock)
    const r = await call(vault, 'GET', 'auth/token/lookup-self', { bearer: token })
    assert.equal(r.status, 200)
    assert.equal(r.body.data.id, token)
  })

  it('root token: ttl 0, expire_time null, policies root', async () => {
    const r = await call(vault, 'GET', 'auth/token/lookup-self', { token: vault.rootToken })
    assert.equal(r.body.data.ttl, 0)
    assert.equal(r.body.data.expire_time, null)
    assert.deepEqual(r.body.data.policies, ['root'])
    assert.equal(r.body.data.path, 'auth/token/root')
  })

  it('periodic tokens show period; explicit max TTL shows explicit_max_ttl', async () => {
    vault.writeRole('kubernetes', 'periodic', { policies: ['app'], token_period: '30m', token_explicit_max_ttl: '2h' })
    const token = await loginApp(vault, clock, 'periodic')
    const d = (await call(vault, 'GET', 'auth/token/lookup-self', { token })).body.data
    assert.equal(d.period, 1800)
    assert.equal(d.ttl, 1800)
    assert.equal(d.explicit_max_ttl, 7200)
  })

  it('a token past its expire_time is 403 and recorded as a dead-token request', async () => {
    const token = await loginApp(vault, clock)
    await clock.advance(HOUR)
    const r = await call(vault, 'GET', 'auth/token/lookup-self', { token })
    assert.equal(r.status, 403)
    assert.deepEqual(r.body, INVALID_NEW)
    const dead = vault.counters().deadTokenRequests
    assert.deepEqual(dead, [{ operation: 'lookup', path: 'auth/token/lookup-self', reason: 'expired', at: clock.now() }])
  })

  it('an unknown token is 403 and recorded with reason unknown; no token at all is plain permission denied', async () => {
    const r = await call(vault, 'GET', 'auth/token/lookup-self', { token: 'hvs.never-issued' })
    assert.equal(r.status, 403)
    assert.equal(vault.counters().deadTokenRequests[0]?.reason, 'unknown')
    const none = await call(vault, 'GET', 'auth/token/lookup-self')
    assert.equal(none.status, 403)
    assert.deepEqual(none.body, INVALID_OLD)
    assert.equal(vault.counters().deadTokenRequests.length, 1)
  })

  it('num_uses tokens write a use count on every lookup and die on their last use', async () => {
    vault.writeRole('kubernetes', 'limited', { policies: ['app'], token_num_uses: 2 })
    const token = await loginApp(vault, clock, 'limited')
    vault.resetCounters()
    const first = await call(vault, 'GET', 'auth/token/lookup-self', { token })
    assert.equal(first.body.data.num_uses, 1)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token })).status, 200)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token })).status, 403)
    assert.equal(vault.counters().storageWrites, 2)
  })
})

describe('devserver: auth/token/renew-self', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('without increment: the role TTL again, counted from now; last_renewal appears', async () => {
    const token = await loginApp(vault, clock)
    await clock.advance(40 * MINUTE)
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(r.status, 200)
    assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS)
    assert.equal(r.body.warnings, null)
    assert.equal(r.body.auth.client_token, token)
    assert.equal(r.body.auth.lease_duration, 3600)
    assert.equal(r.body.auth.renewable, true)
    assert.equal(r.body.auth.token_type, 'service')
    const d = (await call(vault, 'GET', 'auth/token/lookup-self', { token })).body.data
    assert.equal(d.ttl, 3600)
    assert.equal(d.last_renewal, new Date(clock.now()).toISOString())
    assert.equal(d.last_renewal_time, clock.now() / 1000)
    assert.equal(d.creation_ttl, 3600)
  })

  it('with increment (seconds or "1h"-style): a small increment shortens the token', async () => {
    const token = await loginApp(vault, clock)
    const small = await call(vault, 'POST', 'auth/token/renew-self', { token, body: { increment: 60 } })
    assert.equal(small.body.auth.lease_duration, 60)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token })).body.data.ttl, 60)
    const str = await call(vault, 'POST', 'auth/token/renew-self', { token, body: { increment: '2h' } })
    assert.equal(str.body.auth.lease_duration, 7200)
    const bad = await call(vault, 'POST', 'auth/token/renew-self', { token, body: { increment: '1x' } })
    assert.equal(bad.status, 400)
  })

  it('near the max TTL: success with a shorter lease_duration and Vault\'s capping warning', async () => {
    const token = await loginApp(vault, clock)
    for (let i = 0; i < 4; i++) {
      await clock.advance(50 * MINUTE)
      assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).status, 200)
    }
    // 3h20m in; advance to 10m20s before the 4h max.
    await clock.advance(4 * HOUR - 620_000 - 200 * MINUTE)
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token, body: { increment: 3600 } })
    assert.equal(r.status, 200)
    assert.equal(r.body.auth.lease_duration, 620)
    assert.deepEqual(r.body.warnings, ['TTL of "1h" exceeded the effective max_ttl of "10m20s"; TTL value is capped accordingly'])
  })

  it('past the max TTL: 500 past the max TTL, cannot renew (a token kept alive by renewals)', async () => {
    vault.writeRole('kubernetes', 'app', { policies: ['app'], token_ttl: '1h', token_max_ttl: '4h' })
    const token = await loginApp(vault, clock)
    for (let i = 0; i < 4; i++) {
      await clock.advance(59 * MINUTE)
      assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).status, 200)
    }
    // 3h56m in: capped to 4 minutes. Lower the max under the token's age: past max TTL.
    vault.updateRole('kubernetes', 'app', { token_max_ttl: '3h' })
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(r.status, 500)
    assert.deepEqual(r.body, { errors: ['1 error occurred:\n\t* past the max TTL, cannot renew\n\n'] })
  })

  it('re-reads the role TTLs at every renewal; a deleted role fails the renewal', async () => {
    const token = await loginApp(vault, clock)
    vault.updateRole('kubernetes', 'app', { token_ttl: '15m' })
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).body.auth.lease_duration, 900)
    vault.deleteRole('kubernetes', 'app')
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(r.status, 500)
    assert.deepEqual(r.body, { errors: ['1 error occurred:\n\t* failed to renew entry: role app does not exist during renewal\n\n'] })
  })

  it('periodic tokens renew to the period and ignore the increment', async () => {
    vault.writeRole('kubernetes', 'periodic', { policies: ['app'], token_period: '30m', token_max_ttl: '1h' })
    const token = await loginApp(vault, clock, 'periodic')
    for (let i = 0; i < 10; i++) {
      await clock.advance(20 * MINUTE)
      const r = await call(vault, 'POST', 'auth/token/renew-self', { token, body: { increment: 60 } })
      assert.equal(r.status, 200)
      assert.equal(r.body.auth.lease_duration, 1800)
    }
  })

  it('explicit max TTL caps even a periodic token', async () => {
    vault.writeRole('kubernetes', 'periodic', { policies: ['app'], token_period: '30m', token_explicit_max_ttl: '1h' })
    const token = await loginApp(vault, clock, 'periodic')
    await clock.advance(25 * MINUTE)
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).body.auth.lease_duration, 1800)
    await clock.advance(25 * MINUTE)
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(r.body.auth.lease_duration, 600)
    assert.deepEqual(r.body.warnings, ['TTL of "30m" exceeded the effective max_ttl of "10m"; TTL value is capped accordingly'])
    await clock.advance(10 * MINUTE)
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).status, 403)
  })

  it('400 lease is not renewable for a token from a token role with renewable=false', async () => {
    vault.writeTokenRole('fixed', { allowed_policies: ['app'], renewable: false })
    const created = await call(vault, 'POST', 'auth/token/create/fixed', { token: vault.rootToken, body: { ttl: '1h' } })
    assert.equal(created.status, 200)
    assert.equal(created.body.auth.renewable, false)
    const token = created.body.auth.client_token
    const d = (await call(vault, 'GET', 'auth/token/lookup-self', { token })).body.data
    assert.equal(d.renewable, false)
    assert.equal(d.role, 'fixed')
    assert.equal(d.path, 'auth/token/create/fixed')
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(r.status, 400)
    assert.deepEqual(r.body, { errors: ['lease is not renewable'] })
  })

  it('400 batch tokens cannot be renewed; lookup shows type batch', async () => {
    vault.writeRole('kubernetes', 'batch', { policies: ['app'], token_ttl: '20m', token_type: 'batch' })
    const token = await loginApp(vault, clock, 'batch')
    const d = (await call(vault, 'GET', 'auth/token/lookup-self', { token })).body.data
    assert.equal(d.type, 'batch')
    assert.equal(d.renewable, false)
    assert.equal(d.ttl, 1200)
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(r.status, 400)
    assert.deepEqual(r.body, { errors: ['batch tokens cannot be renewed'] })
  })

  it('400 invalid lease ID for the root token', async () => {
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token: vault.rootToken })
    assert.equal(r.status, 400)
    assert.deepEqual(r.body, { errors: ['invalid lease ID'] })
  })

  it('403 for an expired token, recorded as a dead-token renewal', async () => {
    const token = await loginApp(vault, clock)
    await clock.advance(HOUR + 1000)
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(r.status, 403)
    assert.deepEqual(vault.counters().deadTokenRequests.map((d) => [d.operation, d.reason]), [['renew', 'expired']])
  })

  it('405 for GET', async () => {
    assert.equal((await call(vault, 'GET', 'auth/token/renew-self', { token: vault.rootToken })).status, 405)
  })
})

describe('devserver: auth/token/revoke-self and revocation levers', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('204 with no body, then 403 in the new wording', async () => {
    const token = await loginApp(vault, clock)
    const r = await call(vault, 'POST', 'auth/token/revoke-self', { token })
    assert.equal(r.status, 204)
    assert.equal(r.text, '')
    const after = await call(vault, 'GET', 'auth/token/lookup-self', { token })
    assert.equal(after.status, 403)
    assert.deepEqual(after.body, INVALID_NEW)
    assert.deepEqual(vault.counters().deadTokenRequests.map((d) => d.reason), ['revoked'])
  })

  it('403 "permission denied" alone with the old wording', async () => {
    vault.errorWording = 'old'
    const token = await loginApp(vault, clock)
    await call(vault, 'POST', 'auth/token/revoke-self', { token })
    const after = await call(vault, 'GET', 'auth/token/lookup-self', { token })
    assert.equal(after.status, 403)
    assert.deepEqual(after.body, INVALID_OLD)
    assert.equal(INVALID_TOKEN_NEW, INVALID_NEW.errors[0])
  })

  it('400 batch tokens cannot be revoked', async () => {
    vault.writeRole('kubernetes', 'batch', { policies: ['app'], token_type: 'batch' })
    const token = await loginApp(vault, clock, 'batch')
    const r = await call(vault, 'POST', 'auth/token/revoke-self', { token })
    assert.equal(r.status, 400)
    assert.deepEqual(r.body, { errors: ['batch tokens cannot be revoked'] })
  })

  it('revokes by token, by accessor, and every token of a role', async () => {
    const a = await loginApp(vault, clock)
    const b = await loginApp(vault, clock)
    const c = await loginApp(vault, clock)
    const accessor = (await call(vault, 'GET', 'auth/token/lookup-self', { token: b })).body.data.accessor
    assert.equal(vault.liveTokens({ role: 'app' }), 3)
    assert.equal(vault.lookupToken(a)?.ttl, 3600)
    assert.equal(vault.revokeToken(a), 1)
    assert.equal(vault.revokeToken(accessor), 1)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token: b })).status, 403)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token: c })).status, 200)
    assert.equal(vault.revokeRoleTokens('kubernetes', 'app'), 1)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token: c })).status, 403)
    assert.equal(vault.liveTokens(), 0)
  })
})

describe('devserver: auth/token/create', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('creates a token with ttl, explicit_max_ttl, policies; renewal uses its ttl; children die with the parent', async () => {
    // Creating tokens takes a policy that grants it: `default` does not.
    vault.writePolicy('app', ['secret/data/app/', { path: 'auth/token/create', capabilities: ['update'] }])
    const r = await call(vault, 'POST', 'auth/token/create', {
      token: vault.rootToken,
      body: { policies: ['app'], ttl: '1h', explicit_max_ttl: '90m' },
    })
    assert.equal(r.status, 200)
    const t = r.body.auth.client_token
    assert.equal(r.body.auth.lease_duration, 3600)
    assert.deepEqual(r.body.auth.policies, ['app', 'default'])
    const d = (await call(vault, 'GET', 'auth/token/lookup-self', { token: t })).body.data
    assert.equal(d.path, 'auth/token/create')
    assert.equal(d.explicit_max_ttl, 5400)
    await clock.advance(50 * MINUTE)
    const renewed = await call(vault, 'POST', 'auth/token/renew-self', { token: t })
    assert.equal(renewed.body.auth.lease_duration, 2400)

    const child = (await call(vault, 'POST', 'auth/token/create', { token: t, body: { ttl: 600 } })).body.auth.client_token
    assert.equal((await call(vault, 'POST', 'auth/token/revoke-self', { token: t })).status, 204)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token: child })).status, 403)
  })

  it('periodic, batch, non-renewable and num_uses tokens', async () => {
    const create = async (body: object) =>
      (await call(vault, 'POST', 'auth/token/create', { token: vault.rootToken, body })).body.auth
    const periodic = await create({ period: '20m', policies: ['app'] })
    assert.equal(periodic.lease_duration, 1200)
    const batch = await create({ type: 'batch', ttl: '5m', policies: ['app'] })
    assert.equal(batch.token_type, 'batch')
    assert.equal(batch.renewable, false)
    const fixed = await create({ renewable: false, ttl: '5m', policies: ['app'] })
    assert.equal(fixed.renewable, false)
    const limited = await create({ num_uses: 3, policies: ['app'] })
    assert.equal(limited.num_uses, 3)
  })

  it('needs a valid token', async () => {
    const r = await call(vault, 'POST', 'auth/token/create', { token: 'hvs.bogus', body: {} })
    assert.equal(r.status, 403)
  })
})

describe('devserver: token-store tokens renew to the TTL they were last given (sticky)', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('after a renewal with increment 60, a renewal without increment grants 60 s again, not the creation TTL', async () => {
    const token = (await call(vault, 'POST', 'auth/token/create', { token: vault.rootToken, body: { policies: ['app'], ttl: '1h' } })).body.auth.client_token
    await clock.advance(10 * MINUTE)
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).body.auth.lease_duration, 3600)
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token, body: { increment: 60 } })).body.auth.lease_duration, 60)
    await clock.advance(30_000)
    const again = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(again.body.auth.lease_duration, 60)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token })).body.data.creation_ttl, 3600)
  })

  it('an auth-method token re-reads its role instead: no increment means the role TTL again', async () => {
    const token = await loginApp(vault, clock)
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token, body: { increment: 60 } })).body.auth.lease_duration, 60)
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).body.auth.lease_duration, 3600)
  })
})

describe('devserver: lookup-self fields as Vault computes them', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('ttl is leaseEntry.ttl(): expire_time minus now rounded to the second, truncated (3599, not 3600, 0.6 s in)', async () => {
    await clock.advance(600)
    const token = await loginApp(vault, clock)
    const d = (await call(vault, 'GET', 'auth/token/lookup-self', { token })).body.data
    assert.equal(d.ttl, 3599)
    assert.equal(d.creation_ttl, 3600)
    assert.equal(Date.parse(d.expire_time) - clock.now(), 3600_000)
    await clock.advance(400)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token })).body.data.ttl, 3599)
  })

  it('the root token has no lease: exactly Vault\'s fields, no renewable, no issue_time', async () => {
    const r = await call(vault, 'GET', 'auth/token/lookup-self', { token: vault.rootToken })
    const d = r.body.data
    assert.deepEqual(Object.keys(d).sort(), [
      'accessor', 'creation_time', 'creation_ttl', 'display_name', 'entity_id', 'expire_time', 'explicit_max_ttl', 'id', 'meta', 'num_uses',
      'orphan', 'path', 'policies', 'ttl', 'type',
    ])
    assert.deepEqual(
      { ttl: d.ttl, expire_time: d.expire_time, creation_ttl: d.creation_ttl, explicit_max_ttl: d.explicit_max_ttl, policies: d.policies, path: d.path, display_name: d.display_name, meta: d.meta, num_uses: d.num_uses, orphan: d.orphan, type: d.type, entity_id: d.entity_id },
      { ttl: 0, expire_time: null, creation_ttl: 0, explicit_max_ttl: 0, policies: ['root'], path: 'auth/token/root', display_name: 'root', meta: null, num_uses: 0, orphan: true, type: 'service', entity_id: '' },
    )
  })
})

describe('devserver: token roles and auth/token/create/:role', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('written over HTTP, read back; allowed_policies bound what a token may get; a deleted role ends renewals', async () => {
    const w = await call(vault, 'POST', 'auth/token/roles/ci', { token: vault.rootToken, body: { allowed_policies: ['app'], token_period: '10m' } })
    assert.equal(w.status, 204)
    const role = (await call(vault, 'GET', 'auth/token/roles/ci', { token: vault.rootToken })).body.data
    assert.deepEqual([role.allowed_policies, role.renewable, role.token_period, role.token_type], [['app'], true, 600, 'default-service'])
    const wrong = await call(vault, 'POST', 'auth/token/create/ci', { token: vault.rootToken, body: { policies: ['other'] } })
    assert.equal(wrong.status, 400)
    assert.match(wrong.body.errors[0], /must be subset of the role's allowed policies/)
    const created = await call(vault, 'POST', 'auth/token/create/ci', { token: vault.rootToken, body: {} })
    assert.deepEqual(created.body.auth.policies, ['app', 'default'])
    assert.equal(created.body.auth.lease_duration, 600)
    const token = created.body.auth.client_token
    assert.equal((await call(vault, 'DELETE', 'auth/token/roles/ci', { token: vault.rootToken })).status, 204)
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(r.status, 500)
    assert.deepEqual(r.body, { errors: ['1 error occurred:\n\t* failed to renew entry: original token role "ci" could not be found, not renewing\n\n'] })
    assert.deepEqual((await call(vault, 'POST', 'auth/token/create/nope', { token: vault.rootToken, body: {} })).body, { errors: ['unknown role nope'] })
  })

  it('a batch token role must be orphan and not renewable, as Vault checks', async () => {
    assert.throws(() => vault.writeTokenRole('b', { token_type: 'batch' }), /'token_type' cannot be 'batch' when role is set to generate non-orphan tokens/)
    assert.throws(() => vault.writeTokenRole('b', { token_type: 'batch', orphan: true }), /cannot be 'batch' when role is set to generate renewable tokens/)
    vault.writeTokenRole('b', { token_type: 'batch', orphan: true, renewable: false })
    // Without policies a child of root inherits root, and a batch token may not be root.
    assert.deepEqual((await call(vault, 'POST', 'auth/token/create/b', { token: vault.rootToken, body: { ttl: 60 } })).body, { errors: ['batch tokens cannot be root tokens'] })
    const t = await call(vault, 'POST', 'auth/token/create/b', { token: vault.rootToken, body: { ttl: 60, policies: ['app'] } })
    assert.equal(t.body.auth.token_type, 'batch')
    assert.equal(t.body.auth.renewable, false)
  })

  it('a token without a policy for auth/token/create may not create tokens (default does not grant it)', async () => {
    const token = await loginApp(vault, clock)
    assert.deepEqual((await call(vault, 'POST', 'auth/token/create', { token, body: {} })).body, { errors: ['1 error occurred:\n\t* permission denied\n\n'] })
  })
})

describe('devserver: auth-method roles have no renewable switch (tokenutil.PopulateTokenAuth)', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('writeRole refuses renewable and names the faithful alternatives', () => {
    assert.throws(() => vault.writeRole('kubernetes', 'fixed', { policies: ['app'], renewable: false }), /no 'renewable' field.*token_type: 'batch'.*writeTokenRole/s)
  })

  it('a login token is renewable unless batch', async () => {
    vault.writeRole('kubernetes', 'b', { policies: ['app'], token_type: 'batch', token_ttl: '5m' })
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token: await loginApp(vault, clock) })).body.data.renewable, true)
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token: await loginApp(vault, clock, 'b') })).body.data.renewable, false)
  })
})
