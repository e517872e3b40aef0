import assert from 'node:assert/strict'
import type { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { Acl, DEFAULT_POLICY_HCL, parsePolicy, policyFromInput } from '../../lib/devserver/policy.js'
import { HOUR, appVault, call, loginApp } from './helpers.js'

const DENIED = { errors: ['1 error occurred:\n\t* permission denied\n\n'] }

describe('devserver policy: Vault\'s path matching (ACL.AllowOperation)', () => {
  const acl = (hcl: string) => new Acl([parsePolicy('p', hcl)])

  it('exact paths, trailing-* prefixes, the most specific rule wins', () => {
    const a = acl(`
      path "secret/data/*"          { capabilities = ["read"] }
      path "secret/data/app/*"      { capabilities = ["create", "update"] }
      path "secret/data/app/exact"  { capabilities = ["delete"] }
    `)
    assert.equal(a.allows('secret/data/x', 'read'), true)
    assert.equal(a.allows('secret/data/app/x', 'read'), false, 'the longer prefix governs and grants no read')
    assert.equal(a.allows('secret/data/app/x', 'update'), true)
    assert.equal(a.allows('secret/data/app/exact', 'delete'), true)
    assert.equal(a.allows('secret/data/app/exact', 'update'), false, 'an exact rule beats every prefix')
    assert.equal(a.allows('secret/metadata/x', 'read'), false)
  })

  it('+ matches one segment; among wildcard rules the later first wildcard wins, then a non-prefix, then fewer +', () => {
    const a = acl(`
      path "secret/+/app/*"     { capabilities = ["read"] }
      path "secret/data/+/db"   { capabilities = ["list"] }
      path "secret/data/app/*"  { capabilities = ["update"] }
    `)
    assert.equal(a.allows('secret/metadata/app/x', 'read'), true)
    assert.equal(a.allows('secret/data/app/db', 'update'), true, 'secret/data/app/* has its glob later than the + of secret/data/+/db')
    assert.equal(a.allows('secret/data/other/db', 'list'), true)
    assert.equal(a.allows('secret/data/other/db/more', 'list'), false, 'a non-prefix + rule needs the same number of segments')
  })

  it('deny beats any grant of the same path, across policies; capabilities are listed in Vault\'s order', () => {
    const a = new Acl([
      parsePolicy('a', 'path "secret/data/app/*" { capabilities = ["read", "list", "update"] }'),
      parsePolicy('b', 'path "secret/data/app/*" { capabilities = ["deny"] }'),
      parsePolicy('c', 'path "kv/*" { capabilities = ["create", "read", "sudo"] }'),
    ])
    assert.equal(a.allows('secret/data/app/x', 'read'), false)
    assert.deepEqual(a.capabilities('secret/data/app/x'), ['deny'])
    assert.deepEqual(a.capabilities('kv/x'), ['sudo', 'read', 'create'])
    assert.deepEqual(a.capabilities('nowhere'), ['deny'])
  })

  it('the default policy is OpenBao\'s text; its templated entity paths resolve only for a token with an entity', () => {
    const def = parsePolicy('default', DEFAULT_POLICY_HCL)
    const paths = def.rules.map((r) => r.path)
    for (const p of ['auth/token/lookup-self', 'auth/token/renew-self', 'auth/token/revoke-self', 'sys/capabilities-self', 'cubbyhole/*', 'sys/leases/renew', 'sys/leases/lookup', 'sys/wrapping/wrap', 'sys/tools/hash', 'identity/entity/id/{{identity.entity.id}}']) {
      assert.ok(paths.includes(p), p)
    }
    const withEntity = new Acl([def], { entityId: 'e-1', entityName: 'entity_e' })
    assert.equal(withEntity.allows('identity/entity/id/e-1', 'read'), true)
    assert.equal(withEntity.allows('identity/entity/id/e-2', 'read'), false)
    assert.equal(new Acl([def]).allows('identity/entity/id/', 'read'), false)
    assert.deepEqual(withEntity.capabilities('auth/token/lookup-self'), ['read'])
    assert.deepEqual(withEntity.capabilities('cubbyhole/x'), ['read', 'list', 'update', 'delete', 'create'])
  })

  it('the seeding shorthand: a string is a readable prefix, an object a rule; bad HCL and capabilities fail as Vault says', () => {
    const p = policyFromInput('p', ['secret/data/app/', { path: 'auth/token/create', capabilities: ['update'] }])
    assert.deepEqual(p.rules, [
      { path: 'secret/data/app/*', capabilities: ['read'] },
      { path: 'auth/token/create', capabilities: ['update'] },
    ])
    assert.deepEqual(parsePolicy('p', p.raw).rules, p.rules, 'the stored HCL reads back as the same rules')
    assert.throws(() => parsePolicy('p', 'path "x" { capabilities = ["fly"] }'), /failed to parse policy: path "x": invalid capability "fly"/)
    assert.throws(() => parsePolicy('p', 'path "x" { capabilities = ["read"]'), /failed to parse policy/)
    assert.throws(() => parsePolicy('p', 'path "x/+*" { capabilities = ["read"] }'), /invalid use of wildcards/)
    assert.deepEqual(parsePolicy('p', 'path "x" { policy = "write" }').rules[0]!.capabilities, ['create', 'read', 'update', 'delete', 'list'])
  })
})

describe('devserver policy: the default policy governs the self endpoints (over HTTP)', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => {
    ;({ vault, clock } = await appVault())
    vault.putSecret('secret', 'app/db', { foo: 'bar' })
  })
  afterEach(() => vault.close())

  it('GET sys/policies/acl/default returns the OpenBao text', async () => {
    const r = await call(vault, 'GET', 'sys/policies/acl/default', { token: vault.rootToken })
    assert.equal(r.status, 200)
    assert.equal(r.body.data.name, 'default')
    assert.equal(r.body.data.policy, DEFAULT_POLICY_HCL)
  })

  it('a role with token_no_default_policy: alive and reading, but 403 on lookup-self and renew-self', async () => {
    vault.writeRole('kubernetes', 'nodefault', { policies: ['app'], token_ttl: '1h', token_no_default_policy: true })
    const token = await loginApp(vault, clock, 'nodefault')
    assert.equal((await call(vault, 'GET', 'secret/data/app/db', { token })).status, 200)
    const lookup = await call(vault, 'GET', 'auth/token/lookup-self', { token })
    assert.equal(lookup.status, 403)
    assert.deepEqual(lookup.body, DENIED)
    const renew = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(renew.status, 403)
    assert.deepEqual(renew.body, DENIED)
    assert.deepEqual(vault.counters().deadTokenRequests, [], 'not a dead token')
    assert.deepEqual(vault.lookupToken(token)?.policies, ['app'])
  })

  it('an edited default policy (over HTTP, as `vault policy write default` does) takes lookup-self away; a deleted one is refused', async () => {
    const token = await loginApp(vault, clock)
    const write = await call(vault, 'PUT', 'sys/policies/acl/default', { token: vault.rootToken, body: { policy: 'path "auth/token/renew-self" { capabilities = ["update"] }' } })
    assert.equal(write.status, 204)
    assert.deepEqual((await call(vault, 'GET', 'auth/token/lookup-self', { token })).body, DENIED)
    assert.equal((await call(vault, 'POST', 'auth/token/renew-self', { token })).status, 200)
    assert.equal((await call(vault, 'GET', 'secret/data/app/db', { token })).status, 200)
    const del = await call(vault, 'DELETE', 'sys/policies/acl/default', { token: vault.rootToken })
    assert.equal(del.status, 400)
    assert.deepEqual(del.body, { errors: ['cannot delete default policy'] })
    assert.throws(() => vault.deletePolicy('default'), /cannot delete default policy/)
  })

  it('auth/token/create with no_default_policy: a token without default', async () => {
    const r = await call(vault, 'POST', 'auth/token/create', { token: vault.rootToken, body: { policies: ['app'], no_default_policy: true, ttl: '1h' } })
    assert.deepEqual(r.body.auth.policies, ['app'])
    const token = r.body.auth.client_token
    assert.equal((await call(vault, 'GET', 'auth/token/lookup-self', { token })).status, 403)
    assert.equal((await call(vault, 'GET', 'secret/data/app/db', { token })).status, 200)
  })

  it('POST lookup-self needs update, which default does not grant; GET renew-self needs read', async () => {
    const token = await loginApp(vault, clock)
    assert.deepEqual((await call(vault, 'POST', 'auth/token/lookup-self', { token })).body, DENIED)
    assert.deepEqual((await call(vault, 'GET', 'auth/token/renew-self', { token })).body, DENIED)
    assert.equal((await call(vault, 'POST', 'auth/token/lookup-self', { token: vault.rootToken })).status, 200)
  })

  it('cubbyhole/: the token\'s own storage, gone with the token', async () => {
    const a = await loginApp(vault, clock)
    const b = await loginApp(vault, clock)
    assert.equal((await call(vault, 'POST', 'cubbyhole/note', { token: a, body: { hello: 'a' } })).status, 204)
    assert.deepEqual((await call(vault, 'GET', 'cubbyhole/note', { token: a })).body.data, { hello: 'a' })
    assert.equal((await call(vault, 'GET', 'cubbyhole/note', { token: b })).status, 404)
    assert.deepEqual((await call(vault, 'GET', 'cubbyhole/?list=true', { token: a })).body.data.keys, ['note'])
  })

  it('sys/capabilities-self, sys/tools/hash and the token\'s own identity entity', async () => {
    vault.writePolicy('app', ['secret/data/app/', { path: 'secret/data/app/locked', capabilities: ['deny'] }])
    const token = await loginApp(vault, clock)
    const caps = await call(vault, 'POST', 'sys/capabilities-self', { token, body: { paths: ['secret/data/app/db', 'secret/data/app/locked', 'auth/token/renew-self'] } })
    assert.deepEqual(caps.body.data, { 'secret/data/app/db': ['read'], 'secret/data/app/locked': ['deny'], 'auth/token/renew-self': ['update'] })
    const hash = await call(vault, 'POST', 'sys/tools/hash/sha2-256', { token, body: { input: Buffer.from('hello').toString('base64') } })
    assert.equal(hash.body.data.sum, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824')
    const entityId = (await call(vault, 'GET', 'auth/token/lookup-self', { token })).body.data.entity_id
    const entity = await call(vault, 'GET', `identity/entity/id/${entityId}`, { token })
    assert.equal(entity.status, 200)
    assert.equal(entity.body.data.aliases[0].mount_type, 'kubernetes')
    assert.equal((await call(vault, 'GET', `identity/entity/name/${entity.body.data.name}`, { token })).status, 200)
    vault.writeRole('kubernetes', 'other', { policies: ['app'], bound_service_account_names: ['other'] })
    const jwt = vault.makeServiceAccountJwt({ namespace: 'default', serviceAccount: 'other', expiresAt: clock.now() + HOUR })
    const other = (await call(vault, 'POST', 'auth/kubernetes/login', { body: { role: 'other', jwt } })).body.auth.client_token
    assert.deepEqual((await call(vault, 'GET', `identity/entity/id/${entityId}`, { token: other })).body, DENIED, 'another token\'s entity')
  })
})

describe('devserver policy: sys/policies/acl over HTTP', () => {
  let vault: DevVault
  let clock: ManualClock
  beforeEach(async () => ({ vault, clock } = await appVault()))
  afterEach(() => vault.close())

  it('write HCL, read it back, list, delete; the rules apply to tokens at once', async () => {
    vault.putSecret('secret', 'team/x', { v: 1 })
    const token = await loginApp(vault, clock)
    assert.equal((await call(vault, 'GET', 'secret/data/team/x', { token })).status, 403)
    const hcl = 'path "secret/data/+/x" {\n  capabilities = ["read"]\n}\n'
    assert.equal((await call(vault, 'PUT', 'sys/policies/acl/app', { token: vault.rootToken, body: { policy: hcl } })).status, 204)
    assert.equal((await call(vault, 'GET', 'secret/data/team/x', { token })).status, 200)
    assert.equal((await call(vault, 'GET', 'sys/policies/acl/app', { token: vault.rootToken })).body.data.policy, hcl)
    const list = await call(vault, 'GET', 'sys/policies/acl?list=true', { token: vault.rootToken })
    assert.deepEqual(list.body.data.keys, ['app', 'default', 'root'])
    assert.equal((await call(vault, 'DELETE', 'sys/policies/acl/app', { token: vault.rootToken })).status, 204)
    assert.equal((await call(vault, 'GET', 'secret/data/team/x', { token })).status, 403)
    assert.equal((await call(vault, 'GET', 'sys/policies/acl/app', { token: vault.rootToken })).status, 404)
  })

  it('errors as Vault words them: bad HCL, an empty body, the root policy; a token without a grant is denied', async () => {
    const bad = await call(vault, 'PUT', 'sys/policies/acl/x', { token: vault.rootToken, body: { policy: 'path "a" { capabilities = ["fly"] }' } })
    assert.equal(bad.status, 400)
    assert.deepEqual(bad.body, { errors: ['failed to parse policy: path "a": invalid capability "fly"'] })
    assert.deepEqual((await call(vault, 'PUT', 'sys/policies/acl/x', { token: vault.rootToken, body: {} })).body, { errors: ["'policy' parameter not supplied or empty"] })
    assert.deepEqual((await call(vault, 'PUT', 'sys/policies/acl/root', { token: vault.rootToken, body: { policy: 'path "a" { capabilities = ["read"] }' } })).body, { errors: ['cannot update "root" policy'] })
    const token = await loginApp(vault, clock)
    assert.deepEqual((await call(vault, 'PUT', 'sys/policies/acl/x', { token, body: { policy: 'path "a" { capabilities = ["read"] }' } })).body, DENIED)
  })

  it('create vs update: a policy granting only create may write a new secret but not overwrite it', async () => {
    vault.writePolicy('app', [{ path: 'secret/data/app/*', capabilities: ['create'] }])
    const token = await loginApp(vault, clock)
    assert.equal((await call(vault, 'POST', 'secret/data/app/new', { token, body: { data: { v: 1 } } })).status, 200)
    assert.deepEqual((await call(vault, 'POST', 'secret/data/app/new', { token, body: { data: { v: 2 } } })).body, DENIED)
  })
})
