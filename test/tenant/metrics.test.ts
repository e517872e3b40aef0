/**
 * Issue 11, point 5: mount and role come from specs, so their series are bounded. An identity gets its own series only
 * after Vault accepted it (a successful login), up to VAULT_METRICS_IDENTITY_MAX label pairs; everything else counts
 * under "_other"; the series of an identity dropped from the token cache go at the next scrape.
 */
import assert from 'node:assert/strict'
import type { Registry } from 'prom-client'
import { OVERFLOW_LABEL } from '../../lib/metrics.js'
import { assertNoCredential, world, type World } from './world.js'

/** Series labelled by identity (mount and role), and every series of the registry. */
async function seriesCount(registry: Registry): Promise<{ identity: number; total: number; roles: Set<string>; keys: Set<string> }> {
  const roles = new Set<string>()
  const keys = new Set<string>()
  let identity = 0
  let total = 0
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values) {
      total++
      keys.add(`${(v as { metricName?: string }).metricName ?? m.name}${JSON.stringify(v.labels)}`)
      if (v.labels.role === undefined) continue
      identity++
      roles.add(String(v.labels.role))
    }
  }
  return { identity, total, roles, keys }
}

describe('tenant: metric label values from specs are bounded (issue 11, point 5)', function () {
  this.timeout(60_000)
  let w: World | undefined
  afterEach(async () => {
    await w?.close()
    w = undefined
  })

  it('2 000 ExternalSecrets with made-up roles: the series count stays bounded (all under "_other"), the real role keeps its own', async () => {
    w = await world()
    const good = w.good('a')
    // Two polls of the real team alone (a login, then a lookup): the series any healthy identity has.
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: good.spec as never }), good.expect)
    await w.clock.advance(10_000)
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: good.spec as never }), good.expect)
    const baseline = await seriesCount(w.registry)
    const hostile = Array.from({ length: 2000 }, (_, i) => ({ vaultRole: `made-up-${i}`, data: [{ key: `secret/data/team-a/app${i % 3}`, name: 'x', property: 'password' }] }))
    const poll = async (specs: typeof hostile) => {
      const results = await Promise.allSettled(specs.map((spec) => w!.backend.getSecretManifestData({ spec: spec as never })))
      assert.equal(results.filter((r) => r.status === 'rejected').length, specs.length)
      assert.deepEqual(await w!.backend.getSecretManifestData({ spec: good.spec as never }), good.expect, 'the real team keeps syncing')
    }
    await poll(hostile.slice(0, 100))
    const after100 = await seriesCount(w.registry)
    await poll(hostile.slice(100))
    await w.clock.advance(10_000)
    await poll(hostile)
    const after = await seriesCount(w.registry)
    console.log(
      `      series labelled by identity: ${baseline.identity} before, ${after100.identity} after 100 made-up roles, ${after.identity} after 2 000 (x 2 polls); ` +
        `all series in the registry: ${baseline.total}, ${after100.total}, ${after.total}; role label values: ${[...after.roles].join(', ')}`,
    )
    // Each made-up role reached Vault once per poll (a valid name; Vault said "invalid role"), the first backoff being shorter than a poll.
    assert.equal(w.dev.counters().results.login['400'], 4000)
    assert.deepEqual([...after.roles].sort(), [OVERFLOW_LABEL, 'team-a'])
    assert.ok(after.identity - baseline.identity <= 3, `${after.identity - baseline.identity} new identity series`)
    assert.deepEqual([...after.keys].filter((k) => !after100.keys.has(k)), [], 'the series count does not grow with the number of made-up roles')
    const text = await w.registry.metrics()
    assert.doesNotMatch(text, /made-up/)
    assert.match(text, /kes_vault_logins_total\{mount="_other",role="_other",result="failure",reason="first"\} 4000/)
    assertNoCredential(w.credentials(), { metrics: text })
  })

  it('VAULT_METRICS_IDENTITY_MAX: past the cap, real identities count under "_other" too; the cache entries gauge is unaffected', async () => {
    w = await world({ metricsIdentityMax: 2 })
    for (const t of ['c', 'd']) w.dev.writeRole('kubernetes', `team-${t}`, { policies: ['team-a'], token_ttl: '1h', bound_service_account_names: ['kes'], bound_service_account_namespaces: ['kes'] })
    for (const role of ['team-a', 'team-b', 'team-c', 'team-d']) {
      await w.backend.getSecretManifestData({ spec: { vaultRole: role, data: [{ key: `secret/data/${role === 'team-b' ? 'team-b' : 'team-a'}/app0`, name: 'x', property: 'password' }] } as never })
    }
    const text = await w.registry.metrics()
    assert.match(text, /kes_vault_logins_total\{mount="kubernetes",role="team-a",result="success",reason="first"\} 1/)
    assert.match(text, /kes_vault_logins_total\{mount="kubernetes",role="team-b",result="success",reason="first"\} 1/)
    assert.match(text, /kes_vault_logins_total\{mount="_other",role="_other",result="success",reason="first"\} 2/)
    assert.doesNotMatch(text, /team-c|team-d/)
    assert.match(text, /kes_vault_token_cache_entries 4/)
    assert.equal(w.backend['metrics'].identitiesWithSeries, 2)
  })

  it('an identity dropped from the token cache loses its series at the next scrape, and its slot goes to the next one', async () => {
    w = await world({ metricsIdentityMax: 1, identityIdleMilliseconds: 60_000 })
    await w.backend.getSecretManifestData({ spec: w.good('a').spec as never })
    assert.match(await w.registry.metrics(), /role="team-a"/)
    // Team a stops polling; after the idle time the next read (team b) sweeps it out of the cache.
    await w.clock.advance(120_000)
    await w.backend.getSecretManifestData({ spec: w.good('b').spec as never })
    assert.deepEqual(w.backend.tokenSessions.map((s) => s.identity.role), ['team-b'])
    const text = await w.registry.metrics()
    assert.doesNotMatch(text, /role="team-a"/)
    assert.match(text, /kes_vault_logins_total\{mount="kubernetes",role="team-b",result="success",reason="first"\} 1/)
    assert.match(text, /kes_vault_token_ttl_seconds\{mount="kubernetes",role="team-b"\} 3600/)
  })

  it('the static token is the operator\'s: its series are its own from the first use (no login needed)', async () => {
    w = await world((dev) => ({ vaultToken: dev.rootToken }))
    w.dev.putSecret('secret', 'team-a/cfg', { v: 'x' })
    await w.backend.getSecretManifestData({ spec: { data: [{ key: 'secret/data/team-a/cfg', name: 'v', property: 'v' }] } as never })
    assert.match(await w.registry.metrics(), /kes_vault_token_lookups_total\{mount="token",role="static",result="success"\} 1/)
  })
})
