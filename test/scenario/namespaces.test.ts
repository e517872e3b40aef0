import assert from 'node:assert/strict'
import nodeVault from 'node-vault'
import { Registry } from 'prom-client'
import { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { type DevVault, startDevVault } from '../../lib/devserver/index.js'
import { TokenRequestJwtCache, type TokenRequestApi } from '../../lib/kubernetes/token-request.js'

/**
 * Per-namespace Vault identity (KES #474, #816): each ExternalSecret logs in as a service account of its own
 * namespace, minted with TokenRequest, so Vault's role bindings decide what each namespace may read.
 */
describe('per-namespace identities on the dev Vault', function () {
  this.timeout(30_000)
  let dev: DevVault
  let clock: ManualClock
  let tokenRequests: { namespace: string; name: string }[]
  let backend: VaultBackend

  beforeEach(async () => {
    clock = new ManualClock()
    dev = await startDevVault({ clock })
    dev.enableKubernetesAuth('kubernetes')
    for (const team of ['a', 'b']) {
      dev.writePolicy(`team-${team}`, [`secret/data/${team}/`])
      dev.writeRole('kubernetes', `team-${team}`, { policies: [`team-${team}`], token_ttl: '1h', bound_service_account_names: ['vault-reader'], bound_service_account_namespaces: [team] })
      dev.putSecret('secret', `${team}/db`, { password: `pw-${team}` })
    }
    // A role both namespaces may use, reading a common path: still one token per namespace.
    dev.writePolicy('shared', ['secret/data/shared/'])
    dev.writeRole('kubernetes', 'shared', { policies: ['shared'], token_ttl: '1h', bound_service_account_names: ['vault-reader'], bound_service_account_namespaces: ['a', 'b'] })
    dev.putSecret('secret', 'shared/cfg', { url: 'https://x' })
    tokenRequests = []
    // The Kubernetes API's TokenRequest, answering as the API server does, with JWTs the dev Vault accepts.
    const api: TokenRequestApi = {
      createNamespacedServiceAccountToken: (async ({ name, namespace, body }: { name: string; namespace: string; body: { spec: { expirationSeconds?: number } } }) => {
        tokenRequests.push({ namespace, name })
        const seconds = body.spec.expirationSeconds ?? 600
        const expiresAt = clock.now() + seconds * 1000
        return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: seconds }, status: { token: dev.makeServiceAccountJwt({ namespace, serviceAccount: name, expiresAt }), expirationTimestamp: new Date(expiresAt) } }
      }) as never,
    }
    backend = new VaultBackend({
      vaultFactory: () => nodeVault({ endpoint: dev.address, debug: () => {} } as never),
      clock,
      registry: new Registry(),
      authServiceAccount: 'vault-reader',
      tokenRequests: new TokenRequestJwtCache({ api, clock, timers: clock, random: () => 0 }),
    })
  })
  afterEach(async () => {
    await backend.close({ revoke: false })
    await dev.close()
  })

  const read = (namespace: string, vaultRole: string, key: string) =>
    backend.getSecretManifestData({ namespace, spec: { vaultRole, data: [{ key, name: 'v', property: 'password' }] } })

  it('each namespace reads its own paths and only those', async () => {
    assert.deepEqual(await read('a', 'team-a', 'secret/data/a/db'), { v: Buffer.from('pw-a').toString('base64') })
    assert.deepEqual(await read('b', 'team-b', 'secret/data/b/db'), { v: Buffer.from('pw-b').toString('base64') })
    // Namespace a asking for b's role: Vault refuses the login (the role is bound to namespace b).
    await assert.rejects(read('a', 'team-b', 'secret/data/b/db'), /login failed.*namespace not authorized/)
    // Namespace a with its own role asking for b's path: a policy denial, reported, token kept.
    await assert.rejects(read('a', 'team-a', 'secret/data/b/db'), /denied reading "secret\/data\/b\/db".*role "team-a"/)
    assert.deepEqual(tokenRequests.map((r) => `${r.namespace}/${r.name}`).sort(), ['a/vault-reader', 'b/vault-reader'])
  })

  it('never shares a Vault token or a JWT across namespaces, even for the same role', async () => {
    const spec = { vaultRole: 'shared', data: [{ key: 'secret/data/shared/cfg', name: 'url', property: 'url' }] }
    for (let i = 0; i < 10; i++) {
      await backend.getSecretManifestData({ namespace: 'a', spec })
      await backend.getSecretManifestData({ namespace: 'b', spec })
    }
    const sessions = backend.tokenSessions
    assert.equal(sessions.length, 2)
    assert.notEqual(sessions[0]!.lease!.token, sessions[1]!.lease!.token)
    assert.deepEqual(sessions.map((s) => s.identity.namespace).sort(), ['a', 'b'])
    assert.equal(dev.counters().requests.login, 2)
    assert.equal(tokenRequests.length, 2, 'one TokenRequest per namespace, reused while valid')
  })

  it('a per-namespace identity without the ExternalSecret namespace fails clearly, before any Vault call', async () => {
    await assert.rejects(backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: 'secret/data/a/db', name: 'v' }] } }), /needs the ExternalSecret's namespace/)
    assert.equal(dev.counters().total, 0)
  })
})
