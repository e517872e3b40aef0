import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import { ConfigError } from '../../lib/env.js'
import { loadPollerConfig } from '../../lib/poller/config.js'
import { isManagedByInstance } from '../../lib/poller/host.js'
import { isRolePermitted } from '../../lib/poller/role-guard.js'
import { errorBackoffDelay, firstPollDelay, MAX_ERROR_BACKOFF_MS, nextPollDelay } from '../../lib/poller/schedule.js'
import { buildSecretManifest, secretNeedsUpdate } from '../../lib/poller/secret-manifest.js'
import { SyncMetrics } from '../../lib/poller/sync-metrics.js'
import { statusText } from '../../lib/poller/poller.js'
import type { ExternalSecret } from '../../lib/poller/types.js'
import { b64, vaultSpec } from './helpers.js'

const es = (spec: Record<string, unknown> = vaultSpec(), status?: ExternalSecret['status'], generation = 1): ExternalSecret => ({
  apiVersion: 'kubernetes-client.io/v1',
  kind: 'ExternalSecret',
  metadata: { name: 'app', namespace: 'ns', uid: 'u1', generation },
  spec: spec as ExternalSecret['spec'],
  ...(status ? { status } : {}),
})

describe('poller config', () => {
  it('KES defaults', () => {
    assert.deepEqual(loadPollerConfig({}), {
      pollerIntervalMilliseconds: 10000,
      watchedNamespaces: [],
      instanceId: undefined,
      watchTimeoutMilliseconds: 60000,
      pollingDisabled: false,
      rolePermittedAnnotation: 'iam.amazonaws.com/permitted',
      namingPermittedAnnotation: 'externalsecrets.kubernetes-client.io/permitted-key-name',
      enforceNamespaceAnnotations: false,
      mountPermittedAnnotation: 'externalsecrets.kubernetes-client.io/permitted-vault-mount',
      serviceAccountPermittedAnnotation: 'externalsecrets.kubernetes-client.io/permitted-service-accounts',
      defaultVaultMountPoint: 'kubernetes',
    })
  })
  it('reads every variable', () => {
    const c = loadPollerConfig({
      POLLER_INTERVAL_MILLISECONDS: '30000',
      WATCHED_NAMESPACES: 'a, b,',
      INSTANCE_ID: 'blue',
      WATCH_TIMEOUT: '5000',
      DISABLE_POLLING: 'true',
      ROLE_PERMITTED_ANNOTATION: 'vault.example.com/roles',
      NAMING_PERMITTED_ANNOTATION: 'vault.example.com/keys',
      ENFORCE_NAMESPACE_ANNOTATIONS: 'false',
      MOUNT_PERMITTED_ANNOTATION: 'vault.example.com/mounts',
      SERVICE_ACCOUNT_PERMITTED_ANNOTATION: 'vault.example.com/accounts',
      DEFAULT_VAULT_MOUNT_POINT: 'k8s',
    })
    assert.deepEqual(c, {
      pollerIntervalMilliseconds: 30000,
      watchedNamespaces: ['a', 'b'],
      instanceId: 'blue',
      watchTimeoutMilliseconds: 5000,
      pollingDisabled: true,
      rolePermittedAnnotation: 'vault.example.com/roles',
      namingPermittedAnnotation: 'vault.example.com/keys',
      // KES: set at all means on, even "false".
      enforceNamespaceAnnotations: true,
      mountPermittedAnnotation: 'vault.example.com/mounts',
      serviceAccountPermittedAnnotation: 'vault.example.com/accounts',
      defaultVaultMountPoint: 'k8s',
    })
  })
  it('DISABLE_POLLING set but empty counts as set, as in KES', () => {
    assert.equal(loadPollerConfig({ DISABLE_POLLING: '' }).pollingDisabled, true)
    assert.equal(loadPollerConfig({ DISABLE_POLLING: 'false' }).pollingDisabled, false)
  })
  it('errors name the variable', () => {
    assert.throws(() => loadPollerConfig({ POLLER_INTERVAL_MILLISECONDS: '10s' }), (e: unknown) => e instanceof ConfigError && e.variable === 'POLLER_INTERVAL_MILLISECONDS')
    assert.throws(() => loadPollerConfig({ WATCH_TIMEOUT: '5' }), /WATCH_TIMEOUT/)
    assert.throws(() => loadPollerConfig({ DISABLE_POLLING: 'maybe' }), /DISABLE_POLLING/)
  })
})

describe('poll scheduling', () => {
  const now = Date.UTC(2026, 0, 1)
  const opts = { interval: 10_000, now, random: 0.25, pollingDisabled: false }
  it('a never-synced or unobserved generation polls at once', () => {
    assert.equal(firstPollDelay(es(), opts), 0)
    assert.equal(firstPollDelay(es(vaultSpec(), { lastSync: new Date(now).toISOString(), observedGeneration: 1 }, 2), opts), 0)
    assert.equal(firstPollDelay(es(), { ...opts, pollingDisabled: true }), 0)
  })
  it('an up-to-date one is scheduled one interval after lastSync', () => {
    assert.equal(firstPollDelay(es(vaultSpec(), { lastSync: new Date(now - 4_000).toISOString(), observedGeneration: 1 }), opts), 6_000)
    assert.equal(firstPollDelay(es(vaultSpec(), { lastSync: new Date(now - 4_000).toISOString(), observedGeneration: 1 }), { ...opts, pollingDisabled: true }), undefined)
  })
  it('overdue, unparseable and future lastSyncs are spread by random over one interval', () => {
    assert.equal(nextPollDelay(new Date(now - 50_000).toISOString(), 10_000, now, 0.25), 2_500)
    assert.equal(nextPollDelay('yesterday-ish', 10_000, now, 0.5), 5_000)
    assert.equal(nextPollDelay(new Date(now + 60_000).toISOString(), 10_000, now, 0.9), 9_000)
    assert.equal(nextPollDelay(undefined, 10_000, now, 0), 0)
  })
  it('error backoff doubles from one interval, capped, with up to 20 % jitter off', () => {
    assert.equal(errorBackoffDelay(1, 10_000, 0), 10_000)
    assert.equal(errorBackoffDelay(2, 10_000, 0), 20_000)
    assert.equal(errorBackoffDelay(3, 10_000, 0.5), 36_000)
    assert.equal(errorBackoffDelay(50, 10_000, 0), MAX_ERROR_BACKOFF_MS)
    assert.equal(errorBackoffDelay(50, 3_600_000, 0), 3_600_000, 'long intervals are never shortened')
  })
})

describe('Secret manifest (KES _createSecretManifest / _equalSecretData)', () => {
  it('name, type, ownerReference and base64 data', () => {
    const m = buildSecretManifest(es(), { password: b64('pw') })
    assert.deepEqual(m, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app', ownerReferences: [{ apiVersion: 'kubernetes-client.io/v1', controller: true, kind: 'ExternalSecret', name: 'app', uid: 'u1' }] },
      type: 'Opaque',
      data: { password: b64('pw') },
    })
  })
  it('template deep-merges under the generated fields; template.type beats spec.type', () => {
    const m = buildSecretManifest(
      es(vaultSpec({
        type: 'kubernetes.io/tls',
        template: {
          type: 'kubernetes.io/dockerconfigjson',
          metadata: { name: 'ignored', labels: { app: 'x' }, annotations: { 'a/b': 'c' } },
          data: { extra: b64('kept'), password: b64('overwritten') },
        },
      })),
      { password: b64('pw') },
    )
    assert.equal(m.type, 'kubernetes.io/dockerconfigjson')
    assert.equal(m.metadata.name, 'app')
    assert.deepEqual(m.metadata.labels, { app: 'x' })
    assert.deepEqual(m.metadata.annotations, { 'a/b': 'c' })
    assert.deepEqual(m.data, { extra: b64('kept'), password: b64('pw') })
    assert.equal(buildSecretManifest(es(vaultSpec({ type: 'kubernetes.io/tls' })), {}).type, 'kubernetes.io/tls')
  })
  it('template placeholders take decoded values; code is never evaluated', () => {
    const m = buildSecretManifest(
      es(vaultSpec({ template: { stringData: { url: 'postgres://u:<%= data.password %>@db', other: "<%= data['x-y'] %>", evil: '<%= process.exit(1) %>' } } })),
      { password: b64('pw'), 'x-y': b64('z') },
    )
    assert.deepEqual(m.stringData, { url: 'postgres://u:pw@db', other: 'z', evil: '<%= process.exit(1) %>' })
  })
  it('needs update only when labels, annotations or data differ (order-insensitive)', () => {
    const desired = buildSecretManifest(es(vaultSpec({ template: { metadata: { labels: { a: '1' } } } })), { k: b64('v'), j: b64('w') })
    assert.equal(secretNeedsUpdate({ metadata: { name: 'app', labels: { a: '1' }, resourceVersion: '9' }, data: { j: b64('w'), k: b64('v') } } as never, desired), false)
    assert.equal(secretNeedsUpdate({ metadata: { name: 'app', labels: { a: '1' } }, data: { k: b64('v') } } as never, desired), true)
    assert.equal(secretNeedsUpdate({ metadata: { name: 'app', labels: { a: '2' } }, data: { j: b64('w'), k: b64('v') } } as never, desired), true)
    assert.equal(secretNeedsUpdate({ metadata: { name: 'app', labels: { a: '1' }, annotations: { x: 'y' } }, data: { j: b64('w'), k: b64('v') } } as never, desired), true)
  })
})

describe('role guard and controller ownership', () => {
  const ns = (annotations?: Record<string, string>) => ({ metadata: { name: 'ns', ...(annotations ? { annotations } : {}) } })
  const key = 'iam.amazonaws.com/permitted'
  it('KES semantics, with the pattern matching the whole role', () => {
    assert.deepEqual(isRolePermitted(ns(), vaultSpec({ vaultRole: 'x' }) as never, key), { allowed: true })
    assert.deepEqual(isRolePermitted(ns({ other: 'y' }), vaultSpec({ vaultRole: 'x' }) as never, key), { allowed: true })
    assert.deepEqual(isRolePermitted(ns({ [key]: '' }), vaultSpec({ vaultRole: 'x' }) as never, key), { allowed: true })
    assert.deepEqual(isRolePermitted(ns({ [key]: '^a-' }), vaultSpec({ vaultRole: undefined }) as never, key), { allowed: true })
    assert.deepEqual(isRolePermitted(ns({ [key]: 'a-.*' }), vaultSpec({ vaultRole: 'a-reader' }) as never, key), { allowed: true })
    assert.deepEqual(isRolePermitted(ns({ [key]: 'a-.*' }), vaultSpec({ vaultRole: 'b-reader' }) as never, key), {
      allowed: false,
      reason: 'spec.vaultRole: namespace does not allow to assume role "b-reader" (iam.amazonaws.com/permitted: "a-.*")',
    })
    // KES tested `new RegExp('^a-').test(role)`: a prefix was enough. Anchored, it must match the whole role.
    assert.equal(isRolePermitted(ns({ [key]: '^a-' }), vaultSpec({ vaultRole: 'a-reader' }) as never, key).allowed, false)
    assert.equal(isRolePermitted(ns({ [key]: 'arn:aws:iam::1:role/x' }), { backendType: 'secretsManager', roleArn: 'arn:aws:iam::1:role/y' }, key).allowed, false)
    assert.equal(isRolePermitted(ns({ [key]: '(' }), vaultSpec() as never, key).allowed, false)
  })
  it('INSTANCE_ID matches spec.controllerId; both unset match', () => {
    assert.equal(isManagedByInstance(es(), undefined), true)
    assert.equal(isManagedByInstance(es(vaultSpec({ controllerId: 'a' })), undefined), false)
    assert.equal(isManagedByInstance(es(vaultSpec({ controllerId: 'a' })), 'a'), true)
    assert.equal(isManagedByInstance(es(), 'a'), false)
  })
})

describe('sync metrics (KES lib/metrics.js)', () => {
  it('counter by status, gauge 1 / -1, names and labels as KES', async () => {
    const registry = new Registry()
    const m = new SyncMetrics(registry)
    const l = { name: 'app', namespace: 'ns', backend: 'vault' }
    m.observeSync(l, 'success')
    m.observeSync(l, 'error')
    m.observeSync(l, 'error')
    const text = await registry.metrics()
    assert.match(text, /kubernetes_external_secrets_sync_calls_count\{name="app",namespace="ns",backend="vault",status="success"\} 1/)
    assert.match(text, /kubernetes_external_secrets_sync_calls_count\{name="app",namespace="ns",backend="vault",status="error"\} 2/)
    assert.match(text, /kubernetes_external_secrets_last_sync_call_state\{name="app",namespace="ns",backend="vault"\} -1/)
    new SyncMetrics(registry) // a second host on the same registry reuses the collectors
    m.forget(l)
    assert.doesNotMatch(await registry.metrics(), /name="app"/)
  })
  it('forget removes the series of every backend the ExternalSecret had; at most 8 backends are kept per ExternalSecret', async () => {
    const registry = new Registry()
    const m = new SyncMetrics(registry)
    const of = (backend: string) => ({ name: 'app', namespace: 'ns', backend })
    for (let i = 0; i < 20; i++) m.observeSync(of(`b${i}`), i % 2 ? 'success' : 'error')
    m.observeSync({ name: 'other', namespace: 'ns', backend: 'b0' }, 'success')
    const backends = async () => [...new Set([...(await registry.metrics()).matchAll(/name="app",namespace="ns",backend="(\w+)"/g)].map((x) => x[1]))]
    assert.deepEqual(await backends(), Array.from({ length: 8 }, (_, i) => `b${12 + i}`))
    m.forget(of('b19'))
    assert.doesNotMatch(await registry.metrics(), /name="app"/)
    assert.match(await registry.metrics(), /name="other"/)
  })
  it('status text as KES wrote it', () => {
    assert.equal(statusText('ERROR, a\nb  c\td'), 'ERROR, ab c d')
  })
})
