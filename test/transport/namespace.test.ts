/**
 * Issue 12, point 4: the Vault Enterprise namespace, in each of the shapes users give it, is sent on every request:
 * login, lookup, renew, read and revoke. A recording front before the dev Vault (which keeps each namespace's auth
 * mounts, tokens and secrets apart, as Vault does) sees each request's header. The node-vault shapes are given to both
 * versions a vaultFactory may return: 0.12 (axios) and 0.9.22 (request), which KES 8.x pins.
 */
import assert from 'node:assert/strict'
import type { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { b64, type BuildOptions, build, type Builder, tearDown, devVault, listen, spec, timed } from './support.js'

const NS = 'team-a'

const SHAPES: { name: string; how: Builder; options: BuildOptions; env?: Record<string, string> }[] = [
  { name: 'vaultNamespace (option)', how: 'kes', options: { settings: { vaultNamespace: NS } } },
  { name: 'VAULT_NAMESPACE (createVaultBackend)', how: 'env', options: { settings: { vaultNamespace: NS } } },
  ...(['kes', 'kes-0.9'] as const).flatMap((how) => {
    const v = how === 'kes' ? 'node-vault 0.12' : 'node-vault 0.9'
    return [
      { name: `${v}: its namespace option`, how, options: { nodeVault: { namespace: NS } } },
      { name: `${v}: VAULT_NAMESPACE in the environment when it is built`, how, options: {}, env: { VAULT_NAMESPACE: NS } },
      { name: `${v}: KES's requestOptions.headers['X-VAULT-NAMESPACE']`, how, options: { nodeVault: { requestOptions: { followAllRedirects: true, headers: { 'X-VAULT-NAMESPACE': NS } } } } },
    ]
  }),
]

describe('transport: the Vault namespace on every request', function () {
  this.timeout(10_000)
  let backend: VaultBackend | undefined
  let dev: DevVault | undefined
  afterEach(tearDown)

  for (const shape of SHAPES) {
    it(`${shape.name}: login, lookup, renew, read and revoke all carry X-Vault-Namespace`, async () => {
      const clock = new ManualClock()
      dev = await devVault(clock, { app: { token_ttl: 60 } }, { namespace: NS })
      const front = await listen(() => false, dev.address)
      const saved = { ...process.env }
      Object.assign(process.env, shape.env)
      try {
        ;({ backend } = build(shape.how, front.url, { clock, ...shape.options }))
      } finally {
        for (const k of Object.keys(shape.env ?? {})) if (saved[k] === undefined) delete process.env[k]
      }
      const read = () => backend!.getSecretManifestData(spec('secret/data/app/db'))
      // t = 0 login + read; t = 10 lookup + read; t = 30 lookup (ttl 30 s <= 3 polls) + renew + read; close: revoke.
      assert.deepEqual(await read(), { password: b64('pw-app') })
      await clock.advance(10_000)
      await read()
      await clock.advance(20_000)
      await read()
      assert.deepEqual(await backend.close(), { revoked: 1 })
      assert.deepEqual(front.received.map((r) => r.operation), ['login', 'read', 'lookup', 'read', 'lookup', 'renew', 'read', 'revoke'])
      for (const r of front.received) assert.equal(r.headers['x-vault-namespace'], NS, `${r.operation} ${r.path}`)
      // Each one was answered in that namespace (in the root namespace, the role and the token do not exist).
      const c = dev.counters()
      assert.deepEqual([c.ok.login, c.ok.lookup, c.ok.renew, c.ok.read, c.ok.revoke], [1, 2, 1, 3, 1])
      assert.equal(dev.liveTokens({ namespace: NS }), 0)
    })
  }

  it('VAULT_NAMESPACE wins over the namespace a node-vault client carries (one backend, one namespace)', async () => {
    const clock = new ManualClock()
    dev = await devVault(clock, { app: { token_ttl: 60 } }, { namespace: NS })
    const front = await listen(() => false, dev.address)
    ;({ backend } = build('kes', front.url, { clock, settings: { vaultNamespace: NS }, nodeVault: { namespace: 'elsewhere' } }))
    await backend.getSecretManifestData(spec('secret/data/app/db'))
    assert.deepEqual(front.received.map((r) => r.headers['x-vault-namespace']), [NS, NS])
  })
  it("KES 8.x's own client (node-vault 0.9.22, X-VAULT-NAMESPACE in requestOptions): the team-a value is read, not the root namespace's decoy, and every request carries the namespace", async () => {
    const clock = new ManualClock()
    dev = await devVault(clock, { app: { token_ttl: 60 } }, { namespace: NS })
    // The same role, policy and path in the root namespace, with another value: where a lost namespace would lead.
    dev.enableKubernetesAuth('kubernetes')
    dev.writePolicy('app', ['secret/data/app/'])
    dev.writeRole('kubernetes', 'app', { policies: ['app'], token_ttl: 60 })
    dev.putSecret('secret', 'app/db', { password: 'root-decoy' })
    const front = await listen(() => false, dev.address)
    let lines: string[]
    // KES's daemon: vault({ apiVersion: 'v1', endpoint, requestOptions: { followAllRedirects: true, headers: { 'X-VAULT-NAMESPACE': ns } } }).
    ;({ backend, lines } = build('kes-0.9', front.url, { clock, nodeVault: { apiVersion: 'v1', requestOptions: { followAllRedirects: true, headers: { 'X-VAULT-NAMESPACE': NS } } } }))
    const ready = await timed(backend.ready())
    assert.ok(ready.ms < 250, `ready in ${ready.ms} ms`)
    assert.equal(front.connections, 0)
    const read = () => backend!.getSecretManifestData(spec('secret/data/app/db'))
    assert.deepEqual(await read(), { password: b64('pw-app') })
    await clock.advance(30_000)
    assert.deepEqual(await read(), { password: b64('pw-app') })
    assert.deepEqual(await backend.close(), { revoked: 1 })
    assert.deepEqual(front.received.map((r) => r.operation), ['login', 'read', 'lookup', 'renew', 'read', 'revoke'])
    for (const r of front.received) assert.equal(r.headers['x-vault-namespace'], NS, `${r.operation} ${r.path}`)
    assert.deepEqual([dev.liveTokens({ namespace: NS }), dev.liveTokens()], [0, 0])
    assert.equal(lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 40).length, 0)
  })
})
