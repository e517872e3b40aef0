/**
 * Issue #13 on the stricter dev Vault: a role without the `default` policy (its tokens read their secrets but may not
 * look themselves up or renew themselves), and a static token someone renewed elsewhere with a small increment.
 */
import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import { VaultBackend } from '../../lib/backend/vault-backend.js'
import { createLogger } from '../../lib/log.js'
import { harness, type Harness } from '../support/dev-harness.js'

const S = 1000
const M = 60 * S
const H = 60 * M
const DAY = 24 * H

/** A metric's value for one label set, from the backend's registry. */
async function metric(h: Harness, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await h.registry.getSingleMetric(name)?.get())?.values ?? []
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0)
}

describe('scenario: real Vault rules (stricter dev Vault)', function () {
  this.timeout(60_000)
  let h: Harness | undefined
  afterEach(async () => {
    await h?.close()
    h = undefined
  })

  it('a role without the default policy, a simulated day at poll 10 s: one login per token TTL, no lookup-self after the first denial, nothing failed', async () => {
    h = await harness({ roles: { hardened: { token_ttl: '1h', token_no_default_policy: true } }, perRole: 3, transport: 'in-process' })
    const failed = await h.run(DAY)
    const c = h.dev.counters()
    assert.equal(failed, 0, 'failed reads')
    assert.equal(c.deadTokenRequests.length, 0, 'requests with a dead token')
    // The first lookup-self (10 s after the first login) is denied; none after it, on any of the day's tokens.
    assert.equal(c.requests.lookup, 1)
    assert.equal(c.results.lookup?.['403'], 1)
    // One renewal tried at the first threshold (denied: not a write), never again.
    assert.equal(c.requests.renew, 1)
    // A login at the threshold of each token: 3 600 - 30 s = one every 59.5 min, at 0, 3 570, ..., 85 680 s.
    assert.equal(c.requests.login, 25)
    assert.equal(c.storageWrites, 25, 'the logins are the only writes')
    assert.equal(await metric(h, 'kes_vault_token_warnings_total', { code: 'self_denied', role: 'hardened' }), 1, 'said once')
    assert.equal(await metric(h, 'kes_vault_logins_total', { reason: 'self_denied', result: 'success' }), 24)
    assert.equal(h.lines.filter((l) => l.includes('cannot look themselves up: no default policy')).length, 1)
  })

  it('the same role with the default policy back: renewals, not logins (the mark is per identity, from what Vault said)', async () => {
    h = await harness({ roles: { app: { token_ttl: '1h' } }, perRole: 3, transport: 'in-process' })
    assert.equal(await h.run(6 * H), 0)
    const c = h.dev.counters()
    assert.equal(c.requests.login, 1)
    assert.equal(c.requests.renew, 6, 'one renewal per 59.5 min')
    assert.equal(c.results.lookup?.['403'] ?? 0, 0)
  })

  for (const wording of ['new', 'old'] as const) {
    it(`a token of that role that really dies is still replaced at once (${wording} 403 wording): no failed read`, async () => {
      h = await harness({ roles: { hardened: { token_ttl: '1h', token_no_default_policy: true } }, perRole: 3, transport: 'in-process', errorWording: wording })
      assert.equal(await h.run(10 * M), 0)
      const before = h.dev.counters().requests.login
      assert.equal(h.dev.revokeRoleTokens('kubernetes', 'hardened'), 1)
      const failed = await h.run(10 * M)
      const c = h.dev.counters()
      assert.equal(failed, 0, 'the read denied with a dead token is retried once after a new login')
      assert.equal(c.requests.login - before, 1, 'one login replaces it')
      // New wording: "invalid token" says death, so the role's mark stands. Old wording: the death made the first denial
      // ambiguous, so the next token is asked once more (a read) before the mark is set again.
      assert.equal(c.requests.lookup, wording === 'new' ? 1 : 2)
    })
  }

  for (const skew of [2, 60] as const) {
    it(`tokens that live no longer than the expiry skew (TTL ${skew} s, skew ${skew} s): one login per poll, every read served, warned once`, async () => {
      // A reviewer measured 10 logins and 10 failed reads in 10 polls: each fresh token counted as expired on arrival.
      h = await harness({ roles: { brief: { token_ttl: `${skew}s`, token_max_ttl: '1h' } }, perRole: 3, transport: 'in-process', backend: { expirySkewSeconds: skew } })
      const failed = await h.run(10 * M)
      const c = h.dev.counters()
      assert.equal(failed, 0, 'failed reads')
      assert.equal(c.deadTokenRequests.length, 0, 'requests with a dead token')
      assert.equal(c.requests.read, 180)
      if (skew === 2) {
        // A token lives less than a poll: one login per poll (60 in 10 min), shared by the poll's three reads.
        assert.equal(c.requests.login, 60)
      } else {
        // Counted as expired 15 s (a quarter of the TTL) before its end, renewed at the 30 s threshold: one login, and a
        // renewal every 30 s (at 30, 60, ..., 570 s).
        assert.deepEqual([c.requests.login, c.requests.renew], [1, 19])
      }
      assert.equal(await metric(h, 'kes_vault_token_warnings_total', { code: 'skew_above_ttl', role: 'brief' }), 1, 'said once')
    })
  }

  it('lookup-self calls every token invalid while reads with it succeed (auth/token/* routed elsewhere): no login per poll', async () => {
    // A reviewer measured 60 logins in 60 polls, 59 replaced tokens left live: each death looked like a new revocation.
    h = await harness({ roles: { app: { token_ttl: '1h' } }, perRole: 3, transport: 'in-process' })
    h.dev.injectFault({ kind: 'error', status: 403, message: 'invalid token', operation: 'lookup' })
    const failed = await h.run(2 * H)
    const c = h.dev.counters()
    assert.equal(failed, 0, 'failed reads')
    assert.equal(c.deadTokenRequests.length, 0, 'requests with a dead token')
    // The first lookup's verdict is believed (a revocation: one login replaces the token), the second contradicts it
    // (that token too had read since its login): lookup-self is not asked again; renew-self still works, at the threshold.
    assert.deepEqual([c.requests.login, c.requests.lookup, c.requests.renew], [2, 2, 2])
    assert.equal(h.dev.liveTokens(), 1, 'the token replaced on the first verdict ended at its TTL; no pile of live tokens')
    assert.equal(h.lines.filter((l) => l.includes('invalid while reads with them succeed')).length, 1, 'said once')
  })

  it('two ordinary revocations in a row (the second of a token not yet looked up) leave lookup-self believed', async () => {
    // A reviewer's case: the routed-elsewhere rule counted two genuine revocations as a contradiction and turned
    // lookup-self off for good (3 lookups in the next 30 min instead of 183, more dead-token requests after).
    h = await harness({ roles: { app: { token_ttl: '1h' } }, perRole: 2, transport: 'in-process' })
    assert.equal(await h.run(20 * S), 0)
    h.dev.revokeRoleTokens('kubernetes', 'app')
    assert.equal(await h.run(10 * S), 0, 'the first token, looked up before, is replaced at once')
    h.dev.revokeRoleTokens('kubernetes', 'app')
    assert.equal(await h.run(10 * S), 0, 'the second, at its first lookup, is replaced at once too')
    const before = h.dev.counters().requests.lookup
    assert.equal(await h.run(30 * M), 0)
    assert.equal(h.dev.counters().requests.lookup - before, 180, 'a lookup per poll, as before the revocations')
    assert.equal(h.lines.some((l) => l.includes('invalid while reads with them succeed')), false)
  })

  it('a role whose tokens have 3 uses: warned once; each use counted, so no request ever goes out with a spent token', async () => {
    h = await harness({ roles: { limited: { token_ttl: '1h', token_num_uses: 3 } }, perRole: 4, transport: 'in-process' })
    const failed = await h.run(5 * M)
    const c = h.dev.counters()
    assert.equal(failed, 0, 'failed reads')
    // A reviewer measured 74 requests with a dead token (and 45 logins) in 30 polls before: uses were not counted.
    assert.equal(c.deadTokenRequests.length, 0, 'requests with a spent token')
    // 30 polls x 4 reads, 3 reads per token, no lookup-self (it would spend a use): the floor for such a role.
    assert.equal(c.requests.read, 120)
    assert.equal(c.requests.lookup, 0)
    assert.equal(c.requests.login, 40)
    assert.equal(await metric(h, 'kes_vault_token_warnings_total', { code: 'limited_uses', role: 'limited' }), 1)
    assert.equal(h.lines.filter((l) => l.includes('are limited to 3 uses (token_num_uses)')).length, 1)
  })

  it('a policy denial on one path of that role costs at most one confirming login, whatever the wording', async () => {
    h = await harness({ roles: { hardened: { token_ttl: '1h', token_no_default_policy: true } }, perRole: 2, transport: 'in-process', errorWording: 'old' })
    assert.equal(await h.run(M), 0)
    h.dev.writePolicy('hardened', ['secret/data/hardened/es0'])
    const loginsBefore = h.dev.counters().requests.login
    const failed = await h.run(30 * M)
    assert.equal(failed, 180, 'es1 is denied on each of the 180 polls; es0 keeps syncing')
    assert.equal(h.dev.counters().requests.login - loginsBefore, 1, 'one login to tell a dead token from a denial, then none')
  })
})

describe('scenario: a static token renewed elsewhere with a small increment (sticky TTL)', function () {
  this.timeout(60_000)
  let h: Harness | undefined
  afterEach(async () => {
    await h?.close()
    h = undefined
  })

  async function vaultToken(h: Harness, body: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${h.dev.address}/v1/auth/token/create`, { method: 'POST', headers: { 'X-Vault-Token': h.dev.rootToken }, body: JSON.stringify(body) })
    return ((await res.json()) as { auth: { client_token: string } }).auth.client_token
  }

  async function renewElsewhere(h: Harness, token: string, increment: number): Promise<number> {
    const res = await fetch(`${h.dev.address}/v1/auth/token/renew-self`, { method: 'POST', headers: { 'X-Vault-Token': token }, body: JSON.stringify({ increment }) })
    return ((await res.json()) as { auth: { lease_duration: number } }).auth.lease_duration
  }

  it('keeps working until its real end: the backend asks for the creation TTL back, and Vault grants it', async () => {
    h = await harness({ roles: { app: { token_ttl: '1h' } }, perRole: 2 })
    const own = await vaultToken(h, { policies: ['app'], ttl: '20m' })
    await h.backend.close({ revoke: false })
    h = await rebuilt(h, own)
    assert.equal(await h.run(10 * M), 0)
    assert.equal(await renewElsewhere(h, own, 60), 60, 'someone renewed it with a 60 s increment')
    assert.equal(await renewElsewhere(h, own, 0), 60, 'Vault keeps that TTL for later renewals (sticky)')
    const failed = await h.run(4 * H)
    const c = h.dev.counters()
    assert.equal(failed, 0)
    assert.equal(c.deadTokenRequests.length, 0)
    assert.equal(c.requests.login, 0, 'a static token never logs in')
    assert.ok(h.dev.lookupToken(own), 'still alive after 4 h')
    // Renewals at the threshold only: one to undo the 60 s, then one per 20 min - 30 s.
    assert.ok(c.requests.renew >= 12 && c.requests.renew <= 15, `renewals ${c.requests.renew}`)
  })

  it('revoked elsewhere: the log says to set a new VAULT_TOKEN, not that it logs in again (it has no role to log in with)', async () => {
    h = await harness({ roles: { app: { token_ttl: '1h' } }, perRole: 2 })
    const own = await vaultToken(h, { policies: ['app'], ttl: '1h' })
    await h.backend.close({ revoke: false })
    h = await rebuilt(h, own)
    assert.equal(await h.run(M), 0)
    h.dev.revokeToken(own)
    assert.ok((await h.run(2 * M)) > 0)
    const said = h.lines.filter((l) => l.includes('vault token is no longer valid'))
    assert.equal(said.length, 1)
    assert.match(said[0]!, /set a new VAULT_TOKEN or configure DEFAULT_VAULT_ROLE/)
    assert.equal(h.lines.some((l) => l.includes('logging in again')), false)
  })

  it('at its real end (explicit max TTL) it is reported once with what to do, and nothing more is sent for it', async () => {
    h = await harness({ roles: { app: { token_ttl: '1h' } }, perRole: 2 })
    const own = await vaultToken(h, { policies: ['app'], ttl: '20m', explicit_max_ttl: '1h' })
    await h.backend.close({ revoke: false })
    h = await rebuilt(h, own)
    let failed = 0
    for (let t = 0; t < 2 * H; t += 10 * S) {
      const errors = await h.poll()
      if (t < H - 10 * S) assert.equal(errors.length, 0, `no failure before the end (t = ${t / 1000} s)`)
      failed += errors.length
      if (t >= H) for (const e of errors) assert.match(e.message, /static VAULT_TOKEN is invalid, expired or revoked.*set a new VAULT_TOKEN or configure DEFAULT_VAULT_ROLE/)
      await h.clock.advance(10 * S)
    }
    const c = h.dev.counters()
    assert.ok(failed > 0)
    assert.equal(c.deadTokenRequests.length, 0, 'never a request with the dead token')
    const requestsAtEnd = c.total
    await h.run(30 * M)
    assert.equal(h.dev.counters().total, requestsAtEnd, 'after its end nothing is sent for it: no lookup every 30 s forever')
    assert.equal(h.lines.filter((l) => l.includes('static_token_expiring')).length, 1, 'warned once before the end')
  })
})

/** The same dev Vault and clock, a new backend reading with the static token `token` (no role). */
async function rebuilt(h: Harness, token: string): Promise<Harness> {
  const registry = new Registry()
  const backend = new VaultBackend({
    vaultAddr: h.dev.address,
    vaultToken: token,
    pollerIntervalMilliseconds: 10_000,
    clock: h.clock,
    random: () => 1,
    registry,
    logger: createLogger({ level: 'debug', write: (l) => h.lines.push(l), clock: h.clock }),
  })
  const specs = [0, 1].map((i) => ({ spec: { data: [{ key: `secret/data/app/es${i}`, name: 'password', property: 'password' }] }, expect: Buffer.from(`pw-app-${i}`).toString('base64') }))
  const poll = async () => {
    const results = await Promise.allSettled(specs.map((s) => backend.getSecretManifestData({ spec: s.spec as never })))
    return results.flatMap((r, i) => (r.status === 'rejected' ? [r.reason as Error] : r.value.password !== specs[i]!.expect ? [new Error('wrong content')] : []))
  }
  return {
    ...h,
    backend,
    registry,
    poll,
    async run(durationMs, intervalMs = 10_000) {
      let failed = 0
      for (let t = 0; t < durationMs; t += intervalMs) {
        failed += (await poll()).length
        await h.clock.advance(intervalMs)
      }
      return failed
    },
    async close() {
      await backend.close({ revoke: false })
      await h.dev.close()
    },
  }
}
