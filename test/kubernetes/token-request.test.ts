import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nock from 'nock'
import { nockOff, nockOn } from '../support/hooks.js'
import { ManualClock } from '../../lib/clock.js'
import {
  ServiceAccountJwtError,
  TokenRequestJwtCache,
  createCoreV1Api,
  createKubeConfig,
  decodeJwtClaims,
  requiresRefresh,
  type TokenRequestJwtCacheOptions,
} from '../../lib/kubernetes/index.js'
import { CONTROLLER_BEARER, FAKE_API_SERVER, assertNoSecrets, captureLogger, fakeKubeConfig, makeJwt } from './helpers.js'

const MIN = 60_000
const TOKEN_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/

/** metav1.Status bodies exactly as kube-apiserver sends them. */
const status = (code: number, reason: string, message: string, name?: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(name ? { details: { name, kind: 'serviceaccounts' } } : {}),
  code,
})

interface SeenRequest {
  namespace: string
  name: string
  body: any
  authorization: string | undefined
}

/**
 * kube-apiserver's TokenRequest endpoint, answered by nock. Service accounts in `accounts` exist; the rest 404.
 * `failWith` makes every request fail; `grantSeconds` models an issuer that grants another duration than asked.
 */
function fakeApiServer(clock: ManualClock, accounts: string[]) {
  const server = {
    requests: [] as SeenRequest[],
    issued: [] as string[],
    failWith: undefined as { code: number; body: object } | undefined,
    forbiddenNamespaces: new Set<string>(),
    grantSeconds: undefined as number | undefined,
    skewMs: 0,
  }
  nock(FAKE_API_SERVER)
    .persist()
    .post(TOKEN_PATH)
    .reply(function (uri, body: any) {
      const [, namespace, name] = uri.match(TOKEN_PATH)!.map(decodeURIComponent)
      const auth = this.req.headers['authorization']
      server.requests.push({ namespace: namespace!, name: name!, body, authorization: Array.isArray(auth) ? auth[0] : auth })
      if (server.failWith) return [server.failWith.code, server.failWith.body]
      if (server.forbiddenNamespaces.has(namespace!)) {
        return [
          403,
          status(403, 'Forbidden', `serviceaccounts "${name}" is forbidden: User "system:serviceaccount:kes:kes" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${namespace}"`, name),
        ]
      }
      if (!accounts.includes(`${namespace}/${name}`)) return [404, status(404, 'NotFound', `serviceaccounts "${name}" not found`, name)]
      const expirationSeconds = server.grantSeconds ?? body.spec.expirationSeconds ?? 3600
      const iat = Math.floor((clock.now() + server.skewMs) / 1000)
      const token = makeJwt({ iat, exp: iat + expirationSeconds, namespace, serviceAccount: name, aud: body.spec.audiences })
      server.issued.push(token)
      return [
        201,
        {
          kind: 'TokenRequest',
          apiVersion: 'authentication.k8s.io/v1',
          metadata: { name, namespace, creationTimestamp: null },
          spec: { audiences: body.spec.audiences, expirationSeconds, boundObjectRef: null },
          status: { token, expirationTimestamp: new Date((iat + expirationSeconds) * 1000).toISOString().replace('.000Z', 'Z') },
        },
      ]
    })
  return server
}

describe('kubernetes: TokenRequest JWT cache', () => {
  let clock: ManualClock
  let logger: ReturnType<typeof captureLogger>
  let server: ReturnType<typeof fakeApiServer>
  let cache: TokenRequestJwtCache
  const errors: string[] = []

  const newCache = (opts: TokenRequestJwtCacheOptions = {}) =>
    new TokenRequestJwtCache({ api: createCoreV1Api(fakeKubeConfig()), clock, timers: clock, logger, random: () => 0, ...opts })

  /** Await a rejection and keep its message for the no-JWT check. */
  const rejection = async (p: Promise<unknown>): Promise<ServiceAccountJwtError> => {
    try {
      await p
    } catch (err) {
      assert.ok(err instanceof ServiceAccountJwtError, `expected a ServiceAccountJwtError, got ${String(err)}`)
      errors.push(err.message, String(err.stack))
      return err
    }
    assert.fail('expected a rejection')
  }

  before(nockOn)
  after(nockOff)
  beforeEach(() => {
    clock = new ManualClock()
    logger = captureLogger()
    errors.length = 0
    server = fakeApiServer(clock, ['team-a/vault-auth', 'team-b/vault-auth', 'team-a/other'])
    cache = newCache()
  })
  afterEach(() => {
    cache.close()
    nock.cleanAll()
    // Whatever a test did, no JWT and no controller credential reached a log line or an error.
    assertNoSecrets(logger.text(), [...server.issued, CONTROLLER_BEARER], 'log')
    assertNoSecrets(errors.join('\n'), [...server.issued, CONTROLLER_BEARER], 'error message')
  })

  it('sends the TokenRequest the API server expects, as the controller', async () => {
    const jwt = await cache.forServiceAccount({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['vault'] }).getJwt()
    assert.equal(server.requests.length, 1)
    const [req] = server.requests
    assert.deepEqual(req, {
      namespace: 'team-a',
      name: 'vault-auth',
      authorization: `Bearer ${CONTROLLER_BEARER}`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['vault'], expirationSeconds: 600 } },
    })
    assert.equal(jwt, server.issued[0])
    const claims = decodeJwtClaims(jwt)
    assert.equal(claims.namespace, 'team-a')
    assert.equal(claims.serviceAccountName, 'vault-auth')
  })

  it('500 logins over 7 minutes cost 1 TokenRequest; past 80 % of the 10 min TTL a second one', async () => {
    const src = cache.forServiceAccount({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['vault'] })
    const seen = new Set<string>()
    for (let i = 0; i < 500; i++) {
      seen.add(await src.getJwt())
      await clock.advance(840) // 500 x 0.84 s = 7 min
    }
    assert.equal(server.requests.length, 1)
    assert.equal(seen.size, 1)
    assert.equal(cache.stats.hits, 499)

    await clock.advance(MIN + 1000) // 8 min 1 s after issue
    const refreshed = await src.getJwt()
    assert.equal(server.requests.length, 2)
    assert.notEqual(refreshed, [...seen][0])
    for (let i = 0; i < 100; i++) assert.equal(await src.getJwt(), refreshed)
    assert.equal(server.requests.length, 2)
  })

  it('the jitter brings the refresh forward by up to 10 s', async () => {
    cache.close()
    cache = newCache({ random: () => 0.5 })
    const id = { namespace: 'team-a', serviceAccount: 'vault-auth' }
    await cache.getJwt(id)
    await clock.advance(8 * MIN - 5_001)
    await cache.getJwt(id)
    assert.equal(server.requests.length, 1)
    await clock.advance(2)
    await cache.getJwt(id)
    assert.equal(server.requests.length, 2)
  })

  it('200 concurrent callers share one TokenRequest', async () => {
    const src = cache.forServiceAccount({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['vault'] })
    const got = await Promise.all(Array.from({ length: 200 }, () => src.getJwt()))
    assert.equal(server.requests.length, 1)
    assert.ok(got.every((j) => j === server.issued[0]))

    // and again at refresh time: one request for the whole herd
    await clock.advance(9 * MIN)
    const again = await Promise.all(Array.from({ length: 200 }, () => src.getJwt()))
    assert.equal(server.requests.length, 2)
    assert.ok(again.every((j) => j === server.issued[1]))
  })

  it('never shares a JWT across namespaces, accounts, audiences or lifetimes', async () => {
    const a = await cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['vault'] })
    const b = await cache.getJwt({ namespace: 'team-b', serviceAccount: 'vault-auth', audiences: ['vault'] })
    assert.equal(server.requests.length, 2)
    assert.notEqual(a, b)
    assert.equal(decodeJwtClaims(a).namespace, 'team-a')
    assert.equal(decodeJwtClaims(b).namespace, 'team-b')
    for (let i = 0; i < 50; i++) {
      assert.equal(await cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['vault'] }), a)
      assert.equal(await cache.getJwt({ namespace: 'team-b', serviceAccount: 'vault-auth', audiences: ['vault'] }), b)
    }
    assert.equal(server.requests.length, 2)

    await cache.getJwt({ namespace: 'team-a', serviceAccount: 'other', audiences: ['vault'] })
    await cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['sts'] })
    await cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['vault'], expirationSeconds: 3600 })
    assert.equal(server.requests.length, 5)
    assert.equal(new Set(server.issued).size, 5)
  })

  it('audiences are a set: order and duplicates do not make a new TokenRequest', async () => {
    await cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['vault', 'https://kubernetes.default.svc'] })
    await cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['https://kubernetes.default.svc', 'vault', 'vault'] })
    assert.equal(server.requests.length, 1)
    assert.deepEqual(server.requests[0]!.body.spec.audiences, ['https://kubernetes.default.svc', 'vault'])
  })

  it('on API errors serves the old JWT while it is valid, logs each failure once, fails clearly once expired', async () => {
    cache.close()
    cache = newCache({ sweepIntervalMs: 60 * MIN }) // keep the expired entry so its error can say when it expired
    const src = cache.forServiceAccount({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['vault'] })
    const first = await src.getJwt()
    server.failWith = { code: 500, body: status(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out') }

    await clock.advance(8 * MIN + 1000)
    assert.equal(await src.getJwt(), first)
    assert.equal(server.requests.length, 2)
    const errorLines = () => logger.lines.filter((l) => l.level === 'error')
    assert.equal(errorLines().length, 1)
    assert.deepEqual(
      { ...(errorLines()[0]!.obj as object), err: undefined },
      { namespace: 'team-a', serviceAccount: 'vault-auth', status: 500, reason: 'ApiError', err: undefined, expiresAt: '2026-01-01T00:10:00.000Z' },
    )
    assert.match(logger.text(), /etcdserver: request timed out/)

    // the API server is struggling: do not ask it on every login
    for (let i = 0; i < 100; i++) assert.equal(await src.getJwt(), first)
    assert.equal(server.requests.length, 2)
    assert.equal(errorLines().length, 1)

    await clock.advance(11_000)
    assert.equal(await src.getJwt(), first)
    assert.equal(server.requests.length, 3)
    assert.equal(errorLines().length, 2)

    await clock.advance(2 * MIN) // 10 min 12 s after issue: expired
    const err = await rejection(src.getJwt())
    assert.equal(err.reason, 'Expired')
    assert.equal(err.status, 500)
    assert.match(err.message, /service account JWT for "team-a\/vault-auth" expired at 2026-01-01T00:10:00\.000Z/)
    assert.match(err.message, /HTTP 500: Internal error occurred: etcdserver: request timed out/)

    server.failWith = undefined
    const recovered = await src.getJwt()
    assert.notEqual(recovered, first)
    assert.equal(recovered, server.issued.at(-1))
  })

  it('with no JWT yet and the API down, every caller of the flight gets the same clear error', async () => {
    server.failWith = { code: 503, body: status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request') }
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth' })))
    assert.equal(server.requests.length, 1)
    for (const r of results) {
      assert.equal(r.status, 'rejected')
      const err = (r as PromiseRejectedResult).reason as ServiceAccountJwtError
      errors.push(err.message)
      assert.equal(err.reason, 'ApiError')
      assert.equal(err.message, 'TokenRequest for serviceaccount "team-a/vault-auth" failed with HTTP 503: the server is currently unable to handle the request')
    }
  })

  it('404: names the missing service account', async () => {
    const err = await rejection(cache.getJwt({ namespace: 'team-a', serviceAccount: 'ghost' }))
    assert.equal(err.reason, 'NotFound')
    assert.equal(err.status, 404)
    assert.match(err.message, /^serviceaccount "team-a\/ghost" not found/)
    // not cached: once someone creates it, the next login works
    await rejection(cache.getJwt({ namespace: 'team-a', serviceAccount: 'ghost' }))
    assert.equal(server.requests.length, 2)
  })

  it('403: says which RBAC permission the controller lacks, and where', async () => {
    server.forbiddenNamespaces.add('team-b')
    const err = await rejection(cache.getJwt({ namespace: 'team-b', serviceAccount: 'vault-auth' }))
    assert.equal(err.reason, 'Forbidden')
    assert.equal(err.status, 403)
    assert.match(err.message, /needs RBAC to "create" "serviceaccounts\/token" in namespace "team-b"/)
    assert.match(err.message, /User "system:serviceaccount:kes:kes" cannot create resource "serviceaccounts\/token"/)
    // other namespaces are unaffected
    await cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth' })
  })

  it('401: blames the controller credentials', async () => {
    server.failWith = { code: 401, body: status(401, 'Unauthorized', 'Unauthorized') }
    const err = await rejection(cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth' }))
    assert.equal(err.reason, 'Unauthorized')
    assert.match(err.message, /rejected the controller's own credentials/)
  })

  it('a connection failure is a Network error that names the account', async () => {
    nock.cleanAll()
    nock(FAKE_API_SERVER).post(TOKEN_PATH).replyWithError(Object.assign(new Error('connect ECONNREFUSED 10.96.0.1:443'), { code: 'ECONNREFUSED' }))
    const err = await rejection(cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth' }))
    assert.equal(err.reason, 'Network')
    assert.match(err.message, /TokenRequest for serviceaccount "team-a\/vault-auth" failed before the API server answered/)
    assert.match(err.message, /ECONNREFUSED/)
  })

  it('scrubs a JWT that an API error message happens to echo', async () => {
    const leaked = makeJwt({ exp: 2e9, namespace: 'team-a', serviceAccount: 'vault-auth' })
    server.issued.push(leaked)
    server.failWith = { code: 500, body: status(500, 'InternalError', `admission webhook denied token ${leaked}`) }
    const err = await rejection(cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth' }))
    assert.match(err.message, /admission webhook denied token \[REDACTED JWT\]/)
  })

  it('follows the duration the issuer granted, not the one asked for', async () => {
    server.grantSeconds = 3600
    const id = { namespace: 'team-a', serviceAccount: 'vault-auth' }
    await cache.getJwt(id)
    await clock.advance(47 * MIN)
    await cache.getJwt(id)
    assert.equal(server.requests.length, 1)
    await clock.advance(2 * MIN)
    await cache.getJwt(id)
    assert.equal(server.requests.length, 2)
  })

  it('an API server clock ahead of ours cannot make a JWT outlive its TTL', async () => {
    server.skewMs = 5 * MIN
    const id = { namespace: 'team-a', serviceAccount: 'vault-auth' }
    await cache.getJwt(id)
    await clock.advance(8 * MIN + 1)
    await cache.getJwt(id)
    assert.equal(server.requests.length, 2)
  })

  it('drops expired tokens on the periodic sweep and is bounded', async () => {
    await cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth' })
    await cache.getJwt({ namespace: 'team-b', serviceAccount: 'vault-auth' })
    assert.equal(cache.size, 2)
    await clock.advance(9 * MIN)
    assert.equal(cache.size, 2, 'due for refresh but still valid: kept')
    await clock.advance(2 * MIN)
    assert.equal(cache.size, 0)
    cache.close()
    assert.equal(clock.pendingTimers, 0, 'close stops the sweep')

    cache = newCache({ maxEntries: 2 })
    const before = server.requests.length
    for (const [ns, sa] of [['team-a', 'vault-auth'], ['team-b', 'vault-auth'], ['team-a', 'other']]) {
      await cache.getJwt({ namespace: ns!, serviceAccount: sa! })
    }
    assert.equal(cache.size, 2)
    await cache.getJwt({ namespace: 'team-a', serviceAccount: 'vault-auth' }) // least recently used: evicted
    assert.equal(server.requests.length - before, 4)
  })

  it('after the sweep dropped an expired JWT, an API outage is reported as the API error', async () => {
    const id = { namespace: 'team-a', serviceAccount: 'vault-auth' }
    await cache.getJwt(id)
    server.failWith = { code: 500, body: status(500, 'InternalError', 'Internal error occurred: etcdserver: leader changed') }
    await clock.advance(11 * MIN)
    const err = await rejection(cache.getJwt(id))
    assert.equal(err.reason, 'ApiError')
    assert.equal(err.message, 'TokenRequest for serviceaccount "team-a/vault-auth" failed with HTTP 500: Internal error occurred: etcdserver: leader changed')
  })

  it('rejects bad identities before calling the API server', async () => {
    const bad = [
      { namespace: 'team-a', serviceAccount: 'vault-auth', expirationSeconds: 599 },
      { namespace: 'Team_A', serviceAccount: 'vault-auth' },
      { namespace: 'team-a', serviceAccount: '../../secrets' },
      { namespace: 'team-a', serviceAccount: 'vault-auth', audiences: [''] },
    ]
    for (const id of bad) assert.equal((await rejection(cache.getJwt(id))).reason, 'InvalidArgument')
    assert.throws(() => cache.forServiceAccount({ namespace: '', serviceAccount: 'x' }), ServiceAccountJwtError)
    assert.equal(server.requests.length, 0)
  })

  it('a source describes its identity without secrets', () => {
    const src = cache.forServiceAccount({ namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['vault'] })
    assert.equal(src.description, 'TokenRequest team-a/vault-auth (audiences vault, expirationSeconds 600)')
    assert.deepEqual(src.identity, { namespace: 'team-a', serviceAccount: 'vault-auth', audiences: ['vault'], expirationSeconds: 600 })
  })
})

describe('kubernetes: requiresRefresh (kubelet rule)', () => {
  const t = { issuedAt: 0, expiresAt: 600_000 }
  it('refreshes past 80 % of the TTL', () => {
    assert.equal(requiresRefresh(t, 480_000, 0), false)
    assert.equal(requiresRefresh(t, 480_001, 0), true)
  })
  it('jitter brings the refresh forward', () => {
    assert.equal(requiresRefresh(t, 470_001, 10_000), true)
    assert.equal(requiresRefresh(t, 470_000, 10_000), false)
  })
  it('refreshes day-long tokens after 24 h anyway', () => {
    const year = { issuedAt: 0, expiresAt: 365 * 86_400_000 }
    assert.equal(requiresRefresh(year, 86_400_000, 0), false)
    assert.equal(requiresRefresh(year, 86_400_001, 0), true)
  })
})

describe('kubernetes: createKubeConfig', () => {
  let dir: string
  const saved = process.env.KUBECONFIG
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kes-kubeconfig-'))
  })
  after(async () => {
    if (saved === undefined) delete process.env.KUBECONFIG
    else process.env.KUBECONFIG = saved
    await rm(dir, { recursive: true, force: true })
  })
  it('loads the file KUBECONFIG names', async () => {
    const path = join(dir, 'config')
    await writeFile(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://kube.example:6443"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u, namespace: kes}}]',
        'current-context: x',
      ].join('\n'),
    )
    process.env.KUBECONFIG = path
    const kc = createKubeConfig()
    assert.equal(kc.getCurrentCluster()?.server, 'https://kube.example:6443')
    assert.equal(kc.getCurrentContext(), 'x')
  })
})
