/**
 * Issue 11, point 6: the static-token identity (VAULT_TOKEN, or a token preset on KES's node-vault client) is the
 * operator's, and no spec can name its way into it: not by cache key, not by mount and role, not through the preset.
 */
import assert from 'node:assert/strict'
import nodeVault from 'node-vault'
import { SpecError } from '../../lib/backend/errors.js'
import { resolveIdentity, STATIC_TOKEN_KEY } from '../../lib/backend/identity.js'
import { resolveSettings } from '../../lib/settings.js'
import { PolicyDeniedError } from '../../lib/token/errors.js'
import { world, type World } from './world.js'

describe('tenant: the static-token identity cannot be named by a spec (issue 11, point 6)', function () {
  this.timeout(30_000)
  let w: World | undefined
  afterEach(async () => {
    await w?.close()
    w = undefined
  })

  it('cache keys: no spec identity equals the static one, and no two different identities share a key', () => {
    const s = resolveSettings({ permittedServiceAccounts: ['*'] })
    const ctx = { staticToken: true, namespace: 'a' }
    const staticId = resolveIdentity({}, ctx, s)
    assert.equal(staticId.key, STATIC_TOKEN_KEY)
    assert.equal(staticId.method, 'token')
    const specs = [
      { vaultRole: 'static' },
      { vaultRole: 'static', vaultMountPoint: 'jwt' },
      { vaultRole: 'token' },
      { vaultRole: 'static', vaultMountPoint: 'tokens' },
      { vaultRole: 'a', vaultMountPoint: 'b' },
      { vaultRole: 'b', vaultMountPoint: 'a' },
      { vaultRole: 'a', vaultMountPoint: 'b', vaultServiceAccount: 'c' },
      { vaultRole: 'a', vaultMountPoint: 'b/c' },
      { vaultRole: 'a.b', vaultMountPoint: 'c' },
    ]
    const keys = specs.map((spec) => resolveIdentity(spec, ctx, s).key)
    assert.equal(new Set([staticId.key, ...keys]).size, specs.length + 1)
    for (const spec of specs) assert.notEqual(resolveIdentity(spec, ctx, s).method, 'token')
    // The one spelling that would look like it: the token store as an auth mount.
    assert.throws(() => resolveIdentity({ vaultMountPoint: 'token', vaultRole: 'static' }, ctx, s), (e: unknown) => e instanceof SpecError && e.field === 'spec.vaultMountPoint')
  })

  it('with VAULT_TOKEN set: "token"/"static" is refused, nothing sent; a role named "static" logs in as itself and never reads with the static token', async () => {
    w = await world((dev) => ({ vaultToken: dev.rootToken }))
    w.dev.putSecret('secret', 'team-b/x', { v: 'operator-only' })
    const spec = { data: [{ key: 'secret/data/team-b/x', name: 'v', property: 'v' }] }
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: spec as never }), { v: Buffer.from('operator-only').toString('base64') })
    const before = w.dev.counters()
    await assert.rejects(w.backend.getSecretManifestData({ spec: { ...spec, vaultMountPoint: 'token', vaultRole: 'static' } as never }), (e: unknown) => e instanceof SpecError && e.field === 'spec.vaultMountPoint')
    assert.equal(w.dev.counters().total - before.total, 0)
    await assert.rejects(w.backend.getSecretManifestData({ spec: { ...spec, vaultRole: 'static' } as never }), /login failed|invalid role/)
    const c = w.dev.counters()
    assert.equal(c.requests.login - before.requests.login, 1, 'it tried to log in as role "static"')
    assert.equal(c.requests.read - before.requests.read, 0, 'and read nothing with the static token')
    // The static identity keeps its token; the role "static" holds none (not cached), only its own login backoff.
    const sessions = w.backend.tokenSessions.map((s) => [s.identity.method, s.identity.mount, s.identity.role]).sort()
    assert.deepEqual(sessions, [['token', 'token', 'static']])
    await assert.rejects(w.backend.getSecretManifestData({ spec: { ...spec, vaultRole: 'static' } as never }), /next login attempt in \d+ s/)
    assert.equal(w.dev.counters().requests.login - before.requests.login, 1, 'backing off: nothing sent')
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: spec as never }), { v: Buffer.from('operator-only').toString('base64') }, 'the static identity is untouched')
  })

  it("a token preset on KES's node-vault client serves the operator's default identity only; a role a tenant names logs in as that role", async () => {
    w = await world((dev) => ({
      vaultFactory: () => nodeVault({ endpoint: 'http://vault.invalid:8200', token: dev.rootToken, debug: () => {} } as never),
      defaultVaultRole: 'team-a',
    }))
    w.dev.putSecret('secret', 'team-a/x', { v: 'team-a-only' })
    const spec = { data: [{ key: 'secret/data/team-a/x', name: 'v', property: 'v' }] }
    // The default identity starts with the preset (KES's behaviour): no login.
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: spec as never }), { v: Buffer.from('team-a-only').toString('base64') })
    assert.equal(w.dev.counters().requests.login, 0)
    // Team b asks for team a's path: it logs in as team-b, and Vault's policy for team-b says no. With the preset (root),
    // as KES did, it would have read it.
    await assert.rejects(w.backend.getSecretManifestData({ spec: { ...spec, vaultRole: 'team-b' } as never }), (e: unknown) => e instanceof PolicyDeniedError)
    assert.equal(w.dev.counters().requests.login, 1)
  })

  it('with per-namespace identities (VAULT_AUTH_SERVICE_ACCOUNT) a preset token serves no namespace: each logs in as its own account', async () => {
    // A reviewer read team a's secret from namespace b with the controller's preset (root) token: every namespace's
    // default identity took it, so one token served them all and bound_service_account_namespaces decided nothing.
    w = await world((dev) => ({
      vaultFactory: () => nodeVault({ endpoint: 'http://vault.invalid:8200', token: dev.rootToken, debug: () => {} } as never),
      defaultVaultRole: 'team-a',
      authServiceAccount: 'vault-reader',
    }))
    const spec = { data: [{ key: 'secret/data/team-a/app0', name: 'v', property: 'password' }] }
    // Role team-a admits vault-reader of namespace a, not b (world.ts).
    await assert.rejects(w.backend.getSecretManifestData({ spec: spec as never, namespace: 'b' }), /permission denied|not authorized|login/i)
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: spec as never, namespace: 'a' }), { v: Buffer.from('pw-a-0').toString('base64') })
    assert.deepEqual(w.tokenRequests, ['b/vault-reader', 'a/vault-reader'])
    assert.equal(w.backend.tokenSessions.some((s) => s.lease?.token === w!.dev.rootToken), false, 'no session holds the preset')
    assert.equal(w.lines.filter((l) => l.includes('the token preset on the node-vault client is not used')).length, 1)
  })
})
