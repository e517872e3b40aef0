/**
 * Issue 11, point 1 (defence in depth): whatever path a tenant found, no value that holds a credential of this backend
 * is ever handed out for a Secret. The dev Vault stands in for a secret engine that echoes one: a KV secret written,
 * after the login, with the live token, the controller's JWT, a static token or an AppRole secret ID, plain or base64.
 */
import assert from 'node:assert/strict'
import { CredentialInSecretError, SpecError } from '../../lib/backend/errors.js'
import { buildSecretManifest } from '../../lib/poller/secret-manifest.js'
import { assertNoCredential, b64, errorText, world, type World } from './world.js'

describe('tenant: no credential the backend holds is ever written into a Secret (issue 11, point 1)', function () {
  this.timeout(30_000)
  let w: World | undefined
  afterEach(async () => {
    await w?.close()
    w = undefined
  })

  async function refused(w: World, spec: Record<string, unknown>, field: string): Promise<CredentialInSecretError> {
    const [bad, good] = await Promise.allSettled([
      w.backend.getSecretManifestData({ spec: spec as never }),
      w.backend.getSecretManifestData({ spec: w.good('a', 1).spec as never }),
    ])
    assert.equal(bad!.status, 'rejected', `${JSON.stringify(spec).slice(0, 200)} was handed out`)
    const err = (bad as PromiseRejectedResult).reason as CredentialInSecretError
    assert.ok(err instanceof CredentialInSecretError, String(err))
    assert.equal(err.field, field)
    assert.match(err.message, /contains a credential the Vault backend holds .*no Secret is written/)
    assert.deepEqual(good!.status === 'fulfilled' ? good.value : good!.reason, w.good('a', 1).expect, 'the other ExternalSecret syncs')
    return err
  }

  async function scan(w: World, errors: unknown[]) {
    assertNoCredential(w.credentials(), { errors: errors.map((e) => errorText(e)).join('\n'), logs: w.lines.join('\n'), metrics: await w.registry.metrics() })
  }

  it("the identity's own live token in a secret, plain, base64, inside a larger base64 blob, or as isBinary: refused", async () => {
    w = await world()
    await w.backend.getSecretManifestData({ spec: w.good('a').spec as never })
    const token = w.backend.tokenSessions[0]!.lease!.token
    w.dev.putSecret('secret', 'team-a/echo', { plain: `Bearer ${token}`, encoded: b64(token), blob: b64(`--${token}--`), binary: b64(token) })
    const errors = [
      await refused(w, { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/app1', name: 'ok' }, { key: 'secret/data/team-a/echo', name: 'tok', property: 'plain' }] }, 'spec.data[1]'),
      await refused(w, { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/echo', name: 'tok', property: 'encoded' }] }, 'spec.data[0]'),
      await refused(w, { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/echo', name: 'tok', property: 'blob' }] }, 'spec.data[0]'),
      await refused(w, { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/echo', name: 'tok', property: 'binary', isBinary: true }] }, 'spec.data[0]'),
      await refused(w, { vaultRole: 'team-a', dataFrom: ['secret/data/team-a/echo'] }, 'spec.dataFrom'),
      await refused(w, { vaultRole: 'team-a', dataFromWithOptions: [{ key: 'secret/data/team-a/echo' }] }, 'spec.dataFromWithOptions'),
    ]
    assert.equal(errors[0]!.secretKey, 'tok')
    await scan(w, errors)
  })

  it("another team's token in a secret team a may read: refused too (any credential the backend holds)", async () => {
    w = await world()
    await w.backend.getSecretManifestData({ spec: w.good('a').spec as never })
    await w.backend.getSecretManifestData({ spec: w.good('b').spec as never })
    const tokenB = w.backend.tokenSessions.find((s) => s.identity.role === 'team-b')!.lease!.token
    w.dev.putSecret('secret', 'team-a/planted', { v: tokenB })
    await scan(w, [await refused(w, { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/planted', name: 'v', property: 'v' }] }, 'spec.data[0]')])
  })

  it("the controller's service-account JWT, long after the login that sent it: refused (it stays registered while current)", async () => {
    w = await world()
    await w.backend.getSecretManifestData({ spec: w.good('a').spec as never })
    await w.clock.advance(30 * 60_000)
    w.dev.putSecret('secret', 'team-a/jwt', { v: w.jwt, w: b64(w.jwt) })
    await scan(w, [
      await refused(w, { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/jwt', name: 'v', property: 'v' }] }, 'spec.data[0]'),
      await refused(w, { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/jwt', name: 'w', property: 'w' }] }, 'spec.data[0]'),
    ])
  })

  it('a static VAULT_TOKEN in a secret: refused', async () => {
    // The dev Vault's root token as the operator's static token; no role anywhere, so the static identity reads.
    w = await world((dev) => ({ vaultToken: dev.rootToken }))
    w.dev.putSecret('secret', 'team-a/root', { v: w.dev.rootToken })
    const err = await w.backend.getSecretManifestData({ spec: { data: [{ key: 'secret/data/team-a/root', name: 'v', property: 'v' }] } as never }).then(
      () => assert.fail('the static token was handed out'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof CredentialInSecretError, String(err))
    assert.equal(w.backend.tokenSessions[0]!.identity.method, 'token')
    await scan(w, [err])
  })

  it('an AppRole secret ID in a secret, after the login that read it: refused', async () => {
    w = await world({ authMethod: 'approle', approle: { roleId: 'r-1', secretId: async () => 'approle-secret-id-0123456789abcdef' }, defaultVaultMountPoint: 'approle', defaultVaultRole: 'reader' })
    w.dev.enableApproleAuth('approle')
    w.dev.writeRole('approle', 'reader', { policies: ['team-a'], role_id: 'r-1', secret_id: 'approle-secret-id-0123456789abcdef', token_ttl: '1h' })
    w.dev.putSecret('secret', 'team-a/sid', { v: 'approle-secret-id-0123456789abcdef' })
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: { data: [{ key: 'secret/data/team-a/app0', name: 'password', property: 'password' }] } as never }), { password: b64('pw-a-0') })
    const err = await w.backend.getSecretManifestData({ spec: { data: [{ key: 'secret/data/team-a/sid', name: 'v', property: 'v' }] } as never }).then(
      () => assert.fail('the secret ID was handed out'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof CredentialInSecretError, String(err))
    assertNoCredential(['approle-secret-id-0123456789abcdef'], { error: errorText(err), logs: w.lines.join('\n') })
  })

  it('a live token read one character per item (property "id[3]") is refused: a property selects from objects and arrays only', async () => {
    w = await world()
    await w.backend.getSecretManifestData({ spec: w.good('a').spec as never })
    const token = w.backend.tokenSessions[0]!.lease!.token
    w.dev.putSecret('secret', 'team-a/echo', { id: token, list: ['x', 'y'] })
    const spec = { vaultRole: 'team-a', data: Array.from({ length: token.length }, (_, i) => ({ key: 'secret/data/team-a/echo', name: `c${i}`, property: `id[${i}]` })) }
    await assert.rejects(w.backend.getSecretManifestData({ spec }), /spec\.data\[0\]\.property 'id\[0\]' reads inside a string value; a property selects from JSON objects and arrays only/)
    await assert.rejects(w.backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/echo', name: 'n', property: 'id.length' }] } }), /reads inside a string value/)
    // Arrays and objects are selected from as in KES.
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/echo', name: 'n', property: 'list[1]' }] } }), { n: b64('y') })
  })

  it('base64 of a value holding the live token, wrapped at 76 columns (as `base64` prints it), with CRLF or spaces: refused', async () => {
    w = await world()
    await w.backend.getSecretManifestData({ spec: w.good('a').spec as never })
    const token = w.backend.tokenSessions[0]!.lease!.token
    // A .env file, so the token sits across a line break of the wrapped base64 (the dev Vault's tokens are 28 characters).
    const file = `${'# generated by ci'.padEnd(26, '-')}\nexport VAULT_TOKEN=${token}\n`
    const wrapped = b64(file).replace(/(.{76})/g, '$1\n')
    const forms = { lf: wrapped, crlf: wrapped.replace(/\n/g, '\r\n'), spaced: b64(file).replace(/(.{4})/g, '$1 '), tabbed: b64(`xy${token}`).replace(/(.{3})/g, '$1\t') }
    w.dev.putSecret('secret', 'team-a/wrapped', forms)
    for (const property of Object.keys(forms)) {
      await scan(w, [await refused(w, { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/wrapped', name: 'env', property }] }, 'spec.data[0]')])
    }
  })

  it('a template `data` value is base64 to Kubernetes: b64(b64(token)) from Vault would put b64(token) in the Secret; refused', async () => {
    w = await world()
    await w.backend.getSecretManifestData({ spec: w.good('a').spec as never })
    const token = w.backend.tokenSessions[0]!.lease!.token
    w.dev.putSecret('secret', 'team-a/echo2', { v: b64(b64(token)), plain: b64(token) })
    const es = (spec: Record<string, unknown>) => ({ apiVersion: 'kubernetes-client.io/v1', kind: 'ExternalSecret', metadata: { name: 'x', namespace: 'a', uid: 'u' }, spec: { backendType: 'vault', ...spec } }) as never
    const errors: unknown[] = []
    // The second after base64 of "xyz": the Secret would hold "xyz" + b64(token).
    for (const template of [{ data: { k: '<%= data.v %>' } }, { data: { 'k.b': `${b64('xyz')}<%= data.v %>` } }]) {
      const spec = { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/echo2', name: 'v', property: 'v' }], template }
      const data = await w.backend.getSecretManifestData({ spec: spec as never }) // b64(b64(token)): not the token's base64 itself
      const err = (() => {
        try {
          buildSecretManifest(es(spec), data)
        } catch (e) {
          return e
        }
        return assert.fail('the Secret would hold base64(live token)')
      })()
      assert.ok(err instanceof SpecError, String(err))
      assert.match(err.field, /^spec\.template\.data(\.k|\["k\.b"\])$/)
      assert.match(err.message, /contains a credential the controller holds .*no Secret is written/)
      errors.push(err)
    }
    // stringData is taken as it is: b64(token) there is b64(token) in the Secret, refused as before.
    const spec = { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/echo2', name: 'v', property: 'v' }], template: { stringData: { k: '<%= data.v %>' } } }
    assert.ok(buildSecretManifest(es(spec), await w.backend.getSecretManifestData({ spec: spec as never })).stringData, 'b64(b64(token)) in stringData is not the token')
    await scan(w, errors)
  })

  it('the live token, or its base64, as a Secret data key (a JSON key of a dataFrom secret): refused without naming the key', async () => {
    w = await world()
    await w.backend.getSecretManifestData({ spec: w.good('a').spec as never })
    const token = w.backend.tokenSessions[0]!.lease!.token
    w.dev.putSecret('secret', 'team-a/keyed', { ok: 'fine', [token]: 'x' })
    w.dev.putSecret('secret', 'team-a/keyed64', { [b64(`--${token}`).replace(/=+$/, '')]: 'x' })
    const errors = [
      await refused(w, { vaultRole: 'team-a', dataFrom: ['secret/data/team-a/keyed'] }, 'spec.dataFrom'),
      await refused(w, { vaultRole: 'team-a', dataFromWithOptions: [{ key: 'secret/data/team-a/keyed64' }] }, 'spec.dataFromWithOptions'),
    ]
    for (const err of errors) assert.match(err.message, /^spec\.dataFrom(WithOptions)?: a Secret key contains a credential/)
    await scan(w, errors)
  })

  it('an ordinary secret that only looks like a token (not one the backend holds) is written as it is', async () => {
    w = await world()
    await w.backend.getSecretManifestData({ spec: w.good('a').spec as never })
    w.dev.putSecret('secret', 'team-a/app-token', { v: 'hvs.CAESIAnotOneOfOursxxxxxxxxxxxxxxxxxx' })
    assert.deepEqual(await w.backend.getSecretManifestData({ spec: { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/app-token', name: 'v', property: 'v' }] } as never }), { v: b64('hvs.CAESIAnotOneOfOursxxxxxxxxxxxxxxxxxx') })
  })
})
