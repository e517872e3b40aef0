/**
 * Issue 11, points 1 and 2: an ExternalSecret reads only from secret engines, and every name it gives is checked.
 * Each hostile spec is refused with a SpecError naming the field, before any request reaches Vault (the dev Vault
 * counts every request), while the team's good ExternalSecrets in the same poll keep syncing.
 */
import assert from 'node:assert/strict'
import { SpecError } from '../../lib/backend/errors.js'
import { RESERVED_TREES } from '../../lib/spec-names.js'
import { loadConfig } from '../../lib/config.js'
import { ConfigError } from '../../lib/env.js'
import { assertNoCredential, decoded, errorText, world, type World } from './world.js'

/** Every path of OpenBao's `default` policy (policy_store.go), and other ways into Vault's own trees. */
const DEFAULT_POLICY_PATHS = [
  'auth/token/lookup-self',
  'auth/token/renew-self',
  'auth/token/revoke-self',
  'sys/capabilities-self',
  'identity/entity/id/0b6bbd2f-0000-0000-0000-000000000000',
  'identity/entity/name/entity_1234',
  'sys/internal/ui/resultant-acl',
  'sys/leases/renew',
  'sys/leases/lookup',
  'cubbyhole/anything',
  'cubbyhole/response',
  'sys/wrapping/wrap',
  'sys/wrapping/lookup',
  'sys/wrapping/unwrap',
  'sys/tools/hash',
  'sys/tools/hash/sha2-256',
  'identity/oidc/provider/default/authorize',
]
const OTHER_RESERVED = ['auth/kubernetes/config', 'auth/kubernetes/role/admin', 'sys/mounts', '/auth/token/lookup-self', '//auth/token/lookup-self', 'Auth/token/lookup-self', 'SYS/capabilities-self', 'CubbyHole/x']

const MB = 'x'.repeat(1024 * 1024)
/** [what, key, what the error says] */
const MALFORMED: Array<[string, unknown, RegExp]> = [
  ['.. segments into auth/', 'secret/../auth/token/lookup-self', /'\.' or '\.\.' segment/],
  ['.. segments from a data path', 'secret/data/team-a/../../../auth/token/lookup-self', /'\.' or '\.\.' segment/],
  ['a . segment', 'secret/./data/team-a/app0', /'\.' or '\.\.' segment/],
  ['percent-escaped ..', 'secret/%2e%2e/auth/token/lookup-self', /'%'/],
  ['a query', 'secret/data/team-a/app0?version=1', /'\?'/],
  ['a fragment', 'secret/data/team-a/app0#x', /'#'/],
  ['an absolute URL', 'http://evil.example/v1/secret/data/x', /absolute URL/],
  ['a backslash', 'secret\\..\\auth\\token', /'\\'/],
  ['a newline', 'secret/data/team-a/app0\nX-Vault-Token: x', /control or invisible character \(U\+000A\)/],
  ['a NUL', 'secret/data/team-a/app0\u0000', /U\+0000/],
  ['a bidi override', 'secret/data/team-a/\u202eapp0', /U\+202E/],
  ['an empty segment', 'secret//data/team-a/app0', /empty segment/],
  ['a trailing slash', 'secret/data/team-a/', /empty segment/],
  ['1 MiB long', MB, /is 1048576 characters long; at most 512/],
  ['not a string', 42, /must be a Vault path \(a string\); got number/],
  ['an object', { path: 'auth/token/lookup-self' }, /got object/],
]

describe('tenant: reads only from secret engines; names validated (issue 11, points 1 and 2)', function () {
  this.timeout(30_000)
  let w: World | undefined
  afterEach(async () => {
    await w?.close()
    w = undefined
  })

  /** Logs team a in and reads once, so what follows costs exactly one read request per good ExternalSecret. */
  async function warm(w: World) {
    await w.backend.getSecretManifestData({ spec: w.good('a').spec as never })
  }

  it('the dev Vault would hand the controller its own token on auth/token/lookup-self (the hole is real)', async () => {
    w = await world()
    await warm(w)
    const token = w.backend.tokenSessions[0]!.lease!.token
    const exchange = w.dev.inProcessExchange()
    const res = await exchange({ method: 'GET', url: 'http://dev/v1/auth/token/lookup-self', headers: { 'x-vault-token': token } }, { signal: new AbortController().signal, maxBytes: 1e6, timeoutMs: 1000 })
    assert.equal((JSON.parse(res.body) as { data: { id: string } }).data.id, token)
  })

  for (const where of ['data', 'dataFrom', 'dataFromWithOptions'] as const) {
    it(`every default-policy path and every spelling of Vault's own trees, in ${where}: refused with the field, nothing sent, the others sync`, async () => {
      w = await world()
      await warm(w)
      const hostile = [...DEFAULT_POLICY_PATHS, ...OTHER_RESERVED]
      const specOf = (key: string): Record<string, unknown> =>
        where === 'data'
          ? { vaultRole: 'team-a', kvVersion: 1, data: [w!.good('a', 1).spec.data as never, w!.good('a', 2).spec.data as never].flat().concat([{ key, name: 'stolen', property: 'id' }] as never) }
          : where === 'dataFrom'
            ? { vaultRole: 'team-a', kvVersion: 1, dataFrom: ['secret/data/team-a/app1', key] }
            : { vaultRole: 'team-a', kvVersion: 1, dataFromWithOptions: [{ key: 'secret/data/team-a/app1' }, { key }] }
      const field = where === 'data' ? 'spec.data[2].key' : where === 'dataFrom' ? 'spec.dataFrom[1]' : 'spec.dataFromWithOptions[1].key'
      const before = w.dev.counters()
      const goods = [w.good('a', 1), w.good('a', 2), w.good('b', 0)]
      const results = await Promise.allSettled([
        ...hostile.map((key) => w!.backend.getSecretManifestData({ spec: specOf(key) as never })),
        ...goods.map((g) => w!.backend.getSecretManifestData({ spec: g.spec as never })),
      ])
      const after = w.dev.counters()
      const refused = results.slice(0, hostile.length)
      refused.forEach((r, i) => {
        assert.equal(r.status, 'rejected', `${hostile[i]} was read`)
        const err = (r as PromiseRejectedResult).reason as SpecError
        assert.ok(err instanceof SpecError, `${hostile[i]}: ${err}`)
        assert.equal(err.field, field)
        assert.match(err.message, /under Vault's own "(auth|sys|identity|cubbyhole)\/" tree/)
      })
      assert.deepEqual(results.slice(hostile.length).map((r) => (r.status === 'fulfilled' ? r.value : r.reason)), goods.map((g) => g.expect))
      // Team a: two reads. Team b: one login, one read. Nothing for the 25 hostile specs.
      assert.equal(after.requests.read - before.requests.read, 3)
      assert.equal(after.requests.login - before.requests.login, 1)
      assert.equal(after.total - before.total, 4)
      assert.equal(after.requests.lookup - before.requests.lookup, 0)
      assertNoCredential(w.credentials(), {
        errors: refused.map((r) => errorText((r as PromiseRejectedResult).reason)).join('\n'),
        secrets: results.filter((r) => r.status === 'fulfilled').map((r) => decoded((r as PromiseFulfilledResult<Record<string, string>>).value)).join('\n'),
        logs: w.lines.join('\n'),
        metrics: await w.registry.metrics(),
      })
    })
  }

  it('the reserved trees are the four that hold every default-policy path', () => {
    assert.deepEqual([...RESERVED_TREES], ['auth', 'sys', 'identity', 'cubbyhole'])
    for (const p of DEFAULT_POLICY_PATHS) assert.ok(RESERVED_TREES.some((t) => p.startsWith(`${t}/`)), p)
  })

  it('malformed keys: refused with the field and a bounded quote, nothing sent', async () => {
    w = await world()
    await warm(w)
    const before = w.requests()
    for (const [what, key, says] of MALFORMED) {
      const spec: Record<string, unknown> = { vaultRole: 'team-a', data: [...(w.good('a', 1).spec.data as object[]), ...(w.good('a', 2).spec.data as object[]), { key, name: 'x' }] }
      const err: SpecError = await w.backend.getSecretManifestData({ spec: spec as never }).then(
        () => assert.fail(`${what}: read`),
        (e: unknown) => e as SpecError,
      )
      assert.ok(err instanceof SpecError, `${what}: ${String(err)}`)
      assert.equal(err.field, 'spec.data[2].key', what)
      assert.match(err.message, says, what)
      assert.ok(err.message.length < 400, `${what}: the message is ${err.message.length} characters`)
      assert.ok(errorText(err).length < 3000, `${what}: everything the error carries is bounded`)
    }
    assert.equal(w.requests() - before, 0)
  })

  it('a key missing from an item, and a kvVersion other than 1 or 2: named, nothing sent', async () => {
    w = await world()
    await warm(w)
    const before = w.requests()
    await assert.rejects(w.backend.getSecretManifestData({ spec: { vaultRole: 'team-a', dataFromWithOptions: [{ version: 2 }] } as never }), (e: unknown) => e instanceof SpecError && e.field === 'spec.dataFromWithOptions[0].key')
    await assert.rejects(w.backend.getSecretManifestData({ spec: { vaultRole: 'team-a', kvVersion: '2', data: [{ key: 'secret/data/team-a/app0', name: 'x' }] } as never }), (e: unknown) => e instanceof SpecError && e.field === 'spec.kvVersion')
    await assert.rejects(w.backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/app0', name: 'x', property: 'p'.repeat(2000) }] } as never }), (e: unknown) => e instanceof SpecError && e.field === 'spec.data[0].property')
    assert.equal(w.requests() - before, 0)
  })

  it('data[].path items (KES\'s by-path fetch): checked like keys and refused as spec.data[i].path with a bounded quote, nothing sent', async () => {
    w = await world({ allowedMounts: ['secret/data/team-a'] })
    const before = w.requests()
    const good = [{ key: 'secret/data/team-a/app0', name: 'a' }]
    const cases: Array<[string, unknown, RegExp]> = [
      ['1 500 characters', 'secret/data/team-a/' + 'p'.repeat(1500), /is 1519 characters long; at most 512/],
      ['a reserved tree', 'auth/token/lookup-self', /under Vault's own "auth\/" tree/],
      ['outside VAULT_ALLOWED_MOUNTS', 'secret/data/team-b/app0', /outside the secret mounts/],
      ['a traversal', 'secret/data/team-a/../../../sys/mounts', /'\.' or '\.\.' segment/],
      ['not a string', 42, /must be a Vault path \(a string\); got number/],
      ['a well-formed path', 'secret/data/team-a', /_getByPath not implemented.*use 'key'/],
    ]
    for (const [what, path, says] of cases) {
      for (const spec of [
        { vaultRole: 'team-a', dataFrom: ['secret/data/team-a/app1'], data: [...good, { path, name: 'b' }] },
        { vaultRole: 'team-a', properties: [...good, { path, name: 'b' }] },
      ]) {
        const field = 'data' in spec ? 'spec.data[1].path' : 'spec.properties[1].path'
        const err: SpecError = await w.backend.getSecretManifestData({ spec: spec as never }).then(
          () => assert.fail(`${what}: accepted`),
          (e: unknown) => e as SpecError,
        )
        assert.ok(err instanceof SpecError, `${what}: ${String(err)}`)
        assert.equal(err.field, field, what)
        assert.match(err.message, says, what)
        assert.ok(err.message.length < 400, `${what}: the message is ${err.message.length} characters`)
      }
    }
    assert.equal(w.requests() - before, 0, 'a refused spec costs Vault nothing')
  })

  it('a spec that reads nothing still gets its empty Secret, as in KES (no identity needed, nothing sent)', async () => {
    w = await world()
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: { data: [] } as never }), {})
    assert.equal(w.requests(), 0)
  })

  const MOUNTS: Array<[string, string]> = [
    ['../../sys/x', 'traversal to sys/x/login'],
    ['kubernetes/../../sys/x', 'traversal after a real mount'],
    ['token', "the token store (auth/token/login)"],
    ['kubernetes/', 'a trailing slash'],
    ['/kubernetes', 'a leading slash'],
    ['kubernetes?x=1', 'a query'],
    ['kubernetes#x', 'a fragment'],
    ['kubernetes%2f..', 'a percent-escape'],
    ['https://evil.example', 'an absolute URL'],
    ['kube\nrnetes', 'a newline'],
    ['k'.repeat(129), 'too long'],
    [MB, '1 MiB'],
  ]
  it('hostile auth mounts: refused as spec.vaultMountPoint; the controller\'s JWT is posted nowhere', async () => {
    w = await world()
    const before = w.dev.counters()
    for (const [mount, what] of MOUNTS) {
      const err = await w.backend.getSecretManifestData({ spec: { vaultMountPoint: mount, vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/app0', name: 'x' }] } as never }).then(
        () => assert.fail(`${what}: accepted`),
        (e: unknown) => e as SpecError,
      )
      assert.ok(err instanceof SpecError && err.field === 'spec.vaultMountPoint', `${what}: ${String(err)}`)
      assert.ok(err.message.length < 400, `${what}: ${err.message.length} characters`)
    }
    assert.equal(w.dev.counters().total - before.total, 0, 'no login anywhere')
  })

  const ROLES: Array<[string, string]> = [
    ['../admin', 'traversal'],
    ['team-a?x', 'a query'],
    ['team a', 'a space'],
    ['-team-a', 'a leading dash'],
    ['team-a.', 'a trailing dot'],
    ['te%61m-a', 'a percent-escape'],
    ['r'.repeat(129), 'too long'],
    [MB, '1 MiB'],
  ]
  const ACCOUNTS: Array<[string, string]> = [
    ['Admin', 'upper case'],
    ['ns_admin', 'an underscore'],
    ['../kes', 'traversal'],
    ['a/b', 'a slash'],
    ['a'.repeat(254), 'too long'],
  ]
  it('hostile roles and service-account names: refused with the field, nothing sent, no TokenRequest', async () => {
    w = await world({ permittedServiceAccounts: ['*'] })
    const before = w.requests()
    for (const [role, what] of ROLES) {
      await assert.rejects(
        w.backend.getSecretManifestData({ spec: { vaultRole: role, data: [{ key: 'secret/data/team-a/app0', name: 'x' }] } as never }),
        (e: unknown) => e instanceof SpecError && e.field === 'spec.vaultRole' && e.message.length < 400,
        what,
      )
    }
    for (const [account, what] of ACCOUNTS) {
      await assert.rejects(
        w.backend.getSecretManifestData({ namespace: 'a', spec: { vaultRole: 'team-a', vaultServiceAccount: account, data: [{ key: 'secret/data/team-a/app0', name: 'x' }] } as never }),
        (e: unknown) => e instanceof SpecError && e.field === 'spec.vaultServiceAccount' && e.message.length < 600,
        what,
      )
    }
    assert.equal(w.requests() - before, 0)
    assert.deepEqual(w.tokenRequests, [])
  })

  it('VAULT_ALLOWED_MOUNTS: a path outside the allowlist is refused with the field, nothing sent; inside it syncs', async () => {
    w = await world({ allowedMounts: ['secret/data/team-a', 'kv1/'] })
    w.dev.putSecret('kv1', 'team-a/cfg', { url: 'u' })
    await warm(w)
    const before = w.dev.counters()
    const outside = ['secret/data/team-b/app0', 'secret/data/team-ab/app0', 'secretx/data/team-a/app0', 'kv2/team-a/x']
    for (const key of outside) {
      await assert.rejects(
        w.backend.getSecretManifestData({ spec: { vaultRole: 'team-a', dataFrom: [key] } as never }),
        (e: unknown) => e instanceof SpecError && e.field === 'spec.dataFrom[0]' && /outside the secret mounts this controller may read \(VAULT_ALLOWED_MOUNTS: secret\/data\/team-a, kv1\)/.test(e.message),
        key,
      )
    }
    assert.equal(w.dev.counters().total - before.total, 0)
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: w.good('a', 1).spec as never }), w.good('a', 1).expect)
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: { vaultRole: 'team-a', kvVersion: 1, dataFrom: ['kv1/team-a/cfg'] } as never }), { url: Buffer.from('u').toString('base64') })
  })

  it('VAULT_ALLOWED_MOUNTS may not open Vault\'s own trees nor be malformed: a configuration error naming the variable (or option)', () => {
    for (const value of ['sys', 'secret,auth/token', 'cubbyhole/', '/identity', 'secret/../sys', 'secret?x']) {
      assert.throws(() => loadConfig({ VAULT_ALLOWED_MOUNTS: value }), (e: unknown) => e instanceof ConfigError && e.variable === 'VAULT_ALLOWED_MOUNTS' && e.message.includes('VAULT_ALLOWED_MOUNTS'), value)
    }
    assert.deepEqual(loadConfig({ VAULT_ALLOWED_MOUNTS: '/secret/, kv1' }).allowedMounts, ['secret', 'kv1'])
    assert.throws(() => loadConfig({ VAULT_PERMITTED_SERVICE_ACCOUNTS: 'Admin' }), (e: unknown) => e instanceof ConfigError && e.variable === 'VAULT_PERMITTED_SERVICE_ACCOUNTS')
    assert.throws(() => loadConfig({ VAULT_METRICS_IDENTITY_MAX: '-1' }), (e: unknown) => e instanceof ConfigError && e.variable === 'VAULT_METRICS_IDENTITY_MAX')
  })
})
