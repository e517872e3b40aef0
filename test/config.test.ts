import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../lib/config.js'

describe('loadConfig', () => {
  it('defaults follow KES: 10 s polls, threshold 3 polls, lookups once per poll, mount kubernetes', () => {
    const c = loadConfig({})
    assert.equal(c.vaultAddr, 'http://127.0.0.1:8200')
    assert.equal(c.vaultAddrSet, false)
    assert.equal(c.pollerIntervalMilliseconds, 10_000)
    assert.equal(c.tokenRenewThreshold, 30)
    assert.equal(c.tokenLookupIntervalMilliseconds, 10_000)
    assert.equal(c.defaultVaultMountPoint, 'kubernetes')
    assert.equal(c.revokeTokensOnShutdown, true)
    assert.equal(c.metricsPort, 3001)
  })

  it('the threshold follows the poll interval unless set', () => {
    assert.equal(loadConfig({ POLLER_INTERVAL_MILLISECONDS: '60000' }).tokenRenewThreshold, 180)
    assert.equal(loadConfig({ POLLER_INTERVAL_MILLISECONDS: '60000', VAULT_TOKEN_RENEW_THRESHOLD: '90' }).tokenRenewThreshold, 90)
  })

  const bad: [Record<string, string>, string, RegExp][] = [
    [{ POLLER_INTERVAL_MILLISECONDS: 'ten' }, 'POLLER_INTERVAL_MILLISECONDS', /"ten" is not a whole number/],
    [{ VAULT_TOKEN_RENEW_THRESHOLD: '-5' }, 'VAULT_TOKEN_RENEW_THRESHOLD', /out of range; expected an integer from 1/],
    [{ VAULT_TOKEN_LOOKUP_INTERVAL_MILLISECONDS: '1.5' }, 'VAULT_TOKEN_LOOKUP_INTERVAL_MILLISECONDS', /not a whole number/],
    [{ VAULT_TOKEN_CACHE_MAX: '0' }, 'VAULT_TOKEN_CACHE_MAX', /out of range/],
    [{ VAULT_ADDR: 'vault:8200' }, 'VAULT_ADDR', /must use http or https|is not a URL/],
    [{ VAULT_SKIP_VERIFY: 'maybe' }, 'VAULT_SKIP_VERIFY', /not a boolean; expected true or false/],
    [{ VAULT_REVOKE_TOKENS_ON_SHUTDOWN: 'nah' }, 'VAULT_REVOKE_TOKENS_ON_SHUTDOWN', /not a boolean/],
    [{ VAULT_REQUEST_TIMEOUT_MILLISECONDS: '0' }, 'VAULT_REQUEST_TIMEOUT_MILLISECONDS', /out of range/],
    [{ VAULT_CACERT: '/nonexistent/ca.pem' }, 'VAULT_CACERT', /cannot be read \(ENOENT\); expected the path of a PEM CA bundle/],
    [{ METRICS_PORT: '70000' }, 'METRICS_PORT', /out of range/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /not a log level/],
    [{ VAULT_AUTH_METHOD: 'ldap' }, 'VAULT_AUTH_METHOD', /expected kubernetes, jwt or approle/],
    [{ VAULT_AUTH_METHOD: 'approle' }, 'VAULT_APPROLE_ROLE_ID', /needs VAULT_APPROLE_ROLE_ID and VAULT_APPROLE_SECRET_ID_FILE/],
  ]
  for (const [env, variable, message] of bad) {
    it(`rejects ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} naming ${variable}`, () => {
      assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && e.variable === variable && message.test(e.message))
    })
  }

  it('never echoes VAULT_TOKEN in an error', () => {
    assert.throws(() => loadConfig({ VAULT_TOKEN: 'hvs.SECRETSECRETSECRETSECRET', POLLER_INTERVAL_MILLISECONDS: 'x' }), (e: Error) => !e.message.includes('hvs.'))
  })
})
