/**
 * Issue 12, point 4: the Vault Enterprise namespace, in each of the shapes users give it, is sent on every request:
 * login, lookup, renew, read and revoke. A recording front before the dev Vault (which keeps each namespace's auth
 * mounts, tokens and secrets apart, as Vault does) sees each request's header.
 */
import assert from 'node:assert/strict'
import type { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { b64, type BuildOptions, build, type Builder, closeListeners, devVault, listen, spec } from './support.js'

const NS = 'team-a'

const SHAPES: { name: string; how: Builder; options: BuildOptions; env?: Record<string, string> }[] = [
  { name: 'vaultNamespace (option)', how: 'kes', options: { settings: { vaultNamespace: NS } } },
  { name: 'VAULT_NAMESPACE (createVaultBackend)', how: 'env', options: { settings: { vaultNamespace: NS } } },
  { name: "node-vault's namespace option", how: 'kes', options: { nodeVault: { namespace: NS } } },
  { name: 'VAULT_NAMESPACE in the environment when node-vault is built', how: 'kes', options: {}, env: { VAULT_NAMESPACE: NS } },
  {
    name: "KES's requestOptions.headers['X-VAULT-NAMESPACE']",
    how: 'kes',
    options: { nodeVault: { requestOptions: { followAllRedirects: true, headers: { 'X-VAULT-NAMESPACE': NS } } } },
  },
]

describe('transport: the Vault namespace on every request', function () {
  this.timeout(10_000)
  let backend: VaultBackend | undefined
  let dev: DevVault | undefined
  afterEach(async () => {
    await backend?.close({ revoke: false })
    backend = undefined
    await closeListeners()
    await dev?.close()
    dev = undefined
  })

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
})
