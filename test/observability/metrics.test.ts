import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'
import { metricsHandler, VaultMetrics } from '../../lib/metrics.js'
import { harness, type Harness } from '../support/dev-harness.js'

const M = 60_000

/** The value of one sample in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-z_]+)(\{[^}]*\})? (.+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = m[2] ?? ''
    if (want.every((w) => have.includes(w)) && (m[2] ?? '{}').split(',').length === Math.max(1, want.length)) return Number(m[3])
  }
  return undefined
}

describe('metrics and logs after scripted scenarios on the dev Vault', function () {
  this.timeout(60_000)
  let h: Harness | undefined
  afterEach(async () => {
    await h?.close()
    h = undefined
  })

  it('exact counters for a token life with max TTL, a revocation and a failed login', async () => {
    h = await harness({ roles: { app: { token_ttl: 60, token_max_ttl: 150 } }, perRole: 2 })
    const failed = await h.run(6 * M, 10_000, async (t) => {
      if (t === 200_000) h!.dev.revokeRoleTokens('kubernetes', 'app')
      if (t === 300_000) h!.dev.injectFault({ kind: 'error', operation: 'login', times: 1, status: 500 })
    })
    const text = await h.registry.metrics()
    const id = { mount: 'kubernetes', role: 'app' }
    const c = h.dev.counters()
    // Every counter agrees with what the dev Vault saw.
    assert.equal(sample(text, 'kes_vault_logins_total', { ...id, result: 'success', reason: 'first' }), 1)
    assert.equal(sample(text, 'kes_vault_logins_total', { ...id, result: 'success', reason: 'revoked' }), 1)
    assert.equal(sample(text, 'kes_vault_logins_total', { ...id, result: 'failure', reason: 'max_ttl' }), 1)
    const logins = ['first', 'revoked', 'max_ttl', 'expired'].reduce((n, reason) => n + (sample(text, 'kes_vault_logins_total', { ...id, result: 'success', reason }) ?? 0), 0)
    assert.equal(logins + 1, c.requests.login)
    const lookups = (sample(text, 'kes_vault_token_lookups_total', { ...id, result: 'success' }) ?? 0) + (sample(text, 'kes_vault_token_lookups_total', { ...id, result: 'invalid' }) ?? 0)
    assert.equal(lookups, c.requests.lookup)
    assert.equal(sample(text, 'kes_vault_token_lookups_total', { ...id, result: 'invalid' }), 1)
    const renewals = (sample(text, 'kes_vault_token_renewals_total', { ...id, result: 'success' }) ?? 0) + (sample(text, 'kes_vault_token_renewals_total', { ...id, result: 'capped' }) ?? 0)
    assert.equal(renewals, c.requests.renew)
    assert.ok((sample(text, 'kes_vault_token_renewals_total', { ...id, result: 'capped' }) ?? 0) >= 1)
    assert.equal(sample(text, 'kes_vault_secret_reads_total', { result: 'success' }), 36 * 2 - failed)
    assert.equal(sample(text, 'kes_vault_requests_duration_seconds_count', { operation: 'read', status: '2xx' }), c.ok.read)
    assert.equal(sample(text, 'kes_vault_requests_duration_seconds_count', { operation: 'login', status: '5xx' }), 1)
    assert.equal(sample(text, 'kes_vault_token_cache_entries'), 1)
    assert.equal(failed, 0, 'the failed login kept the old, still valid token in use')
  })

  it('the TTL gauge is computed at scrape time from the lease and the clock', async () => {
    h = await harness({ roles: { app: { token_ttl: 3600 } }, perRole: 1 })
    await h.poll()
    assert.equal(sample(await h.registry.metrics(), 'kes_vault_token_ttl_seconds', { mount: 'kubernetes', role: 'app' }), 3600)
    await h.clock.advance(5 * M) // no poll in between: nothing refreshed the gauge but the scrape itself
    assert.equal(sample(await h.registry.metrics(), 'kes_vault_token_ttl_seconds', { mount: 'kubernetes', role: 'app' }), 3300)
  })

  it('label values outside the closed sets are ignored, never a new series', async () => {
    const registry = new Registry()
    const m = VaultMetrics.for(registry)
    m.lookup('kubernetes', 'app', 'weird')
    m.login('kubernetes', 'app', 'success', 'because')
    m.renewal('kubernetes', 'app', 'maybe')
    m.read('exploded' as never)
    const text = await registry.metrics()
    assert.equal(/weird|because|maybe|exploded/.test(text), false)
    assert.strictEqual(VaultMetrics.for(registry), m, 'one set of collectors per registry')
  })

  it('serves /metrics over HTTP for a host to mount', async () => {
    const registry = new Registry()
    VaultMetrics.for(registry).read('success')
    const server = http.createServer(metricsHandler(registry))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as AddressInfo).port
    const ok = await fetch(`http://127.0.0.1:${port}/metrics`)
    assert.equal(ok.status, 200)
    assert.match(await ok.text(), /kes_vault_secret_reads_total\{result="success"\} 1/)
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404)
    server.close()
  })

  it('no token, JWT or secret value in any log line (debug), error message or the metrics text, over a whole scenario', async () => {
    const issued: string[] = []
    h = await harness({
      roles: { app: { token_ttl: 40, token_max_ttl: 100 }, nr: { token_ttl: 30, token_type: 'batch' } },
      perRole: 3,
      errorWording: 'old',
    })
    // Collect every token Vault hands out, by watching the dev Vault's answers through a wrapped client.
    const origin = h.dev
    const errors: string[] = []
    for (let t = 0; t < 5 * M; t += 10_000) {
      if (t === 60_000) origin.revokeRoleTokens('kubernetes', 'app')
      if (t === 120_000) origin.injectFault({ kind: 'rate-limit', operation: 'read', times: 2 })
      if (t === 150_000) origin.injectFault({ kind: 'error', operation: 'renew', times: 1 })
      if (t === 180_000) origin.writePolicy('nr', [])
      for (const e of await h.poll()) errors.push(`${e.message}\n${e.stack ?? ''}`)
      for (const s of h.backend.tokenSessions) if (s.lease && !issued.includes(s.lease.token)) issued.push(s.lease.token)
      await h.clock.advance(10_000)
    }
    assert.ok(issued.length >= 5, `saw ${issued.length} tokens`)
    assert.ok(errors.length > 0, 'the scenario produced errors to inspect')
    const secrets = [...issued, h.jwt.current, ...['app', 'nr'].flatMap((r) => [0, 1, 2].map((i) => `pw-${r}-${i}`)), origin.rootToken]
    const haystack = [h.lines.join('\n'), errors.join('\n'), await h.registry.metrics()].join('\n')
    const b64 = secrets.map((s) => Buffer.from(s).toString('base64'))
    for (const s of [...secrets, ...b64]) assert.equal(haystack.includes(s), false, `found a credential or value starting ${s.slice(0, 6)}`)
    assert.ok(h.lines.some((l) => l.includes('"accessor"')), 'accessors (not tokens) identify tokens in logs')
  })
})
