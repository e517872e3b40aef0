import assert from 'node:assert/strict'
import type { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { MINUTE, appVault, call } from './helpers.js'

/** The jwt auth method with static keys: every refusal is a 400 error response worded as OpenBao's plugin words it. */
describe('devserver: jwt login', () => {
  let vault: DevVault
  let clock: ManualClock
  const secs = () => Math.floor(clock.now() / 1000)
  beforeEach(async () => {
    ;({ vault, clock } = await appVault())
    vault.enableJwtAuth('jwt', { bound_issuer: 'https://ci.example' })
    vault.writeRole('jwt', 'ci', {
      policies: ['app'],
      token_ttl: '10m',
      token_max_ttl: '1h',
      bound_audiences: ['vault'],
      bound_claims: { repo: ['team/app', 'team/lib'] },
      user_claim: 'sub',
    })
  })
  afterEach(() => vault.close())

  const claims = (extra: Record<string, unknown> = {}) => ({ iss: 'https://ci.example', sub: 'pipeline-7', aud: 'vault', repo: 'team/app', iat: secs(), exp: secs() + 300, ...extra })
  const login = (jwt: string, role = 'ci') => call(vault, 'POST', 'auth/jwt/login', { body: { role, jwt } })

  it('logs in: role TTL, metadata {role}, display name jwt-<user claim>, an entity per user', async () => {
    const r = await login(vault.makeJwt(claims()))
    assert.equal(r.status, 200)
    assert.equal(r.body.auth.lease_duration, 600)
    assert.deepEqual(r.body.auth.metadata, { role: 'ci' })
    assert.deepEqual(r.body.auth.policies, ['app', 'default'])
    assert.equal(r.body.auth.renewable, true)
    const d = (await call(vault, 'GET', 'auth/token/lookup-self', { token: r.body.auth.client_token })).body.data
    assert.equal(d.display_name, 'jwt-pipeline-7')
    assert.equal(d.path, 'auth/jwt/login')
    const again = await login(vault.makeJwt(claims()))
    assert.equal(again.body.auth.entity_id, r.body.auth.entity_id)
  })

  it('exp with the 60 s clock-skew leeway; a JWT with no time claims at all is refused', async () => {
    const jwt = vault.makeJwt(claims({ exp: secs() + 60 }))
    await clock.advance(2 * MINUTE)
    assert.equal((await login(jwt)).status, 200)
    await clock.advance(1_000)
    assert.deepEqual((await login(jwt)).body, { errors: ['error validating token: invalid expiration time (exp) claim: token is expired'] })
    assert.deepEqual((await login(vault.makeJwt(claims({ iat: undefined, exp: undefined })))).body, {
      errors: ['error validating token: no issued at (iat), not before (nbf), or expiration time (exp) claims in token'],
    })
  })

  it('bound issuer, subject, audience and claims, the user claim, the role and the signature', async () => {
    const cases: Array<[Record<string, unknown> | string, string, string?]> = [
      [{ iss: 'https://other' }, 'error validating token: invalid issuer (iss) claim'],
      [{ aud: 'not-vault' }, 'error validating token: invalid audience (aud) claim: audience claim does not match any expected audience'],
      [{ repo: 'evil/app' }, 'error validating claims: claim "repo" does not match any associated bound claim values'],
      [{ repo: undefined }, 'error validating claims: claim "repo" is missing'],
      [{ sub: undefined }, 'claim "sub" not found in token'],
      [{}, 'role "nope" could not be found', 'nope'],
      ['not.a.jwt.at-all', 'error validating token: error verifying token signature: go-jose/go-jose: compact JWS format must have three parts'],
    ]
    for (const [c, message, role] of cases) {
      const jwt = typeof c === 'string' ? c : vault.makeJwt(claims(c))
      const r = await login(jwt, role)
      assert.equal(r.status, 400, message)
      assert.deepEqual(r.body, { errors: [message] })
    }
    const unsigned = vault.makeJwt(claims(), { accept: false })
    assert.deepEqual((await login(unsigned)).body, { errors: ['error validating token: error verifying token signature: no known key successfully validated the token signature'] })
    assert.deepEqual((await call(vault, 'POST', 'auth/jwt/login', { body: { jwt: unsigned } })).body, { errors: ['missing role'] })
    assert.deepEqual((await call(vault, 'POST', 'auth/jwt/login', { body: { role: 'ci' } })).body, { errors: ['missing token'] })
    vault.writeRole('jwt', 'anyaud', { policies: ['app'], user_claim: 'sub' })
    assert.deepEqual((await login(vault.makeJwt(claims()), 'anyaud')).body, { errors: ['audience claim found in JWT but no audiences bound to the role'] })
    assert.throws(() => vault.writeRole('jwt', 'nouser', { policies: ['app'] }), /a user claim must be defined on the role/)
  })

  it('a deleted role ends renewals, worded as the jwt plugin words it', async () => {
    const token = (await login(vault.makeJwt(claims()))).body.auth.client_token
    vault.deleteRole('jwt', 'ci')
    const r = await call(vault, 'POST', 'auth/token/renew-self', { token })
    assert.equal(r.status, 500)
    assert.deepEqual(r.body, { errors: ['1 error occurred:\n\t* failed to renew entry: role ci does not exist during renewal\n\n'] })
  })
})
