/**
 * Issue 12, point 2: a redirect is followed only within the Vault cluster the operator configured (VAULT_ADDR's
 * origin, plus VAULT_REDIRECT_ORIGINS), for at most 3 hops. A second listener on another port records everything it
 * receives: unless its origin is allowed, nothing reaches it (no token, no JWT, no request at all).
 */
import assert from 'node:assert/strict'
import type { VaultBackend } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import type { DevVault } from '../../lib/devserver/index.js'
import { b64, BUILDERS, build, tearDown, devVault, JWT, type Listener, listen, spec, timed } from './support.js'

describe('transport: redirects stay inside the configured Vault cluster', function () {
  this.timeout(10_000)
  let backend: VaultBackend | undefined
  let dev: DevVault | undefined
  let clock: ManualClock
  let elsewhere: Listener
  beforeEach(async () => {
    clock = new ManualClock()
    dev = await devVault(clock)
    // The other origin: it records, then serves as Vault would (it forwards to the dev Vault).
    elsewhere = await listen(() => false, dev.address)
  })
  afterEach(tearDown)

  /** VAULT_ADDR: answers `status` with a Location on `elsewhere` for `method`; serves everything else itself. */
  const redirector = (status: number, method: string) =>
    listen((rec, req, res) => {
      if (rec.method !== method) return false
      res.writeHead(status, { location: `${elsewhere.url}${req.url}`, 'content-length': '0' }).end()
      return true
    }, dev!.address)

  const operationOf = (method: string) => (method === 'GET' ? 'read' : 'login')

  for (const how of BUILDERS) {
    for (const status of [307, 302]) {
      for (const method of ['GET', 'POST']) {
        const what = `a ${status} on ${method === 'GET' ? 'the GET read (carrying the token)' : 'the POST login (carrying the JWT)'}`
        it(`${how}: ${what} to another origin is refused; nothing at all reaches that origin`, async () => {
          const vault = await redirector(status, method)
          let lines: string[]
          ;({ backend, lines } = build(how, vault.url, { clock }))
          const r = await timed(backend.getSecretManifestData(spec('secret/data/app/db')))
          if (method === 'POST') {
            const logged = lines.filter((l) => /vault login failed/.test(l))
            assert.equal(logged.length, 1)
            assert.match(logged[0]!, /"msg":"vault login failed: the answer was refused; retrying in 1 s; see the error"/)
            assert.match(logged[0]!, /"error":"[^"]*nor in VAULT_REDIRECT_ORIGINS; nothing was sent there/)
          }
          assert.match(r.error!.message, new RegExp(`${status} Vault redirected to ${elsewhere.origin}, which is not the configured Vault \\(${vault.origin}\\) nor in VAULT_REDIRECT_ORIGINS; nothing was sent there`))
          assert.deepEqual(elsewhere.received, [])
          assert.equal(vault.count(operationOf(method)), 1)
          // The token and the JWT went to the configured Vault only.
          assert.equal(dev!.counters().requests.login, method === 'GET' ? 1 : 0)
          assert.equal(dev!.counters().requests.read, 0)
        })

        it(`${how}: ${what} to an origin in VAULT_REDIRECT_ORIGINS is ${status === 302 && method === 'POST' ? 'still refused (it would become a GET)' : 'followed'}`, async () => {
          const vault = await redirector(status, method)
          ;({ backend } = build(how, vault.url, { clock, settings: { redirectOrigins: [elsewhere.origin] } }))
          const r = await timed(backend.getSecretManifestData(spec('secret/data/app/db')))
          if (status === 302 && method === 'POST') {
            assert.match(r.error!.message, /a 302 redirect would turn this POST into a GET; not followed/)
            assert.deepEqual(elsewhere.received, [])
            return
          }
          assert.deepEqual(r.value, { password: b64('pw-app') })
          const got = elsewhere.received.map((x) => x.operation)
          assert.deepEqual(got, [operationOf(method)])
          const hop = elsewhere.received[0]!
          if (method === 'POST') assert.equal(JSON.parse(hop.body).jwt, JWT, 'the login body (method and body kept) went to the allowed node')
          else assert.ok(hop.headers['x-vault-token'], 'the read carried its token to the allowed node')
          assert.equal(dev!.counters().requests.login, 1)
          assert.equal(dev!.counters().requests.read, 1)
        })
      }
    }
  }

  /** VAULT_ADDR redirects every GET to `elsewhere`, which redirects to itself `extra` more times, then serves it. */
  async function chain(extra: number): Promise<Listener> {
    await elsewhere.close()
    elsewhere = await listen((_rec, req, res) => {
      const url = new URL(req.url!, 'http://x')
      const hop = Number(url.searchParams.get('hop') ?? '0')
      if (hop >= extra) return false
      url.searchParams.set('hop', String(hop + 1))
      res.writeHead(307, { location: `${url.pathname}${url.search}`, 'content-length': '0' }).end()
      return true
    }, dev!.address)
    return listen((rec, req, res) => {
      if (rec.method !== 'GET') return false
      res.writeHead(307, { location: `${elsewhere.url}${req.url}`, 'content-length': '0' }).end()
      return true
    }, dev!.address)
  }

  for (const how of BUILDERS) {
    it(`${how}: three redirects are followed; a fourth is not (nothing is sent to its location)`, async () => {
      const three = await chain(2)
      ;({ backend } = build(how, three.url, { clock, settings: { redirectOrigins: [elsewhere.origin] } }))
      assert.deepEqual(await backend.getSecretManifestData(spec('secret/data/app/db')), { password: b64('pw-app') })
      assert.equal(elsewhere.received.length, 3, 'hop 1 from VAULT_ADDR, then two to itself')
      await backend.close({ revoke: false })

      const four = await chain(3)
      ;({ backend } = build(how, four.url, { clock, settings: { redirectOrigins: [elsewhere.origin] } }))
      const r = await timed(backend.getSecretManifestData(spec('secret/data/app/db')))
      assert.match(r.error!.message, /more than 3 redirects; stopped following/)
      assert.equal(elsewhere.received.length, 3, 'the fourth location was never asked')
      assert.equal(dev!.counters().requests.read, 1, 'only the first chain reached Vault')
    })
  }
})
