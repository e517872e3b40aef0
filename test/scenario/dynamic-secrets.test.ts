import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import { VaultBackend } from '../../lib/backend/vault-backend.js'
import { type DynamicWorld, dynamicWorld, H, M, type Served } from '../support/dynamic-harness.js'

/**
 * Every credential a Secret holds is one Vault still honours: its lease is live, and the token that read it (whose
 * end takes the lease with it) has more than `minParentSeconds` left. Returns the usernames served, by ExternalSecret.
 */
function assertHonoured(w: DynamicWorld, served: Served, t: number, minParentSeconds = 20): void {
  const live = new Map(w.dev.liveLeases().map((l) => [l.username, l]))
  served.users.forEach((user, i) => {
    if (user === undefined || !w.specs[i]!.path.startsWith('database/')) return
    const lease = live.get(user)
    assert.ok(lease, `at ${t / 1000} s ExternalSecret ${i} holds a credential Vault no longer has`)
    const parentTtl = Number(w.dev.lookupToken(lease.clientToken)?.ttl)
    assert.ok(parentTtl >= minParentSeconds, `at ${t / 1000} s ExternalSecret ${i} holds a credential whose token has ${parentTtl} s left`)
  })
}

/** How often each ExternalSecret's content changed (a change = a new credential in its Secret). */
function changeCounter(): { see(served: Served): void; changes: number[] } {
  const last: (string | undefined)[] = []
  const changes: number[] = []
  return {
    changes,
    see(served) {
      served.users.forEach((u, i) => {
        if (u === undefined) return
        if (last[i] !== u) changes[i] = (changes[i] ?? 0) + 1
        last[i] = u
      })
    },
  }
}

describe('scenario: dynamic secrets over a simulated day (poll 10 s, in-process dev Vault)', function () {
  this.timeout(120_000)

  it('a day: 6 mints instead of 8 640, 24 lease renewals, 0 failed reads, every Secret unchanged between mints', async () => {
    // Database role: TTL 1 h, max 5 h. Token: TTL 1 h, max 24 h. Two ExternalSecrets on the path, and a KV one.
    const w = dynamicWorld({ db: { default_ttl: '1h', max_ttl: '5h' }, kv: true })
    const seen = changeCounter()
    const failed = await w.run(24 * H, (t, served) => {
      assertHonoured(w, served, t)
      seen.see(served)
      assert.equal(served.users[0], served.users[1], 'both ExternalSecrets of the path hold the same credential')
    })
    assert.equal(failed, 0)
    const leases = w.dev.leaseCounts()
    // A lease lives 4:59:30: renewed at 59:30, 1:59:00, 2:58:30, 3:58:00, capped at 4:57:30 (150 s left of its 5 h),
    // minted again at 4:59:30. Five chains start at 0, 4:59:30, ..., 19:58:00; the token's re-login at 23:59:30 (its
    // 24 h max) takes the last lease with it, so one more mint then: 6 mints, 4 x 5 + 4 renewals.
    assert.equal(leases.minted, 6)
    assert.equal(leases.renewed, 24)
    assert.deepEqual(seen.changes, [6, 6, 1], 'a Secret changes only at a mint; the KV Secret never')
    const c = w.dev.counters()
    assert.equal(c.requests.read, 6 + 8640, 'the mints, and the KV read of every poll (KV reads are unchanged)')
    assert.deepEqual([c.requests.login, c.requests.renew], [2, 24])
    // The default policy does not grant sys/leases/revoke: asked once, at the first re-mint, then never again.
    assert.deepEqual(c.results.lease, { '200': 24, '403': 1 })
    assert.equal(await w.metric('kes_vault_secret_lease_revocations_total', { result: 'denied', reason: 'superseded' }), 1)
    assert.equal(w.lines.filter((l) => l.includes('vault denies sys/leases/revoke')).length, 1)
    // Superseded leases ended at their own expiry (4) or with their token (the one read before the re-login).
    assert.deepEqual(w.dev.leaseCounts().revoked, { request: 0, token: 1, expired: 4 })
    assert.equal(c.storageWrites, 2 + 24 + 6 + 24, 'logins, token renewals, mints, lease renewals')
    assert.equal(await w.metric('kes_vault_secret_mints_total', { result: 'success' }), 6)
    assert.equal(await w.metric('kes_vault_secret_mints_total', { reason: 'max_ttl' }), 4)
    assert.equal(await w.metric('kes_vault_secret_mints_total', { reason: 'parent_token' }), 1)
    assert.equal(await w.metric('kes_vault_secret_lease_renewals_total', { result: 'success' }), 20)
    assert.equal(await w.metric('kes_vault_secret_lease_renewals_total', { result: 'capped' }), 4)
    assert.equal(w.dev.liveCredentials(), 1, 'the database holds one user for this path')
    await w.backend.close()
    assert.equal(w.dev.liveCredentials(), 0, 'close() revoked the token, and its leases with it')
  })

  it('KES\'s behaviour, VAULT_DYNAMIC_SECRETS=every-poll: a new credential at every poll (one per path, shared by its ExternalSecrets)', async () => {
    const w = dynamicWorld({ backend: { dynamicSecrets: 'every-poll' } })
    const seen = changeCounter()
    assert.equal(await w.run(H, (_t, served) => seen.see(served)), 0)
    assert.equal(w.dev.leaseCounts().minted, 360)
    assert.deepEqual(seen.changes, [360, 360], 'the Secret changes at every poll (KES #766)')
    assert.equal(w.dev.liveCredentials(), 359, 'nothing is revoked: the database holds an hour of users (the first just expired)')
    await w.backend.close({ revoke: false })
  })

  it('across token re-logins (token max TTL 2 h, lease max 24 h): minted again with each new token, never holding one whose token is ending', async () => {
    const w = dynamicWorld({ token: { token_ttl: '1h', token_max_ttl: '2h' } })
    const seen = changeCounter()
    const failed = await w.run(8 * H, (t, served) => {
      assertHonoured(w, served, t)
      seen.see(served)
    })
    assert.equal(failed, 0)
    // Tokens live 1:59:30 (renewed at 59:30, capped at 1:59:00, replaced at 1:59:30). Each lease is minted with the
    // new token in the same poll as the login: at 0, 1:59:30, 3:59:00, 5:58:30, 7:58:00.
    assert.equal(w.dev.counters().requests.login, 5)
    assert.equal(w.dev.leaseCounts().minted, 5)
    assert.equal(await w.metric('kes_vault_secret_mints_total', { reason: 'parent_token' }), 4)
    assert.deepEqual(seen.changes, [5, 5])
    // Each lease is renewed at 59:30, and once more at 1:59:00 so that it outlives the 30 s until the new token.
    assert.equal(w.dev.leaseCounts().renewed, 4 * 2)
    assert.equal(w.dev.counters().deadTokenRequests.length, 0)
    await w.backend.close({ revoke: false })
  })

  it('a Vault outage of 5 minutes: the kept credential is served throughout, and nothing is minted after', async () => {
    const w = dynamicWorld()
    const seen = changeCounter()
    const failed = await w.run(H, (t, served) => {
      if (t === 20 * M) w.dev.seal()
      if (t === 25 * M) w.dev.unseal()
      if (t < 20 * M || t >= 25 * M) assertHonoured(w, served, t)
      seen.see(served)
    })
    assert.equal(failed, 0)
    assert.equal(w.dev.leaseCounts().minted, 1)
    assert.deepEqual(seen.changes, [1, 1])
    // While sealed only the token's lookup (one per poll for the identity) went out, and failed.
    assert.equal(w.dev.counters().results.lookup['503'], 30)
    await w.backend.close({ revoke: false })
  })

  it('an outage across the lease\'s end: reads fail only while the kept credential is expired and Vault sealed; one mint after, no storm', async () => {
    // Lease and token both TTL 10 min; Vault sealed from 9:00 to 15:00, over both renewals (9:30) and both expiries.
    const w = dynamicWorld({ token: { token_ttl: '10m' }, db: { default_ttl: '10m' }, perPath: 5 })
    const failedAt: number[] = []
    const failed = await w.run(30 * M, (t, served) => {
      if (t === 9 * M) w.dev.seal()
      if (t === 15 * M) w.dev.unseal()
      if (served.failures.length > 0) failedAt.push(t)
      else assertHonoured(w, served, t, 0)
    })
    // Served until the credential expired (10:00; its renewal at 9:30 could not reach Vault), failed while Vault was
    // sealed, and back 30 s after the unseal (the token's login backs off to at most 30 s while Vault is down).
    assert.deepEqual([failedAt[0], failedAt[failedAt.length - 1], failedAt.length], [10 * M, 15 * M + 20_000, 33])
    assert.equal(failed, 5 * 33)
    assert.equal(w.dev.leaseCounts().minted, 2, 'the first, and one after the outage for all five ExternalSecrets')
    const c = w.dev.counters()
    assert.ok(c.errors.lease <= 3 && c.errors.login <= 14, `attempts while sealed: ${c.errors.lease} lease renewals, ${c.errors.login} logins`)
    await w.backend.close({ revoke: false })
  })

  describe('revocation', () => {
    it('close(): the token\'s revocation takes the leases it read (one request, not one per lease); the database holds no user after', async () => {
      const w = dynamicWorld({ paths: ['app', 'other'], canRevoke: true })
      assert.equal(await w.run(10 * M), 0)
      assert.equal(w.dev.liveCredentials(), 2)
      const before = w.dev.counters().requests
      await w.backend.close()
      assert.equal(w.dev.liveCredentials(), 0)
      assert.deepEqual(w.dev.leaseCounts().revoked, { request: 0, token: 2, expired: 0 }, 'Vault revoked them with their token')
      const after = w.dev.counters().requests
      assert.deepEqual([after.revoke - before.revoke, after.lease - before.lease], [1, 0], 'one revoke-self, no sys/leases/revoke')
    })

    it('close() where the default policy denies sys/leases/revoke: nothing is asked; the token\'s revocation takes the leases', async () => {
      const w = dynamicWorld({ paths: ['app', 'other', 'third'] })
      assert.equal(await w.run(10 * M), 0)
      await w.backend.close()
      assert.equal(w.dev.liveCredentials(), 0)
      assert.deepEqual(w.dev.leaseCounts().revoked, { request: 0, token: 3, expired: 0 })
      assert.equal(w.dev.counters().requests.lease, 0)
    })

    for (const [what, fault] of [['refused (a role without the default policy, which grants revoke-self)', 'no-default'], ['failing (500)', '500']] as const) {
      it(`close() when revoke-self is ${what}: the leases are revoked one by one, none left live`, async () => {
        // A reviewer found 2 credentials left live: the leases had been left to a token revocation that never happened.
        const w = dynamicWorld({ paths: ['app', 'other'], canRevoke: true, ...(fault === 'no-default' ? { token: { token_no_default_policy: true } } : {}) })
        assert.equal(await w.run(10 * M), 0)
        if (fault === '500') w.dev.injectFault({ kind: 'error', status: 500, operation: 'revoke', path: 'auth/token/revoke-self' })
        assert.deepEqual(await w.backend.close(), { revoked: 0 })
        assert.equal(w.dev.liveCredentials(), 0)
        assert.deepEqual(w.dev.leaseCounts().revoked, { request: 2, token: 0, expired: 0 })
      })
    }

    it('close() revokes one by one the leases a static token read (the operator\'s token is never revoked)', async () => {
      const w = dynamicWorld({ paths: ['app', 'other'] })
      const backend = new VaultBackend({ vaultExchange: w.dev.inProcessExchange(), vaultToken: w.dev.rootToken, clock: w.clock, random: () => 1, registry: new Registry() })
      for (const p of ['app', 'other']) await backend.getSecretManifestData({ spec: { kvVersion: 1, data: [{ key: `database/creds/${p}`, name: 'u', property: 'username' }] } as never })
      assert.equal(w.dev.liveCredentials(), 2)
      assert.deepEqual(await backend.close(), { revoked: 0 })
      assert.equal(w.dev.liveCredentials(), 0)
      assert.deepEqual(w.dev.leaseCounts().revoked, { request: 2, token: 0, expired: 0 })
      assert.ok(w.dev.lookupToken(w.dev.rootToken), 'the static token lives on')
      await w.backend.close({ revoke: false })
    })

    it('close({ revoke: false }) (VAULT_REVOKE_TOKENS_ON_SHUTDOWN=false) leaves the credentials valid for the apps using them', async () => {
      const w = dynamicWorld({ canRevoke: true })
      assert.equal(await w.run(M), 0)
      await w.backend.close({ revoke: false })
      assert.equal(w.dev.liveCredentials(), 1)
      assert.equal(w.dev.counters().requests.lease, 0)
    })

    it('a lease no ExternalSecret asks for any more is revoked after VAULT_IDENTITY_IDLE_MILLISECONDS; the one in use is kept', async () => {
      const w = dynamicWorld({ paths: ['app', 'other'], canRevoke: true, backend: { identityIdleMilliseconds: 15 * M } })
      const live: number[] = []
      assert.equal(await w.run(40 * M, (t) => {
        if (t === 10 * M) for (const i of [2, 3]) w.active.delete(i) // the ExternalSecrets of "other" are deleted
        if (t % (5 * M) === 0) live.push(w.dev.liveCredentials())
      }), 0)
      // Last asked for at 9:50; revoked at the first sweep 15 min later (the sweep runs at most once per poll interval).
      assert.deepEqual(live, [2, 2, 2, 2, 2, 1, 1, 1])
      assert.equal(w.dev.liveCredentials({ role: 'app' }), 1)
      assert.deepEqual(w.dev.leaseCounts().revoked, { request: 1, token: 0, expired: 0 })
      assert.equal(await w.metric('kes_vault_secret_lease_revocations_total', { result: 'success', reason: 'idle' }), 1)
      assert.equal(await w.metric('kes_vault_secret_leases'), 1)
      await w.backend.close({ revoke: false })
    })

    it('a re-mint revokes the lease it replaces where allowed: the database never holds two users for one path', async () => {
      const w = dynamicWorld({ db: { default_ttl: '10m', max_ttl: '30m' }, canRevoke: true })
      const seen = changeCounter()
      assert.equal(await w.run(2 * H, (t, served) => {
        assertHonoured(w, served, t)
        seen.see(served)
        assert.equal(w.dev.liveCredentials(), 1, `two users at ${t / 1000} s`)
      }), 0)
      // A lease lives 29:30 (renewed at 9:30, 19:00, capped at 28:30, replaced at 29:30): mints at 0, 29:30, 59:00, 1:28:30, 1:58:00.
      assert.equal(w.dev.leaseCounts().minted, 5)
      assert.deepEqual(seen.changes, [5, 5])
      assert.equal(w.dev.leaseCounts().revoked.request, 4)
      assert.equal(await w.metric('kes_vault_secret_lease_revocations_total', { result: 'success', reason: 'superseded' }), 4)
      await w.backend.close({ revoke: false })
    })
  })

  it('the token revoked from outside takes its leases: found by the next lookup, a new login and a new credential in that poll', async () => {
    const w = dynamicWorld({ perPath: 3 })
    const stale: number[] = []
    assert.equal(await w.run(20 * M, (t, served) => {
      if (w.dev.liveCredentials() === 0) stale.push(t)
      else assertHonoured(w, served, t)
      if (t === 10 * M) w.dev.revokeRoleTokens('kubernetes', 'app') // after this poll, before the next
    }), 0)
    assert.deepEqual(stale, [], 'no poll ended holding the revoked credential')
    assert.deepEqual([w.dev.counters().requests.login, w.dev.leaseCounts().minted], [2, 2])
    assert.equal(await w.metric('kes_vault_secret_mints_total', { reason: 'parent_token' }), 1)
    await w.backend.close({ revoke: false })
  })

  it('a lease revoked from outside (vault lease revoke) is noticed at its next renewal ("lease not found") and minted again in that poll', async () => {
    const w = dynamicWorld()
    const stale: number[] = []
    assert.equal(await w.run(2 * H, (t, served) => {
      if (t === 10 * M) assert.equal(w.dev.revokeLease(w.dev.liveLeases()[0]!.id), true)
      if (w.dev.liveCredentials() === 0) stale.push(t)
      else assertHonoured(w, served, t)
    }), 0)
    // Nothing asks Vault about a kept lease between renewals: the revoked credential was served from 10:00 to 59:20.
    assert.deepEqual([stale[0], stale[stale.length - 1]], [10 * M, 59 * M + 20_000])
    assert.deepEqual([w.dev.leaseCounts().minted, await w.metric('kes_vault_secret_mints_total', { reason: 'revoked' })], [2, 1])
    assert.equal(await w.metric('kes_vault_secret_lease_renewals_total', { result: 'failure' }), 1)
    await w.backend.close({ revoke: false })
  })

  describe('leases that cannot be extended', () => {
    it('an engine whose leases are not renewable (AWS STS-like, TTL 15 min): minted 30 s before each expiry, never renewed', async () => {
      const w = dynamicWorld({ renewable: false, db: { default_ttl: '15m' } })
      const seen = changeCounter()
      assert.equal(await w.run(H, (t, served) => {
        assertHonoured(w, served, t)
        seen.see(served)
      }), 0)
      assert.equal(w.dev.leaseCounts().minted, 5, 'at 0, 14:30, 29:00, 43:30, 58:00')
      assert.deepEqual(seen.changes, [5, 5])
      assert.equal(w.dev.leaseCounts().renewed, 0)
      assert.equal(w.dev.counters().results.lease?.['200'], undefined, 'no renewal was attempted')
      assert.equal(await w.metric('kes_vault_secret_mints_total', { reason: 'not_renewable' }), 4)
      await w.backend.close({ revoke: false })
    })

    it('a role without the default policy (sys/leases/renew denied): asked once, then one mint per lease TTL', async () => {
      // Its tokens (TTL 4 h) cannot renew themselves either: one login per token TTL, outliving three leases.
      const w = dynamicWorld({ token: { token_no_default_policy: true, token_ttl: '4h' } })
      assert.equal(await w.run(3 * H, (t, served) => assertHonoured(w, served, t)), 0)
      assert.equal(w.dev.leaseCounts().minted, 4, 'at 0, 59:30, 1:59:00, 2:58:30')
      assert.equal(await w.metric('kes_vault_secret_mints_total', { reason: 'renew_denied' }), 3)
      assert.equal(await w.metric('kes_vault_secret_lease_renewals_total', { result: 'denied' }), 1, 'later leases are not asked again')
      assert.equal(await w.metric('kes_vault_secret_lease_revocations_total', { result: 'denied' }), 1)
      assert.deepEqual(w.dev.counters().results.lease, { '403': 2 })
      await w.backend.close({ revoke: false })
    })
  })

  it('leases no longer than the expiry skew (2 s, or 60 s with a 60 s skew): served, not minted and thrown away', async () => {
    // A reviewer measured 20 mints and 19 failed reads in 20 polls: each new lease counted as expired on arrival.
    const brief = dynamicWorld({ db: { default_ttl: '2s', max_ttl: '1h' } })
    assert.equal(await brief.run(200_000), 0, 'failed reads')
    assert.equal(brief.dev.leaseCounts().minted, 20, 'a lease lives less than a poll: one mint per poll, shared by both ExternalSecrets')
    await brief.backend.close({ revoke: false })
    const minute = dynamicWorld({ db: { default_ttl: '60s', max_ttl: '1h' }, backend: { expirySkewSeconds: 60 } })
    assert.equal(await minute.run(200_000), 0, 'failed reads')
    // Counted as expired 15 s before its end, renewed at the 30 s threshold: one mint, a renewal every 30 s.
    assert.deepEqual([minute.dev.leaseCounts().minted, minute.dev.leaseCounts().renewed], [1, 6])
    await minute.backend.close({ revoke: false })
  })

  it('no minted credential reaches a log line, an error or the metrics, through failures and a role deleted under it', async () => {
    const w = dynamicWorld({ db: { default_ttl: '10m', max_ttl: '20m' }, kv: true })
    const errors: string[] = []
    await w.run(45 * M, (t, served) => {
      if (t === 5 * M) w.dev.injectFault({ kind: 'error', status: 500, operation: 'lease', times: 2 })
      if (t === 25 * M) w.dev.writePolicy('app', ['secret/data/app/']) // creds/app now denied: the next mint fails
      for (const e of served.failures) errors.push(`${e.name}: ${e.message}`)
    })
    assert.ok(errors.length > 0, 'the denied mint failed reads once the kept credential expired')
    assert.ok(errors.some((e) => /denied reading "database\/creds\/app"/.test(e)), errors[0])
    const usernames = w.dev.liveLeases().map((l) => l.username)
    const secrets = [...w.passwords].filter((p) => p !== 'kv-password-1')
    assert.ok(secrets.length >= 2, 'several credentials were minted')
    const haystack = [...w.lines, ...errors, await w.registry.metrics()].join('\n')
    for (const s of [...secrets, ...usernames]) {
      assert.equal(haystack.includes(s), false, 'a credential in the logs, errors or metrics')
      assert.equal(haystack.includes(Buffer.from(s).toString('base64')), false, 'a credential, base64, in the logs, errors or metrics')
    }
    await w.backend.close({ revoke: false })
  })
})
