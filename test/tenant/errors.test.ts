/**
 * Issue 11, point 8: every error the read path can produce carries neither a credential nor an unbounded quote of
 * tenant input or of Vault's text: not in its message, stack, fields or cause. Each class is provoked for real on the
 * dev Vault, with 1 MB inputs where a spec field allows them, and Vault messages that echo a live token and the JWT.
 */
import assert from 'node:assert/strict'
import { CredentialInSecretError, KVBackendError, SecretReadError, SpecError } from '../../lib/backend/errors.js'
import { buildSecretManifest } from '../../lib/poller/secret-manifest.js'
import { PolicyDeniedError, TokenUnavailableError } from '../../lib/token/errors.js'
import { VaultRequestError } from '../../lib/vault/errors.js'
import { assertNoCredential, b64, errorText, world, type World } from './world.js'

const MB = 1024 * 1024

describe('tenant: errors are bounded and carry no credential (issue 11, point 8)', function () {
  this.timeout(30_000)
  let w: World | undefined
  afterEach(async () => {
    await w?.close()
    w = undefined
  })

  const rejection = (p: Promise<unknown>) => p.then(() => assert.fail('resolved'), (e: unknown) => e)

  it('every error class of the read path, provoked on the dev Vault: bounded, and no credential in message, stack, fields or cause', async () => {
    w = await world()
    const { backend, dev } = w
    const good = w.good('a')
    await backend.getSecretManifestData({ spec: good.spec as never })
    const token = backend.tokenSessions[0]!.lease!.token
    const echo = `${token} ${w.jwt} ${b64(token)} ${'z'.repeat(MB)}`
    const errors: Record<string, unknown> = {}

    // SpecError: each field with a 1 MB value.
    errors.key = await rejection(backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: `secret/${token}/${'k'.repeat(MB)}`, name: 'x' }] } as never }))
    errors.mount = await rejection(backend.getSecretManifestData({ spec: { vaultRole: 'team-a', vaultMountPoint: `${token}${'m'.repeat(MB)}`, data: [good.spec.data as never].flat() } as never }))
    errors.role = await rejection(backend.getSecretManifestData({ spec: { vaultRole: `${token}${'r'.repeat(MB)}`, data: [good.spec.data as never].flat() } as never }))
    errors.account = await rejection(backend.getSecretManifestData({ namespace: 'a', spec: { vaultRole: 'team-a', vaultServiceAccount: 's'.repeat(MB), data: [good.spec.data as never].flat() } as never }))
    errors.kvVersion = await rejection(backend.getSecretManifestData({ spec: { vaultRole: 'team-a', kvVersion: echo, data: [good.spec.data as never].flat() } as never }))
    errors.template = (() => {
      try {
        return buildSecretManifest({ apiVersion: 'v', kind: 'ExternalSecret', metadata: { name: 'n', namespace: 'a', uid: 'u' }, spec: { backendType: 'vault', template: { stringData: { [`${token}${'t'.repeat(MB)}`]: JSON.parse('{"deeper": {"__proto__": 1}}') } } } }, {})
      } catch (e) {
        return e
      }
    })()
    // KVBackendError: a property not found (longest allowed property), a non-base64 value for isBinary with a 1 MB name.
    errors.property = await rejection(backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/app0', name: 'x', property: `${token}${'p'.repeat(900)}` }] } as never }))
    dev.putSecret('secret', 'team-a/bin', { b: '*** not base64 ***' })
    errors.binary = await rejection(backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/bin', name: `${token}${'n'.repeat(MB)}`, property: 'b', isBinary: true }] } as never }))
    errors.shape = await rejection(backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: { key: echo } } as never }))
    // SecretReadError: 404 on the longest allowed key; a transient and a permanent Vault error whose text echoes credentials.
    errors.notFound = await rejection(backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: `secret/data/team-a/${'q'.repeat(480)}`, name: 'x' }] } as never }))
    const f1 = dev.injectFault({ kind: 'error', status: 503, message: `upstream said: ${echo}`, operation: 'read', times: 1 })
    errors.transient = await rejection(backend.getSecretManifestData({ spec: w.good('a', 1).spec as never }))
    assert.equal(f1.hits, 1)
    const f2 = dev.injectFault({ kind: 'error', status: 400, message: `bad request: ${echo}`, operation: 'read', times: 1 })
    errors.permanent = await rejection(backend.getSecretManifestData({ spec: w.good('a', 2).spec as never }))
    assert.equal(f2.hits, 1)
    // PolicyDeniedError: team a asks for team b's secret.
    errors.denied = await rejection(backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: 'secret/data/team-b/app0', name: 'x' }] } as never }))
    // TokenUnavailableError, its loginError a VaultRequestError whose text echoes the JWT the login sent.
    dev.injectFault({ kind: 'error', status: 400, message: `invalid role; you sent ${echo}`, operation: 'login', times: 1 })
    errors.login = await rejection(backend.getSecretManifestData({ spec: w.good('b').spec as never }))
    // CredentialInSecretError.
    dev.putSecret('secret', 'team-a/echo', { v: token })
    errors.credential = await rejection(backend.getSecretManifestData({ spec: { vaultRole: 'team-a', dataFrom: ['secret/data/team-a/echo'] } as never }))
    // SessionClosedError (as a read on a closed backend).
    await backend.close({ revoke: false })
    errors.closed = await rejection(backend.getSecretManifestData({ spec: good.spec as never }))

    const kinds: Record<string, new (...a: never[]) => Error> = {
      key: SpecError, mount: SpecError, role: SpecError, account: SpecError, kvVersion: SpecError, template: SpecError,
      property: KVBackendError, binary: KVBackendError, shape: KVBackendError,
      notFound: SecretReadError, transient: SecretReadError, permanent: SecretReadError,
      denied: PolicyDeniedError, login: TokenUnavailableError, credential: CredentialInSecretError, closed: SecretReadError,
    }
    for (const [what, kind] of Object.entries(kinds)) {
      const e = errors[what]
      assert.ok(e instanceof kind, `${what}: ${String(e)}`)
      const all = errorText(e)
      assert.ok((e as Error).message.length <= 2100, `${what}: message of ${(e as Error).message.length} characters`)
      assert.ok(all.length < 8000, `${what}: ${all.length} characters in all (message, stack, fields, cause)`)
    }
    assert.ok((errors.login as TokenUnavailableError).loginError instanceof VaultRequestError)
    assert.match((errors.transient as Error).message, /upstream said: \[REDACTED\] \[REDACTED\] \[REDACTED\].*Vault is unavailable/)
    assertNoCredential(w.credentials(), {
      ...Object.fromEntries(Object.entries(errors).map(([k, e]) => [k, errorText(e)])),
      logs: w.lines.join('\n'),
      metrics: await w.registry.metrics(),
    })
    const longest = Math.max(...w.lines.map((l) => l.length))
    assert.ok(longest < 10_000, `the longest log line has ${longest} characters`)
  })
})
