/**
 * The token lifecycle against the dev Vault (lib/devserver), the one Vault fake: its own TTL arithmetic, 403
 * wordings, policies and counters decide every number below. In-process for speed; loopback HTTP where a real socket
 * matters (the request timeout). Wire formats are checked with nock in test/vault/wire-format.nock.test.ts.
 */
import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import { VaultBackend, type VaultBackendOptions } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { DevVault, type RoleInput, startDevVault } from '../../lib/devserver/index.js'
import { createLogger } from '../../lib/log.js'
import type { HttpExchange } from '../../lib/vault/transport.js'

interface SetupOptions {
  /** The role's token settings; `null`: the role is not written (logins fail with `invalid role name`). */
  role?: RoleInput | null
  /** Path prefixes the role's policy may read. */
  policy?: string[]
  backend?: Partial<VaultBackendOptions>
  errorWording?: 'new' | 'old'
}

const ROLE_BINDING: RoleInput = { policies: ['app'], bound_service_account_names: ['kes'], bound_service_account_namespaces: ['kes'] }

/** A dev Vault with auth/kubernetes role "app", KV v2 at secret/ and KV v1 at kv1/, and a backend on the same clock. */
function setup(o: SetupOptions = {}) {
  const clock = new ManualClock()
  const dev = new DevVault({ clock, errorWording: o.errorWording })
  dev.enableKubernetesAuth('kubernetes')
  dev.enableKv('kv1', 1)
  dev.writePolicy('app', o.policy ?? ['secret/', 'kv1/'])
  const writeRole = (role: RoleInput) => dev.writeRole('kubernetes', 'app', { ...ROLE_BINDING, ...role })
  if (o.role !== null) writeRole(o.role ?? { token_ttl: 3600 })
  const jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: clock.now() + 365 * 86400_000 })
  const jwtReads = { n: 0 }
  // Every token Vault hands the backend (logins and renewals), for the no-leak check.
  const issued = new Set<string>()
  const inner = dev.inProcessExchange()
  const exchange: HttpExchange = async (req, limits) => {
    const res = await inner(req, limits)
    const token = (JSON.parse(res.body || 'null') as { auth?: { client_token?: string } } | null)?.auth?.client_token
    if (token) issued.add(token)
    return res
  }
  const lines: string[] = []
  const backend = new VaultBackend({
    vaultExchange: exchange,
    defaultVaultMountPoint: 'kubernetes',
    defaultVaultRole: 'app',
    pollerIntervalMilliseconds: 10_000,
    clock,
    random: () => 1,
    registry: new Registry(),
    jwtProvider: { getJwt: async () => (jwtReads.n++, jwt) },
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    ...o.backend,
  })
  /** Requests the dev Vault received, by operation. */
  const ops = () => {
    const r = dev.counters().requests
    return { login: r.login, lookup: r.lookup, renew: r.renew, revoke: r.revoke, read: r.read }
  }
  const dead = () => dev.counters().deadTokenRequests
  return { clock, dev, backend, lines, jwt, jwtReads, issued, ops, dead, writeRole }
}

/** A token made by the operator with the root token (POST auth/token/create), as VAULT_TOKEN would hold. */
async function createToken(dev: DevVault, body: Record<string, unknown>): Promise<string> {
  const res = await dev.inProcessExchange()(
    { method: 'POST', url: 'http://127.0.0.1:8200/v1/auth/token/create', headers: { 'x-vault-token': dev.rootToken }, body: JSON.stringify(body) },
    { signal: new AbortController().signal, maxBytes: 1 << 20, timeoutMs: 1000 },
  )
  assert.equal(res.status, 200, res.body)
  return (JSON.parse(res.body) as { auth: { client_token: string } }).auth.client_token
}

const spec = (key: string, extra: Record<string, unknown> = {}) => ({ data: [{ key, name: 'password', property: 'password' }], ...extra })

/** One poll: every ExternalSecret asks for its data at the same instant, as a KES poller batch does. */
async function poll(backend: VaultBackend, n: number): Promise<PromiseSettledResult<Record<string, string>>[]> {
  return Promise.allSettled(Array.from({ length: n }, (_, i) => backend.getSecretManifestData({ spec: spec(`secret/data/app${i}`) })))
}

const rejected = (results: PromiseSettledResult<unknown>[]) => results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')

function seed(dev: DevVault, n: number) {
  for (let i = 0; i < n; i++) dev.putSecret('secret', `app${i}`, { password: `s3cret-${i}` })
}

describe('VaultBackend token lifecycle (dev Vault)', () => {
  it('logs in once and does one lookup per poll per identity, however many ExternalSecrets share it', async () => {
    const { dev, backend, clock, ops, dead } = setup()
    seed(dev, 50)
    for (let p = 0; p < 30; p++) {
      const results = await poll(backend, 50)
      assert.equal(rejected(results).length, 0)
      await clock.advance(10_000)
    }
    assert.deepEqual(ops(), { login: 1, lookup: 29, renew: 0, revoke: 0, read: 1500 })
    assert.equal(dead().length, 0)
  })

  it('returns base64 values exactly as KES does for kv2 and kv1', async () => {
    const { dev, backend } = setup()
    dev.putSecret('secret', 'db', { password: 'p@ss', user: 'admin' })
    dev.putSecret('kv1', 'db', { password: 'old', user: 'root' })
    const v2 = await backend.getSecretManifestData({ spec: { data: [{ key: 'secret/data/db', name: 'pw', property: 'password' }], dataFrom: ['secret/data/db'] } })
    assert.deepEqual(v2, { password: Buffer.from('p@ss').toString('base64'), user: Buffer.from('admin').toString('base64'), pw: Buffer.from('p@ss').toString('base64') })
    const v1 = await backend.getSecretManifestData({ spec: { kvVersion: 1, data: [{ key: 'kv1/db', name: 'whole' }] } })
    assert.deepEqual(v1, { whole: Buffer.from(JSON.stringify({ password: 'old', user: 'root' })).toString('base64') })
  })

  it('renews only when the remaining TTL is at or below 3 poll intervals, never on every poll', async () => {
    const { dev, backend, clock, ops, dead } = setup({ role: { token_ttl: 60 } })
    seed(dev, 3)
    for (let t = 0; t <= 600; t += 10) {
      const results = await poll(backend, 3)
      assert.equal(rejected(results).length, 0, `poll at ${t}s`)
      await clock.advance(10_000)
    }
    // ttl 60 s, threshold 30 s: a renewal at t = 30, 60, ..., 600 (every 30 s), one login, a lookup every other poll.
    assert.equal(ops().login, 1)
    assert.equal(ops().renew, 20)
    assert.equal(dead().length, 0)
  })

  it('never renews a token that cannot be renewed (batch): logs in again before it expires, with zero failed reads', async () => {
    // Vault gives non-renewable tokens to batch tokens (and token roles), not to a service token from an auth role.
    const { dev, backend, clock, ops, dead } = setup({ role: { token_ttl: 60, token_type: 'batch' } })
    seed(dev, 3)
    let failed = 0
    for (let t = 0; t <= 300; t += 10) {
      failed += rejected(await poll(backend, 3)).length
      await clock.advance(10_000)
    }
    assert.equal(failed, 0)
    assert.equal(ops().renew, 0)
    // a new token each time the old one reaches the 30 s threshold: t = 0, 30, 60, ..., 300
    assert.equal(ops().login, 11)
    assert.equal(dead().length, 0)
  })

  it('batch tokens are never renewed either, nor revoked at close (Vault refuses both)', async () => {
    const { dev, backend, clock, ops, dead } = setup({ role: { token_ttl: 60, token_type: 'batch' } })
    seed(dev, 1)
    for (let t = 0; t <= 120; t += 10) {
      assert.equal((await poll(backend, 1))[0]!.status, 'fulfilled')
      await clock.advance(10_000)
    }
    assert.equal(ops().renew, 0)
    assert.equal(dead().length, 0)
    assert.deepEqual(await backend.close(), { revoked: 0 })
    assert.equal(ops().revoke, 0)
  })

  it('logs in again before max TTL when a renewal comes back capped; keeps reading with zero failures', async () => {
    const { dev, backend, clock, ops, dead } = setup({ role: { token_ttl: 60, token_max_ttl: 150 } })
    seed(dev, 2)
    let failed = 0
    for (let t = 0; t <= 300; t += 10) {
      failed += rejected(await poll(backend, 2)).length
      await clock.advance(10_000)
    }
    assert.equal(failed, 0)
    assert.equal(dead().length, 0)
    // Each token: login at T, renew at T+30 (->90), T+60 (->120), T+90 (->150 = max), T+120 capped to 30 s -> log in at once.
    // So a token lives 120 s: logins at 0, 120, 240; renewals 4 per token, the last capped.
    assert.equal(ops().login, 3)
    assert.equal(ops().renew, 4 + 4 + 2)
    assert.deepEqual(dev.counters().results.renew, { '200': 10 }, 'no renewal past the max TTL')
  })

  it('200 concurrent callers share one login, then one lookup', async () => {
    const { dev, backend, clock, ops } = setup()
    seed(dev, 200)
    await poll(backend, 200)
    assert.equal(ops().login, 1)
    await clock.advance(10_000)
    await poll(backend, 200)
    assert.equal(ops().lookup, 1)
    assert.equal(ops().login, 1)
  })

  it('KES behaviour on request: lookup interval 0 looks up before every poll batch (shared by concurrent callers)', async () => {
    const { dev, backend, clock, ops } = setup({ backend: { tokenLookupIntervalMilliseconds: 0 } })
    seed(dev, 5)
    await poll(backend, 5)
    await clock.advance(1)
    await backend.getSecretManifestData({ spec: spec('secret/data/app0') })
    await backend.getSecretManifestData({ spec: spec('secret/data/app1') })
    assert.equal(ops().lookup, 2)
  })

  it('a revoked token (lookup 403) is replaced by one login, then the reads go on', async () => {
    const { dev, backend, clock, ops, dead } = setup()
    seed(dev, 20)
    await poll(backend, 20)
    assert.equal(dev.revokeRoleTokens('kubernetes', 'app'), 1)
    await clock.advance(10_000)
    const results = await poll(backend, 20)
    assert.equal(rejected(results).length, 0)
    assert.equal(ops().login, 2)
    assert.deepEqual(dead().map((d) => [d.operation, d.reason]), [['lookup', 'revoked']])
  })

  it('a read 403 with the old wording: lookup-self decides; dead -> one login and one retry', async () => {
    const { dev, backend, clock, ops, dead } = setup({ errorWording: 'old', backend: { tokenLookupIntervalMilliseconds: 60_000 } })
    seed(dev, 10)
    await poll(backend, 10)
    dev.revokeRoleTokens('kubernetes', 'app')
    await clock.advance(10_000)
    const results = await poll(backend, 10)
    assert.equal(rejected(results).length, 0)
    assert.equal(ops().login, 2)
    assert.equal(ops().lookup, 1, 'one shared lookup-self settles all ten 403s')
    // The revocation was invisible until Vault said so: those reads were unavoidable, and each was retried once.
    assert.equal(ops().read, 10 + 10 + 10)
    assert.deepEqual(dead().map((d) => d.operation).sort(), ['lookup', ...Array(10).fill('read')])
  })

  it('a read 403 with a valid token is a policy denial: reported for that ExternalSecret, token kept, others unaffected', async () => {
    const { dev, backend, ops } = setup({ policy: ['secret/data/app0'] })
    seed(dev, 2)
    const [ok, denied] = await poll(backend, 2)
    assert.equal(ok!.status, 'fulfilled')
    assert.equal(denied!.status, 'rejected')
    assert.match((denied as PromiseRejectedResult).reason.message, /denied reading "secret\/data\/app1" for auth mount "kubernetes", role "app" although the token is valid/)
    assert.equal(ops().login, 1)
    // The login confirmed the token no earlier than the read was sent: no lookup-self is needed to call it a denial.
    assert.equal(ops().lookup, 0)
  })

  it('50 ExternalSecrets denied by one policy cost one lookup-self, not 50', async () => {
    const { dev, backend, clock, ops } = setup()
    seed(dev, 50)
    await poll(backend, 50)
    await clock.advance(10_000)
    dev.writePolicy('app', []) // the operator empties the policy: every read is now denied to a live token
    const lookupsBefore = ops().lookup
    const results = await poll(backend, 50)
    assert.equal(rejected(results).length, 50)
    assert.equal(ops().lookup - lookupsBefore, 1)
    assert.equal(ops().login, 1)
  })

  it('Vault 503 during a lookup: keeps the valid token, no login storm, reads go on', async () => {
    const { dev, backend, clock, ops } = setup()
    seed(dev, 10)
    await poll(backend, 10)
    await clock.advance(10_000)
    dev.injectFault({ kind: 'sealed', operation: 'lookup', times: 1 })
    const results = await poll(backend, 10)
    assert.equal(rejected(results).length, 0)
    assert.deepEqual(dev.counters().results.lookup, { '503': 1 })
    assert.equal(ops().login, 1)
    assert.equal(ops().lookup, 1)
  })

  it('429 and 503 on a read fail that ExternalSecret only, with a message saying the Secret is kept; the token is kept', async () => {
    const { dev, backend, ops } = setup()
    seed(dev, 3)
    dev.injectFault({ kind: 'rate-limit', operation: 'read', times: 1 })
    const results = rejected(await poll(backend, 3))
    assert.equal(results.length, 1)
    assert.match(results[0]!.reason.message, /rate limit quota exceeded \(429\); Vault is unavailable, the existing Secret is kept/)
    assert.equal(ops().login, 1)
    dev.injectFault({ kind: 'sealed', operation: 'read', times: 1 })
    const sealed = rejected(await poll(backend, 3))
    assert.equal(sealed.length, 1)
    assert.match(sealed[0]!.reason.message, /Vault is sealed \(503\); Vault is unavailable, the existing Secret is kept/)
    assert.equal(ops().login, 1)
  })

  it('a request timeout (loopback HTTP, real socket) is classified as transient and keeps the token', async () => {
    const clock = new ManualClock()
    const dev = await startDevVault({ clock })
    try {
      dev.enableKubernetesAuth('kubernetes')
      dev.writePolicy('app', ['secret/'])
      dev.writeRole('kubernetes', 'app', { ...ROLE_BINDING, token_ttl: 3600 })
      dev.putSecret('secret', 'app0', { password: 'x' })
      const jwt = dev.makeServiceAccountJwt({ namespace: 'kes', serviceAccount: 'kes', expiresAt: clock.now() + 86400_000 })
      const backend = new VaultBackend({
        vaultAddr: dev.address,
        defaultVaultRole: 'app', clock, registry: new Registry(), requestTimeoutMilliseconds: 50,
        jwtProvider: { getJwt: async () => jwt },
      })
      // Vault answers the read after 300 ms: the 50 ms deadline passes first (real time, well under a second).
      dev.injectFault({ kind: 'latency', operation: 'read', latencyMs: 300, times: 1 })
      await assert.rejects(backend.getSecretManifestData({ spec: spec('secret/data/app0') }), /no answer in time.*the existing Secret is kept/)
      assert.ok(backend.tokenSessions[0]!.lease, 'token kept')
      assert.deepEqual(await backend.getSecretManifestData({ spec: spec('secret/data/app0') }), { password: Buffer.from('x').toString('base64') })
      assert.equal(dev.counters().requests.login, 1)
      await backend.close({ revoke: false })
    } finally {
      await dev.close()
    }
  })

  it('login failures back off per identity: one attempt per backoff step, not one per ExternalSecret per poll', async () => {
    // The role is created late (a real misconfiguration): Vault answers 400 `invalid role name "app"` until then.
    const { dev, backend, clock, ops, writeRole } = setup({ role: null })
    seed(dev, 20)
    const first = await poll(backend, 20)
    assert.equal(rejected(first).length, 20)
    assert.match((first[0] as PromiseRejectedResult).reason.message, /login failed \(vault login auth\/kubernetes\/login failed: 400 invalid role name "app"\); next login attempt in 1 s/)
    assert.equal(ops().login, 1)
    // random = 1: steps of 1, 2, 4, 8 s. Polling every 500 ms for 15 s costs 5 attempts (t = 0, 1, 3, 7, 15), not 600.
    for (let i = 0; i < 30; i++) {
      await clock.advance(500)
      await poll(backend, 20)
    }
    assert.equal(ops().login, 5)
    assert.deepEqual(dev.counters().results.login, { '400': 5 })
    // The fifth failure set a 16 s step; the role now exists, and once the step has passed one login succeeds and
    // every ExternalSecret reads again.
    writeRole({ token_ttl: 3600 })
    await clock.advance(16_000)
    const last = await poll(backend, 20)
    assert.equal(rejected(last).length, 0)
    assert.equal(ops().login, 6)
  })

  it('reads the service-account JWT at each login, not once for the life of the process', async () => {
    const { dev, backend, clock, ops, jwtReads } = setup({ role: { token_ttl: 60, token_type: 'batch' } })
    seed(dev, 1)
    for (let t = 0; t <= 60; t += 10) {
      await poll(backend, 1)
      await clock.advance(10_000)
    }
    assert.equal(ops().login, 3)
    assert.equal(jwtReads.n, 3)
  })

  it('kvVersion other than 1 or 2 fails before any Vault request; a kv2 404 without /data/ says so', async () => {
    const { backend, ops } = setup()
    await assert.rejects(backend.getSecretManifestData({ spec: { kvVersion: 3, data: [{ key: 'secret/data/x', name: 'x' }] } }), /Unknown "kvVersion" specified: 3; expected 1 or 2/)
    assert.equal(ops().login + ops().read, 0)
    // The policy grants secret/ (KES #439, #857): the read without data/ reaches the KV v2 mount, which answers a bare 404.
    await assert.rejects(backend.getSecretManifestData({ spec: { data: [{ key: 'secret/app', name: 'x' }] } }), /not found in Vault \(404\).*must include \/data\/ \(e\.g\. "secret\/data\/app"\)/)
  })

  it('close() revokes the tokens it created; a closed backend sends nothing', async () => {
    const { dev, backend, ops } = setup()
    seed(dev, 1)
    await poll(backend, 1)
    assert.equal(dev.liveTokens(), 1)
    assert.deepEqual(await backend.close(), { revoked: 1 })
    assert.equal(ops().revoke, 1)
    assert.equal(dev.liveTokens(), 0)
    await assert.rejects(backend.getSecretManifestData({ spec: spec('secret/data/app0') }), /closed/)
    assert.equal(ops().read, 1)
  })

  it('a static VAULT_TOKEN is looked up (not logged in with), renewed on the same rule, never revoked', async () => {
    const clock = new ManualClock()
    const dev = new DevVault({ clock })
    dev.writePolicy('app', ['secret/'])
    const token = await createToken(dev, { policies: ['app'], ttl: '60s' })
    const backend = new VaultBackend({
      vaultExchange: dev.inProcessExchange(),
      vaultToken: token,
      pollerIntervalMilliseconds: 10_000,
      clock,
      random: () => 1,
      registry: new Registry(),
    })
    const ops = () => dev.counters().requests
    seed(dev, 1)
    for (let t = 0; t <= 60; t += 10) {
      assert.equal((await poll(backend, 1))[0]!.status, 'fulfilled')
      await clock.advance(10_000)
    }
    assert.equal(ops().login, 0)
    assert.equal(ops().renew, 2)
    await backend.close()
    assert.equal(ops().revoke, 0)
    assert.equal(dev.liveTokens(), 1, 'the operator\'s token is alive after close')
  })

  it('never writes a token, JWT or secret value to a log line (debug level) or an error message', async () => {
    const { dev, backend, clock, lines, jwt, issued } = setup({ role: { token_ttl: 60, token_max_ttl: 150 } })
    seed(dev, 3)
    dev.putSecret('secret', 'bad', { password: 'not-json-value' })
    const errors: string[] = []
    for (let t = 0; t <= 200; t += 10) {
      if (t === 50) dev.revokeRoleTokens('kubernetes', 'app')
      if (t === 100) dev.injectFault({ kind: 'error', operation: 'login', times: 1 })
      for (const r of await poll(backend, 4)) if (r.status === 'rejected') errors.push(String(r.reason?.stack ?? r.reason))
      await clock.advance(10_000)
    }
    await backend.close()
    assert.ok(issued.size >= 2, 'the scenario went through more than one token')
    const secrets = [...issued, dev.rootToken, jwt, 's3cret-0', 's3cret-1', 's3cret-2']
    const text = lines.join('\n') + errors.join('\n')
    assert.ok(lines.length > 20, 'the scenario logged its decisions')
    for (const s of secrets) assert.equal(text.includes(s), false, `leaked ${s.slice(0, 8)}…`)
  })
})

describe('VaultBackend KES edge cases (dev Vault)', () => {
  it('a response without data fails the ExternalSecret instead of writing "undefined"; kvVersion null is rejected', async () => {
    // A KV v1 mount read as KV v2 (kvVersion defaults to 2): Vault's data has the fields, no data.data.
    const { dev, backend } = setup()
    dev.putSecret('kv1', 'data/v1shape', { password: 'x' })
    await assert.rejects(backend.getSecretManifestData({ spec: { data: [{ key: 'kv1/data/v1shape', name: 'x' }] } }), /without data\.data; is kvVersion 2 right/)
    await assert.rejects(backend.getSecretManifestData({ spec: { kvVersion: null, data: [{ key: 'kv1/data/v1shape', name: 'x' }] } }), /Unknown "kvVersion" specified: null/)
  })
})
