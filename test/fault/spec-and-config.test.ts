/**
 * Bad ExternalSecret specs (an error on that one, the others unaffected, the existing Secret untouched) and bad
 * configuration values for every environment variable (a clear error at start-up naming the variable).
 */
import assert from 'node:assert/strict'
import { loadConfig } from '../../lib/config.js'
import { ConfigError } from '../../lib/env.js'
import { loadPollerConfig } from '../../lib/poller/config.js'
import { harness, type Harness } from '../support/dev-harness.js'
import { M } from './soak.js'
import { assertHealthy, oneFault, SHORT, STD } from './support.js'

describe('fault: bad ExternalSecret specs', function () {
  this.timeout(30_000)
  let h: Harness | undefined
  afterEach(async () => {
    await h?.close()
    h = undefined
  })

  it('for 10 min, one ExternalSecret per role carries a broken spec: 120 failed reads, on those only; Secrets untouched', async () => {
    const { result, row } = await oneFault([STD, SHORT], { kind: 'bad-spec', at: 20 * M, durationMs: 10 * M })
    assertHealthy(result)
    assert.equal(row.failedReads, 2 * 6 * 10, 'two ExternalSecrets x 60 polls, nothing else')
    assert.equal(row.unavoidable, row.failedReads)
    assert.equal(result.totals.logins, 6, 'a bad spec costs Vault nothing')
    assert.equal(row.pollsToRecover, 1)
  })

  const good = { vaultRole: 'app', data: [{ key: 'secret/data/app/es0', name: 'password', property: 'password' }] }
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing key', { vaultRole: 'app', data: [{ name: 'password', property: 'password' }] }, /key/],
    ['unknown kvVersion', { ...good, kvVersion: 3 }, /kvVersion/],
    ['property not found', { vaultRole: 'app', data: [{ key: 'secret/data/app/es0', name: 'password', property: 'nope' }] }, /Could not find property nope/],
  ]
  for (const [what, spec, message] of bad) {
    it(`${what}: that ExternalSecret rejects with a clear error, the others in the same poll read fine`, async () => {
      h = await harness({ perRole: 3, transport: 'in-process' })
      const before = h.dev.counters().requests.read
      const [broken, ...others] = await Promise.allSettled([
        h.backend.getSecretManifestData({ spec: spec as never }),
        ...[0, 1, 2].map((i) => h!.backend.getSecretManifestData({ spec: { vaultRole: 'app', data: [{ key: `secret/data/app/es${i}`, name: 'password', property: 'password' }] } as never })),
      ])
      assert.equal(broken!.status, 'rejected')
      assert.match(String((broken as PromiseRejectedResult).reason?.message), message)
      assert.deepEqual(others.map((o) => o.status), ['fulfilled', 'fulfilled', 'fulfilled'])
      assert.ok(h.dev.counters().requests.read - before <= 4)
    })
  }

  // KES decoded such values leniently (Buffer.from skips invalid characters) and wrote garbage; we refuse.
  it('isBinary with a non-base64 value: rejects instead of writing decoded garbage to the Secret', async () => {
    h = await harness({ perRole: 1, transport: 'in-process' })
    h.dev.putSecret('secret', 'app/bin', { blob: 'not base64 at all: ***' })
    await assert.rejects(
      h.backend.getSecretManifestData({ spec: { vaultRole: 'app', data: [{ key: 'secret/data/app/bin', name: 'blob', property: 'blob', isBinary: true }] } as never }),
      /base64/,
    )
  })
})

describe('fault: bad configuration values name their variable at start-up', () => {
  const backendCases: Array<[string, string]> = [
    ['VAULT_ADDR', 'not a url'],
    ['VAULT_ADDR', 'ftp://vault:8200'],
    ['VAULT_CACERT', '/no/such/ca.pem'],
    ['VAULT_SKIP_VERIFY', 'maybe'],
    ['POLLER_INTERVAL_MILLISECONDS', 'ten'],
    ['POLLER_INTERVAL_MILLISECONDS', '0'],
    ['VAULT_TOKEN_RENEW_THRESHOLD', '-5'],
    ['VAULT_TOKEN_RENEW_THRESHOLD', '1.5s'],
    ['VAULT_TOKEN_LOOKUP_INTERVAL_MILLISECONDS', 'soon'],
    ['VAULT_TOKEN_CACHE_MAX', '0'],
    ['VAULT_REVOKE_TOKENS_ON_SHUTDOWN', 'perhaps'],
    ['VAULT_REQUEST_TIMEOUT_MILLISECONDS', '0'],
    ['VAULT_AUTH_METHOD', 'ldap'],
    ['LOG_LEVEL', 'loud'],
    ['METRICS_PORT', '70000'],
  ]
  for (const [variable, value] of backendCases) {
    it(`${variable}=${JSON.stringify(value)}`, () => {
      assert.throws(
        () => loadConfig({ [variable]: value }),
        (e: unknown) => e instanceof ConfigError && e.variable === variable && e.message.includes(variable),
      )
    })
  }

  it('VAULT_AUTH_METHOD=approle without its role id or secret id file names the missing one', () => {
    assert.throws(() => loadConfig({ VAULT_AUTH_METHOD: 'approle' }), (e: unknown) => e instanceof ConfigError && e.variable === 'VAULT_APPROLE_ROLE_ID')
    assert.throws(
      () => loadConfig({ VAULT_AUTH_METHOD: 'approle', VAULT_APPROLE_ROLE_ID: 'r' }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'VAULT_APPROLE_SECRET_ID_FILE',
    )
  })

  const pollerCases: Array<[string, string]> = [
    ['POLLER_INTERVAL_MILLISECONDS', '500'],
    ['WATCH_TIMEOUT', 'forever'],
    ['DISABLE_POLLING', 'sometimes'],
  ]
  for (const [variable, value] of pollerCases) {
    it(`poller host: ${variable}=${JSON.stringify(value)}`, () => {
      assert.throws(
        () => loadPollerConfig({ [variable]: value }),
        (e: unknown) => e instanceof ConfigError && e.variable === variable && e.message.includes(variable),
      )
    })
  }

  it('valid defaults load without error', () => {
    assert.doesNotThrow(() => loadConfig({}))
    assert.doesNotThrow(() => loadPollerConfig({}))
  })
})
