import assert from 'node:assert/strict'
import { createLogger } from '../../lib/log.js'
import { REDACTED, Redactor } from '../../lib/redact.js'
import { toVaultRequestError } from '../../lib/vault/errors.js'

describe('redaction', () => {
  it('scrubs registered credentials and credential-shaped strings from text and log objects', () => {
    const r = new Redactor()
    r.add('my-approle-secret-id-123')
    const text = r.text('login with my-approle-secret-id-123 and hvs.CAESIJ0123456789abcdefghijklmnop and eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig')
    assert.equal(text, `login with ${REDACTED} and ${REDACTED} and ${REDACTED}`)
    assert.deepEqual(r.value({ headers: { 'X-Vault-Token': 'abc' }, jwt: 'x', ttl: 30, role: 'app' }), { headers: REDACTED, jwt: REDACTED, ttl: 30, role: 'app' })
  })

  it('keeps a bounded number of credentials, forgetting the oldest', () => {
    const r = new Redactor(2)
    r.add('first-credential')
    r.add('second-credential')
    r.add('third-credential')
    assert.equal(r.text('first-credential third-credential'), `first-credential ${REDACTED}`)
  })

  it('an axios error from node-vault (config with X-Vault-Token and the login body) becomes a clean error', () => {
    const axiosLike = Object.assign(new Error('timeout of 50ms exceeded'), {
      code: 'ECONNABORTED',
      config: { headers: { 'X-Vault-Token': 'hvs.SHOULDNEVERAPPEAR000000000000' }, data: '{"role":"app","jwt":"eyJhbGciOi.eyJzdWIi.sig"}' },
    })
    const e = toVaultRequestError(axiosLike, 'login', 'auth/kubernetes/login')
    const lines: string[] = []
    createLogger({ level: 'debug', write: (l) => lines.push(l) }).error({ error: e, raw: axiosLike }, e.message)
    const all = JSON.stringify(e) + e.message + e.stack + lines.join('')
    assert.equal(e.kind, 'timeout')
    assert.equal(/hvs\.SHOULD|eyJhbGciOi/.test(all), false)
  })
})
