/** The backend's dynamic-secret cache against the dev Vault: what is kept, single flight, the bound, the setting. */
import assert from 'node:assert/strict'
import { loadConfig } from '../../lib/config.js'
import { ConfigError } from '../../lib/env.js'
import { VaultBackend } from '../../lib/backend/vault-backend.js'
import { dynamicWorld, M } from '../support/dynamic-harness.js'

describe('backend: dynamic secrets', function () {
  this.timeout(30_000)

  it('VAULT_DYNAMIC_SECRETS is keep (default) or every-poll; anything else names the variable', () => {
    assert.equal(loadConfig({}).dynamicSecrets, 'keep')
    assert.equal(loadConfig({ VAULT_DYNAMIC_SECRETS: 'every-poll' }).dynamicSecrets, 'every-poll')
    assert.throws(() => loadConfig({ VAULT_DYNAMIC_SECRETS: 'always' }), (e: unknown) => e instanceof ConfigError && e.variable === 'VAULT_DYNAMIC_SECRETS')
    assert.throws(() => new VaultBackend({ dynamicSecretsCacheMax: 0 }), (e: unknown) => e instanceof ConfigError && e.variable === 'dynamicSecretsCacheMax')
  })

  it('50 ExternalSecrets on one path: one mint, and one renewal at each threshold (single flight)', async () => {
    const w = dynamicWorld({ perPath: 50, db: { default_ttl: '5m' } })
    assert.equal(await w.run(30 * M), 0)
    // Renewed at 4:30, 9:00, ..., 27:00: every 4:30.
    assert.deepEqual([w.dev.leaseCounts().minted, w.dev.leaseCounts().renewed], [1, 6])
    assert.equal(w.dev.counters().requests.read, 1)
    assert.equal(w.dev.counters().requests.lookup, 179, 'the token is looked up once per poll, as for KV reads')
    await w.backend.close({ revoke: false })
  })

  it('a KV read is not kept, even with an advisory lease_duration (KV v1): read at every poll', async () => {
    const w = dynamicWorld({ perPath: 0, kv: true })
    w.dev.enableKv('kv1', 1)
    w.dev.writePolicy('app', ['kv1/'])
    w.dev.putSecret('kv1', 'app', { username: 'u', password: 'kv1-password', ttl: 3600 })
    w.specs.push({ path: 'kv1/app', spec: { vaultRole: 'app', kvVersion: 1, data: [{ key: 'kv1/app', name: 'username', property: 'username' }, { key: 'kv1/app', name: 'password', property: 'password' }] } })
    w.active.add(w.specs.length - 1)
    w.active.delete(0)
    assert.equal(await w.run(5 * M), 0)
    assert.equal(w.dev.counters().requests.read, 30)
    assert.equal(await w.metric('kes_vault_secret_leases'), 0)
    await w.backend.close({ revoke: false })
  })

  it('a path that stops answering with a lease (the mount became KV) is read as KV from its next mint on', async () => {
    const w = dynamicWorld({ renewable: false, db: { default_ttl: '2m' } })
    assert.equal(await w.run(M), 0)
    w.dev.enableKv('database', 1)
    w.dev.putSecret('database', 'creds/app', { username: 'static', password: 'static-password' })
    const users: (string | undefined)[] = []
    assert.equal(await w.run(3 * M, (_t, served) => void users.push(served.users[0])), 0)
    // The kept credential until its re-mint at 1:30, then the KV value at every poll.
    assert.equal(users.filter((u) => u !== 'static').length, 3)
    assert.equal(users.slice(3).every((u) => u === 'static'), true)
    assert.equal(await w.metric('kes_vault_secret_leases'), 0)
    await w.backend.close({ revoke: false })
  })

  it('a cache too small for the secrets in use says so, and evicted secrets are minted again (revoked where allowed)', async () => {
    const w = dynamicWorld({ paths: ['a', 'b'], perPath: 1, canRevoke: true, backend: { dynamicSecretsCacheMax: 1 } })
    assert.equal(await w.run(M), 0)
    assert.ok(w.lines.some((l) => l.includes('dynamic secret cache is full and evicted a secret in use')))
    assert.ok(w.dev.leaseCounts().minted > 2)
    assert.equal(await w.metric('kes_vault_secret_lease_revocations_total', { reason: 'evicted', result: 'success' }), w.dev.leaseCounts().revoked.request)
    assert.ok(w.dev.liveCredentials() <= 2)
    await w.backend.close({ revoke: false })
  })
})
