import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import { ManualClock } from '../../lib/clock.js'
import { PollerHost } from '../../lib/poller/host.js'
import type { PollerConfig } from '../../lib/poller/config.js'
import { FakeKubeApi } from '../support/fake-kube-api.js'
import { b64, FakeBackend, MemoryLogger, vaultSpec, waitFor } from './helpers.js'

const INTERVAL = 10_000

describe('PollerHost against the fake Kubernetes API', () => {
  let api: FakeKubeApi
  let clock: ManualClock
  let backend: FakeBackend
  let host: PollerHost | undefined
  let registry: Registry
  let logger: MemoryLogger

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 1))
    api = await FakeKubeApi.start({ clock })
    backend = new FakeBackend()
    registry = new Registry()
    logger = new MemoryLogger()
  })

  afterEach(async () => {
    await host?.stop()
    host = undefined
    await api.close()
  })

  function makeHost(config: Partial<PollerConfig> = {}, random = () => 0.5): PollerHost {
    host = new PollerHost({
      kubeConfig: api.kubeConfig(),
      backends: { vault: backend },
      clock,
      timers: clock,
      random,
      logger,
      registry,
      config: { pollerIntervalMilliseconds: INTERVAL, watchTimeoutMilliseconds: 60_000, ...config },
    })
    return host
  }

  async function metric(name: string, labels: Record<string, string>): Promise<number | undefined> {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name)
    const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l))
    return v?.value
  }

  it('add: a new ExternalSecret polls at once, creates its Secret and records SUCCESS status', async () => {
    backend.values.set('team-a/app', { password: 's3cr3t-value' })
    api.addExternalSecret('team-a', 'app', vaultSpec({ template: { metadata: { labels: { app: 'demo' } } } }))
    await makeHost().start()
    await clock.advance(0)

    assert.deepEqual(api.secretData('team-a', 'app'), { password: 's3cr3t-value' })
    const secret = api.getSecret('team-a', 'app')!
    const es = api.getExternalSecret('team-a', 'app')!
    assert.equal(secret.type, 'Opaque')
    assert.deepEqual(secret.metadata.labels, { app: 'demo' })
    assert.deepEqual(secret.metadata.ownerReferences, [
      { apiVersion: 'kubernetes-client.io/v1', kind: 'ExternalSecret', name: 'app', uid: es.metadata.uid, controller: true },
    ])
    assert.deepEqual(es.status, { lastSync: new Date(clock.now()).toISOString(), observedGeneration: 1, status: 'SUCCESS' })
    assert.equal(api.count('create secret'), 1)
    assert.equal(api.count('replace secret'), 0)
    assert.equal(backend.calls.length, 1)
    assert.deepEqual(backend.calls[0]!.spec.data, vaultSpec().data)
    assert.equal(await metric('kubernetes_external_secrets_sync_calls_count', { name: 'app', namespace: 'team-a', backend: 'vault', status: 'success' }), 1)
    assert.equal(await metric('kubernetes_external_secrets_last_sync_call_state', { name: 'app', namespace: 'team-a', backend: 'vault' }), 1)
    assert.ok(!logger.lines.some((l) => l.includes('s3cr3t-value')), 'secret value in logs')
  })

  it('create vs replace vs no-op: unchanged data writes nothing, changed data replaces', async () => {
    backend.values.set('ns/app', { password: 'one' })
    api.addExternalSecret('ns', 'app', vaultSpec())
    await makeHost().start()
    await clock.advance(0)
    assert.equal(api.count('create secret'), 1)

    await clock.advance(INTERVAL) // same data: a read, no write
    assert.equal(backend.calls.length, 2)
    assert.equal(api.count('get secret'), 2)
    assert.equal(api.count('create secret'), 1)
    assert.equal(api.count('replace secret'), 0)

    backend.values.set('ns/app', { password: 'two' })
    await clock.advance(INTERVAL)
    assert.equal(api.count('replace secret'), 1)
    assert.deepEqual(api.secretData('ns', 'app'), { password: 'two' })
    assert.equal(api.count('replace externalsecret status'), 3)
  })

  it('replaces a Secret whose labels or annotations drifted, keeps one whose only difference is key order', async () => {
    api.putSecret('ns', 'app', { data: { b: b64('2'), a: b64('1') } })
    backend.values.set('ns/app', { a: '1', b: '2' })
    api.addExternalSecret('ns', 'app', vaultSpec(), { status: { lastSync: new Date(clock.now()).toISOString(), observedGeneration: 1, status: 'SUCCESS' } })
    await makeHost().start()
    await clock.advance(INTERVAL)
    assert.equal(backend.calls.length, 1)
    assert.equal(api.count('replace secret') + api.count('create secret'), 0)

    api.putSecret('ns', 'app', { data: { a: b64('1'), b: b64('2') }, metadata: { labels: { stray: 'x' } } })
    await clock.advance(INTERVAL)
    assert.equal(api.count('replace secret'), 1)
    assert.equal(api.getSecret('ns', 'app')!.metadata.labels, undefined)
  })

  it('modify: a new generation polls at once; status-only changes do not', async () => {
    backend.values.set('ns/app', { password: 'one' })
    api.addExternalSecret('ns', 'app', vaultSpec())
    await makeHost().start()
    await clock.advance(0)
    assert.equal(backend.calls.length, 1)

    // our own status write came back as MODIFIED; a label change also keeps the generation
    api.touchExternalSecret('ns', 'app', { team: 'a' })
    await waitFor(() => host!.pollers.values().next().value!.externalSecret.metadata.labels?.team === 'a', 'label event')
    await clock.advance(1000)
    assert.equal(backend.calls.length, 1)

    backend.values.set('ns/app', { token: 'new' })
    api.modifyExternalSecret('ns', 'app', vaultSpec({ data: [{ key: 'secret/data/app', name: 'token', property: 'token' }] }))
    await waitFor(() => [...host!.pollers.values()][0]!.externalSecret.metadata.generation === 2, 'generation 2 event')
    await clock.advance(0)
    assert.equal(backend.calls.length, 2)
    assert.equal(backend.calls[1]!.spec.data![0]!.name, 'token')
    assert.deepEqual(api.secretData('ns', 'app'), { token: 'new' })
    assert.equal(api.getExternalSecret('ns', 'app')!.status!.observedGeneration, 2)
  })

  it('delete: the poller stops, the Secret is left to garbage collection, metrics series go', async () => {
    backend.values.set('ns/app', { password: 'one' })
    api.addExternalSecret('ns', 'app', vaultSpec())
    await makeHost().start()
    await clock.advance(0)
    api.deleteExternalSecret('ns', 'app')
    await waitFor(() => host!.pollers.size === 0, 'poller removed')
    await clock.advance(INTERVAL * 5)
    assert.equal(backend.calls.length, 1)
    assert.equal(clock.pendingTimers, 1, 'only the watch idle timer remains')
    assert.equal(await metric('kubernetes_external_secrets_last_sync_call_state', { name: 'app', namespace: 'ns' }), undefined)
  })

  it('watch restart: a closed stream re-lists and keeps pollers; changes made meanwhile are picked up', async () => {
    backend.values.set('ns/a', { v: 'a' })
    backend.values.set('ns/b', { v: 'b' })
    api.addExternalSecret('ns', 'a', vaultSpec())
    await makeHost().start()
    await clock.advance(0)
    assert.equal(api.count('list externalsecrets'), 1)
    await waitFor(() => api.openWatches === 1, 'watch open')

    api.closeWatches()
    await waitFor(() => api.count('list externalsecrets') === 2 && api.openWatches === 1, 're-list and re-watch')
    assert.equal(host!.pollers.size, 1)
    await clock.advance(0)
    assert.equal(backend.calls.length, 1, 'no re-poll after a restart')

    // an ExternalSecret deleted and another added while no watch is open
    api.failNext('watch externalsecrets', 500)
    api.closeWatches()
    await waitFor(() => api.count('watch externalsecrets') === 3, 'failed watch')
    api.deleteExternalSecret('ns', 'a')
    api.addExternalSecret('ns', 'b', vaultSpec())
    // restart backoff (1 s) on virtual time
    for (let i = 0; i < 20 && !(api.count('list externalsecrets') === 4 && api.openWatches === 1); i++) {
      await clock.advance(250)
      await waitFor(() => true)
    }
    await waitFor(() => api.count('list externalsecrets') === 4 && api.openWatches === 1, 're-list after failure')
    assert.deepEqual([...host!.pollers.values()].map((p) => p.externalSecret.metadata.name), ['b'])
    await clock.advance(0)
    assert.deepEqual(api.secretData('ns', 'b'), { v: 'b' })
  })

  it('watch restart on WATCH_TIMEOUT without events, and on 410 Gone', async () => {
    api.addExternalSecret('ns', 'a', vaultSpec())
    await makeHost({ watchTimeoutMilliseconds: 5_000 }).start()
    await waitFor(() => api.openWatches === 1, 'watch open')
    await clock.advance(5_000)
    await waitFor(() => api.count('list externalsecrets') === 2 && api.openWatches === 1, 'restart after idle')

    api.compact()
    api.closeWatches()
    await waitFor(() => api.count('list externalsecrets') === 3 && api.openWatches === 1, 'restart after close')
    assert.equal(host!.pollers.size, 1)
  })

  it('409 on status is tolerated: re-read once and retried; a second 409 is not an error', async () => {
    backend.values.set('ns/app', { password: 'one' })
    api.addExternalSecret('ns', 'app', vaultSpec())
    api.failNext('replace externalsecret status', 409)
    await makeHost().start()
    await clock.advance(0)
    assert.equal(api.count('replace externalsecret status'), 2)
    assert.equal(api.count('get externalsecret'), 1)
    assert.equal(api.getExternalSecret('ns', 'app')!.status!.status, 'SUCCESS')

    api.failNext('replace externalsecret status', 409, 2)
    await clock.advance(INTERVAL)
    assert.equal(api.count('replace externalsecret status'), 4)
    assert.equal(await metric('kubernetes_external_secrets_sync_calls_count', { name: 'app', status: 'error' }), undefined)
    assert.equal(await metric('kubernetes_external_secrets_sync_calls_count', { name: 'app', status: 'success' }), 2)
    assert.equal([...host!.pollers.values()][0]!.consecutiveFailures, 0)
  })

  it('backend errors leave the Secret byte-for-byte unchanged, report ERROR status and metrics, and back off', async () => {
    backend.values.set('ns/app', { password: 'good' })
    api.addExternalSecret('ns', 'app', vaultSpec())
    await makeHost().start()
    await clock.advance(0)
    const before = JSON.stringify(api.getSecret('ns', 'app'))

    backend.failing.set('ns/app', 'vault: 503 Service Unavailable')
    await clock.advance(INTERVAL)
    assert.equal(JSON.stringify(api.getSecret('ns', 'app')), before)
    assert.equal(api.getExternalSecret('ns', 'app')!.status!.status, 'ERROR, vault: 503 Service Unavailable')
    assert.equal(await metric('kubernetes_external_secrets_last_sync_call_state', { name: 'app' }), -1)
    assert.equal(await metric('kubernetes_external_secrets_sync_calls_count', { name: 'app', status: 'error' }), 1)

    // backoff doubles from one interval; random 0.5 takes 10 % off: retries after 9 s, then 18 s, then 36 s
    await clock.advance(8_999)
    assert.equal(backend.calls.length, 2)
    await clock.advance(1)
    assert.equal(backend.calls.length, 3)
    await clock.advance(18_000)
    assert.equal(backend.calls.length, 4)
    assert.equal(JSON.stringify(api.getSecret('ns', 'app')), before)
    assert.equal(api.count('replace secret') + api.count('create secret'), 1)

    backend.failing.delete('ns/app')
    await clock.advance(36_000)
    assert.equal(api.getExternalSecret('ns', 'app')!.status!.status, 'SUCCESS')
    assert.equal(await metric('kubernetes_external_secrets_last_sync_call_state', { name: 'app' }), 1)
    await clock.advance(INTERVAL)
    assert.equal(backend.calls.length, 6, 'back to the normal interval after a success')
  })

  it('Kubernetes errors while writing the Secret are ERROR statuses, not crashes', async () => {
    backend.values.set('ns/app', { password: 'good' })
    api.addExternalSecret('ns', 'app', vaultSpec())
    api.failNext('create secret', 500)
    await makeHost().start()
    await clock.advance(0)
    assert.match(api.getExternalSecret('ns', 'app')!.status!.status as string, /^ERROR, kubernetes create secret failed: HTTP 500/)
    assert.equal(api.getSecret('ns', 'app'), undefined)
  })

  it('one failing ExternalSecret does not affect another', async () => {
    backend.values.set('ns/good', { v: 'g' })
    backend.failing.set('ns/bad', 'permission denied')
    api.addExternalSecret('ns', 'good', vaultSpec())
    api.addExternalSecret('ns', 'bad', vaultSpec())
    await makeHost().start()
    await clock.advance(0)
    for (let i = 0; i < 6; i++) await clock.advance(INTERVAL)
    assert.equal(backend.callsFor('ns', 'good'), 7)
    assert.ok(backend.callsFor('ns', 'bad') < 7)
    assert.equal(api.getExternalSecret('ns', 'good')!.status!.status, 'SUCCESS')
    assert.equal(api.getExternalSecret('ns', 'bad')!.status!.status, 'ERROR, permission denied')
    assert.equal(api.getSecret('ns', 'bad'), undefined)
  })

  it('role guard: a namespace annotation refuses a role before any backend call, for that ExternalSecret only', async () => {
    api.addNamespace('locked', { 'iam.amazonaws.com/permitted': '^team-a-.*$' })
    backend.values.set('locked/ok', { v: '1' })
    api.addExternalSecret('locked', 'ok', vaultSpec({ vaultRole: 'team-a-reader' }))
    api.addExternalSecret('locked', 'nope', vaultSpec({ vaultRole: 'admin' }))
    await makeHost().start()
    await clock.advance(0)
    assert.equal(backend.callsFor('locked', 'nope'), 0)
    assert.equal(backend.callsFor('locked', 'ok'), 1)
    assert.equal(
      api.getExternalSecret('locked', 'nope')!.status!.status,
      'ERROR, not allowed to fetch secret: locked/nope: spec.vaultRole: namespace does not allow to assume role "admin" (iam.amazonaws.com/permitted: "^team-a-.*$")',
    )
    assert.deepEqual(api.secretData('locked', 'ok'), { v: '1' })
    assert.equal(api.count('get namespace'), 2)
  })

  it('INSTANCE_ID / spec.controllerId: each instance takes only its own', async () => {
    api.addExternalSecret('ns', 'mine', vaultSpec({ controllerId: 'blue' }))
    api.addExternalSecret('ns', 'theirs', vaultSpec({ controllerId: 'green' }))
    api.addExternalSecret('ns', 'unassigned', vaultSpec())
    await makeHost({ instanceId: 'blue' }).start()
    assert.deepEqual([...host!.pollers.values()].map((p) => p.externalSecret.metadata.name), ['mine'])
    // moving it to another controller removes the poller
    api.modifyExternalSecret('ns', 'mine', vaultSpec({ controllerId: 'green' }))
    await waitFor(() => host!.pollers.size === 0, 'handed over')
  })

  it('WATCHED_NAMESPACES: one watch per namespace, others ignored', async () => {
    api.addExternalSecret('a', 'x', vaultSpec())
    api.addExternalSecret('b', 'y', vaultSpec())
    api.addExternalSecret('c', 'z', vaultSpec())
    await makeHost({ watchedNamespaces: ['a', 'b'] }).start()
    assert.deepEqual([...host!.pollers.values()].map((p) => p.externalSecret.metadata.name).sort(), ['x', 'y'])
    assert.equal(api.count('list externalsecrets', 'a'), 1)
    assert.equal(api.count('list externalsecrets', 'c'), 0)
    await waitFor(() => api.openWatches === 2, 'two watches')
    api.addExternalSecret('c', 'late', vaultSpec())
    api.addExternalSecret('b', 'late', vaultSpec())
    await waitFor(() => host!.pollers.size === 3, 'b/late')
  })

  it('scheduling from lastSync: a restart does not re-poll recently synced ExternalSecrets', async () => {
    const now = clock.now()
    api.addExternalSecret('ns', 'recent', vaultSpec(), { status: { lastSync: new Date(now - 3_000).toISOString(), observedGeneration: 1, status: 'SUCCESS' } })
    api.addExternalSecret('ns', 'stale-gen', vaultSpec(), { generation: 2, status: { lastSync: new Date(now - 1_000).toISOString(), observedGeneration: 1, status: 'SUCCESS' } })
    await makeHost().start()
    await clock.advance(0)
    assert.equal(backend.callsFor('ns', 'stale-gen'), 1, 'unobserved generation polls at once')
    assert.equal(backend.callsFor('ns', 'recent'), 0)
    await clock.advance(6_999)
    assert.equal(backend.callsFor('ns', 'recent'), 0)
    await clock.advance(1)
    assert.equal(backend.callsFor('ns', 'recent'), 1, 'polled one interval after lastSync')
  })

  it('first-poll jitter spreads overdue ExternalSecrets over one interval', async () => {
    const lastSync = new Date(clock.now() - 10 * INTERVAL).toISOString()
    for (let i = 0; i < 100; i++) {
      api.addExternalSecret('ns', `es-${i}`, vaultSpec(), { status: { lastSync, observedGeneration: 1, status: 'SUCCESS' } })
    }
    let seq = 0
    await makeHost({}, () => (seq++ % 100) / 100).start()
    const perSecond: number[] = []
    for (let s = 0; s < 10; s++) {
      const before = backend.calls.length
      await clock.advance(s === 9 ? 999 : 1000) // the first one polls again at 10 s
      perSecond.push(backend.calls.length - before)
    }
    assert.equal(backend.calls.length, 100)
    // 100 delays of k x 100 ms: 10 (11 with both ends) per second instead of 100 at once
    assert.ok(Math.max(...perSecond) <= 11 && Math.min(...perSecond) >= 9, `about 10 per second, got ${perSecond}`)
  })

  it('DISABLE_POLLING: polls new generations only', async () => {
    api.addExternalSecret('ns', 'new', vaultSpec())
    api.addExternalSecret('ns', 'synced', vaultSpec(), { status: { lastSync: new Date(clock.now() - 60_000).toISOString(), observedGeneration: 1, status: 'SUCCESS' } })
    await makeHost({ pollingDisabled: true }).start()
    await clock.advance(INTERVAL * 10)
    assert.equal(backend.callsFor('ns', 'new'), 1)
    assert.equal(backend.callsFor('ns', 'synced'), 0)
    api.modifyExternalSecret('ns', 'synced', vaultSpec({ vaultRole: 'other' }))
    await waitFor(() => [...host!.pollers.values()].some((p) => p.externalSecret.metadata.generation === 2), 'gen 2')
    await clock.advance(0)
    assert.equal(backend.callsFor('ns', 'synced'), 1)
  })

  it('shutdown: stops scheduling, finishes the in-flight write, then closes the backend', async () => {
    backend.values.set('ns/app', { password: 'one' })
    api.addExternalSecret('ns', 'app', vaultSpec())
    await makeHost().start()
    backend.hold()
    const polling = clock.advance(0)
    await waitFor(() => backend.calls.length === 1, 'poll in flight')
    const stopped = host!.stop()
    let done = false
    void stopped.then(() => (done = true))
    await waitFor(() => api.openWatches === 0, 'watch closed')
    assert.equal(done, false, 'stop waits for the in-flight poll')
    assert.equal(backend.closed, 0)
    backend.release()
    await stopped
    await polling
    assert.deepEqual(api.secretData('ns', 'app'), { password: 'one' })
    assert.equal(api.getExternalSecret('ns', 'app')!.status!.status, 'SUCCESS')
    assert.equal(backend.closed, 1)
    await clock.advance(INTERVAL * 3)
    assert.equal(backend.calls.length, 1)
    assert.equal(clock.pendingTimers, 0)
  })

  it('unknown backendType is an ERROR on that ExternalSecret', async () => {
    api.addExternalSecret('ns', 'aws', { backendType: 'secretsManager', data: [{ key: 'k', name: 'n' }] })
    await makeHost().start()
    await clock.advance(0)
    assert.equal(api.getExternalSecret('ns', 'aws')!.status!.status, 'ERROR, no backend for backendType "secretsManager"')
  })
})
