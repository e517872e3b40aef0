/**
 * Wire format only: the exact requests the backend sends to Vault and the JSON shapes it reads back. Each nock
 * interceptor answers once with a fixed body copied from Vault's API docs; nothing here computes a TTL. Token
 * behaviour over time is tested on the dev Vault (test/backend/token-lifecycle.test.ts).
 */
import assert from 'node:assert/strict'
import nock from 'nock'
import { Registry } from 'prom-client'
import { VaultBackend, type VaultBackendOptions } from '../../lib/backend/vault-backend.js'
import { ManualClock } from '../../lib/clock.js'
import { nockOff, nockOn } from '../support/hooks.js'

const VAULT = 'http://vault.test:8200'
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6a2VzOmtlcyJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ'
const TOKEN = 'hvs.CAESIWIRExxxxxxxxxxxxxxxxxx'
const STATIC = 'hvs.CAESISTATICxxxxxxxxxxxxxxxxx'

interface Sent {
  method: string
  path: string
  headers: Record<string, string | undefined>
  body: unknown
}

const envelope = (fields: Record<string, unknown>) => ({
  request_id: '6d7a1a4b-1f4c-4d7e-9b3a-000000000001',
  lease_id: '',
  renewable: false,
  lease_duration: 0,
  data: null,
  wrap_info: null,
  warnings: null,
  auth: null,
  ...fields,
})

const authBlock = (leaseDuration: number) => ({
  client_token: TOKEN,
  accessor: 'kXgD8vmYTm4nGoz2vN2aAQKl',
  policies: ['app', 'default'],
  token_policies: ['app', 'default'],
  metadata: { role: 'app', service_account_name: 'kes', service_account_namespace: 'kes', service_account_secret_name: '', service_account_uid: 'uid' },
  lease_duration: leaseDuration,
  renewable: true,
  entity_id: 'e1f0c0de-0000-4000-8000-000000000000',
  token_type: 'service',
  orphan: true,
  mfa_requirement: null,
  num_uses: 0,
})

const lookupData = (token: string, ttl: number) => ({
  accessor: 'kXgD8vmYTm4nGoz2vN2aAQKl',
  creation_time: 1767225600,
  creation_ttl: 60,
  display_name: 'kubernetes-kes-kes',
  entity_id: 'e1f0c0de-0000-4000-8000-000000000000',
  expire_time: '2026-01-01T00:01:00Z',
  explicit_max_ttl: 0,
  id: token,
  issue_time: '2026-01-01T00:00:00Z',
  meta: null,
  num_uses: 0,
  orphan: true,
  path: 'auth/kubernetes/login',
  policies: ['app', 'default'],
  renewable: true,
  ttl,
  type: 'service',
})

const kv2 = (data: Record<string, string>) => envelope({ data: { data, metadata: { created_time: '2026-01-01T00:00:00Z', custom_metadata: null, deletion_time: '', destroyed: false, version: 3 } } })

/** Vault behind nock: each expected request answered once, in any order; every request recorded as sent. */
function wire() {
  const sent: Sent[] = []
  const scope = nock(VAULT)
  const answer = (method: 'get' | 'post', path: string, status: number, body?: unknown) =>
    scope[method](path).reply(function (uri, requestBody) {
      const h = this.req.headers as Record<string, string | string[] | undefined>
      const header = (name: string) => (Array.isArray(h[name]) ? (h[name] as string[]).join(', ') : (h[name] as string | undefined))
      sent.push({
        method: this.req.method,
        path: uri,
        headers: { token: header('x-vault-token'), namespace: header('x-vault-namespace'), request: header('x-vault-request'), contentType: header('content-type') },
        body: requestBody === '' ? undefined : requestBody,
      })
      return body === undefined ? [status] : [status, body as nock.Body]
    })
  return { sent, scope, answer }
}

function backendOn(clock: ManualClock, extra: Partial<VaultBackendOptions> = {}): VaultBackend {
  return new VaultBackend({
    vaultAddr: VAULT,
    defaultVaultMountPoint: 'kubernetes',
    defaultVaultRole: 'app',
    pollerIntervalMilliseconds: 10_000,
    clock,
    random: () => 1,
    registry: new Registry(),
    jwtProvider: { getJwt: async () => JWT },
    ...extra,
  })
}

const read = (backend: VaultBackend, key = 'secret/data/app') => backend.getSecretManifestData({ spec: { data: [{ key, name: 'password', property: 'password' }] } })
const b64 = (s: string) => Buffer.from(s).toString('base64')

describe('Vault wire format (nock)', () => {
  before(nockOn)
  afterEach(() => nock.cleanAll())
  after(nockOff)

  it('login, read, lookup-self, renew-self and revoke-self: method, path, headers and bodies as Vault expects', async () => {
    const clock = new ManualClock()
    const { sent, scope, answer } = wire()
    answer('post', '/v1/auth/kubernetes/login', 200, envelope({ auth: authBlock(60) }))
    answer('get', '/v1/secret/data/app', 200, kv2({ password: 'first' }))
    answer('get', '/v1/auth/token/lookup-self', 200, envelope({ data: lookupData(TOKEN, 20) }))
    answer('post', '/v1/auth/token/renew-self', 200, envelope({ auth: authBlock(60) }))
    answer('get', '/v1/secret/data/app', 200, kv2({ password: 'second' }))
    answer('post', '/v1/auth/token/revoke-self', 204)
    const backend = backendOn(clock)

    assert.deepEqual(await read(backend), { password: b64('first') })
    // 40 s later the login's 60 s lease has 20 s left, under the 30 s threshold (3 poll intervals).
    await clock.advance(40_000)
    assert.deepEqual(await read(backend), { password: b64('second') })
    assert.deepEqual(await backend.close(), { revoked: 1 })

    assert.ok(scope.isDone(), `not sent: ${scope.pendingMocks().join(', ')}`)
    const json = 'application/json'
    assert.deepEqual(sent, [
      // The login carries no token; its body is exactly { role, jwt }.
      { method: 'POST', path: '/v1/auth/kubernetes/login', headers: { token: undefined, namespace: undefined, request: 'true', contentType: json }, body: { role: 'app', jwt: JWT } },
      { method: 'GET', path: '/v1/secret/data/app', headers: { token: TOKEN, namespace: undefined, request: 'true', contentType: undefined }, body: undefined },
      { method: 'GET', path: '/v1/auth/token/lookup-self', headers: { token: TOKEN, namespace: undefined, request: 'true', contentType: undefined }, body: undefined },
      // A login token is renewed without an increment: Vault applies the role's TTL.
      { method: 'POST', path: '/v1/auth/token/renew-self', headers: { token: TOKEN, namespace: undefined, request: 'true', contentType: json }, body: {} },
      { method: 'GET', path: '/v1/secret/data/app', headers: { token: TOKEN, namespace: undefined, request: 'true', contentType: undefined }, body: undefined },
      { method: 'POST', path: '/v1/auth/token/revoke-self', headers: { token: TOKEN, namespace: undefined, request: 'true', contentType: json }, body: {} },
    ])
  })

  it('with vaultNamespace every request carries X-Vault-Namespace; a static token is renewed with its creation TTL as increment', async () => {
    const clock = new ManualClock()
    const { sent, scope, answer } = wire()
    answer('get', '/v1/auth/token/lookup-self', 200, envelope({ data: lookupData(STATIC, 20) }))
    answer('post', '/v1/auth/token/renew-self', 200, envelope({ auth: { ...authBlock(60), client_token: STATIC } }))
    answer('get', '/v1/secret/data/app', 200, kv2({ password: 'static' }))
    const backend = backendOn(clock, { defaultVaultRole: undefined, vaultToken: STATIC, vaultNamespace: 'team-a' })

    assert.deepEqual(await read(backend), { password: b64('static') })
    // The operator's token is not revoked at close: nothing more is sent.
    assert.deepEqual(await backend.close(), { revoked: 0 })

    assert.ok(scope.isDone(), `not sent: ${scope.pendingMocks().join(', ')}`)
    assert.deepEqual(sent.map((s) => [s.method, s.path, s.headers.token, s.headers.namespace, s.headers.request, s.body]), [
      ['GET', '/v1/auth/token/lookup-self', STATIC, 'team-a', 'true', undefined],
      ['POST', '/v1/auth/token/renew-self', STATIC, 'team-a', 'true', { increment: 60 }],
      ['GET', '/v1/secret/data/app', STATIC, 'team-a', 'true', undefined],
    ])
  })

  it('a login with a namespace sends X-Vault-Namespace and still no token', async () => {
    const clock = new ManualClock()
    const { sent, answer } = wire()
    answer('post', '/v1/auth/kubernetes/login', 200, envelope({ auth: authBlock(3600) }))
    answer('get', '/v1/secret/data/app', 200, kv2({ password: 'ns' }))
    const backend = backendOn(clock, { vaultNamespace: 'team-a/child' })
    assert.deepEqual(await read(backend), { password: b64('ns') })
    await backend.close({ revoke: false })
    assert.deepEqual(sent.map((s) => [s.path, s.headers.token, s.headers.namespace]), [
      ['/v1/auth/kubernetes/login', undefined, 'team-a/child'],
      ['/v1/secret/data/app', TOKEN, 'team-a/child'],
    ])
  })

  it('reads Vault\'s KV shapes: v2 data.data by property or whole, v1 data whole', async () => {
    const clock = new ManualClock()
    const { answer } = wire()
    answer('post', '/v1/auth/kubernetes/login', 200, envelope({ auth: authBlock(3600) }))
    answer('get', '/v1/secret/data/db', 200, kv2({ password: 'p@ss', user: 'admin' }))
    answer('get', '/v1/kv1/db', 200, envelope({ data: { password: 'old', user: 'root' }, lease_duration: 2764800 }))
    const backend = backendOn(clock)
    const v2 = await backend.getSecretManifestData({ spec: { data: [{ key: 'secret/data/db', name: 'pw', property: 'password' }], dataFrom: ['secret/data/db'] } })
    assert.deepEqual(v2, { password: b64('p@ss'), user: b64('admin'), pw: b64('p@ss') })
    const v1 = await backend.getSecretManifestData({ spec: { kvVersion: 1, data: [{ key: 'kv1/db', name: 'whole' }] } })
    assert.deepEqual(v1, { whole: b64(JSON.stringify({ password: 'old', user: 'root' })) })
    await backend.close({ revoke: false })
  })

  it('reads Vault\'s error shape: the first entry of "errors" and the status reach the message', async () => {
    const clock = new ManualClock()
    const { answer } = wire()
    answer('post', '/v1/auth/kubernetes/login', 400, { errors: ['invalid role name "app"'] })
    const backend = backendOn(clock)
    await assert.rejects(read(backend), /login failed \(vault login auth\/kubernetes\/login failed: 400 invalid role name "app"\)/)
    await backend.close({ revoke: false })
  })

  it('a login answer without auth.client_token is refused as malformed, and no read is sent with it', async () => {
    const clock = new ManualClock()
    const { sent, answer } = wire()
    const { client_token: _dropped, ...noToken } = authBlock(3600)
    answer('post', '/v1/auth/kubernetes/login', 200, envelope({ auth: noToken }))
    const backend = backendOn(clock)
    await assert.rejects(read(backend), /malformed: auth\.client_token is missing/)
    assert.deepEqual(sent.map((s) => s.path), ['/v1/auth/kubernetes/login'])
    await backend.close({ revoke: false })
  })
})
