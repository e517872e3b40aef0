/**
 * Issue 12, point 6: a login answered 200 with something that is not a usable token is a clear error with the login
 * backoff, never a cached token, and never reported as "login not attempted". A stand-in Vault answers the login;
 * once it answers properly (forwarding to the dev Vault), the backend logs in and reads with the real token.
 */
import assert from 'node:assert/strict'
import type { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { b64, BUILDERS, build, tearDown, devVault, listen, spec, timed } from './support.js'

const auth = (fields: Record<string, unknown>) => JSON.stringify({ auth: { client_token: 'hvs.fake', accessor: 'a', policies: ['app'], lease_duration: 3600, renewable: true, ...fields } })

const ANSWERS: { name: string; body: string; says: RegExp }[] = [
  { name: 'no client_token', body: JSON.stringify({ auth: { accessor: 'a', lease_duration: 3600, renewable: true } }), says: /auth\.client_token is missing/ },
  { name: 'no auth block at all', body: JSON.stringify({ data: {} }), says: /auth is not an object/ },
  { name: 'client_token: 42', body: auth({ client_token: 42 }), says: /auth\.client_token is not a string/ },
  { name: 'lease_duration: -1', body: auth({ lease_duration: -1 }), says: /auth\.lease_duration is not a whole number of seconds/ },
  { name: 'lease_duration: "abc"', body: auth({ lease_duration: 'abc' }), says: /auth\.lease_duration is not a whole number of seconds/ },
  { name: 'lease_duration: 1e12', body: auth({ lease_duration: 1e12 }), says: /auth\.lease_duration is not a whole number of seconds from 0 to 3153600000/ },
  { name: 'renewable: "true"', body: auth({ renewable: 'true' }), says: /auth\.renewable is not a boolean/ },
  { name: 'a non-JSON body', body: '<html>login ok</html>', says: /the answer is not a JSON object \(is VAULT_ADDR a Vault server\?\)/ },
]

describe('transport: a malformed login answer', function () {
  this.timeout(10_000)
  let backend: VaultBackend | undefined
  let dev: DevVault | undefined
  afterEach(tearDown)

  for (const how of BUILDERS) {
    for (const a of ANSWERS) {
      it(`${how}: ${a.name}: a clear error, the login backoff, no token cached, nothing read; a good login later works`, async () => {
        const clock = new ManualClock()
        dev = await devVault(clock)
        const broken = { on: true }
        const vault = await listen((rec, _req, res) => {
          if (!broken.on || rec.operation !== 'login') return false
          res.writeHead(200, { 'content-type': 'application/json' }).end(a.body)
          return true
        }, dev.address)
        let lines: string[]
        ;({ backend, lines } = build(how, vault.url, { clock }))
        const read = () => timed(backend!.getSecretManifestData(spec('secret/data/app/db')))

        const first = await read()
        assert.match(first.error!.message, /no valid Vault token for auth mount "kubernetes", role "app": login failed/)
        assert.match(first.error!.message, a.says)
        assert.match(first.error!.message, /next login attempt in 1 s/)
        // Polls within the backoff send nothing; the first after it sends one login.
        for (let i = 0; i < 3; i++) {
          await clock.advance(200)
          assert.match((await read()).error!.message, a.says)
        }
        assert.equal(vault.count('login'), 1)
        await clock.advance(400)
        await read()
        assert.equal(vault.count('login'), 2)
        assert.equal(vault.count('read') + vault.count('lookup') + vault.count('renew'), 0, 'no request went out with a token from a bad answer')
        assert.equal(backend.tokenSessions.some((s) => s.lease), false, 'no token cached')
        const logged = lines.filter((l) => /vault/.test(l) && /login/.test(l)).join('\n')
        assert.match(logged, /vault's login answer could not be used; retrying in \d+ s/)
        assert.doesNotMatch(logged, /not attempted/)

        broken.on = false
        await clock.advance(10_000)
        assert.deepEqual((await read()).value, { password: b64('pw-app') })
        const reads = vault.received.filter((r) => r.operation === 'read')
        assert.equal(reads.length, 1)
        assert.ok(dev.lookupToken(String(reads[0]!.headers['x-vault-token'])), 'the read carried the token of the good login')
      })
    }
  }

  it('a malformed login backs off like an unavailable Vault: 5 min of 10 s polls cost 14 logins, not 31', async () => {
    const clock = new ManualClock()
    const vault = await listen((_rec, _req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(ANSWERS[0]!.body)
      return true
    })
    ;({ backend } = build('kes', vault.url, { clock }))
    for (let t = 0; t <= 300_000; t += 10_000) {
      await backend.getSecretManifestData(spec('secret/data/app/db')).catch(() => undefined)
      await clock.advance(10_000)
    }
    // Backoff (random = 1): 1, 2, 4, 8, 16, then 30 s: attempts at t = 0, 10, 20, 30, 40, 60, then every 30 s to 300.
    assert.equal(vault.count('login'), 14)
  })
})
