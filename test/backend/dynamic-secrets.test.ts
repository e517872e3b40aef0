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

  it('a cache too small for the secrets in use says so; evicted secrets are minted again, and no Secret is left holding a revoked credential', async () => {
    const w = dynamicWorld({ paths: ['a', 'b'], perPath: 1, canRevoke: true, backend: { dynamicSecretsCacheMax: 1 } })
    let held = 0
    const failed = await w.run(M, (_t, served) => {
      const live = new Set(w.dev.liveLeases().map((l) => l.username))
      for (const u of served.users) assert.ok(u !== undefined && live.has(u), 'a Secret holds a credential Vault revoked')
      held += served.users.length
    })
    assert.equal(failed, 0)
    assert.equal(held, 12)
    assert.ok(w.lines.some((l) => l.includes('dynamic secret cache is full and evicted a secret in use')))
    // Evicted secrets are minted again; the credential an eviction replaced is revoked once its path has a new one, so
    // a thrashing cache leaves no pile of live credentials (a reviewer counted 61 for these 2 ExternalSecrets in 10 min).
    assert.ok(w.dev.leaseCounts().minted > 2)
    assert.ok(w.dev.liveCredentials() <= 3, `${w.dev.liveCredentials()} live credentials`)
    assert.equal(await w.metric('kes_vault_secret_lease_revocations_total', { result: 'success' }), w.dev.leaseCounts().minted - w.dev.liveCredentials(), 'every credential not live any more was revoked by us')
    await w.backend.close({ revoke: false })
  })

  it('a secret evicted while its mint is on the wire: the caller gets the new credential and Vault keeps it', async () => {
    // A reviewer saw the new credential written into the Secret and then revoked as "superseded" in the same breath.
    const w = dynamicWorld({ paths: ['a', 'b'], perPath: 1, canRevoke: true, renewable: false, db: { default_ttl: '40s' }, backend: { dynamicSecretsCacheMax: 1 } })
    const read = (i: number) => w.backend.getSecretManifestData({ spec: w.specs[i]!.spec as never })
    const user = (d: Record<string, string>) => Buffer.from(d.username!, 'base64').toString()
    const first = user(await read(0))
    await w.clock.advance(10_000) // 30 s left: at the threshold, not renewable, so A mints again
    const slow = w.dev.injectFault({ kind: 'latency', latencyMs: 50, path: 'database/creds/a', times: 1 })
    const mintA = read(0)
    for (let i = 0; i < 100 && slow.hits === 0; i++) await new Promise((r) => setTimeout(r, 1))
    assert.equal(slow.hits, 1, "A's mint is on the wire")
    await read(1) // B is kept: A is evicted
    const written = user(await mintA)
    await w.backend.close({ revoke: false })
    const live = w.dev.liveLeases().map((l) => l.username)
    assert.notEqual(written, first, 'A was minted again')
    assert.ok(live.includes(written), 'the credential the caller got is still live in Vault')
    assert.equal(live.includes(first), false, 'the one it replaced was revoked')
  })
})
