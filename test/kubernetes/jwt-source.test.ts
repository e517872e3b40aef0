import assert from 'node:assert/strict'
import { JwtDecodeError, ServiceAccountJwtError, decodeJwtClaims, scrubJwts } from '../../lib/kubernetes/index.js'
import { makeJwt } from './helpers.js'

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

describe('kubernetes: decodeJwtClaims', () => {
  it('reads exp, namespace and service account from a bound token', () => {
    const jwt = makeJwt({ iat: 1_767_225_600, exp: 1_767_226_200, namespace: 'team-a', serviceAccount: 'vault-auth', aud: ['vault'] })
    const c = decodeJwtClaims(jwt)
    assert.equal(c.exp, 1_767_226_200)
    assert.equal(c.iat, 1_767_225_600)
    assert.equal(c.namespace, 'team-a')
    assert.equal(c.serviceAccountName, 'vault-auth')
    assert.deepEqual(c.aud, ['vault'])
  })

  it('reads the flat claims of a legacy secret-based token, which has no exp', () => {
    const jwt = `${b64({ alg: 'RS256' })}.${b64({
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': 'kes',
      'kubernetes.io/serviceaccount/service-account.name': 'kes-controller',
      sub: 'system:serviceaccount:kes:kes-controller',
    })}.c2ln`
    const c = decodeJwtClaims(jwt)
    assert.equal(c.exp, undefined)
    assert.equal(c.namespace, 'kes')
    assert.equal(c.serviceAccountName, 'kes-controller')
  })

  it('falls back to sub for namespace and name', () => {
    const c = decodeJwtClaims(`${b64({ alg: 'RS256' })}.${b64({ sub: 'system:serviceaccount:ns1:sa1', aud: 'vault' })}.`)
    assert.equal(c.namespace, 'ns1')
    assert.equal(c.serviceAccountName, 'sa1')
    assert.deepEqual(c.aud, ['vault'])
  })

  it('says what is wrong without echoing the input', () => {
    const secretish = 'hvs.CAESIverysecretvalue-not-a-jwt'
    for (const input of [secretish, `${secretish}.x`, `a.${Buffer.from('secret-not-json').toString('base64url')}.c`, `a.${b64(['secret'])}.c`, 'a.b c.d']) {
      assert.throws(
        () => decodeJwtClaims(input),
        (err: unknown) => err instanceof JwtDecodeError && !err.message.includes('secret') && /^not a JWT/.test(err.message),
      )
    }
  })
})

describe('kubernetes: ServiceAccountJwtError', () => {
  it('scrubs anything shaped like a JWT from its message', () => {
    const jwt = makeJwt({ exp: 2e9, namespace: 'a', serviceAccount: 'b' })
    const err = new ServiceAccountJwtError('ApiError', `webhook said ${jwt} is bad`)
    assert.equal(err.message, 'webhook said [REDACTED JWT] is bad')
    assert.ok(!String(err.stack).includes(jwt))
    assert.equal(scrubJwts('no secrets here'), 'no secrets here')
  })
})
