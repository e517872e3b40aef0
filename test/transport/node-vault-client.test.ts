/**
 * What a node-vault client handed in through `vaultFactory` contributes (endpoint, path prefix, namespace, the headers
 * of its requestOptions, a preset token) and what it does not (axios's proxy settings and their credentials).
 */
import assert from 'node:assert/strict'
import vault from 'node-vault'
import type { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { readNodeVaultClient, type NodeVaultClient } from '../../lib/vault/node-vault.js'
import { build, closeListeners, json, listen } from './support.js'

const client = (o: Record<string, unknown>) => vault({ debug: () => {}, ...o } as never) as unknown as NodeVaultClient

function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  try {
    return fn()
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
}

describe('transport: the node-vault client KES hands in', function () {
  this.timeout(10_000)
  let backend: VaultBackend | undefined
  afterEach(async () => {
    await backend?.close({ revoke: false })
    backend = undefined
    await closeListeners()
  })

  it('endpoint, apiVersion, pathPrefix, namespace, requestOptions headers and token are read; nothing is sent while reading them', async () => {
    const seen = await listen(() => false)
    const setup = await readNodeVaultClient(
      client({ endpoint: `${seen.url}/`, apiVersion: 'v1', pathPrefix: '/vault', token: 'hvs.preset', requestOptions: { headers: { 'X-VAULT-NAMESPACE': 'ns1', 'X-Team': 'blue' } } }),
    )
    assert.deepEqual(setup, { address: seen.url, apiPrefix: '/v1/vault', namespace: 'ns1', headers: { 'x-team': 'blue' }, token: 'hvs.preset' })
    assert.deepEqual(seen.received, [])
  })

  it("HTTP_PROXY credentials in the environment are the proxy's: Proxy-Authorization is never copied to requests to Vault", async () => {
    const clock = new ManualClock()
    const vaultStandIn = await listen((rec, _req, res) =>
      rec.operation === 'login'
        ? json(res, 200, { auth: { client_token: 'hvs.t', accessor: 'a', policies: ['app'], lease_duration: 3600, renewable: true } })
        : json(res, 200, { data: { data: { password: 'x' } } }),
    )
    withEnv({ HTTP_PROXY: 'http://user:proxy-secret@127.0.0.1:9', http_proxy: 'http://user:proxy-secret@127.0.0.1:9' }, () => {
      ;({ backend } = build('kes', vaultStandIn.url, { clock, nodeVault: { requestOptions: { followAllRedirects: true, headers: { 'X-Team': 'blue' } } } }))
    })
    await backend!.getSecretManifestData({ spec: { vaultRole: 'app', data: [{ key: 'secret/data/app/db', name: 'password', property: 'password' }] } })
    assert.deepEqual(vaultStandIn.received.map((r) => r.operation), ['login', 'read'])
    for (const r of vaultStandIn.received) {
      assert.equal(r.headers['proxy-authorization'], undefined)
      assert.equal(r.headers['x-team'], 'blue')
    }
  })
})
