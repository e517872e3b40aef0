import assert from 'node:assert/strict'
import nock from 'nock'
import { nockOff, nockOn } from '../support/hooks.js'
import { Registry } from 'prom-client'
import { VaultBackend, type VaultBackendOptions } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { createLogger } from '../../lib/log.js'
import { cleanNock, NockVault, VAULT } from '../support/nock-vault.js'

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDphcHAifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ'

function setup(tokenOpts: ConstructorParameters<typeof NockVault>[1], extra: Partial<VaultBackendOptions> = {}) {
  const clock = new ManualClock()
  const vault = new NockVault(clock, tokenOpts)
  const lines: string[] = []
  const jwtReads = { n: 0 }
  const backend = new VaultBackend({
    vaultAddr: VAULT,
    defaultVaultMountPoint: 'kubernetes',
    defaultVaultRole: 'app',
    pollerIntervalMilliseconds: 10_000,
    clock,
    random: () => 1,
    registry: new Registry(),
    jwtProvider: { getJwt: async () => (jwtReads.n++, JWT) },
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    ...extra,
  })
  return { clock, vault, backend, lines, jwtReads }
}

const spec = (key: string, extra: Record<string, unknown> = {}) => ({ data: [{ key, name: 'password', property: 'password' }], ...extra })

/** One poll: every ExternalSecret asks for its data at the same instant, as a KES poller batch does. */
async function poll(backend: VaultBackend, n: number): Promise<PromiseSettledResult<Record<string, string>>[]> {
  return Promise.allSettled(Array.from({ length: n }, (_, i) => backend.getSecretManifestData({ spec: spec(`secret/data/app${i}`) })))
}

function seed(vault: NockVault, n: number) {
  for (let i = 0; i < n; i++) vault.secrets[`secret/data/app${i}`] = { data: { password: `s3cret-${i}` }, metadata: { version: 1 } }
}

describe('VaultBackend token lifecycle (nock)', () => {
  before(() => {
    nockOn()
    nock.enableNetConnect(/127\.0\.0\.1|localhost/)
  })
  afterEach(cleanNock)
  after(nockOff)

  it('logs in once and does one lookup per poll per identity, however many ExternalSecrets share it', async () => {
    const { vault, backend, clock } = setup({ ttl: 3600 })
    seed(vault, 50)
    for (let p = 0; p < 30; p++) {
      const results = await poll(backend, 50)
      assert.equal(results.filter((r) => r.status === 'rejected').length, 0)
      await clock.advance(10_000)
    }
    assert.deepEqual(vault.counts, { login: 1, lookup: 29, renew: 0, revoke: 0, read: 1500 })
    assert.equal(vault.deadTokenRequests.length, 0)
  })

  it('returns base64 values exactly as KES does for kv2 and kv1', async () => {
    const { vault, backend } = setup({ ttl: 3600 })
    vault.secrets['secret/data/db'] = { data: { password: 'p@ss', user: 'admin' }, metadata: { version: 3 } }
    vault.secrets['kv1/db'] = { password: 'old', user: 'root' }
    const v2 = await backend.getSecretManifestData({ spec: { data: [{ key: 'secret/data/db', name: 'pw', property: 'password' }], dataFrom: ['secret/data/db'] } })
    assert.deepEqual(v2, { password: Buffer.from('p@ss').toString('base64'), user: Buffer.from('admin').toString('base64'), pw: Buffer.from('p@ss').toString('base64') })
    const v1 = await backend.getSecretManifestData({ spec: { kvVersion: 1, data: [{ key: 'kv1/db', name: 'whole' }] } })
    assert.deepEqual(v1, { whole: Buffer.from(JSON.stringify({ password: 'old', user: 'root' })).toString('base64') })
  })

  it('renews only when the remaining TTL is at or below 3 poll intervals, never on every poll', async () => {
    const { vault, backend, clock } = setup({ ttl: 60 })
    seed(vault, 3)
    for (let t = 0; t <= 600; t += 10) {
      const results = await poll(backend, 3)
      assert.equal(results.filter((r) => r.status === 'rejected').length, 0, `poll at ${t}s`)
      await clock.advance(10_000)
    }
    // ttl 60 s, threshold 30 s: a renewal at t = 30, 60, ..., 600 (every 30 s), one login, a lookup every other poll.
    assert.equal(vault.counts.login, 1)
    assert.equal(vault.counts.renew, 20)
    assert.equal(vault.deadTokenRequests.length, 0)
  })

  it('never renews a non-renewable token: logs in again before it expires, with zero failed reads', async () => {
    const { vault, backend, clock } = setup({ ttl: 60, renewable: false })
    seed(vault, 3)
    let failed = 0
    for (let t = 0; t <= 300; t += 10) {
      failed += (await poll(backend, 3)).filter((r) => r.status === 'rejected').length
      await clock.advance(10_000)
    }
    assert.equal(failed, 0)
    assert.equal(vault.counts.renew, 0)
    // a new token each time the old one reaches the 30 s threshold: t = 0, 30, 60, ..., 300
    assert.equal(vault.counts.login, 11)
    assert.equal(vault.deadTokenRequests.length, 0)
  })

  it('batch tokens are never renewed either', async () => {
    const { vault, backend, clock } = setup({ ttl: 60, renewable: false, type: 'batch' })
    seed(vault, 1)
    for (let t = 0; t <= 120; t += 10) {
      assert.equal((await poll(backend, 1))[0]!.status, 'fulfilled')
      await clock.advance(10_000)
    }
    assert.equal(vault.counts.renew, 0)
    assert.equal(vault.deadTokenRequests.length, 0)
  })

  it('logs in again before max TTL when a renewal comes back capped; keeps reading with zero failures', async () => {
    const { vault, backend, clock } = setup({ ttl: 60, maxTtl: 150 })
    seed(vault, 2)
    let failed = 0
    for (let t = 0; t <= 300; t += 10) {
      failed += (await poll(backend, 2)).filter((r) => r.status === 'rejected').length
      await clock.advance(10_000)
    }
    assert.equal(failed, 0)
    assert.equal(vault.deadTokenRequests.length, 0)
    // Each token: login at T, renew at T+30 (->90), T+60 (->120), T+90 (->150 = max), T+120 capped to 30 s -> log in at once.
    // So a token lives 120 s: logins at 0, 120, 240; renewals 4 per token, the last capped.
    assert.equal(vault.counts.login, 3)
    assert.equal(vault.counts.renew, 4 + 4 + 2)
  })

  it('200 concurrent callers share one login, then one lookup', async () => {
    const { vault, backend, clock } = setup({ ttl: 3600 })
    seed(vault, 200)
    await poll(backend, 200)
    assert.equal(vault.counts.login, 1)
    await clock.advance(10_000)
    await poll(backend, 200)
    assert.equal(vault.counts.lookup, 1)
    assert.equal(vault.counts.login, 1)
  })

  it('KES behaviour on request: lookup interval 0 looks up before every poll batch (shared by concurrent callers)', async () => {
    const { vault, backend, clock } = setup({ ttl: 3600 }, { tokenLookupIntervalMilliseconds: 0 })
    seed(vault, 5)
    await poll(backend, 5)
    await clock.advance(1)
    await backend.getSecretManifestData({ spec: spec('secret/data/app0') })
    await backend.getSecretManifestData({ spec: spec('secret/data/app1') })
    assert.equal(vault.counts.lookup, 2)
  })

  it('a revoked token (lookup 403) is replaced by one login, then the reads go on', async () => {
    const { vault, backend, clock } = setup({ ttl: 3600 })
    seed(vault, 20)
    await poll(backend, 20)
    vault.revokeAll()
    await clock.advance(10_000)
    const results = await poll(backend, 20)
    assert.equal(results.filter((r) => r.status === 'rejected').length, 0)
    assert.equal(vault.counts.login, 2)
    assert.deepEqual(vault.deadTokenRequests.map((d) => d.op), ['lookup'])
  })

  it('a read 403 with the old wording: lookup-self decides; dead -> one login and one retry', async () => {
    const { vault, backend, clock } = setup({ ttl: 3600, oldWording: true }, { tokenLookupIntervalMilliseconds: 60_000 })
    seed(vault, 10)
    await poll(backend, 10)
    vault.revokeAll()
    await clock.advance(10_000)
    const results = await poll(backend, 10)
    assert.equal(results.filter((r) => r.status === 'rejected').length, 0)
    assert.equal(vault.counts.login, 2)
    assert.equal(vault.counts.lookup, 1, 'one shared lookup-self settles all ten 403s')
    // The revocation was invisible until Vault said so: those reads were unavoidable, and each was retried once.
    assert.equal(vault.counts.read, 10 + 10 + 10)
  })

  it('a read 403 with a valid token is a policy denial: reported for that ExternalSecret, token kept, others unaffected', async () => {
    const { vault, backend } = setup({ ttl: 3600 })
    seed(vault, 2)
    vault.allowed = (p) => p !== 'secret/data/app1'
    const [ok, denied] = await poll(backend, 2)
    assert.equal(ok!.status, 'fulfilled')
    assert.equal(denied!.status, 'rejected')
    assert.match((denied as PromiseRejectedResult).reason.message, /denied reading "secret\/data\/app1" for auth mount "kubernetes", role "app" although the token is valid/)
    assert.equal(vault.counts.login, 1)
    // The login confirmed the token no earlier than the read was sent: no lookup-self is needed to call it a denial.
    assert.equal(vault.counts.lookup, 0)
  })

  it('50 ExternalSecrets denied by one policy cost one lookup-self, not 50', async () => {
    const { vault, backend, clock } = setup({ ttl: 3600 })
    seed(vault, 50)
    await poll(backend, 50)
    await clock.advance(10_000)
    vault.allowed = () => false
    const lookupsBefore = vault.counts.lookup
    const results = await poll(backend, 50)
    assert.equal(results.filter((r) => r.status === 'rejected').length, 50)
    assert.equal(vault.counts.lookup - lookupsBefore, 1)
    assert.equal(vault.counts.login, 1)
  })

  it('Vault 503 during a lookup: keeps the valid token, no login storm, reads go on', async () => {
    const { vault, backend, clock } = setup({ ttl: 3600 })
    seed(vault, 10)
    await poll(backend, 10)
    await clock.advance(10_000)
    vault.failNext.lookup = [{ status: 503, errors: ['Vault is sealed'] }]
    const results = await poll(backend, 10)
    assert.equal(results.filter((r) => r.status === 'rejected').length, 0)
    assert.equal(vault.counts.login, 1)
    assert.equal(vault.counts.lookup, 1)
  })

  it('429 and 503 on a read fail that ExternalSecret only, with a message saying the Secret is kept; the token is kept', async () => {
    const { vault, backend } = setup({ ttl: 3600 })
    seed(vault, 3)
    vault.failNext.read = [{ status: 429, errors: ['request path "secret/data/app0": rate limit quota exceeded'] }]
    const results = await poll(backend, 3)
    const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[]
    assert.equal(rejected.length, 1)
    assert.match(rejected[0]!.reason.message, /rate limit quota exceeded \(429\); Vault is unavailable, the existing Secret is kept/)
    assert.equal(vault.counts.login, 1)
  })

  it('a request timeout is classified as transient and keeps the token', async () => {
    const clock = new ManualClock()
    const vault = new NockVault(clock, { ttl: 3600 })
    seed(vault, 1)
    nock.cleanAll()
    nock(VAULT).post('/v1/auth/kubernetes/login').reply(200, { auth: { client_token: 'hvs.TIMEOUTTESTTOKEN0123456789', accessor: 'a', lease_duration: 3600, renewable: true } })
    nock(VAULT).get('/v1/secret/data/app0').delay(300).reply(200, { data: { data: { password: 'x' } } })
    const backend = new VaultBackend({
      vaultAddr: VAULT,
      defaultVaultRole: 'app', clock, registry: new Registry(), requestTimeoutMilliseconds: 50,
      jwtProvider: { getJwt: async () => JWT },
    })
    await assert.rejects(backend.getSecretManifestData({ spec: spec('secret/data/app0') }), /no answer in time.*the existing Secret is kept/)
    assert.ok(backend.tokenSessions[0]!.lease, 'token kept')
  })

  it('login failures back off per identity: one attempt per backoff step, not one per ExternalSecret per poll', async () => {
    const { vault, backend, clock } = setup({ ttl: 3600 })
    seed(vault, 20)
    vault.failNext.login = Array.from({ length: 5 }, () => ({ status: 400, errors: ['invalid role name "app"'] }))
    const first = await poll(backend, 20)
    assert.equal(first.filter((r) => r.status === 'rejected').length, 20)
    assert.match((first[0] as PromiseRejectedResult).reason.message, /login failed \(vault login auth\/kubernetes\/login failed: 400 invalid role name "app"\); next login attempt in 1 s/)
    assert.equal(vault.counts.login, 1)
    // random = 1: steps of 1, 2, 4, 8 s. Polling every 500 ms for 15 s costs 5 attempts (t = 0, 1, 3, 7, 15), not 600.
    for (let i = 0; i < 30; i++) {
      await clock.advance(500)
      await poll(backend, 20)
    }
    assert.equal(vault.counts.login, 5)
    // The fifth failure set a 16 s step; once it has passed, one login succeeds and every ExternalSecret reads again.
    await clock.advance(16_000)
    const last = await poll(backend, 20)
    assert.equal(last.filter((r) => r.status === 'rejected').length, 0)
    assert.equal(vault.counts.login, 6)
  })

  it('reads the service-account JWT at each login, not once for the life of the process', async () => {
    const { vault, backend, clock, jwtReads } = setup({ ttl: 60, renewable: false })
    seed(vault, 1)
    for (let t = 0; t <= 60; t += 10) {
      await poll(backend, 1)
      await clock.advance(10_000)
    }
    assert.equal(vault.counts.login, 3)
    assert.equal(jwtReads.n, 3)
  })

  it('kvVersion other than 1 or 2 fails before any Vault request; a kv2 404 without /data/ says so', async () => {
    const { vault, backend } = setup({ ttl: 3600 })
    await assert.rejects(backend.getSecretManifestData({ spec: { kvVersion: 3, data: [{ key: 'secret/data/x', name: 'x' }] } }), /Unknown "kvVersion" specified: 3; expected 1 or 2/)
    assert.equal(vault.counts.login + vault.counts.read, 0)
    await assert.rejects(backend.getSecretManifestData({ spec: { data: [{ key: 'secret/app', name: 'x' }] } }), /not found in Vault \(404\).*must include \/data\/ \(e\.g\. "secret\/data\/app"\)/)
  })

  it('close() revokes the tokens it created; a closed backend sends nothing', async () => {
    const { vault, backend } = setup({ ttl: 3600 })
    seed(vault, 1)
    await poll(backend, 1)
    assert.deepEqual(await backend.close(), { revoked: 1 })
    assert.equal(vault.counts.revoke, 1)
    await assert.rejects(backend.getSecretManifestData({ spec: spec('secret/data/app0') }), /closed/)
    assert.equal(vault.counts.read, 1)
  })

  it('a static VAULT_TOKEN is looked up (not logged in with), renewed on the same rule, never revoked', async () => {
    const { vault, backend, clock } = setup({ ttl: 60 }, { defaultVaultRole: undefined, vaultToken: 'hvs.STATICxxxxxxxxxxxxxxxxxxxxxxxx' })
    vault.tokens.set('hvs.STATICxxxxxxxxxxxxxxxxxxxxxxxx', { issued: Math.floor(clock.now() / 1000), expire: Math.floor(clock.now() / 1000) + 60, revoked: false })
    seed(vault, 1)
    for (let t = 0; t <= 60; t += 10) {
      assert.equal((await poll(backend, 1))[0]!.status, 'fulfilled')
      await clock.advance(10_000)
    }
    assert.equal(vault.counts.login, 0)
    assert.equal(vault.counts.renew, 2)
    await backend.close()
    assert.equal(vault.counts.revoke, 0)
  })

  it('never writes a token, JWT or secret value to a log line (debug level) or an error message', async () => {
    const { vault, backend, clock, lines } = setup({ ttl: 60, maxTtl: 150 })
    seed(vault, 3)
    vault.secrets['secret/data/bad'] = { data: { password: 'not-json-value' } }
    const errors: string[] = []
    for (let t = 0; t <= 200; t += 10) {
      if (t === 50) vault.revokeAll()
      if (t === 100) vault.failNext.login = [{ status: 500, errors: ['internal error'] }]
      for (const r of await poll(backend, 4)) if (r.status === 'rejected') errors.push(String(r.reason?.stack ?? r.reason))
      await clock.advance(10_000)
    }
    await backend.close()
    const secrets = [...vault.tokens.keys(), JWT, 's3cret-0', 's3cret-1', 's3cret-2']
    const text = lines.join('\n') + errors.join('\n')
    assert.ok(lines.length > 20, 'the scenario logged its decisions')
    for (const s of secrets) assert.equal(text.includes(s), false, `leaked ${s.slice(0, 8)}…`)
  })
})

describe('VaultBackend KES edge cases', () => {
  before(nockOn)
  after(nockOff)
  afterEach(cleanNock)
  it('a response without data fails the ExternalSecret instead of writing "undefined"; kvVersion null is rejected', async () => {
    const { vault, backend } = setup({ ttl: 3600 })
    vault.secrets['kv1/empty'] = null as never
    vault.secrets['secret/data/v1shape'] = { password: 'x' }
    await assert.rejects(backend.getSecretManifestData({ spec: { data: [{ key: 'secret/data/v1shape', name: 'x' }] } }), /without data\.data; is kvVersion 2 right/)
    await assert.rejects(backend.getSecretManifestData({ spec: { kvVersion: null, data: [{ key: 'secret/data/v1shape', name: 'x' }] } }), /Unknown "kvVersion" specified: null/)
  })
})
