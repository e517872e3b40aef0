/**
 * Issue 6 "Done when": 50 ExternalSecrets for a simulated hour on the dev Vault and the in-process fake Kubernetes API,
 * through the real PollerHost (watch, pollers, Secret writes, status), with a 5-minute seal, a policy denial and a
 * broken spec on the way. Asserts every Secret's final content, and that no Secret was ever deleted or blanked.
 */
import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { type DevVault, startDevVault } from '../../lib/devserver/index.js'
import { PollerHost } from '../../lib/poller/host.js'
import { FakeKubeApi } from '../support/fake-kube-api.js'
import { M } from './soak.js'

const ROLES = 5
const PER_ROLE = 10
const INTERVAL = 60_000

describe('fault: 50 ExternalSecrets for a simulated hour through the poller host (dev Vault + fake Kubernetes API)', function () {
  this.timeout(60_000)
  let api: FakeKubeApi | undefined
  let dev: DevVault | undefined
  let host: PollerHost | undefined
  afterEach(async () => {
    await host?.stop()
    await api?.close()
    await dev?.close()
  })

  it('every Secret ends with Vault\'s current value; failures leave Secrets untouched; none deleted or blanked', async () => {
    const clock = new ManualClock()
    dev = await startDevVault({ clock })
    api = await FakeKubeApi.start({ clock })
    dev.enableKubernetesAuth('kubernetes')
    const jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: clock.now() + 24 * 3600_000 })
    const expected = new Map<string, string>()
    for (let r = 0; r < ROLES; r++) {
      dev.writePolicy(`p${r}`, [`secret/data/r${r}/`])
      dev.writeRole('kubernetes', `role${r}`, { policies: [`p${r}`], bound_service_account_names: ['kes'], bound_service_account_namespaces: ['kes'], token_ttl: r % 2 ? '10m' : '1h', token_max_ttl: '2h' })
      for (let i = 0; i < PER_ROLE; i++) {
        const name = `es-${r}-${i}`
        dev.putSecret('secret', `r${r}/${name}`, { password: `v1-${name}` })
        expected.set(`team-${r}/${name}`, `v1-${name}`)
        api.addExternalSecret(`team-${r}`, name, { backendType: 'vault', vaultMountPoint: 'kubernetes', vaultRole: `role${r}`, kvVersion: 2, data: [{ key: `secret/data/r${r}/${name}`, name: 'password', property: 'password' }] })
      }
    }
    const backend = new VaultBackend({
      vaultExchange: dev!.inProcessExchange(),
      pollerIntervalMilliseconds: INTERVAL,
      clock,
      random: () => 0.5,
      registry: new Registry(),
      jwtProvider: { getJwt: async () => jwt },
      revokeTokensOnShutdown: false,
    })
    host = new PollerHost({ kubeConfig: api.kubeConfig(), backends: { vault: { getSecretManifestData: (a) => backend.getSecretManifestData(a as never), close: async () => void (await backend.close()) } }, clock, timers: clock, random: () => 0.5, registry: new Registry(), config: { pollerIntervalMilliseconds: INTERVAL, watchTimeoutMilliseconds: 10 * M } })
    await host.start()

    // Watch every Secret write: none may blank a Secret that had a value.
    const blanked: string[] = []
    const check = () => {
      for (const key of expected.keys()) {
        const [ns, name] = key.split('/') as [string, string]
        const s = api!.secretData(ns, name)
        if (s && !s.password) blanked.push(key)
      }
    }
    for (let minute = 0; minute < 60; minute++) {
      if (minute === 10) dev.seal()
      if (minute === 15) dev.unseal()
      if (minute === 20) dev.writePolicy('p1', [])
      if (minute === 25) dev.writePolicy('p1', ['secret/data/r1/'])
      if (minute === 30) api.modifyExternalSecret('team-2', 'es-2-0', { backendType: 'vault', vaultRole: 'role2', kvVersion: 3, data: [{ key: 'secret/data/r2/es-2-0', name: 'password', property: 'password' }] })
      if (minute === 35) {
        // The bad spec is fixed; meanwhile Vault's values change for half of the ExternalSecrets.
        api.modifyExternalSecret('team-2', 'es-2-0', { backendType: 'vault', vaultRole: 'role2', kvVersion: 2, data: [{ key: 'secret/data/r2/es-2-0', name: 'password', property: 'password' }] })
        for (const key of [...expected.keys()].filter((_, i) => i % 2 === 0)) {
          const [ns, name] = key.split('/') as [string, string]
          dev.putSecret('secret', `r${ns.slice(5)}/${name}`, { password: `v2-${name}` })
          expected.set(key, `v2-${name}`)
        }
      }
      if (minute === 12 || minute === 22 || minute === 32) {
        // Mid-fault: the Secrets written before the fault are still there, unchanged.
        for (const [key, value] of expected) {
          const [ns, name] = key.split('/') as [string, string]
          assert.equal(api.secretData(ns, name)?.password, value, `${key} untouched during the fault`)
        }
      }
      await clock.advance(M)
      check()
    }
    for (const [key, value] of expected) {
      const [ns, name] = key.split('/') as [string, string]
      assert.equal(api.secretData(ns, name)?.password, value, `${key} final content`)
      assert.equal(api.getExternalSecret(ns, name)?.status?.status, 'SUCCESS', `${key} status`)
    }
    assert.deepEqual(blanked, [])
    assert.equal(api.count('delete secret'), 0)
    assert.equal(api.count('create secret'), ROLES * PER_ROLE)
    assert.equal(dev.counters().deadTokenRequests.length, 0)
    const errored = (await host.registry.getMetricsAsJSON()).find((m) => m.name === 'kubernetes_external_secrets_sync_calls_count')
    assert.ok(errored?.values.some((v) => v.labels.status === 'error'), 'the faults did show as errors')
  })
})
