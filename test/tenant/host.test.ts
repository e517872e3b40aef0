/**
 * Issue 11 through the real poller host (watch, pollers, Secret writes, status) on the fake Kubernetes API and the dev
 * Vault: KES's namespace annotations (point 3), service accounts (point 4), templates and reserved key names (point 7)
 * and the credential check (point 1). A refused ExternalSecret gets an ERROR status naming the field, no Secret and no
 * Vault request; the other ExternalSecrets of the same namespaces keep syncing; no credential appears anywhere.
 */
import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import type { PollerConfig } from '../../lib/poller/config.js'
import { PollerHost } from '../../lib/poller/host.js'
import { createLogger } from '../../lib/log.js'
import { FakeKubeApi } from '../support/fake-kube-api.js'
import { assertNoCredential, decoded, errorText, world, type World } from './world.js'
import type { VaultBackendOptions } from '../../lib/backend/vault-backend.js'

const INTERVAL = 60_000
const KEY_NAME = 'externalsecrets.kubernetes-client.io/permitted-key-name'
const ROLE = 'iam.amazonaws.com/permitted'
const MOUNT = 'externalsecrets.kubernetes-client.io/permitted-vault-mount'
const ACCOUNTS = 'externalsecrets.kubernetes-client.io/permitted-service-accounts'

describe('tenant: the poller host refuses what a namespace does not permit (issue 11, points 1, 3, 4, 7)', function () {
  this.timeout(30_000)
  let w: World | undefined
  let api: FakeKubeApi | undefined
  let host: PollerHost | undefined
  let hostRegistry: Registry
  afterEach(async () => {
    await host?.stop()
    await api?.close()
    await w?.close()
    host = api = w = undefined
  })

  async function start(config: Partial<PollerConfig> = {}, backend: Partial<VaultBackendOptions> = {}) {
    w = await world(backend)
    api = await FakeKubeApi.start({ clock: w.clock })
    hostRegistry = new Registry()
    const b = w.backend
    host = new PollerHost({
      kubeConfig: api.kubeConfig(),
      backends: { vault: { getSecretManifestData: (a) => b.getSecretManifestData(a as never) } },
      clock: w.clock,
      timers: w.clock,
      random: () => 0.5,
      registry: hostRegistry,
      logger: createLogger({ level: 'debug', write: (l) => w!.lines.push(l), clock: w.clock }),
      config: { pollerIntervalMilliseconds: INTERVAL, watchTimeoutMilliseconds: 10 * INTERVAL, ...config },
    })
    return { w, api }
  }

  /** Adds the ExternalSecrets, runs the host's first polls, and returns each one's status. */
  async function sync(items: Array<[string, string, Record<string, unknown>]>): Promise<Record<string, string>> {
    for (const [ns, name, spec] of items) api!.addExternalSecret(ns, name, { backendType: 'vault', ...spec })
    await host!.start()
    await w!.clock.advance(0)
    const status = Object.fromEntries(items.map(([ns, name]) => [`${ns}/${name}`, api!.getExternalSecret(ns, name)?.status?.status ?? '(none)']))
    if (process.env.SHOW_STATUS) console.log(status)
    return status
  }

  async function assertClean() {
    const secrets = [...api!.secrets.keys()].map((k) => decoded(api!.secrets.get(k)!.data as Record<string, string>)).join('\n')
    const statuses = [...api!.externalSecrets.values()].map((es) => JSON.stringify(es.status ?? {})).join('\n')
    assertNoCredential(w!.credentials(), { secrets, statuses, logs: w!.lines.join('\n'), metrics: (await w!.registry.metrics()) + (await hostRegistry.metrics()) })
  }

  const read = (team: string, i = 0, extra: Record<string, unknown> = {}) => ({
    vaultRole: `team-${team}`,
    data: [{ key: `secret/data/team-${team}/app${i}`, name: 'password', property: 'password' }],
    ...extra,
  })

  it('permitted-key-name (KES): every key must match the whole pattern, dataFromWithOptions included; refused ones send nothing', async () => {
    await start()
    api!.addNamespace('a', { [KEY_NAME]: 'secret/data/team-a/.*' })
    const status = await sync([
      ['a', 'good', read('a')],
      ['a', 'other-team', read('a', 0, { data: [{ key: 'secret/data/team-b/app0', name: 'p', property: 'password' }] })],
      ['a', 'data-from', { vaultRole: 'team-a', dataFrom: ['secret/data/team-a/app1', 'secret/data/team-b/app1'] }],
      // KES checked data and dataFrom only: dataFromWithOptions walked past the annotation.
      ['a', 'with-options', { vaultRole: 'team-a', dataFromWithOptions: [{ key: 'secret/data/team-b/app2' }] }],
      // KES's unanchored test passed this one: the pattern occurs inside the key.
      ['a', 'substring', { vaultRole: 'team-a', dataFrom: ['secret/data/team-b/x/secret/data/team-a/y'] }],
    ])
    assert.equal(status['a/good'], 'SUCCESS')
    assert.deepEqual(api!.secretData('a', 'good'), { password: 'pw-a-0' })
    assert.match(status['a/other-team']!, /^ERROR, not allowed to fetch secret: a\/other-team: spec\.data\[0\]\.key: key name "secret\/data\/team-b\/app0" does not match naming convention "secret\/data\/team-a\/\.\*"$/)
    assert.match(status['a/data-from']!, /: spec\.dataFrom\[1\]: key name "secret\/data\/team-b\/app1" does not match/)
    assert.match(status['a/with-options']!, /: spec\.dataFromWithOptions\[0\]\.key: key name "secret\/data\/team-b\/app2" does not match/)
    assert.match(status['a/substring']!, /: spec\.dataFrom\[0\]: .*must match the whole value \(KES matched any part of it/)
    for (const name of ['other-team', 'data-from', 'with-options', 'substring']) assert.equal(api!.getSecret('a', name), undefined, name)
    const c = w!.dev.counters()
    assert.equal(c.requests.login, 1, 'team a logged in once, for the good one')
    assert.equal(c.requests.read, 1, 'one read: the good ExternalSecret')
    await assertClean()
  })

  it('ENFORCE_NAMESPACE_ANNOTATIONS (KES): a namespace without annotations, or without the role annotation, refuses; nothing sent', async () => {
    await start({ enforceNamespaceAnnotations: true })
    api!.addNamespace('bare')
    api!.addNamespace('keys-only', { [KEY_NAME]: 'secret/data/team-a/.*' })
    api!.addNamespace('a', { [KEY_NAME]: 'secret/data/team-a/.*', [ROLE]: 'team-a' })
    const status = await sync([
      ['bare', 'x', read('a')],
      ['keys-only', 'x', read('a')],
      ['a', 'good', read('a')],
      ['a', 'other-mount', read('a', 0, { vaultMountPoint: 'kubernetes-admin' })],
    ])
    assert.match(status['bare/x']!, /Namespace annotation is required \(ENFORCE_NAMESPACE_ANNOTATIONS\)/)
    assert.match(status['keys-only/x']!, /Missing required annotation iam\.amazonaws\.com\/permitted on namespace keys-only/)
    assert.match(status['a/other-mount']!, /Missing required annotation externalsecrets\.kubernetes-client\.io\/permitted-vault-mount on namespace a/)
    assert.equal(status['a/good'], 'SUCCESS')
    assert.equal(w!.dev.counters().total, 2, 'one login and one read, for the good one')
    await assertClean()
  })

  it('the role guard is anchored and covers the mount: a look-alike role or another auth mount is refused, nothing sent', async () => {
    await start()
    // A privileged role whose name contains "team-a", and a second auth mount with a "team-a" role of wider power.
    w!.dev.writeRole('kubernetes', 'team-a-ops', { policies: ['admin'], token_ttl: '1h', bound_service_account_names: ['kes'], bound_service_account_namespaces: ['kes'] })
    w!.dev.enableKubernetesAuth('kubernetes-admin')
    w!.dev.writeRole('kubernetes-admin', 'team-a', { policies: ['admin'], token_ttl: '1h', bound_service_account_names: ['kes'], bound_service_account_namespaces: ['kes'] })
    api!.addNamespace('a', { [ROLE]: 'team-a', [MOUNT]: 'kubernetes' })
    const status = await sync([
      ['a', 'good', read('a')],
      ['a', 'ops', { vaultRole: 'team-a-ops', data: [{ key: 'secret/data/team-b/app0', name: 'p', property: 'password' }] }],
      ['a', 'admin-mount', { vaultRole: 'team-a', vaultMountPoint: 'kubernetes-admin', data: [{ key: 'secret/data/team-b/app0', name: 'p', property: 'password' }] }],
    ])
    assert.equal(status['a/good'], 'SUCCESS')
    assert.match(status['a/ops']!, /: spec\.vaultRole: namespace does not allow to assume role "team-a-ops" \(iam\.amazonaws\.com\/permitted: "team-a"\); the pattern must match the whole value/)
    assert.match(status['a/admin-mount']!, /: spec\.vaultMountPoint: namespace does not allow the Vault auth mount "kubernetes-admin" \(externalsecrets\.kubernetes-client\.io\/permitted-vault-mount: "kubernetes"\)/)
    assert.equal(w!.dev.counters().requests.login, 1)
    assert.equal(w!.dev.liveTokens({ mount: 'kubernetes-admin' }) + w!.dev.liveTokens({ role: 'team-a-ops' }), 0)
    await assertClean()
  })

  it('a permitted roleArn does not carry a vaultRole the namespace does not permit (KES checked only roleArn || vaultRole)', async () => {
    await start()
    api!.addNamespace('a', { [ROLE]: 'team-a' })
    const status = await sync([
      ['a', 'plain', read('b')],
      ['a', 'sneaky', { ...read('b'), roleArn: 'team-a' }],
      ['a', 'good', { ...read('a'), roleArn: 'team-a' }],
    ])
    assert.match(status['a/plain']!, /spec\.vaultRole: namespace does not allow to assume role "team-b"/)
    assert.match(status['a/sneaky']!, /spec\.vaultRole: namespace does not allow to assume role "team-b"/)
    assert.equal(status['a/good'], 'SUCCESS')
    assert.equal(w!.dev.liveTokens({ role: 'team-b' }), 0, 'never logged in as team-b')
    assert.equal(api!.secrets.has('a/sneaky'), false)
    await assertClean()
  })

  it('a mount that climbs out of auth/ is refused by the backend even where no annotation guards mounts; nothing sent', async () => {
    await start()
    const status = await sync([
      ['a', 'good', read('a')],
      ['a', 'climb', read('a', 0, { vaultMountPoint: '../../sys/x' })],
    ])
    assert.equal(status['a/good'], 'SUCCESS')
    assert.match(status['a/climb']!, /^ERROR, spec\.vaultMountPoint: "\.\.\/\.\.\/sys\/x" is not an auth mount path/)
    assert.equal(w!.dev.counters().total, 2)
    await assertClean()
  })

  it('service accounts: only those the operator or the namespace permits; others refused before any TokenRequest or Vault request', async () => {
    await start({}, { permittedServiceAccounts: ['vault-reader'] })
    api!.addNamespace('a', { [ACCOUNTS]: 'vault-reader, ci-reader' })
    api!.addNamespace('b')
    const status = await sync([
      ['a', 'own-reader', read('a', 0, { vaultServiceAccount: 'vault-reader' })],
      ['a', 'ns-admin', read('a', 1, { vaultServiceAccount: 'ns-admin' })],
      ['b', 'setting', read('b', 0, { vaultServiceAccount: 'vault-reader' })],
      ['b', 'ci', read('b', 1, { vaultServiceAccount: 'ci-reader' })],
    ])
    assert.equal(status['a/own-reader'], 'SUCCESS')
    assert.equal(status['b/setting'], 'SUCCESS', 'permitted by VAULT_PERMITTED_SERVICE_ACCOUNTS in every namespace')
    assert.match(status['a/ns-admin']!, /^ERROR, spec\.vaultServiceAccount: service account "ns-admin" is not permitted/)
    assert.match(status['b/ci']!, /^ERROR, spec\.vaultServiceAccount: service account "ci-reader" is not permitted/, 'namespace a permits it, namespace b does not')
    assert.deepEqual(w!.tokenRequests.sort(), ['a/vault-reader', 'b/vault-reader'])
    assert.equal(w!.dev.counters().requests.login, 2)
    assert.equal(w!.dev.counters().requests.read, 2)
    await assertClean()
  })

  it('templates: __proto__ refused with its field; constructor and prototype kept; an oversized template refused', async () => {
    await start()
    w!.dev.putSecret('secret', 'team-a/odd', { constructor: 'c-value', prototype: 'p-value' })
    const status = await sync([
      ['a', 'kept', {
        vaultRole: 'team-a',
        dataFrom: ['secret/data/team-a/odd'],
        template: { metadata: { annotations: { constructor: 'ann-<%= data.constructor %>', prototype: 'x' } }, stringData: { prototype: "<%= data['prototype'] %>" } },
      }],
      ['a', 'proto-label', read('a', 1, { template: { metadata: { labels: JSON.parse('{"__proto__": {"polluted": "yes"}}') } } })],
      ['a', 'proto-name', { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/app2', name: '__proto__', property: 'password' }] }],
      ['a', 'huge', read('a', 0, { template: { stringData: { blob: 'x'.repeat(1024 * 1024 + 1) } } })],
    ])
    assert.equal(status['a/kept'], 'SUCCESS')
    const kept = api!.getSecret('a', 'kept')!
    assert.deepEqual(api!.secretData('a', 'kept'), { constructor: 'c-value', prototype: 'p-value' })
    assert.deepEqual(kept.metadata.annotations, { constructor: 'ann-c-value', prototype: 'x' })
    assert.deepEqual(kept.stringData, { prototype: 'p-value' })
    assert.match(status['a/proto-label']!, /^ERROR, spec\.template\.metadata\.labels\.__proto__: is a key the Kubernetes client drops/)
    assert.match(status['a/proto-name']!, /^ERROR, spec\.data\[0\]\.name: Secret key "__proto__" is a name the Kubernetes client drops/)
    assert.match(status['a/huge']!, /^ERROR, spec\.template: is larger than 1048576 characters/)
    for (const name of ['proto-label', 'proto-name', 'huge']) assert.equal(api!.getSecret('a', name), undefined, name)
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched')
    await assertClean()
  })

  it('a template that joins harmless pieces into a live credential is refused; no Secret is written', async () => {
    await start()
    api!.addNamespace('a', {})
    await sync([['a', 'first', read('a')]])
    const token = w!.backend.tokenSessions[0]!.lease!.token
    const q = Math.ceil(token.length / 4)
    // Four quarters: no single value holds the token, so the backend's check on each value passes them.
    w!.dev.putSecret('secret', 'team-a/pieces', Object.fromEntries([0, 1, 2, 3].map((i) => [`p${i}`, token.slice(i * q, (i + 1) * q)])))
    api!.addExternalSecret('a', 'joined', {
      backendType: 'vault',
      vaultRole: 'team-a',
      data: [0, 1, 2, 3].map((i) => ({ key: 'secret/data/team-a/pieces', name: `p${i}`, property: `p${i}` })),
      template: { metadata: { annotations: { t: '<%= data.p0 %><%= data.p1 %><%= data.p2 %><%= data.p3 %>' } } },
    })
    await w!.clock.advance(INTERVAL)
    assert.match(api!.getExternalSecret('a', 'joined')!.status!.status!, /^ERROR, spec\.template: the rendered Secret contains a credential the controller holds/)
    assert.equal(api!.getSecret('a', 'joined'), undefined)
    await assertClean()
  })

  it('a value that turns into a live credential: the Secret keeps its last good content, the status says why, nothing leaks', async () => {
    await start()
    w!.dev.putSecret('secret', 'team-a/echo', { v: 'harmless' })
    const status = await sync([['a', 'echo', { vaultRole: 'team-a', data: [{ key: 'secret/data/team-a/echo', name: 'v', property: 'v' }] }], ['a', 'good', read('a')]])
    assert.equal(status['a/echo'], 'SUCCESS')
    const token = w!.backend.tokenSessions[0]!.lease!.token
    w!.dev.putSecret('secret', 'team-a/echo', { v: `token=${token}` })
    await w!.clock.advance(INTERVAL)
    const after = api!.getExternalSecret('a', 'echo')!.status!.status!
    assert.match(after, /^ERROR, spec\.data\[0\]: the value for Secret key "v" contains a credential the Vault backend holds/)
    assert.deepEqual(api!.secretData('a', 'echo'), { v: 'harmless' })
    assert.equal(api!.getExternalSecret('a', 'good')!.status!.status, 'SUCCESS')
    assert.equal(api!.count('replace secret'), 0)
    assert.ok(errorText(new Error(after)).length < 3000)
    await assertClean()
  })

  it('KES annotations behave as before for ExternalSecrets that obey them (no annotations, empty annotations, anchored-compatible patterns)', async () => {
    await start()
    api!.addNamespace('open')
    api!.addNamespace('empty', { [KEY_NAME]: '', [ROLE]: '' })
    api!.addNamespace('kes-style', { [KEY_NAME]: 'secret/data/team-b/.*', [ROLE]: '^team-b$' })
    const status = await sync([
      ['open', 'x', read('a')],
      ['empty', 'x', read('a', 1)],
      ['kes-style', 'x', read('b', 2)],
    ])
    assert.deepEqual(status, { 'open/x': 'SUCCESS', 'empty/x': 'SUCCESS', 'kes-style/x': 'SUCCESS' })
    assert.deepEqual(api!.secretData('kes-style', 'x'), { password: 'pw-b-2' })
  })

  it('sync metrics: ExternalSecrets whose backendType was edited before their deletion leave no series behind (20 cycles)', async () => {
    await start()
    api!.addNamespace('a')
    await host!.start()
    const series = async () => (await hostRegistry.metrics()).split('\n').filter((l) => l.startsWith('kubernetes_external_secrets_'))
    const base = (await series()).length
    for (let i = 0; i < 20; i++) {
      api!.addExternalSecret('a', `es-${i}`, { backendType: 'vault', ...read('a') })
      await w!.clock.advance(0)
      api!.modifyExternalSecret('a', `es-${i}`, { backendType: 'secretsManager', data: [] })
      await w!.clock.advance(0)
      if (i === 0) assert.equal((await series()).length - base, 4, 'a counter and a gauge for vault, and for secretsManager')
      api!.deleteExternalSecret('a', `es-${i}`)
      await w!.clock.advance(0)
    }
    assert.equal(host!.pollers.size, 0)
    assert.deepEqual((await series()).filter((l) => l.includes('name="es-')), [])
    assert.equal((await series()).length, base)
  })
})
